"""kill -9 right after an SOS is committed (incident and alerts queued, nothing sent yet): after
the restart the alerts go out, once each, and escalation carries on from the database."""
import linli
from sos_util import F1, F2, F3, LINK, SOS_TEXT, WATCH, gateway, idle, set_clock, texts_to, wait_texts


def main(t):
    gw = gateway(nmodems=2, delay=60)
    gw.start()
    try:
        # slow the modems so that nothing is accepted before the kill
        for m in gw.modems:
            m.ctl("airtime 8000")
        gw.modems[0].deliver(WATCH, SOS_TEXT)
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sos_attempt")[0][0] >= 2, 30,
                       "the incident and its alerts committed", 0.02)
        gw.kill9()
        t.check(True, "linlid killed with SIGKILL right after the SOS was committed")
        st = gw.sql("SELECT o.state FROM sos_attempt a JOIN sms_out o ON o.id = a.sms_out_id")
        print("alert states at the kill: %s" % st)
        t.check(gw.sql("SELECT count(*) FROM sos_incident")[0][0] == 1, "the incident was committed")
        t.check(not any(texts_to(gw, n) for n in (F1, F2)), "nothing accepted by a modem yet")
        for m in gw.modems:
            m.ctl("airtime 0")
        gw.start()
        wait_texts(gw, F1, "SOS求救", 1, 60)
        wait_texts(gw, F2, "SOS求救", 1, 60)
        idle(gw)
        dup = gw.sql("SELECT coalesce(sum(value), 0) FROM stat WHERE name = 'out_possible_dup'")[0][0]
        for n in (F1, F2):
            got = texts_to(gw, n, "SOS求救")
            # a send that was under way at the kill is re-queued and counted; libgammu had not had
            # its answer, so the emulated modem may have been asked twice for it
            t.check(len(got) == 1 or len(got) <= 1 + dup, "%s: the alert after the restart, once (%d, %d counted "
                    "possible duplicates)" % (n, len(got), dup))
            t.check(LINK in got[0], "%s: with the link" % n)
        t.check(gw.sql("SELECT count(*) FROM sos_incident")[0][0] == 1, "still one incident (the SMS was not "
                "routed twice)")
        t.check(gw.sql("SELECT count(*) FROM sos_attempt WHERE kind = 'alert'")[0][0] == 2, "two alert attempts")
        set_clock(gw, 61)
        wait_texts(gw, F3, "SOS求救", 1, 30)
        t.check(True, "escalation resumed from the database after the restart")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
