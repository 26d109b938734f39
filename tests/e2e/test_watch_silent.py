"""Supervision of a bound watch (issue 12) with linlid's faked clock: a watch that sends nothing
for watch-silent-hours is reported once to its step-1 contacts and the household's grid worker
(not an SOS: no incident, no escalation, the step-2 contact not told); its next message of any
kind closes it and the same people are told it is back; a watch nobody is bound to is never
reported; `show watches silent` lists what is open."""
import linli
from sos_util import F1, F2, F3, GRID_WORKER, WATCH, deliver_and_route, gateway, set_clock, texts_to, wait_texts

UNBOUND = "+8613912340009"
POSITION = "lat: 22.566923 long: 114.051331 speed:0.00 28/10/09 03:33 F:4.10V,1, Signal:F imei:359587011016261"


def main(t):
    gw = gateway(nmodems=1, extra_cfg="watch-silent-hours 2")
    gw.linlictl("device", "add", UNBOUND, "--household", "1-1-102", "--person", "吕永福", "--dialect", "tk")
    gw.start()
    try:
        deliver_and_route(gw, WATCH, POSITION)
        set_clock(gw, 2 * 3600 - 120)
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM device_supervision")[0][0] == 0, 3, "nothing yet")
        t.check(not texts_to(gw, F1, "手表失联"), "not reported before watch-silent-hours")

        set_clock(gw, 2 * 3600 + 90)
        msgs = {n: wait_texts(gw, n, "【手表失联】", 1, 90)[0] for n in (F1, F2, GRID_WORKER)}
        t.check("邹丽的手表已超过2小时" in msgs[F1] and "不是求救" in msgs[F1],
                "its step-1 contacts and the grid worker are told, plainly not an SOS: %r" % msgs[F1])
        t.check(not texts_to(gw, F3, "手表失联"), "the step-2 contact is not told (no escalation ladder)")
        t.check(gw.sql("SELECT count(*) FROM sos_incident")[0][0] == 0, "no SOS incident")
        t.check(gw.sql("SELECT count(*) FROM device_supervision d JOIN device w ON w.id = d.device_id "
                       "WHERE w.number = ?", (UNBOUND,))[0][0] == 0, "a watch nobody is bound to is not supervised")
        out = gw.vty("show watches silent")
        t.check(WATCH in out and "silent since" in out, "show watches silent: %r" % out.strip())

        set_clock(gw, 5 * 3600)
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM device_supervision")[0][0] == 1, 5, "still one")
        import time
        time.sleep(2)
        t.check(len(texts_to(gw, F1, "手表失联")) == 1, "told once, not again while it stays silent")

        deliver_and_route(gw, WATCH, POSITION)
        back = wait_texts(gw, F1, "【手表恢复】", 1, 60)[0]
        wait_texts(gw, GRID_WORKER, "【手表恢复】", 1, 60)
        t.check("邹丽的手表" in back and "恢复联系" in back, "its next message: they are told it is back: %r" % back)
        t.check(gw.sql("SELECT count(*) FROM device_supervision WHERE closed_at IS NULL")[0][0] == 0,
                "the supervision is closed")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
