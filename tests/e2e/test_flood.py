"""Flood and abuse limits per sender (issue 12), through the real modem path: a number that sends
more than flood-limit messages in its window is told once and parked (its messages stored, not
routed) until the window passes or staff release it; a watch is never parked (every alarm is
handled); a number staff blocked is stored and never answered; linlictl refuses to block a staff
phone; `show senders held` lists them."""
import os

import linli
from sos_util import F1, SOS_TEXT, WATCH, gateway, set_clock, texts_to, wait_texts

RULES = os.path.join(linli.ROOT, "routes", "sms.rules")
FLOODER = "+8613800138002"
ABUSER = "+8613312345678"
STAFF = "+8613900139101"


def routed(gw, n):
    linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE state = 'done'")[0][0] >= n, 60,
                   "%d messages routed" % n, 0.2)


def main(t):
    gw = gateway(nmodems=1, extra_cfg="rules-file %s\nhelp-interval 0\nflood-limit 5 10\nreply-unknown on" % RULES)
    gw.start()
    try:
        m = gw.modems[0]
        for i in range(8):
            m.deliver(FLOODER, "查询 %d" % i)
        routed(gw, 8)
        notes = [r[0] for r in gw.sql("SELECT note FROM sms_in WHERE sender = ? ORDER BY id", (FLOODER,))]
        t.check(len([n for n in notes if n.startswith("parked")]) == 3 and not notes[0].startswith("parked"),
                "five handled, the next three parked: %s" % notes)
        wait_texts(gw, FLOODER, "短信过多", 1, 30)
        t.check(len(texts_to(gw, FLOODER, "短信过多")) == 1, "told once")
        t.check(gw.sql("SELECT count(*) FROM sms_in WHERE sender = ?", (FLOODER,))[0][0] == 8,
                "every message stored")
        out = gw.vty("show senders held")
        t.check(FLOODER in out and "parked" in out, "show senders held: %r" % out.strip())

        # a watch is never parked: twelve alarms, all handled as alarms
        for i in range(12):
            m.deliver(WATCH, SOS_TEXT + " #%d" % i)
        routed(gw, 20)
        wn = [r[0] for r in gw.sql("SELECT note FROM sms_in WHERE sender = ?", (WATCH,))]
        t.check(len(wn) == 12 and not [n for n in wn if n.startswith("parked")], "a watch is never parked")
        wait_texts(gw, F1, "SOS求救", 1, 60)

        # release by staff: routed again at once
        r = gw.linlictl("sender", "release", FLOODER)
        t.check("released" in r.stdout, "linlictl sender release: %r" % r.stdout.strip())
        m.deliver(FLOODER, "帮助")
        routed(gw, 21)
        last = gw.sql("SELECT note FROM sms_in WHERE sender = ? ORDER BY id DESC LIMIT 1", (FLOODER,))[0][0]
        t.check(not last.startswith("parked"), "after the release its message is routed: %r" % last)

        # a block by staff: stored, never answered; a staff phone cannot be blocked
        r = gw.linlictl("sender", "block", STAFF, check=False)
        t.check(r.returncode != 0 and "never blocked" in r.stderr, "a staff phone cannot be blocked: %r" % r.stderr)
        gw.linlictl("sender", "block", ABUSER, "骚扰")
        m.deliver(ABUSER, "帮助")
        routed(gw, 22)
        note = gw.sql("SELECT note FROM sms_in WHERE sender = ?", (ABUSER,))[0][0]
        t.check(note.startswith("blocked"), "a blocked number's message is stored with the reason: %r" % note)
        import time
        time.sleep(1.5)
        t.check(not texts_to(gw, ABUSER), "and never answered (even with reply-unknown on)")

        # a park ends with its window (the faked clock); the release no longer covers it then
        set_clock(gw, 11 * 60)
        for i in range(7):
            m.deliver(FLOODER, "查询 %d" % (i + 10))
        routed(gw, 29)
        notes = [r[0] for r in gw.sql("SELECT note FROM sms_in WHERE sender = ? ORDER BY id DESC LIMIT 7", (FLOODER,))]
        t.check(notes[0].startswith("parked"), "past the release's window a flood is parked again: %r" % notes[0])
        set_clock(gw, 22 * 60)
        m.deliver(FLOODER, "查询 99")
        routed(gw, 30)
        last = gw.sql("SELECT note FROM sms_in WHERE sender = ? ORDER BY id DESC LIMIT 1", (FLOODER,))[0][0]
        t.check(not last.startswith("parked"), "after the window its messages are routed again: %r" % last)
    finally:
        gw.close()


linli.run(main)
