"""sipp as a real SIP phone in end-to-end tests and benchmarks: one process per phone, its own
port on loopback, a message trace to read SDP and timestamps from, judged by its exit status.
The scenarios live in tests/e2e/sipp/."""
import datetime
import os
import re
import subprocess

SIPP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")
SIPP_TIMEOUT = 90


class Sipp:
    """One sipp process with its message trace; judged by its exit status."""

    def __init__(self, workdir, name, scenario, port, remote=None, keys=None, extra=()):
        self.name = name
        self.port = port
        self.trace = os.path.join(workdir, "sipp-%s.msg" % name)
        self.errf = os.path.join(workdir, "sipp-%s.err" % name)
        self.outf = open(os.path.join(workdir, "sipp-%s.out" % name), "w")
        args = ["sipp", "-sf", os.path.join(SIPP_DIR, scenario), "-i", "127.0.0.1", "-p", str(port), "-m", "1",
                "-nostdin", "-trace_msg", "-message_file", self.trace, "-trace_err", "-error_file", self.errf,
                "-timeout", "%ds" % SIPP_TIMEOUT, "-timeout_error"]
        for k, v in (keys or {}).items():
            args += ["-key", k, str(v)]
        args += list(extra)
        if remote:
            args.append(remote)
        self.proc = subprocess.Popen(args, stdout=self.outf, stderr=subprocess.STDOUT, cwd=workdir)

    def text(self):
        try:
            with open(self.trace, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def remote_rtp_port(self, own):
        """linlid's RTP port from the SDP it sent (the first m=audio port that is not our own)."""
        for p in re.findall(r"m=audio (\d+) ", self.text()):
            if int(p) != own:
                return int(p)
        return None

    def wait(self, timeout=SIPP_TIMEOUT + 30):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.outf.close()

    def errors(self):
        try:
            with open(self.errf, errors="replace") as f:
                return f.read()[-600:]
        except OSError:
            return ""

    def times(self, what):
        """Unix times (float) of the trace entries whose first line starts with `what`, e.g.
        ("received", "INVITE") or ("sent", "INVITE"), in order."""
        out = []
        direction, method = what
        for block in self.text().split("-----------------------------------------------")[1:]:
            lines = [line for line in block.split("\n") if line.strip()]
            if len(lines) < 3:
                continue
            if not lines[1].startswith("UDP message %s" % direction) or not lines[2].startswith(method):
                continue
            ts = datetime.datetime.strptime(lines[0].strip(), "%Y-%m-%d %H:%M:%S.%f")
            out.append(ts.timestamp())
        return out
