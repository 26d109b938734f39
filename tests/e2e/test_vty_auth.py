"""The VTY asks for its password (issue 13, hole 4): without it nothing runs, not even `show`;
with it the operator works as before; `enable` asks again. CTRL, which has no login, sends
nothing unless `ctrl-send on`, and moves no clock without `test-clock on`."""
import os
import random
import socket
import stat
import struct

import linli


def main(t):
    gw = linli.Gateway(nmodems=1, vty_password="pw-e2e-7f3a").start()
    try:
        t.check(gw.vty("show modems", password="wrong") == "login refused", "a wrong password gets no VTY")
        t.check(gw.vty("show modems", password="") == "login refused", "no password gets no VTY")
        out = gw.vty("show modems")
        t.check("m1" in out, "the right password: show modems works (%s)" % out.strip()[:80])
        out = gw.vty(["configure terminal", "gateway", "help-interval 30", "end", "show running-config"])
        t.check("help-interval 30" in out, "and configuration works")

        # `write file` writes the passwords: the file (and its .sav) must not be world-readable,
        # though libosmovty makes what it writes 0644 and the one written here was 0644 too
        os.chmod(gw.cfg, 0o644)
        out = gw.vty("write file")
        modes = {}
        for p in (gw.cfg, gw.cfg + ".sav"):
            try:
                modes[p] = stat.S_IMODE(os.stat(p).st_mode)
            except OSError as e:
                modes[p] = str(e)
        with open(gw.cfg) as f:
            written = f.read()
        t.check("help-interval 30" in written and "password pw-e2e-7f3a" in written,
                "write file wrote the running config with its password (%s)" % out.strip()[:80])
        t.check(all(isinstance(m, int) and m & 0o077 == 0 for m in modes.values()),
                "after write file the config and its .sav are 0600, no group or world bits (%s)" %
                ", ".join("%s %s" % (os.path.basename(p), oct(m) if isinstance(m, int) else m)
                          for p, m in modes.items()))
        gw.vty(["configure terminal", "gateway", "ctrl-send off", "end"])
        try:
            gw.send("+8613800138001", "hello")
            refused = False
        except Exception as e:
            refused = "ctrl-send" in str(e)
        t.check(refused, "with ctrl-send off, CTRL SET sms-send is refused")
        try:
            gw.ctrl.set("clock-offset", "86400")
            moved = True
        except Exception as e:
            moved = "test-clock" not in str(e)
        t.check(not moved, "without test-clock on, CTRL cannot move linlid's clock")

        # garbage on both ports: linlid closes or ignores it and goes on
        rnd = random.Random(13)
        for port in (gw.ctrl_port, gw.vty_port):
            for n in (1, 3, 64, 4096, 70000):
                junk = bytes(rnd.randrange(256) for _ in range(n))
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    s.sendall(junk)
                    s.close()
                except OSError:
                    pass
        try:
            s = socket.create_connection(("127.0.0.1", gw.ctrl_port), timeout=5)
            body = b"\x00GET 1 " + b"x" * 60000
            s.sendall(struct.pack(">HB", len(body), 0xEE) + body)  # a huge variable name
            s.close()
        except OSError:
            pass
        t.check("m1" in gw.vty("show modems"), "after garbage on CTRL and VTY, the VTY still answers")
        t.check("m1=" in linli.Ctrl(gw.ctrl_port).get("modems"), "and a new CTRL connection too")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


if __name__ == "__main__":
    linli.run(main)
