"""The kill -9 loop, counted from what the modem saw (issue 10): for each tool, N messages queued
before it starts, K kill -9 at random points, a restart after each, on one emulated modem
(tests/modemsim) with AIRTIME_MS of air time; then, from the emulator's own record of every
accepted AT+CMGS (modemsim `sent`), the messages lost (queued, never sent) and the duplicates
(sent more than once).

  killloop.py [--n N] [--k K] [--seed S] [--airtime-ms MS] [--store-and-send] [TOOL ...]

TOOL: linlid (default all three), gammu-smsd, smstools. N defaults to 80, K to 10, the air time to
500 ms; the seed (printed) to one drawn at random. Each kill comes a random delay (uniform in
[0, 4 x air time), the same sequence for every tool) after the tool's first accepted send since it
was (re)started, so it lands at any point of a send cycle. linlid's messages are queued with
`linlictl send`, gammu-smsd's with gammu-smsd-inject into its files outbox (bench/smsd_ref.py,
bench/peers/gammu-smsdrc), smstools' as files in its outgoing spool (bench/smstools_ref.py,
bench/peers/smsd.conf). --store-and-send writes ` store-and-send on` into linlid's modem node
(the tool is then named linlid_sas).

Prints "name value unit" lines: killloop_<tool>_lost, _duplicates, _kills (done; fewer than K
when everything was sent first), _kills_in_send (kills after which the emulator still completed a
send the killed tool had handed it: the window where a duplicate is possible), and for linlid
_flagged: what linlid itself counted as possibly sent twice (its stat rows out_possible_dup, the
messages it found in state 'sending' at a restart, and out_late_dup). sms_out has no per-message
flag for it.
"""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, HERE)
import linli  # noqa: E402
import smsd_ref  # noqa: E402
import smstools_ref  # noqa: E402

KEY = re.compile(r"killloop (\d{4})")
# linlid's shipped intervals, as bench/modem_bench.py runs it
MODEM_CFG = "poll-interval 30\nhealth-interval 30"


def number(i):
    return "+86139%08d" % i


def text(i):
    return "killloop %04d" % i


class Linlid:
    name = "linlid"

    def __init__(self, airtime_ms, store_and_send):
        cfg = MODEM_CFG + ("\nstore-and-send on" if store_and_send else "")
        if store_and_send:
            self.name = "linlid_sas"
        self.gw = linli.Gateway(nmodems=1, airtime_ms=airtime_ms, modem_cfg=cfg)
        self.modem = self.gw.modems[0]

    def queue(self, n):
        for i in range(n):
            self.gw.linlictl("send", number(i), text(i))

    def start(self):
        self.gw.start()

    def kill9(self):
        self.gw.kill9()

    def pending(self):
        q = self.gw.queue()
        return q.get("queued", 0) + q.get("sending", 0)

    def flagged(self):
        return self.gw.sql("SELECT coalesce(sum(value), 0) FROM stat WHERE name IN "
                           "('out_possible_dup', 'out_late_dup')")[0][0]

    def close(self):
        try:
            self.gw.close()
        finally:
            self.gw.cleanup()


