"""Modem faults: CMS 500 is retried, a permanent error fails the message with its reason, and a
modem that stops answering has its work finished by the others."""
import re

import linli


def main(t):
    gw = linli.Gateway(nmodems=3, airtime_ms=10, extra_gateway_cfg="retry-backoff 1 2\nsend-timeout 10\nmax-attempts 10\n")
    gw.start()
    try:
        m1, m2, m3 = gw.modems
        # transient: every modem answers CMS 500 to its next two sends; the message goes out later
        for m in gw.modems:
            t.check(m.ctl("fail 500 2").startswith("ok"), "%s will answer +CMS ERROR: 500 twice" % m.name)
        mid = gw.send("+8613900000001", "retry me")
        linli.wait_for(lambda: gw.sql("SELECT state FROM sms_out WHERE id=?", (mid,))[0][0] in ("sent", "failed"),
                       120, "the retried message to finish", 0.2)
        st, attempts, err = gw.sql("SELECT state, attempts, error FROM sms_out WHERE id=?", (mid,))[0]
        t.check(st == "sent" and attempts >= 2, "CMS 500 retried, then sent (state %s, %d attempts)" % (st, attempts))
        for m in gw.modems:
            m.ctl("fail 500 0")

        # permanent: CMS 21 (short message transfer rejected) on every modem -> failed with the reason
        for m in gw.modems:
            m.ctl("fail 21 1")
        pid = gw.send("+8613900000002", "reject me")
        linli.wait_for(lambda: gw.sql("SELECT state FROM sms_out WHERE id=?", (pid,))[0][0] in ("sent", "failed"),
                       60, "the rejected message to finish", 0.2)
        st, attempts, err = gw.sql("SELECT state, attempts, error FROM sms_out WHERE id=?", (pid,))[0]
        t.check(st == "failed" and attempts == 1, "CMS 21 fails at once (state %s, %d attempts)" % (st, attempts))
        t.check(err is not None and "21" in err, "the failure keeps its reason: %r" % err)
        for m in gw.modems:
            m.ctl("fail 21 0")

        # a modem that stops answering: its message goes to the others, nothing is lost
        for i in range(150):
            gw.send("+86139%08d" % i, "hang test %04d" % i)
        linli.wait_for(lambda: gw.queue()["sent"] >= 30, 120, "some sent")
        t.check(m2.ctl("hang on").startswith("ok"), "m2 stops answering")
        linli.wait_for(lambda: gw.queue()["sent"] >= 150 + 1, 300, "all sent by the others", 0.5)
        seen = {}
        for m in gw.modems:
            for dest, nparts, text in m.sent():
                k = re.search(r"hang test (\d{4})", text)
                if k:
                    seen[k.group(1)] = seen.get(k.group(1), 0) + 1
        missing = [i for i in range(150) if "%04d" % i not in seen]
        t.check(not missing, "every message reached a modem (missing %s)" % missing[:10])
        modems = gw.ctrl.get("modems")
        t.check("m2=ready" not in modems, "m2 is no longer ready: %s" % modems)
        late = gw.sql("SELECT count(*) FROM sms_out WHERE state='sent' AND modem='m2' AND sent_at > "
                      "(SELECT max(sent_at) FROM sms_out WHERE modem != 'm2')")[0][0]
        t.check(late == 0, "no message is stuck on m2")
        m2.ctl("hang off")
        gw.wait_modems_ready(["m2"], timeout=120)
        t.check(True, "m2 comes back when it answers again")

        # a modem that vanishes (USB unplugged): the pool carries on, and it comes back
        t.check(m3.ctl("vanish").startswith("ok"), "m3's device disappears")
        linli.wait_for(lambda: "m3=ready" not in gw.ctrl.get("modems"), 60, "m3 seen gone", 0.2)
        before = gw.queue()["sent"]
        for i in range(6):
            gw.send("+86139%08d" % i, "vanish test %d" % i)
        linli.wait_for(lambda: gw.queue()["sent"] >= before + 6, 120, "sent without m3", 0.2)
        t.check(True, "the other modems send while m3 is gone")
        t.check(m3.ctl("appear").startswith("ok"), "m3's device is back")
        gw.wait_modems_ready(["m3"], timeout=120)
        t.check(True, "m3 is ready again after it reappears")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
