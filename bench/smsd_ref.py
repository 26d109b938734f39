"""Reference for the outbound drain, measured in the same run: the real gammu-smsd (Debian
package gammu-smsd, installed for `make bench` from deps-bench.txt) sending through one emulated
modem (tests/modemsim) with the same libgammu AT driver linlid uses.

  smsd_ref.py N AIRTIME_MS [default|tuned ...]

N messages (one part each) are written into gammu-smsd's outbox (files service, with
gammu-smsd-inject) before it starts; the clock runs from the modem's first accepted AT+CMGS to its
N-th (modemsim `stats` cmgs), so connection set-up is left out and the figure is gammu-smsd's own
sending loop: (N - 1) parts over that time. Its config is bench/peers/gammu-smsdrc; two variants:

  default   what gammu-smsd does as installed (the published figure): only the required keys
  tuned     bench/peers/gammu-smsdrc.tuned appended: everything that makes it wait or poll
            needlessly switched off: LoopSleep = 0,
            StatusFrequency = 0, CheckSecurity/CheckBattery/CheckSignal/CheckNetwork = 0,
            CommTimeout = 1 (receiving, every ReceiveFrequency = 15 s, is kept: linlid polls too)

Prints "name value unit" lines, e.g. `smsd_ref_1modem_0ms_default_rate 1.41 msg/s`.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
import linli  # noqa: E402

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers")


def write_cfg(path, link, d, outbox, tuned=False):
    """gammu-smsd's config from bench/peers/gammu-smsdrc (and gammu-smsdrc.tuned appended)."""
    with open(os.path.join(PEERS, "gammu-smsdrc")) as f:
        text = f.read()
    if tuned:
        with open(os.path.join(PEERS, "gammu-smsdrc.tuned")) as f:
            text += f.read()
    text = text.replace("@DEVICE@", link).replace("@OUTBOX@", outbox).replace("@DIR@", d)
    with open(path, "w") as f:
        f.write(text)


def make_dirs(d):
    for sub in ("inbox", "outbox", "sent", "error", "stage"):
        os.mkdir(os.path.join(d, sub))


def inject(stage_cfg, stage, outbox, msgs):
    """msgs [(number, text)] written by gammu-smsd-inject into the staging outbox (its own config),
    then moved into outbox at once; returns the outbox file names."""
    for number, text in msgs:
        r = subprocess.run(["gammu-smsd-inject", "-c", stage_cfg, "TEXT", number, "-text", text],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("gammu-smsd-inject failed: %s %s" % (r.stdout, r.stderr))
    staged = sorted(os.listdir(stage))
    if len(staged) != len(msgs):
        raise AssertionError("expected %d outbox files, got %d" % (len(msgs), len(staged)))
    for name in staged:
        os.rename(os.path.join(stage, name), os.path.join(outbox, name))
    return staged


def run(n, airtime_ms, variant):
    d = tempfile.mkdtemp(prefix="linli-smsd-")
    make_dirs(d)
    modem = linli.Modem(d, "m1", airtime_ms)
    smsd = None
    try:
        cfg = os.path.join(d, "smsdrc")
        write_cfg(cfg, modem.link, d, os.path.join(d, "outbox"), variant == "tuned")
        # the messages are injected into a staging outbox (its own config), then moved in at once
        stage_cfg = os.path.join(d, "inject.rc")
        write_cfg(stage_cfg, modem.link, d, os.path.join(d, "stage"))
        inject(stage_cfg, os.path.join(d, "stage"), os.path.join(d, "outbox"),
               [("+86139%08d" % (i % 97), "smsd ref %d" % i) for i in range(n)])

        out = open(os.path.join(d, "smsd.out"), "w")
        smsd = subprocess.Popen(["gammu-smsd", "-c", cfg], stdout=out, stderr=out)

        def cmgs():
            if smsd.poll() is not None:
                raise AssertionError("gammu-smsd exited (%s); log:\n%s" % (smsd.returncode, tail(d)))
            st = modem.stats()
            if int(st["cmgs_failed"]):
                raise AssertionError("modemsim refused a send: %s" % st)
            return int(st["cmgs"])
        linli.wait_for(lambda: cmgs() >= 1, 120, "gammu-smsd's first send", 0.01)
        t0 = time.time()
        # a part takes at least the air time: poll at a fraction of it
        linli.wait_for(lambda: cmgs() >= n, 120 + n * (airtime_ms / 1000.0 + 5), "gammu-smsd's sends", 0.01)
        t1 = time.time()
        rate = (n - 1) / (t1 - t0)
        name = "smsd_ref_1modem_%dms_%s" % (airtime_ms, variant)
        print("%s_rate %.3f msg/s" % (name, rate))
        print("%s_per_minute %.1f parts/min" % (name, rate * 60))
        sys.stdout.flush()
    finally:
        if smsd is not None and smsd.poll() is None:
            smsd.send_signal(signal.SIGTERM)
            try:
                smsd.wait(30)
            except subprocess.TimeoutExpired:
                smsd.kill()
                smsd.wait()
        modem.stop()
        if os.environ.get("LINLI_BENCH_KEEP"):
            print("kept %s" % d, file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)


def tail(d, n=30):
    try:
        with open(os.path.join(d, "smsd.log"), errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


if __name__ == "__main__":
    if shutil.which("gammu-smsd") is None:
        sys.exit("smsd_ref: gammu-smsd is not installed (sh scripts/deps.sh deps-bench.txt)")
    n, airtime = int(sys.argv[1]), int(sys.argv[2])
    for v in sys.argv[3:] or ["default", "tuned"]:
        if v not in ("default", "tuned"):
            sys.exit("smsd_ref: unknown variant %s" % v)
        run(n, airtime, v)
