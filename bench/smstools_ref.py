"""Reference for the outbound drain, measured in the same run: smstools3 (Debian package smstools,
daemon smsd, installed for `make bench` from deps-bench.txt) sending through one emulated modem
(tests/modemsim). smsd speaks AT itself (27.005 PDU mode), without libgammu.

  smstools_ref.py N AIRTIME_MS

Its config is bench/peers/smsd.conf (as its documentation recommends for a PDU-mode modem). smsd
runs as root in a temporary folder with `-c` that config and `-t` (in the foreground), in its own
session; it is stopped by its PID (its modem process is in its process group). N messages (one
part each) are written into its outgoing spool before it starts (each file written beside it and
renamed in, as smstools' manual asks); the clock runs from the modem's first accepted AT+CMGS to
its N-th (modemsim `stats` cmgs), so set-up is left out: (N - 1) parts over that time.

Prints "name value unit" lines, e.g. `smstools_ref_1modem_0ms_rate 2.1 msg/s`.
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
SPOOLS = ("outgoing", "checked", "failed", "incoming", "sent", "stage")


class Smstools:
    """One smsd on one emulated modem, in folder d (its spools, config and log)."""

    def __init__(self, d, link):
        self.d = d
        for sub in SPOOLS:
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        with open(os.path.join(PEERS, "smsd.conf")) as f:
            text = f.read().replace("@DEVICE@", link).replace("@DIR@", d)
        self.cfg = os.path.join(d, "smsd.conf")
        with open(self.cfg, "w") as f:
            f.write(text)
        self.proc = None
        self.seq = 0

    def queue(self, number, text):
        """One message into the outgoing spool: written in stage/, renamed into outgoing/."""
        self.seq += 1
        name = "linli%06d" % self.seq
        tmp = os.path.join(self.d, "stage", name)
        with open(tmp, "w") as f:
            f.write("To: %s\n\n%s\n" % (number.lstrip("+"), text))
        os.rename(tmp, os.path.join(self.d, "outgoing", name))

    def start(self):
        self.out = open(os.path.join(self.d, "smsd.out"), "a")
        self.proc = subprocess.Popen(["smsd", "-t", "-c", self.cfg], stdout=self.out, stderr=self.out,
                                     stdin=subprocess.DEVNULL, cwd=self.d, start_new_session=True)
        return self

    def alive(self):
        if self.proc.poll() is not None:
            raise AssertionError("smsd exited (%s); log:\n%s" % (self.proc.returncode, self.tail()))
        return True

    def kill9(self):
        """SIGKILL to smsd's process group (the main process and its modem process)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.out.close()
        self.proc = None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # on TERM smsd waits for its modem process to finish the job under way (its manual);
            # the figures are taken by then, so not for long
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # a modem process left behind
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.out.close()
        self.proc = None

    def pending(self):
        """Messages still in its spools (outgoing, checked), lock files left out."""
        return sum(1 for sub in ("outgoing", "checked") for n in os.listdir(os.path.join(self.d, sub))
                   if not n.endswith(".LOCK"))

    def tail(self, n=30):
        try:
            with open(os.path.join(self.d, "smsd.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def run(n, airtime_ms):
    d = tempfile.mkdtemp(prefix="linli-smstools-")
    modem = linli.Modem(d, "m1", airtime_ms)
    smsd = Smstools(d, modem.link)
    try:
        for i in range(n):
            smsd.queue("+86139%08d" % (i % 97), "smstools ref %d" % i)
        smsd.start()

        def cmgs():
            smsd.alive()
            st = modem.stats()
            if int(st["cmgs_failed"]):
                raise AssertionError("modemsim refused a send: %s" % st)
            return int(st["cmgs"])
        linli.wait_for(lambda: cmgs() >= 1, 120, "smsd's first send", 0.01)
        t0 = time.time()
        linli.wait_for(lambda: cmgs() >= n, 120 + n * (airtime_ms / 1000.0 + 5), "smsd's sends", 0.01)
        t1 = time.time()
        rate = (n - 1) / (t1 - t0)
        name = "smstools_ref_1modem_%dms" % airtime_ms
        print("%s_rate %.3f msg/s" % (name, rate))
        print("%s_per_minute %.1f parts/min" % (name, rate * 60))
        sys.stdout.flush()
    finally:
        if smsd.proc is not None:
            smsd.stop()
        modem.stop()
        if os.environ.get("LINLI_BENCH_KEEP"):
            print("kept %s" % d, file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if shutil.which("smsd") is None:
        sys.exit("smstools_ref: smsd is not installed (sh scripts/deps.sh deps-bench.txt)")
    run(int(sys.argv[1]), int(sys.argv[2]))
