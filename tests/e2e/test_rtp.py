"""The RTP peer of the end-to-end tests (tests/e2e/rtp.py) against linlid's real mixer code
(gateway/call/media.c, hosted by `mixer_bench serve`, no SIP): four peers, PCMU and PCMA, each sending
its own tone; the Goertzel levels show each hears the three others and not itself; RFC 4733 and
in-band key presses arrive once each; a prompt sequence rendered by the build with espeak-ng
plays to one peer and reports done once. This checks the tool the group call tests rely on, and
the mixer through it."""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import linli  # noqa: E402
from rtp import RtpPeer  # noqa: E402

FREQ = [440, 700, 1100, 1500]
PT = [0, 8, 0, 8]
TE = [101, 101, 101, -1]  # the last peer offered no telephone-event: in-band DTMF


class Host:
    """mixer_bench serve N, driven by lines on its stdin; its output lines are collected."""

    def __init__(self, n):
        exe = os.path.join(linli.BUILD, "bench", "mixer_bench")
        self.p = subprocess.Popen([exe, "serve", str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(linli.BUILD, "test-logs", "test_rtp.host.err"), "w"),
                                  text=True, bufsize=1)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.strip())

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def wait_line(self, pred, what, timeout=10):
        return linli.wait_for(lambda: next((x for x in self.lines if pred(x)), None), timeout, what)

    def count(self, line):
        return sum(1 for x in self.lines if x == line)

    def close(self):
        if self.p.poll() is None:
            try:
                self.cmd("quit")
                self.p.wait(10)
            except Exception:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def main(t):
    os.makedirs(os.path.join(linli.BUILD, "test-logs"), exist_ok=True)
    host = Host(4)
    peers = []
    try:
        host.wait_line(lambda x: x == "ready", "the mixer host to start")
        ports = {}
        for x in host.lines:
            if x.startswith("leg "):
                _, i, port = x.split()
                ports[int(i)] = int(port)
        t.check(len(ports) == 4, "four legs on ports %s" % sorted(ports.values()))
        for i in range(4):
            p = RtpPeer(pt=PT[i], te_pt=TE[i], name="p%d" % i)
            p.tone(FREQ[i])
            p.set_remote("127.0.0.1", ports[i])
            peers.append(p)
            host.cmd("remote %d 127.0.0.1 %d %d %d" % (i, p.port, PT[i], TE[i]))
            host.wait_line(lambda x, i=i: x.startswith("remote %d " % i), "leg %d set up" % i)
        t.check(all(host.count("remote %d 0" % i) == 1 for i in range(4)), "every leg accepted its remote")

        time.sleep(0.3)
        marks = [p.mark() for p in peers]
        linli.wait_for(lambda: all(len(p.samples(m)) >= 8000 for p, m in zip(peers, marks)), 10,
                       "one second of audio at every peer")
        for i, p in enumerate(peers):
            lv = p.levels(FREQ, since=marks[i], seconds=1.0)
            others = [lv[f] for j, f in enumerate(FREQ) if j != i]
            t.check(min(others) > 0.6 * p.amplitude and lv[FREQ[i]] < 0.05 * p.amplitude,
                    "peer %d (%s) hears the others (weakest %.0f) and not its own %d Hz (%.0f)"
                    % (i, "PCMA" if PT[i] == 8 else "PCMU", min(others), FREQ[i], lv[FREQ[i]]))
        t.check(all(p.seq_errors == 0 and p.foreign == 0 and p.malformed == 0 for p in peers),
                "RTP in order from the mixer, nothing foreign or malformed (seq errors %s)"
                % [p.seq_errors for p in peers])
        t.check(peers[0].pts == {0} and peers[1].pts == {8}, "each peer gets its own codec (%s, %s)"
                % (peers[0].pts, peers[1].pts))

        # key presses: RFC 4733 from peer 2, in-band from peer 3
        peers[2].send_digit("1")
        host.wait_line(lambda x: x == "digit 2 1", "the RFC 4733 digit")
        peers[2].send_digit("#")
        host.wait_line(lambda x: x == "digit 2 #", "the second RFC 4733 digit")
        peers[3].send_inband_digit("5")
        host.wait_line(lambda x: x == "digit 3 5", "the in-band digit")
        time.sleep(0.3)
        t.check(host.count("digit 2 1") == 1 and host.count("digit 2 #") == 1 and host.count("digit 3 5") == 1
                and sum(1 for x in host.lines if x.startswith("digit")) == 3,
                "each key press arrives once: %s" % [x for x in host.lines if x.startswith("digit")])

        # a prompt sequence rendered by the build, to peer 0
        host.cmd("prompts %s" % os.path.join(linli.BUILD, "prompts"))
        n = int(host.wait_line(lambda x: x.startswith("prompts "), "prompts loaded").split()[1])
        t.check(n >= 19, "the build's %d prompts loaded" % n)
        for p in peers:
            p.silence()
        time.sleep(0.2)
        m = peers[0].mark()
        host.cmd("play 0 neighbour_calls building 3 unit 2")
        t.check(host.wait_line(lambda x: x.startswith("play 0 "), "play accepted") == "play 0 0", "play accepted")
        host.wait_line(lambda x: x == "done 0", "the prompt sequence to end", timeout=20)
        heard = peers[0].samples(m)
        t.check(len(heard) > 8000 * 2 and peers[0].rms(m, seconds=len(heard) / 8000.0) > 300,
                "peer 0 heard %.1f s of speech (rms %.0f) before done"
                % (len(heard) / 8000.0, peers[0].rms(m, seconds=len(heard) / 8000.0)))
        time.sleep(0.5)
        t.check(host.count("done 0") == 1, "done reported once")
        host.cmd("play 1 nonexistent")
        t.check(host.wait_line(lambda x: x.startswith("play 1 "), "play refused") == "play 1 -2",
                "an unknown prompt is refused with -ENOENT")
    finally:
        for p in peers:
            p.close()
        rc = host.close()
    t.check(rc == 0, "the mixer host exits cleanly (ASan finds no leak): rc %s" % rc)


if __name__ == "__main__":
    linli.run(main)
