"""延期 by SMS end to end through emulated modems, the real libgammu and linlid: the grid worker
asks (延期 <ref> <days> <reason>), every duty staff phone gets the ask with a code, a staff phone
approves (批准 <code>): the deadline moves in working days in the database, the resident and the
worker get their SMS. A second ask is refused by 驳回 <code> <reason>: the worker gets the reason,
the deadline stays. A third nobody answers lapses when the test clock passes the deadline. The
refusals: a resident's 延期, another grid's worker, 11 days, no reason. 查询 answers a resident in
Chinese only, and "?" / "？" alone get the help text. linlictl request note|extend|reopen."""
import os
import re

import linli

RULES = os.path.join(linli.ROOT, "routes", "sms.rules")

R1 = "+8613800138001"      # 邹丽, 1幢1单元101 (grid W1)
W1 = "+8613900139001"      # 杜军, grid worker of W1
W2 = "+8613900139002"      # grid worker of W2
STAFF = ["+8613900139101", "+8613900139102", "+8613900139103"]


def main(t):
    gw = linli.Gateway(nmodems=2, extra_gateway_cfg="rules-file %s\ntest-clock on\nhelp-interval 0" % RULES).start()
    inbox = [0]

    def deliver(number, text):
        gw.modems[inbox[0] % len(gw.modems)].deliver(number, text)
        inbox[0] += 1

    def sent():
        """Every SMS sent, with a key of its own (the same text twice is two messages)."""
        out = []
        for mi, m in enumerate(gw.modems):
            out += [((mi, i), d, text) for i, (d, _, text) in enumerate(m.sent())]
        return out

    seen = set()

    def wait_sms(dest, *words, timeout=30):
        """The first not yet seen SMS to dest containing every word."""
        def find():
            for key, d, text in sent():
                if d == dest and key not in seen and all(w in text for w in words):
                    seen.add(key)
                    return text
            return None
        return linli.wait_for(find, timeout, "an SMS to %s with %s" % (dest, words), 0.2)

    def routed():
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE state = 'new'")[0][0] == 0 and
                       gw.sql("SELECT count(*) FROM sms_in")[0][0] >= inbox[0], 30, "routing")

    def req(ref):
        return gw.sql("SELECT state, deadline FROM request WHERE ref = ?", (ref,))[0]

    def asks(ref):
        return gw.sql("SELECT state, days, reason, code FROM request_extension WHERE request_id = "
                      "(SELECT id FROM request WHERE ref = ?) ORDER BY id", (ref,))

    def code_of(text):
        m = re.search(r"批准(\d{4})", text)
        return m.group(1) if m else ""

    try:
        deliver(R1, "报事 3幢电梯坏了")
        m = re.search(r"单号(\d{6})", wait_sms(R1, "已受理"))
        ref = m.group(1)
        wait_sms(W1, "派单", ref)
        deliver(R1, "查询")
        st = wait_sms(R1, "单号" + ref)
        t.check("已派给网格员" in st and not re.search(r"[A-Za-z]", st), "查询 in Chinese only: %s" % st)
        dl0 = req(ref)[1]

        # ---- the refusals ----
        deliver(R1, "延期 %s 3 等配件" % ref)
        t.check("网格员" in wait_sms(R1, "只限"), "a resident's 延期 is refused by role")
        deliver(W2, "延期 %s 3 等配件" % ref)
        t.check(ref in wait_sms(W2, "不在您名下"), "another grid's worker is refused")
        deliver(W1, "延期 %s 11 等配件" % ref)
        wait_sms(W1, "1到10个工作日")
        deliver(W1, "延期 %s 3" % ref)
        wait_sms(W1, "格式", "延期 单号 天数 原因")
        routed()
        t.check(asks(ref) == [] and req(ref) == ("dispatched", dl0), "no refusal asks or changes anything")

        # ---- asked, approved by SMS ----
        deliver(W1, "YQ %s 3天 等电梯配件到货" % ref)
        t.check("等待工作人员审批" in wait_sms(W1, "已提交", ref), "the worker is told the ask went to the staff")
        codes = [code_of(wait_sms(s, "【延期申请】", ref, "等电梯配件到货")) for s in STAFF]
        t.check(codes[0] and codes.count(codes[0]) == 3, "every staff phone gets the ask with one code %s" % codes)
        code = codes[0]
        t.check(req(ref) == ("dispatched", dl0) and asks(ref)[0][:3] == ("asked", 3, "等电梯配件到货"),
                "an ask is stored, not the extension (%s)" % (asks(ref),))
        deliver(STAFF[1], "批准 %s" % code)
        t.check(ref in wait_sms(STAFF[1], "已延期至"), "the approving staff phone is answered")
        res = wait_sms(R1, "延期至", ref)
        t.check("等电梯配件到货" in res, "the resident is told, with the reason: %s" % res)
        wait_sms(W1, "【延期】", ref)
        s = req(ref)
        t.check(s[0] == "extended" and 3 * 86400 <= s[1] - dl0 <= 5 * 86400,
                "the deadline moved 3 working days in the database (%.1f days)" % ((s[1] - dl0) / 86400.0))
        t.check(asks(ref)[0][0] == "approved", "the ask is approved")
        deliver(R1, "查询 " + ref)
        st = wait_sms(R1, "单号" + ref)
        t.check("已延期至" in st and not re.search(r"[A-Za-z]", st), "查询 after it: %s" % st)

        # ---- asked, refused ----
        dl1 = req(ref)[1]
        deliver(W1, "延期 %s 2 天气原因" % ref)
        code2 = code_of(wait_sms(STAFF[0], "【延期申请】", ref, "天气原因"))
        deliver(STAFF[2], "BH %s 请按期完成" % code2)
        t.check("请按期完成" in wait_sms(W1, "延期驳回", ref), "refused: the worker gets the reason")
        wait_sms(STAFF[2], "已驳回", ref)
        t.check(req(ref) == ("extended", dl1) and asks(ref)[1][0] == "refused", "the deadline stays")

        # ---- asked, nobody answers: it lapses at the deadline ----
        deliver(W1, "延期 %s 1 等物业" % ref)
        code3 = code_of(wait_sms(STAFF[0], "【延期申请】", ref, "等物业"))
        routed()
        now = gw.sql("SELECT max(at) FROM request_event")[0][0]
        gw.ctrl.set("clock-offset", str(dl1 - now + 86400 + 60))
        t.check(ref in wait_sms(W1, "无人审批"), "an unanswered ask lapses, the worker is told")
        deliver(STAFF[0], "批准 %s" % code3)
        wait_sms(STAFF[0], "无效")
        t.check(asks(ref)[2][0] == "expired" and req(ref)[1] == dl1, "a lapsed ask approves nothing")

        # ---- "?" alone: the help text ----
        deliver(R1, "?")
        t.check("报事" in wait_sms(R1, "邻里社区服务"), "\"?\" alone gets the help text")
        deliver(R1, "？")
        t.check("报事" in wait_sms(R1, "邻里社区服务"), "\"？\" alone gets the help text")

        # ---- linlictl request note | extend | reopen ----
        r = gw.linlictl("request", "note", ref, "居民下午在家")
        t.check("noted" in r.stdout and "居民下午在家" in wait_sms(W1, "备注", ref), "linlictl request note")
        dl2 = req(ref)[1]
        r = gw.linlictl("request", "extend", ref, "2", "配件延迟")
        t.check("extended" in r.stdout and req(ref)[1] > dl2, "linlictl request extend: %s" % r.stdout.strip())
        t.check("配件延迟" in wait_sms(R1, "延期至", ref), "the resident is told")
        r = gw.linlictl("request", "extend", ref, "11", "x", check=False)
        t.check(r.returncode != 0 and "1 to 10" in r.stderr, "linlictl request extend 11: refused")
        r = gw.linlictl("request", "reopen", ref, "x", check=False)
        t.check(r.returncode != 0 and "only a closed one" in r.stderr, "linlictl reopen of an open one: refused")
        gw.linlictl("request", "close", ref, "已修好")
        wait_sms(R1, "已办结", ref)
        r = gw.linlictl("request", "reopen", ref, "电梯又坏了")
        t.check("dispatched" in r.stdout and req(ref)[0] == "dispatched", "linlictl request reopen: %s" % r.stdout)
        t.check("电梯又坏了" in wait_sms(R1, "重新办理", ref), "the resident is told")
        wait_sms(W1, "重办", ref)
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