class GammuSmsd:
    name = "gammu_smsd"

    def __init__(self, airtime_ms):
        self.d = tempfile.mkdtemp(prefix="linli-kill-smsd-")
        smsd_ref.make_dirs(self.d)
        self.modem = linli.Modem(self.d, "m1", airtime_ms)
        self.outbox = os.path.join(self.d, "outbox")
        self.cfg = os.path.join(self.d, "smsdrc")
        smsd_ref.write_cfg(self.cfg, self.modem.link, self.d, self.outbox)
        self.proc = None

    def queue(self, n):
        stage_cfg = os.path.join(self.d, "inject.rc")
        smsd_ref.write_cfg(stage_cfg, self.modem.link, self.d, os.path.join(self.d, "stage"))
        smsd_ref.inject(stage_cfg, os.path.join(self.d, "stage"), self.outbox,
                        [(number(i), text(i)) for i in range(n)])

    def start(self):
        self.out = open(os.path.join(self.d, "smsd.out"), "a")
        self.proc = subprocess.Popen(["gammu-smsd", "-c", self.cfg], stdout=self.out, stderr=self.out,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def kill9(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.out.close()
        self.proc = None

    def alive(self):
        if self.proc.poll() is not None:
            raise AssertionError("gammu-smsd exited (%s); log:\n%s" % (self.proc.returncode, smsd_ref.tail(self.d)))

    def pending(self):
        self.alive()
        return len(os.listdir(self.outbox))

    def close(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.out.close()
        self.modem.stop()
        if not os.environ.get("LINLI_BENCH_KEEP"):
            shutil.rmtree(self.d, ignore_errors=True)


class Smstools:
    name = "smstools"

    def __init__(self, airtime_ms):
        self.d = tempfile.mkdtemp(prefix="linli-kill-smstools-")
        self.modem = linli.Modem(self.d, "m1", airtime_ms)
        self.smsd = smstools_ref.Smstools(self.d, self.modem.link)

    def queue(self, n):
        for i in range(n):
            self.smsd.queue(number(i), text(i))

    def start(self):
        self.smsd.start()

    def kill9(self):
        self.smsd.kill9()

    def pending(self):
        self.smsd.alive()
        return self.smsd.pending()

    def close(self):
        try:
            if self.smsd.proc is not None:
                self.smsd.stop()
        finally:
            self.modem.stop()
            if not os.environ.get("LINLI_BENCH_KEEP"):
                shutil.rmtree(self.d, ignore_errors=True)


def cmgs(modem):
    """Sends the modem accepted: AT+CMGS, and AT+CMSS (a send from storage, store-and-send)."""
    st = modem.stats()
    return int(st["cmgs"]) + int(st.get("cmss", 0))


def loop(tool, n, delays, airtime_ms):
    air = airtime_ms / 1000.0
    modem = tool.modem
    tool.queue(n)
    tool.start()
    kills = in_send = 0
    for delay in delays:
        c = cmgs(modem)
        if c >= n and tool.pending() == 0:
            break  # everything went out before this kill
        # the tool's first accepted send since its (re)start, then the random delay
        linli.wait_for(lambda: cmgs(modem) > c or tool.pending() == 0, 180, "%s sending" % tool.name, 0.01)
        time.sleep(delay)
        before = cmgs(modem)
        tool.kill9()
        kills += 1
        # a send the killed tool had handed over (Ctrl-Z written) completes in the air time
        time.sleep(air + 0.3)
        if cmgs(modem) > before:
            in_send += 1
        tool.start()
    # the end: the tool's queue empty and the modem quiet, or nothing sent for 60 s
    last, last_t, t0 = cmgs(modem), time.time(), time.time()
    while time.time() - t0 < 600 + n * (air + 5):
        time.sleep(0.2)
        c = cmgs(modem)
        if c != last:
            last, last_t = c, time.time()
        quiet = time.time() - last_t
        if quiet > 60 or (quiet > 2 * air + 2 and tool.pending() == 0):
            break
    count = {}
    for dest, nparts, t in modem.sent():
        k = KEY.search(t)
        if k:
            count[int(k.group(1))] = count.get(int(k.group(1)), 0) + 1
    lost = sum(1 for i in range(n) if i not in count)
    dups = sum(c - 1 for c in count.values())
    p = "killloop_%s" % tool.name
    print("%s_lost %d of %d queued (never sent)" % (p, lost, n))
    print("%s_duplicates %d sent more than once (extra sends)" % (p, dups))
    print("%s_kills %d kill -9 done" % (p, kills))
    print("%s_kills_in_send %d kills after which the modem completed a send handed to it" % (p, in_send))
    if hasattr(tool, "flagged"):
        print("%s_flagged %d counted by linlid as possibly sent twice (out_possible_dup + out_late_dup)"
              % (p, tool.flagged()))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=80)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--airtime-ms", type=int, default=500)
    ap.add_argument("--store-and-send", action="store_true")
    ap.add_argument("tools", nargs="*", default=["linlid", "gammu-smsd", "smstools"])
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
    print("killloop_seed %d (N=%d K=%d air time %d ms)" % (seed, a.n, a.k, a.airtime_ms))
    print("killloop: seed %d" % seed, file=sys.stderr)
    rng = random.Random(seed)
    delays = [rng.uniform(0, 4 * a.airtime_ms / 1000.0) for _ in range(a.k)]
    failed = False
    for name in a.tools:
        if name == "linlid":
            make = lambda: Linlid(a.airtime_ms, a.store_and_send)  # noqa: E731
        elif name == "gammu-smsd" and shutil.which("gammu-smsd"):
            make = lambda: GammuSmsd(a.airtime_ms)  # noqa: E731
        elif name == "smstools" and shutil.which("smsd"):
            make = lambda: Smstools(a.airtime_ms)  # noqa: E731
        elif name in ("gammu-smsd", "smstools"):
            print("killloop: %s is not installed (sh scripts/deps.sh deps-bench.txt)" % name, file=sys.stderr)
            failed = True
            continue
        else:
            sys.exit("killloop: unknown tool %s" % name)
        tool = make()
        try:
            loop(tool, a.n, delays, a.airtime_ms)
        except AssertionError as e:
            print("killloop: %s: %s" % (name, e), file=sys.stderr)
            failed = True
        finally:
            tool.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
