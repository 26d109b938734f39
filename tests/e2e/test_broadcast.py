"""Broadcast notices and opt-out (issue 12) through the real modem path (modemsim + libgammu):

1. 退订 from a resident: told, and on the opt-out list; 订阅 undoes it (later).
2. A resident sending 通知 is refused (only staff); an unknown number gets nothing at all.
3. A staff phone sends 通知 W1-1 <text>: told the count (without the opted-out number) and a
   code; a wrong code is refused; the right code queues it: every other number of the group gets
   the text as written, the opted-out one nothing; the sender is told the counts when it is out.
4. Opting out never stops SOS alerts: an approved watch contact who opted out still gets them.
5. `linlictl broadcast all ...` drains at bulk priority: an SOS raised while it drains takes the
   next send slot (one modem with air time), it does not wait behind the notice.
"""
import os
import re
import time

import linli
from sos_util import F1, F2, SOS_TEXT, WATCH, gateway, texts_to, wait_texts

RULES = os.path.join(linli.ROOT, "routes", "sms.rules")
STAFF = "+8613900139101"
RESIDENT = "+8613800138001"            # 1-1-101, group W1-1
OPTED = "+8613800138003"               # 1-1-201, group W1-1: opts out
GROUP_W1_1 = ["+8613800138001", "+8613800138002", "+8613800138003", "+8613800138004", "+8613800138005",
              "+8613800138006", "+8613800138007", "+8613800138008", "+8613800138009"]
UNKNOWN = "+8613312345678"
NOTICE = "明天（12月3日）8点至12点停水，请提前储水。"


def main(t):
    gw = gateway(nmodems=1, airtime_ms=0, extra_cfg="rules-file %s\nhelp-interval 0" % RULES)
    gw.start()
    try:
        m = gw.modems[0]
        group = [r[0] for r in gw.sql("SELECT p.number FROM phone p JOIN household h ON h.id = p.household_id "
                                      "JOIN grp g ON g.id = h.grp_id WHERE g.code = 'W1-1' ORDER BY p.id")]
        t.check(set(GROUP_W1_1) <= set(group), "the sample group W1-1 (%d phones)" % len(group))

        # ---- 1. opt out ----
        m.deliver(OPTED, "退订")
        r = wait_texts(gw, OPTED, "已退订", 1, 30)[0]
        t.check("紧急求助" in r, "退订 is confirmed, saying SOS alerts still come: %r" % r)
        t.check(gw.sql("SELECT count(*) FROM optout WHERE number = ?", (OPTED,))[0][0] == 1, "on the opt-out list")
        out = gw.linlictl("optout", "list").stdout
        t.check(OPTED in out, "linlictl optout list shows it: %r" % out.strip())

        # ---- 2. refusals ----
        m.deliver(RESIDENT, "通知 W1-1 大家好")
        r = wait_texts(gw, RESIDENT, "只限", 1, 30)[0]
        t.check("工作人员" in r, "a resident's 通知 is refused: %r" % r)
        m.deliver(UNKNOWN, "通知 全部 免费领奖")
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE sender = ? AND state = 'done'",
                                      (UNKNOWN,))[0][0] == 1, 30, "the unknown number's 通知 routed")
        time.sleep(1)
        t.check(not texts_to(gw, UNKNOWN), "an unknown number's 通知 gets no answer")
        t.check(gw.sql("SELECT count(*) FROM broadcast")[0][0] == 0, "and no notice was made")

        # ---- 3. a notice by SMS, confirmed by its code ----
        m.deliver(STAFF, "通知 W1-1 " + NOTICE)
        r = wait_texts(gw, STAFF, "回复“发送", 1, 30)[0]
        code = re.search(r"发送(\d{4})", r)
        n_expect = len(group) - 1
        t.check(code is not None and ("共%d个号码" % n_expect) in r and NOTICE in r,
                "the staff member is told the count without the opted-out number and a code: %r" % r)
        m.deliver(STAFF, "发送 0000" if code.group(1) != "0000" else "发送 1111")
        wait_texts(gw, STAFF, "无效或已过期", 1, 30)
        t.check(True, "a wrong code is refused")
        t.check(gw.sql("SELECT state FROM broadcast")[0][0] == "confirm", "the notice still waits for its code")
        m.deliver(STAFF, "发送%s" % code.group(1))
        r = wait_texts(gw, STAFF, "已排队", 1, 30)[0]
        t.check(("共%d条" % n_expect) in r, "confirmed: queued %d: %r" % (n_expect, r))
        for num in group:
            if num == OPTED:
                continue
            got = wait_texts(gw, num, "【社区通知】", 1, 60)[0]
        t.check(got == "【社区通知】%s 退订回TD" % NOTICE, "each number of the group gets it as written: %r" % got)
        t.check(not texts_to(gw, OPTED, "【社区通知】"), "the opted-out number gets nothing")
        r = wait_texts(gw, STAFF, "已发完", 1, 60)[0]
        t.check(("共%d条，发出%d" % (n_expect, n_expect)) in r, "the sender is told the counts: %r" % r)
        show = gw.linlictl("broadcast", "show", "1").stdout
        t.check("done" in show and "sent %d" % n_expect in show, "linlictl broadcast show: %r" % show.strip())

        # ---- 4. opting out never stops SOS alerts ----
        m.deliver(F1, "TD")
        wait_texts(gw, F1, "已退订", 1, 30)
        m.deliver(WATCH, SOS_TEXT)
        a = wait_texts(gw, F1, "SOS求救", 1, 60)[0]
        t.check("SOS求救" in a, "an opted-out contact still gets the SOS alert")
        m.deliver(F1, "1")
        wait_texts(gw, F2, "已响应", 1, 60)
        m.deliver(F1, "订阅")
        wait_texts(gw, F1, "已恢复", 1, 30)
        t.check(gw.sql("SELECT count(*) FROM optout WHERE number = ?", (F1,))[0][0] == 0, "订阅 undoes it")
    finally:
        gw.close()

    # ---- 5. SOS first while a notice to everyone drains (one modem, 300 ms air time) ----
    gw = gateway(nmodems=1, airtime_ms=300, extra_cfg="rules-file %s" % RULES)
    gw.start()
    try:
        m = gw.modems[0]
        out = gw.linlictl("broadcast", "all", "今晚8点小区停电检修").stdout
        n = int(re.search(r": (\d+) number", out).group(1))
        t.check(n >= 30, "linlictl broadcast all: %d numbers (%s)" % (n, out.strip()))
        linli.wait_for(lambda: len([x for x in m.sent() if "社区通知" in x[2]]) >= 3, 60, "the notice draining")
        at_alarm = len([x for x in m.sent() if "社区通知" in x[2]])
        m.deliver(WATCH, SOS_TEXT)
        wait_texts(gw, F1, "SOS求救", 1, 60)
        sent = m.sent()
        first_sos = next(i for i, x in enumerate(sent) if "SOS求救" in x[2])
        bulk_before = len([x for x in sent[:first_sos] if "社区通知" in x[2]])
        # the send under way when the alarm came, and the one the modem was given while it read
        # the alarm, may go first; then the SOS alerts
        t.check(bulk_before - at_alarm <= 2,
                "the SOS alert took the next send slot: %d notice text(s) went out between the alarm and it "
                "(%d of %d before the alarm)" % (bulk_before - at_alarm, at_alarm, n))
        linli.wait_for(lambda: gw.sql("SELECT state FROM broadcast")[0][0] == "done", 120, "the notice out")
        t.check(True, "the notice finished after the SOS")
    finally:
        gw.close()


linli.run(main)
