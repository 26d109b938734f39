"""SOS escalation with linlid's faked clock (CTRL clock-offset, config test-clock on): nobody
acknowledges, so after each step delay the next rung is alerted in order (step-1 bindings,
step-2 bindings, the grid worker, staff, the group's neighbours, then the ladder again for the
second round); only approved bindings get the map link; an acknowledgement from a number that is
neither bound nor alerted is refused; one from an alerted neighbour stops it."""
import time

import linli
from sos_util import (F1, F2, F3, GRID_WORKER, LINK, NEIGHBOURS, PENDING, SOS_TEXT, STAFF, WATCH, deliver_and_route,
                      gateway, idle, received, set_clock, texts_to, wait_texts)

DELAY = 60


def main(t):
    gw = gateway(nmodems=3, delay=DELAY, rounds=2, dialect="setracker").start()
    try:
        gw.modems[0].deliver(WATCH, SOS_TEXT)
        wait_texts(gw, F1, "SOS求救")
        wait_texts(gw, F2, "SOS求救")
        idle(gw)

        # an unbound resident tries to acknowledge: refused, escalation goes on
        stranger = "+8613800138050"
        deliver_and_route(gw, stranger, "1")
        wait_texts(gw, stranger, "不是该报警手表的绑定联系人")
        t.check(gw.sql("SELECT state FROM sos_incident")[0][0] == "notifying", "an unbound number cannot acknowledge")
        deliver_and_route(gw, PENDING, "收到")
        t.check(gw.sql("SELECT state FROM sos_incident")[0][0] == "notifying",
                "neither can a binding that was never approved")
        t.check(not any("amap" in x for x in texts_to(gw, PENDING)), "the pending binding got no location")

        # nothing before the delay
        set_clock(gw, DELAY - 25)
        time.sleep(2.5)
        t.check(not texts_to(gw, F3), "no escalation before the step delay")

        rungs = [("step 2 binding", [F3], True), ("grid worker", [GRID_WORKER], False), ("staff", STAFF, False),
                 ("neighbours", NEIGHBOURS, False), ("round 2: step 1 again", [F1, F2], True)]
        for k, (what, nums, located) in enumerate(rungs, start=1):
            set_clock(gw, k * DELAY + 1)
            for n in nums:
                want = 2 if what.startswith("round 2") else 1
                wait_texts(gw, n, "SOS求救", want, 30)
            idle(gw)
            got = [texts_to(gw, n, "SOS求救")[-1] for n in nums]
            t.check(all((LINK in g) == located for g in got),
                    "%s alerted %s the location" % (what, "with" if located else "WITHOUT"))
            t.check(all("1幢1单元101" in g and "邹丽" in g for g in got), "%s: who and where" % what)
        steps = [r[0] for r in gw.sql("SELECT step FROM sos_attempt WHERE kind = 'alert' ORDER BY id")]
        order = []
        for s in steps:
            if not order or order[-1] != s:
                order.append(s)
        t.check(order == [1, 2, 100, 101, 102, 1], "rungs in order: %s" % order)
        row = gw.sql("SELECT state, step, round FROM sos_incident")[0]
        t.check(row == ("notifying", 1, 2), "incident in round 2 (%s)" % (row,))
        n_att = gw.sql("SELECT count(*) FROM sos_attempt WHERE kind = 'alert'")[0][0]
        t.check(n_att == 2 + 1 + 1 + 3 + 8 + 2, "every attempt recorded (%d)" % n_att)

        # a neighbour who was alerted acknowledges: everyone alerted is told, nothing more goes out
        deliver_and_route(gw, NEIGHBOURS[0], "收到")
        row = gw.sql("SELECT state, acked_by FROM sos_incident")[0]
        t.check(row == ("acknowledged", NEIGHBOURS[0]), "acknowledged by the neighbour (%s)" % (row,))
        for n in [F1, F2, F3, GRID_WORKER] + STAFF + NEIGHBOURS[1:]:
            wait_texts(gw, n, "已响应", 1, 60)
        idle(gw)
        t.check(not texts_to(gw, NEIGHBOURS[0], "已响应"), "the one who responded is not told about himself")
        t.check(not texts_to(gw, stranger, "已响应"), "the refused stranger was never alerted")
        t.check(not texts_to(gw, WATCH), "setracker has no stop word: nothing to the watch")
        total = sum(len(v) for v in received(gw).values())
        set_clock(gw, 20 * DELAY)
        time.sleep(3)
        t.check(sum(len(v) for v in received(gw).values()) == total, "no escalation after the acknowledgement")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
