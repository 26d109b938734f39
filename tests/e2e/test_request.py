"""Requests (报事) end to end through emulated modems, the real libgammu and linlid: the whole loop
report -> dispatch -> accept -> note -> resolve -> rate, checking each SMS text and each state in
the database; reopen on 3; return and reassign (linlictl); privacy of 查询; a non-worker's 办结
refused; duplicates merged; malformed commands answered without changing anything; a report from
an unknown number; overdue reminders and escalation with the test clock."""
import os
import re
import time

import linli

RULES = os.path.join(linli.ROOT, "routes", "sms.rules")

R1 = "+8613800138001"      # 邹丽, 1幢1单元101 (grid W1)
R1B = "+8613800138201"     # 邹文斌, same household
R2 = "+8613800138002"      # 吕永福, 1幢1单元102 (grid W1)
R5 = "+8613800138041"      # 潘凤英, 5幢2单元301 (grid W2)
R6 = "+8613800138051"      # 龚桂英, 6幢2单元401 (grid W2)
W1 = "+8613900139001"      # 杜军, grid worker of W1
W2 = "+8613900139002"
W3 = "+8613900139003"
STAFF = ["+8613900139101", "+8613900139102", "+8613900139103"]
UNKNOWN = "+8613700000001"


def main(t):
    gw = linli.Gateway(nmodems=3, extra_gateway_cfg="rules-file %s\ntest-clock on\nhelp-interval 0" % RULES).start()
    inbox = [0]

    def deliver(number, text, opts=""):
        gw.modems[inbox[0] % len(gw.modems)].deliver(number, text, opts)
        inbox[0] += 1

    sms = linli.SentSms(gw)
    sent, wait_sms = sms.sent, sms.wait

    def req(ref):
        return gw.sql("SELECT state, coalesce(rating,''), flags, coalesce((SELECT number FROM phone WHERE "
                      "id = assignee_phone_id), ''), text FROM request WHERE ref = ?", (ref,))[0]

    def routed():
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE state = 'new'")[0][0] == 0 and
                       gw.sql("SELECT count(*) FROM sms_in")[0][0] >= inbox[0], 30, "routing")

    def events(ref):
        return gw.sql("SELECT actor, coalesce(from_state,''), to_state, coalesce(note,'') FROM request_event "
                      "WHERE request_id = (SELECT id FROM request WHERE ref = ?) ORDER BY at, id", (ref,))

    try:
        # ---- the whole loop ----
        deliver(R1, "#我要报事 1幢楼道灯坏了，晚上很黑")
        reply = wait_sms(R1, "已受理")
        m = re.search(r"单号(\d{6})", reply)
        t.check(m is not None, "reply carries a 6-digit ref: %s" % reply)
        ref = m.group(1)
        t.check("前办结" in reply and re.search(r"\d+月\d+日", reply), "reply carries the deadline date")
        d = wait_sms(W1, "派单", ref)
        t.check(all(w in d for w in ["1幢1单元101", "邹丽", "13800138001", "1幢楼道灯坏了，晚上很黑", "签收", "办结"]),
                "the grid worker gets ref, address, name, number, text, commands: %s" % d)
        s = req(ref)
        t.check(s[0] == "dispatched" and s[3] == W1, "request dispatched to the grid worker (%s)" % (s,))
        t.check(s[4] == "1幢楼道灯坏了，晚上很黑", "text kept as sent, keyword and filler dropped (%r)" % s[4])
        dl = gw.sql("SELECT deadline - created FROM request WHERE ref = ?", (ref,))[0][0]
        t.check(3 * 86400 <= dl <= 6 * 86400, "deadline 3 working days out (%.1f days)" % (dl / 86400.0))

        deliver(W1, "签收 " + ref)
        t.check("已签收" in wait_sms(W1, "已签收", ref), "worker told: accepted")
        t.check(req(ref)[0] == "accepted", "state accepted")

        deliver(W1, "CZ %s 已联系电工，明天上午更换" % ref)
        wait_sms(W1, "已记录", ref)
        t.check(req(ref)[0] == "in_progress", "state in_progress")

        # privacy: another household is refused, the reporter's household sees it
        deliver(R2, "查询 " + ref)
        t.check("只有报事住户" in wait_sms(R2, ref), "another resident's 查询 is refused")
        deliver(R1B, "CX " + ref)
        st = wait_sms(R1B, ref, "处置中")
        t.check("已联系电工" in st, "the reporter's household sees state and last note: %s" % st)
        deliver(R1, "查询")
        t.check("处置中" in wait_sms(R1, ref, "处置中"), "查询 alone: the sender's latest")

        # a resident may not resolve
        deliver(R1, "办结 %s 好了" % ref)
        t.check("网格员" in wait_sms(R1, "只限"), "a non-worker's 办结 is refused")
        routed()
        t.check(req(ref)[0] == "in_progress", "refused 办结 changed nothing")
        t.check("refused" in gw.sql("SELECT note FROM sms_in WHERE sender = ? ORDER BY id DESC", (R1,))[0][0],
                "the refusal is logged in the inbox note")

        deliver(W1, "办结%s 已更换灯泡" % ref)
        res = wait_sms(R1, "已办结", ref)
        t.check("已更换灯泡" in res and "回复1满意" in res, "the resident gets the result and the rating prompt: %s" % res)
        wait_sms(W1, "已办结", ref)
        t.check(req(ref)[0] == "closed", "state closed")

        deliver(R1, "1")
        wait_sms(R1, "感谢", ref)
        s = req(ref)
        t.check(s[0] == "visited" and s[1] == "满意", "rated 1: visited, 满意 (%s)" % (s,))
        ev = events(ref)
        t.check([e[2] for e in ev] == ["received", "dispatched", "accepted", "in_progress", "closed", "visited"],
                "one event per change: %s" % [e[2] for e in ev])
        t.check(ev[0][0] == R1 and ev[2][0] == W1 and ev[3][3].startswith("已联系电工") and ev[5][3] == "满意",
                "events carry actor and note")

        # ---- reopen on 3 ----
        deliver(R2, "BS 水管漏水")
        ref2 = re.search(r"单号(\d{6})", wait_sms(R2, "已受理")).group(1)
        wait_sms(W1, ref2, "水管漏水")
        deliver(W1, "BJ %s 已修好" % ref2)
        wait_sms(R2, "已修好", ref2)
        deliver(R2, "3")
        wait_sms(R2, "重办", ref2)
        for s_ in STAFF:
            wait_sms(s_, "重办", ref2)
        s = req(ref2)
        t.check(s[0] == "reopened" and s[1] == "不满意" and s[3] == "", "rated 3: reopened to the staff (%s)" % (s,))

        # ---- return and reassign ----
        deliver(R5, "报事 垃圾三天没清运")
        ref3 = re.search(r"单号(\d{6})", wait_sms(R5, "已受理")).group(1)
        wait_sms(W2, ref3, "垃圾")
        deliver(W2, "退回 %s 不属于本网格" % ref3)
        wait_sms(W2, "已退回", ref3)
        for s_ in STAFF:
            t.check("不属于本网格" in wait_sms(s_, "退回", ref3), "staff %s told of the return and its reason" % s_)
        s = req(ref3)
        t.check(s[0] == "returned" and s[3] == "", "state returned (%s)" % (s,))
        r = gw.linlictl("request", "assign", ref3, "13900139003")
        t.check("dispatched" in r.stdout, "linlictl request assign")
        t.check("垃圾" in wait_sms(W3, "改派", ref3), "the new assignee gets the dispatch")
        s = req(ref3)
        t.check(s[0] == "dispatched" and s[3] == W3, "re-dispatched to %s (%s)" % (W3, s))
        show = gw.linlictl("request", "show", ref3).stdout
        t.check("returned" in show and "reassigned to " + W3 in show, "linlictl request show lists the history")
        lst = gw.linlictl("request", "list").stdout
        t.check(ref3 in lst and ref2 in lst and ref not in lst, "linlictl request list: the open ones")

        # ---- duplicates merged ----
        deliver(R6, "报事 电梯异响")
        ref4 = re.search(r"单号(\d{6})", wait_sms(R6, "已受理")).group(1)
        # sent again a few seconds later by the SMSC's clock (the same text in the same second from
        # the same sender is one message read twice, not a repeat)
        deliver(R6, "报事 电梯异响", "smsc-ts=%d" % (int(time.time()) + 5))
        t.check(ref4 in wait_sms(R6, "并单"), "the repeat is answered with the existing ref")
        rows = gw.sql("SELECT state, (SELECT ref FROM request p WHERE p.id = r.merged_into) FROM request r "
                      "WHERE text = '电梯异响' ORDER BY id")
        t.check(rows == [("dispatched", None), ("merged", ref4)], "one request, the repeat merged (%s)" % rows)

        # ---- malformed commands change nothing ----
        before = gw.sql("SELECT ref, state, updated FROM request ORDER BY id")
        nev = gw.sql("SELECT count(*) FROM request_event")[0][0]
        deliver(W1, "办结")
        t.check("办结 单号 结果" in wait_sms(W1, "格式"), "办结 with no ref: the format")
        deliver(W1, "BJ 999999 修好了")
        t.check("不存在" in wait_sms(W1, "999999"), "unknown ref")
        deliver(W1, "BJ 12345 修好了")
        t.check("6位数字" in wait_sms(W1, "6位数字"), "a ref of 5 digits")
        deliver(W1, b"BJ \xff\xfe\xc3 bad")
        t.check("重新发送" in wait_sms(W1, "无法识别"), "invalid UTF-8 gets a clear reply")
        deliver(W1, "BJ %s 办完了" % ref3)
        t.check("不在您名下" in wait_sms(W1, ref3), "another worker's request")
        routed()
        t.check(gw.sql("SELECT ref, state, updated FROM request ORDER BY id") == before and
                gw.sql("SELECT count(*) FROM request_event")[0][0] == nev, "malformed commands changed nothing")

        # ---- an unknown number ----
        deliver(UNKNOWN, "报事 南门路灯不亮")
        ref5 = re.search(r"单号(\d{6})", wait_sms(UNKNOWN, "已受理")).group(1)
        for s_ in STAFF:
            t.check("未登记" in wait_sms(s_, "派单", ref5), "staff %s get the unverified report" % s_)
        s = req(ref5)
        t.check(s[0] == "dispatched" and s[2] & 16 and s[3] == "", "flagged unverified, with the staff (%s)" % (s,))

        # ---- overdue: 催办 to the assignee, then 督办 to the staff ----
        gw.ctrl.set("clock-offset", str(8 * 86400))
        t.check("催办" in wait_sms(W3, "催办", ref3), "the assignee is reminded")
        linli.wait_for(lambda: req(ref3)[2] & 3 == 3, 20, "overdue flag")
        gw.ctrl.set("clock-offset", str(10 * 86400))
        for s_ in STAFF:
            wait_sms(s_, "督办", ref3)
        linli.wait_for(lambda: req(ref3)[2] & 7 == 7, 20, "escalated flag")
        t.check(True, "staff get 督办 once the request is still open a day later")
        n_remind = len([1 for d_, _, x in sent() if d_ == W3 and "催办" in x and ref3 in x])
        t.check(n_remind == 1, "催办 sent once (%d)" % n_remind)
        t.check(req(ref)[2] == 0, "a rated request is never overdue")

        out = gw.vty("rules reload")
        t.check("rules reloaded" in out, "VTY rules reload: %s" % out.strip())
        # the VTY cannot make linlid read (and echo) a file that is not a rules file
        secret = os.path.join(gw.dir, "secret.txt")
        with open(secret, "w") as f:
            f.write("root:$6$secret-hash:19000:0:99999:7:::\n")
        gw.vty(["configure terminal", "gateway", "rules-file " + secret, "end"])
        out = gw.vty("rules reload")
        t.check("not reloaded" in out and "routes/" in out and "secret-hash" not in out,
                "rules-file outside routes/*.rules is refused, its content not shown: %s" % out.strip())
        t.check("secret-hash" not in open(gw.log_path, errors="replace").read(), "nor in the log")
        gw.vty(["configure terminal", "gateway", "rules-file " + RULES, "end"])
        t.check("rules reloaded" in gw.vty("rules reload"), "the routes/ file again")

        # linlictl close
        r = gw.linlictl("request", "close", ref2, "已更换水管")
        t.check("closed" in r.stdout and req(ref2)[0] == "closed", "linlictl request close")
        t.check("已更换水管" in wait_sms(R2, "已办结", ref2), "the resident gets the staff's result")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
