"""The staff inbox (留言, issue 12) through the real modem path: a known resident's free text goes
to the household's grid worker as a numbered memo (the resident is told where it went); the
worker's 回复 <id> <text> reaches the resident as written; another grid worker cannot answer it;
"？" alone still gets the help text; a flood of memos is kept but not passed on after five."""
import os

import linli
from sos_util import texts_to, wait_texts

RULES = os.path.join(linli.ROOT, "routes", "sms.rules")
RESIDENT = "+8613800138001"   # 1-1-101, grid W1
WORKER = "+8613900139001"     # grid W1's worker (杜军)
OTHER_WORKER = "+8613900139002"
TEXT = "楼下的垃圾桶好几天没人清了，味道很大"


def main(t):
    gw = linli.Gateway(nmodems=1, extra_gateway_cfg="rules-file %s\nhelp-interval 0" % RULES)
    gw.start()
    try:
        m = gw.modems[0]
        m.deliver(RESIDENT, TEXT)
        memo = wait_texts(gw, WORKER, "【留言#", 1, 30)[0]
        t.check(TEXT in memo and "邹丽" in memo and "1幢1单元101" in memo and "回复1" in memo,
                "the grid worker gets the memo with who, where and how to answer: %r" % memo)
        ok = wait_texts(gw, RESIDENT, "留言已转给", 1, 30)[0]
        t.check("网格员杜军" in ok, "the resident is told it went to the grid worker: %r" % ok)

        m.deliver(OTHER_WORKER, "回复1 不是我管")
        r = wait_texts(gw, OTHER_WORKER, "没有发给您的留言", 1, 30)[0]
        t.check("#1" in r, "another grid worker cannot answer it: %r" % r)
        m.deliver(WORKER, "回复1 明天上午９点来处理，Thanks")
        a = wait_texts(gw, RESIDENT, "答复】", 1, 30)[0]
        t.check(a == "【网格员杜军答复】明天上午９点来处理，Thanks", "the answer reaches the resident as written: %r" % a)
        wait_texts(gw, WORKER, "已答复留言#1", 1, 30)
        t.check(not [x for x in texts_to(gw, RESIDENT) if "不是我管" in x], "the other worker's text never went out")
        row = gw.sql("SELECT sender, to_number, replied_by, reply FROM memo WHERE id = 1")[0]
        t.check(row == (RESIDENT, WORKER, WORKER, "明天上午９点来处理，Thanks"), "the memo and its answer kept: %s" % (row,))

        m.deliver(RESIDENT, "？")
        h = wait_texts(gw, RESIDENT, "帮助", 1, 30)[0]
        t.check("报事" in h, "a lone ？ gets the help text, not a memo: %r" % h)
        t.check(gw.sql("SELECT count(*) FROM memo")[0][0] == 1, "no memo for it")

        for i in range(6):
            m.deliver(RESIDENT, "第%d条留言内容" % (i + 2))
        wait_texts(gw, RESIDENT, "留言太频繁", 1, 60)
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE sender = ? AND state = 'done'",
                                      (RESIDENT,))[0][0] == 8, 30, "all routed")
        n = gw.sql("SELECT count(*) FROM memo")[0][0]
        t.check(n == 5, "five memos in the window, the sixth kept in sms_in but not passed on (%d)" % n)
        kept = gw.sql("SELECT note FROM sms_in WHERE text = '第7条留言内容'")[0][0]
        t.check("not passed on" in kept, "its note says so: %r" % kept)
    finally:
        gw.close()


linli.run(main)
