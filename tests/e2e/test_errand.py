"""Errands (跑腿), points (积分), registration (注册), the holiday calendar and the daily digest, end to
end through emulated modems, the real libgammu and linlid:

- an errand goes to the three runners; a resident's 接单 is refused; the first runner's 接单 takes it,
  the other two and the resident are told, a late 接单 gets "already taken by"; 完成 from another
  runner is refused; the runner's 完成, the resident's 1 confirms and credits the runner's points
  (errand-points), 积分 answers the balance; staff award points with linlictl; a second errand is
  disputed (有异议) and goes to the staff;
- registration: an unknown number registers (pending, staff told), reports while pending (flagged
  unverified), is approved with linlictl and told, then reports as a resident of its household; a
  second number of a known resident is linked at once; an address that matches nothing is
  rejected; malformed 注册 gets the format;
- a request reported on a Thursday with the next Monday a holiday (linlictl holiday add) is due
  on Wednesday: not overdue on Wednesday evening, 催办 after midnight (faked clock);
- the daily digest goes to every staff phone once for the day, also across a restart of linlid.
"""
import datetime
import os
import re
import time

import linli

RULES = os.path.join(linli.ROOT, "routes", "sms.rules")

R1 = "+8613800138001"      # 邹丽, 1幢1单元101 (grid W1)
R2 = "+8613800138002"      # 吕永福, 1幢1单元102 (grid W1)
R5 = "+8613800138041"      # 潘凤英, 5幢2单元301 (grid W2)
W1 = "+8613900139001"
W2 = "+8613900139002"
STAFF = ["+8613900139101", "+8613900139102", "+8613900139103"]
RUN = ["+8613900139201", "+8613900139202", "+8613900139203"]  # 胡刚, 闫秀英, 朱伟
EN = "+8613800138204"      # 汤丽, lang en, 4幢1单元202
NEW1 = "+8613700000011"
NEW2 = "+8613700000012"
NEW3 = "+8613700000013"
POINTS = 15


