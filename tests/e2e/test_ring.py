"""Calls ringing a modem (RING/+CLIP through the real libgammu): a registered watch that calls
raises an SOS like its text would (stored, alerts with the call noted, the call rejected); an
unknown caller is only rejected; a household's missed call with `missed-call group-call` but no
SIP user agent is rejected and the reason logged."""
import os
import time

import linli
from sos_util import F1, F2, PRIMARY, WATCH, gateway, wait_texts

UNKNOWN = "+8613312345678"


def mark(m):
    """Where the modem's AT log ends now: hung_up() looks only at what comes after it (the log's
    time stamps have millisecond resolution, too coarse to order a ring and its rejection)."""
    return os.path.getsize(m.at_log)


def hung_up(m, since):
    """Whether the modem was told to end a call after the mark `since` (AT+CHUP or ATH)."""
    with open(m.at_log, "rb") as f:
        f.seek(since)
        return any(b"cmd AT+CHUP" in line or b"cmd ATH" in line for line in f)


def main(t):
    gw = gateway(nmodems=1, at_log=True, extra_cfg="missed-call group-call")
    gw.start()
    try:
        m = gw.modems[0]
        # ---- the watch calls ----
        t0 = mark(m)
        t.check(m.ctl("ring %s 0" % WATCH).startswith("ok"), "the watch rings the modem")
        a1 = wait_texts(gw, F1, "SOS求救", 1, 60)[0]
        wait_texts(gw, F2, "SOS求救", 1, 60)
        t.check("来电" in a1, "the alert says the watch called: %r" % a1)
        linli.wait_for(lambda: hung_up(m, t0), 30, "the call rejected (AT+CHUP/ATH)", 0.2)
        t.check(True, "the watch's call was rejected")
        rows = gw.sql("SELECT sender, text, raw, state FROM sms_in")
        t.check(len(rows) == 1 and rows[0][0] == WATCH and rows[0][3] == "done" and "RING" in rows[0][2],
                "the call is kept as a received message from the watch, routed (%s)" % rows)
        inc = gw.sql("SELECT state, kind FROM sos_incident")
        t.check(inc == [("notifying", "sos")], "an SOS incident, alerting (%s)" % inc)

        # ---- the watch calls again: a repeat of the open incident, not a new one ----
        time.sleep(1.5)
        t1 = mark(m)
        m.ctl("ring %s 0" % WATCH)
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE state = 'done'")[0][0] == 2, 60,
                       "the second call routed", 0.2)
        linli.wait_for(lambda: hung_up(m, t1), 30, "the second call rejected", 0.2)
        t.check(gw.sql("SELECT count(*) FROM sos_incident")[0][0] == 1, "the second call attaches to the incident")

        # ---- an unknown number calls: rejected, nothing stored ----
        t2 = mark(m)
        m.ctl("ring %s 0" % UNKNOWN)
        linli.wait_for(lambda: hung_up(m, t2), 30, "the unknown caller rejected", 0.2)
        t.check(gw.sql("SELECT count(*) FROM sms_in")[0][0] == 2, "nothing stored for an unknown caller")
        linli.wait_for(lambda: "call from %s (unknown number): rejected" % UNKNOWN in open(gw.log_path).read(), 10,
                       "the unknown caller logged")

        # ---- a household's missed call, with no SIP user agent configured ----
        # right after the previous rejection: a new caller is a new call, not merged into the last
        t3 = mark(m)
        m.ctl("ring %s 0" % PRIMARY)
        linli.wait_for(lambda: hung_up(m, t3), 30, "the household's call rejected", 0.2)
        linli.wait_for(lambda: "missed call from %s: the group call's SIP user agent is not running" % PRIMARY
                       in open(gw.log_path).read(), 10, "the reason logged")
        t.check(True, "missed call without a SIP user agent: rejected, the reason logged")
        t.check(gw.sql("SELECT count(*) FROM sms_in")[0][0] == 2, "nothing stored for the household's call")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
