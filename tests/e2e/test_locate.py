"""Locate on demand (定位 / DW, issue 12) through the real modem path: an approved contact asks,
the watch is sent its dialect's locate command, and the position it answers with goes to that
contact only (not as a position notice to every step-1 contact); a pending contact, a stranger
naming the watch and a stranger naming a number that is no watch all get the same refusal,
without the wearer's name."""
import time

import linli
from sos_util import F1, F2, PENDING, WATCH, gateway, texts_to, wait_texts

STRANGER = "+8613312345678"
POSITION = "lat: 22.566923 long: 114.051331 speed:0.00 28/10/09 03:33 F:4.10V,1, Signal:F imei:359587011016261"


def main(t):
    gw = gateway(nmodems=1)
    gw.start()
    try:
        m = gw.modems[0]
        m.deliver(F1, "定位")
        cmd = wait_texts(gw, WATCH, "smslink", 1, 30)[0]
        t.check(cmd == "smslink123456", "the TK watch is sent its locate command: %r" % cmd)
        r = wait_texts(gw, F1, "定位指令", 1, 30)[0]
        t.check("邹丽" in r, "the contact is told it was sent: %r" % r)
        before_f2 = len(texts_to(gw, F2))
        m.deliver(WATCH, POSITION)
        a = wait_texts(gw, F1, "【定位】", 1, 30)[0]
        t.check("position=114.051331,22.566923" in a and "邹丽" in a, "the answer goes to the contact who asked: %r" % a)
        time.sleep(1.5)
        t.check(len(texts_to(gw, F2)) == before_f2, "and not to the other step-1 contact")

        refusals = {}
        for who, text in ((PENDING, "定位 %s" % WATCH), (STRANGER, "DW %s" % WATCH), (STRANGER + "9", "定位 +8613800000000")):
            m.deliver(who, text)
        for who in (PENDING, STRANGER, STRANGER + "9"):
            refusals[who] = wait_texts(gw, who, "无法定位", 1, 30)[0]
        t.check(len(set(refusals.values())) == 1, "the same refusal for a pending contact, a stranger and a non-watch")
        t.check(all("邹丽" not in r for r in refusals.values()), "never the wearer's name: %r" % refusals[PENDING])
        t.check(len(texts_to(gw, WATCH, "smslink")) == 1, "no locate command for a refused ask")

        m.deliver(F1, "DW")
        wait_texts(gw, WATCH, "smslink", 2, 30)
        t.check(True, "DW alone works for a contact of one watch")
    finally:
        gw.close()


linli.run(main)