def main(t):
    gw = linli.Gateway(nmodems=3, extra_gateway_cfg="rules-file %s\ntest-clock on\nhelp-interval 0\n"
                       "errand-points %d\ndaily-digest 09:00" % (RULES, POINTS))
    # today's digest counts as sent: the test decides when the clock reaches a digest time
    today = time.strftime("%Y-%m-%d")
    gw.sql_write("INSERT INTO setting (name, value) VALUES ('digest-last-day', ?) ON CONFLICT (name) DO UPDATE"
                 " SET value = excluded.value", (today,))
    gw.start()
    inbox = [0]

    def deliver(number, text):
        gw.modems[inbox[0] % len(gw.modems)].deliver(number, text)
        inbox[0] += 1

    sms = linli.SentSms(gw)
    sent, wait_sms = sms.sent, sms.wait

    def routed():
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE state = 'new'")[0][0] == 0 and
                       gw.sql("SELECT count(*) FROM sms_in")[0][0] >= inbox[0], 30, "routing")

    def idle():
        routed()
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_out WHERE state IN ('queued', 'sending')")[0][0]
                       == 0, 60, "the outbox drained")

    def req(ref):
        return gw.sql("SELECT kind, state, coalesce(rating,''), flags, coalesce((SELECT number FROM phone WHERE "
                      "id = assignee_phone_id), '') FROM request WHERE ref = ?", (ref,))[0]

    def balance(number):
        return gw.sql("SELECT coalesce(sum(delta), 0) FROM points WHERE phone_id = (SELECT id FROM phone "
                      "WHERE number = ?)", (number,))[0][0]

    try:
        # ---- an errand taken by the first of three runners ----
        deliver(R1, "跑腿 帮忙取快递，放门口")
        ok = wait_sms(R1, "跑腿单")
        ref = re.search(r"跑腿单(\d{6})", ok).group(1)
        t.check("3位" in ok, "the resident is told it went to 3 runners: %s" % ok)
        for r in RUN:
            o = wait_sms(r, "【跑腿】", ref)
            t.check("帮忙取快递，放门口" in o and "邹丽" in o and "1幢1单元101" in o and "接单" + ref in o,
                    "runner %s gets the errand with who, where and how to take it: %s" % (r, o))
        s = req(ref)
        t.check(s[:2] == ("errand", "dispatched") and s[4] == "", "an errand, offered, nobody's yet (%s)" % (s,))

        deliver(R2, "接单 " + ref)
        t.check("跑腿志愿者" in wait_sms(R2, "只限"), "a resident's 接单 is refused")
        routed()
        t.check(req(ref)[1] == "dispatched", "the refused 接单 changed nothing")

        deliver(RUN[1], "JD " + ref)
        mine = wait_sms(RUN[1], "已接单" + ref)
        t.check("完成" + ref in mine and "13800138001" in mine, "the taker gets the details and the done command")
        for r in (RUN[0], RUN[2]):
            t.check("闫秀英" in wait_sms(r, "已由", ref), "runner %s told it is taken" % r)
        t.check("闫秀英" in wait_sms(R1, "接单", ref), "the resident told who took it")
        s = req(ref)
        t.check(s[1] == "accepted" and s[4] == RUN[1], "taken by the first to answer (%s)" % (s,))

        deliver(RUN[0], "接单" + ref)
        t.check("闫秀英" in wait_sms(RUN[0], "已由", ref, "接单，谢谢"), "a second 接单: already taken by 闫秀英")
        deliver(RUN[0], "完成 " + ref)
        t.check("不在您名下" in wait_sms(RUN[0], ref, "未作改动"), "完成 from another runner is refused")
        deliver(RUN[1], "完成")
        t.check("完成 单号" in wait_sms(RUN[1], "格式"), "完成 with no ref: the format")
        deliver(RUN[1], "WC 999999")
        t.check("不存在" in wait_sms(RUN[1], "999999"), "完成 of an unknown ref")
        routed()
        s = req(ref)
        t.check(s[1] == "accepted" and s[4] == RUN[1], "refused commands changed nothing (%s)" % (s,))

        deliver(RUN[1], "WC " + ref)
        wait_sms(RUN[1], "等待居民确认", ref)
        done = wait_sms(R1, "已完成", ref)
        t.check("1确认" in done and "2有异议" in done, "the resident asked to confirm: %s" % done)
        t.check(req(ref)[1] == "closed", "state closed (done)")

        deliver(R1, "1")
        wait_sms(R1, "已确认", ref)
        cr = wait_sms(RUN[1], "积分+%d" % POINTS, ref)
        t.check("现有%d分" % POINTS in cr, "the runner told the credit and balance: %s" % cr)
        s = req(ref)
        t.check(s[1] == "visited" and s[2] == "确认", "confirmed (%s)" % (s,))
        pts = gw.sql("SELECT delta, reason, actor, (SELECT ref FROM request WHERE id = request_id) FROM points "
                     "WHERE phone_id = (SELECT id FROM phone WHERE number = ?)", (RUN[1],))
        t.check(pts == [(POINTS, "跑腿" + ref, "system", ref)], "one ledger entry for the errand (%s)" % pts)
        ev = [e[0] for e in gw.sql("SELECT to_state FROM request_event WHERE request_id = (SELECT id FROM request "
                                   "WHERE ref = ?) ORDER BY at, id", (ref,))]
        t.check(ev == ["received", "dispatched", "accepted", "closed", "visited"], "one event per change: %s" % ev)

        deliver(RUN[1], "积分")
        jf = wait_sms(RUN[1], "您的积分")
        t.check("%d分" % POINTS in jf and "跑腿" + ref in jf, "积分 answers the balance and the last entry: %s" % jf)

        # staff award points; the person is told; the ledger lists it
        r = gw.linlictl("points", "add", "13900139202", "5", "社区志愿服务")
        t.check("balance %d" % (POINTS + 5) in r.stdout, "linlictl points add: %s" % r.stdout.strip())
        t.check("现有%d分" % (POINTS + 5) in wait_sms(RUN[1], "积分+5", "社区志愿服务"), "the runner told of the award")
        lst = gw.linlictl("points", "list").stdout
        t.check(RUN[1] in lst and str(POINTS + 5) in lst, "linlictl points list: %s" % lst.strip())
        one = gw.linlictl("points", "list", RUN[1]).stdout
        t.check("社区志愿服务" in one and "跑腿" + ref in one, "linlictl points list NUMBER lists the entries")
        r = gw.linlictl("points", "add", "13900139202", "0", "无", check=False)
        t.check(r.returncode != 0 and "not 0" in r.stderr, "0 points refused: %s" % r.stderr.strip())
        r = gw.linlictl("points", "add", "13911111111", "5", "x", check=False)
        t.check(r.returncode != 0 and "not a phone" in r.stderr, "an unknown number refused")
        t.check(balance(RUN[1]) == POINTS + 5, "balance = sum of the ledger")

        # a phone that speaks English gets English replies; the runners theirs in Chinese
        deliver(EN, "pt buy a bottle of milk")
        ok = wait_sms(EN, "Errand")
        ref_en = re.search(r"Errand (\d{6}) went to 3 runners", ok)
        t.check(ref_en is not None, "an English phone: %s" % ok)
        t.check("buy a bottle of milk" in wait_sms(RUN[2], "【跑腿】", ref_en.group(1)),
                "its errand reaches the runners with the words as written")
        deliver(EN, "JF")
        t.check("no points" in wait_sms(EN, "points"), "积分 in English, no entries yet")

        # a second errand, disputed: to the duty staff
        deliver(R2, "PT 帮忙买一袋米")
        ref2 = re.search(r"跑腿单(\d{6})", wait_sms(R2, "跑腿单")).group(1)
        for r in RUN:
            wait_sms(r, "【跑腿】", ref2)
        deliver(RUN[0], "接单 " + ref2)
        wait_sms(RUN[0], "已接单" + ref2)
        deliver(RUN[0], "完成 " + ref2)
        wait_sms(R2, "已完成", ref2)
        deliver(R2, "有异议")
        wait_sms(R2, "异议", ref2)
        for s_ in STAFF:
            t.check("胡刚" in wait_sms(s_, "【异议】", ref2), "staff %s told of the dispute" % s_)
        s = req(ref2)
        t.check(s[1] == "reopened" and s[2] == "有异议", "disputed: reopened (%s)" % (s,))
        t.check(balance(RUN[0]) == 0, "no points for a disputed errand")

        # ---- registration ----
        deliver(NEW1, "注册 王小明 2-2-301")
        t.check("待社区审核" in wait_sms(NEW1, "王小明"), "an unknown number's registration is pending")
        for s_ in STAFF:
            wait_sms(s_, "【注册】", "王小明", "13700000011")
        row = gw.sql("SELECT state, household_id FROM phone WHERE number = ?", (NEW1,))
        t.check(row == [("pending", None)], "a pending phone, no household yet (%s)" % row)
        reg = gw.sql("SELECT state, name, address, (SELECT code FROM household WHERE id = household_id) "
                     "FROM registration WHERE number = ?", (NEW1,))
        t.check(reg == [("pending", "王小明", "2-2-301", "2-2-301")],
                "the registration keeps what was written and the household it matched (%s)" % reg)
        deliver(NEW1, "报事 楼下有积水")
        ref3 = re.search(r"单号(\d{6})", wait_sms(NEW1, "已受理")).group(1)
        s = req(ref3)
        t.check(s[3] & 16 and s[4] == "", "a report while pending: unverified, to the staff (%s)" % (s,))
        lst = gw.linlictl("register", "list").stdout
        t.check(NEW1 in lst and "王小明" in lst, "linlictl register list: %s" % lst.strip())
        r = gw.linlictl("register", "approve", "13700000011")
        t.check("approved" in r.stdout, "linlictl register approve")
        t.check("2幢2单元301" in wait_sms(NEW1, "注册已通过"), "the person is told of the approval")
        hh = gw.sql("SELECT p.state, h.code FROM phone p JOIN household h ON h.id = p.household_id "
                    "WHERE p.number = ?", (NEW1,))
        t.check(hh == [("active", "2-2-301")], "active in the household (%s)" % hh)
        deliver(NEW1, "报事 电梯按钮失灵")
        ref4 = re.search(r"单号(\d{6})", wait_sms(NEW1, "已受理")).group(1)
        t.check("王小明" in wait_sms(W1, "派单", ref4), "after approval the grid worker gets the report")
        s = req(ref4)
        t.check(s[3] == 0 and s[4] == W1, "not unverified, dispatched to the grid worker (%s)" % (s,))

        # a resident's name and address are known to every neighbour: a match is a hint for the
        # staff, never a link (the number would see and rate the household's requests)
        deliver(NEW2, "ZC 邹丽 1幢1单元101")
        t.check("待社区审核" in wait_sms(NEW2, "邹丽"), "a name and address that match a resident stay pending")
        t.check(gw.sql("SELECT state, household_id FROM phone WHERE number = ?", (NEW2,)) == [("pending", None)],
                "pending: not in her household until the staff approve")
        for s_ in STAFF:
            wait_sms(s_, "【注册】", "邹丽", "姓名相符")
        deliver(NEW2, "查询")
        t.check("1幢1单元101" not in wait_sms(NEW2), "a pending number sees none of the household's requests")
        gw.linlictl("register", "approve", "13700000012")
        t.check("1幢1单元101" in wait_sms(NEW2, "注册已通过"), "approved by the staff: told")
        t.check(gw.sql("SELECT state, household_id FROM phone WHERE number = ?", (NEW2,)) == [("active", 1)],
                "approved: active in her household")

        deliver(NEW3, "注册 李四 99-9-999")
        wait_sms(NEW3, "待社区审核")
        r = gw.linlictl("register", "approve", "13700000013", check=False)
        t.check(r.returncode == 1 and "matches no single household" in r.stderr,
                "approving an address that matches nothing needs a household: %s" % r.stderr.strip())
        gw.linlictl("register", "reject", "13700000013", "地址不符")
        t.check("地址不符" in wait_sms(NEW3, "未通过"), "the rejected person is told why")
        t.check(gw.sql("SELECT count(*) FROM phone WHERE number = ?", (NEW3,))[0][0] == 0 and
                gw.sql("SELECT state FROM registration WHERE number = ?", (NEW3,)) == [("rejected",)],
                "rejected: the phone goes, the registration stays")
        deliver(R1, "注册 邹丽 1-1-101")
        t.check("1幢1单元101" in wait_sms(R1, "已登记"), "a known number is told it is registered")
        deliver(NEW3, "注册")
        t.check("3-2-501" in wait_sms(NEW3, "注册 张三"), "注册 alone gets the format")
        idle()

        # ---- a holiday and a weekend: Thursday + 3 working days = Wednesday; and the digest ----
        now = time.time()
        d = datetime.date.fromtimestamp(now) + datetime.timedelta(days=1)
        while d.weekday() != 3:  # Thursday
            d += datetime.timedelta(days=1)
        monday = d + datetime.timedelta(days=4)
        wednesday = d + datetime.timedelta(days=6)
        r = gw.linlictl("holiday", "add", monday.isoformat(), "holiday", "测试假日")
        t.check("added" in r.stdout, "linlictl holiday add: %s" % r.stdout.strip())
        gw.linlictl("holiday", "add", (d + datetime.timedelta(days=30)).isoformat(), "workday", "调休")
        hl = gw.linlictl("holiday", "list").stdout
        t.check(monday.isoformat() in hl and "测试假日" in hl and "workday" in hl, "linlictl holiday list: %s" % hl)
        gw.linlictl("holiday", "remove", (d + datetime.timedelta(days=30)).isoformat())
        r = gw.linlictl("holiday", "add", "2026-02-30", "holiday", check=False)
        t.check(r.returncode == 2 and "not a date" in r.stderr, "an impossible date is refused")

        def at(day, hh, mm):
            return time.mktime(datetime.datetime(day.year, day.month, day.day, hh, mm).timetuple())

        def set_clock(ts):
            gw.ctrl.set("clock-offset", str(int(ts - time.time())))

        def digests(dest, day):
            label = "%d月%d日" % (day.month, day.day)
            return [x for d_, _, x in sent() if d_ == dest and "【日报】" in x and label in x]

        set_clock(at(d, 10, 0))
        for s_ in STAFF:
            dg = wait_sms(s_, "【日报】", "%d月%d日" % (d.month, d.day))
            t.check(re.search(r"在办\d+件，超时\d+件。最早：\d{6}", dg), "staff %s get the digest: %s" % (s_, dg))
        deliver(R5, "报事 5幢门口路灯不亮")
        rep = wait_sms(R5, "已受理")
        ref5 = re.search(r"单号(\d{6})", rep).group(1)
        t.check("%d月%d日" % (wednesday.month, wednesday.day) in rep,
                "Thursday + 3 working days over a weekend and a holiday Monday = Wednesday: %s" % rep)
        dl = gw.sql("SELECT deadline FROM request WHERE ref = ?", (ref5,))[0][0]
        t.check(dl == int(at(wednesday, 23, 59)) + 59, "deadline Wednesday 23:59:59 (%s)" %
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(dl)))
        wait_sms(W2, "派单", ref5)

        # the digest again the same day, across a restart: not sent twice
        idle()
        t.check(gw.stop() == 0, "linlid stops cleanly")
        gw.start()
        set_clock(at(d, 11, 0))
        deliver(R2, "查询")  # something to route, so the clock has surely been seen by the tick
        wait_sms(R2, "单号")
        time.sleep(3)
        idle()
        t.check(all(len(digests(s_, d)) == 1 for s_ in STAFF), "one digest per staff phone that day, "
                "also after a restart")
        t.check(gw.sql("SELECT value FROM setting WHERE name = 'digest-last-day'") == [(d.isoformat(),)],
                "the digest day is kept in the database")

        set_clock(at(wednesday, 22, 0))
        for s_ in STAFF:
            wait_sms(s_, "【日报】", "%d月%d日" % (wednesday.month, wednesday.day))
        time.sleep(6)  # the overdue check runs every 5 s
        idle()
        t.check(req(ref5)[3] & 1 == 0 and not [x for d_, _, x in sent() if d_ == W2 and "催办" in x and ref5 in x],
                "not overdue on its last day")
        set_clock(at(wednesday + datetime.timedelta(days=1), 0, 10))
        t.check("催办" in wait_sms(W2, "催办", ref5), "催办 after the deadline")
        linli.wait_for(lambda: req(ref5)[3] & 3 == 3, 20, "the overdue flag")
        t.check(True, "flagged overdue and reminded")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
