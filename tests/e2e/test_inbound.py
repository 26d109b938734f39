"""500 incoming messages over three emulated modems, some concatenated and delivered out of
order: each is stored exactly once with its text, deleted from the SIM only after the commit,
and a number the database knows gets the help text (once per interval)."""
import random

import linli


def main(t):
    gw = linli.Gateway(nmodems=3).start()
    try:
        known = [r[0] for r in gw.sql("SELECT number FROM phone WHERE role='resident' ORDER BY number LIMIT 20")]
        t.check(len(known) >= 10, "the sample community has residents (%d)" % len(known))
        rnd = random.Random(7)
        want = {}
        for i in range(500):
            m = gw.modems[i % 3]
            sender = known[i % len(known)] if i % 2 else "+86137%08d" % i
            if i % 5 == 0:
                text = "长消息%04d：" % i + "小区东门的路灯坏了，晚上很黑，老人出门不安全，请尽快修理。" * 4
                order = rnd.choice(["order=reverse", "order=shuffle", ""])
            elif i % 7 == 0:
                text = "Long English message %04d " % i + "with enough words to need three parts. " * 10
                order = "order=reverse"
            else:
                text = rnd.choice(["报事%04d 3幢电梯坏了", "hello %04d", "查询 %04d", "求助%04d 👴 需要帮忙"]) % i
                order = ""
            m.deliver(sender, text, order)
            want["%04d" % i] = (sender, text)
        def stored():
            return gw.sql("SELECT count(*) FROM sms_in")[0][0] >= 500
        linli.wait_for(stored, 300, "500 messages stored", 0.5)
        rows = gw.sql("SELECT sender, text, flags, state FROM sms_in")
        t.check(len(rows) == 500, "exactly 500 messages stored (%d)" % len(rows))
        by_key = {}
        for sender, text, flags, state in rows:
            import re
            k = re.search(r"(\d{4})", text)
            by_key.setdefault(k.group(1) if k else None, []).append((sender, text, flags, state))
        missing = [k for k in want if k not in by_key]
        dups = [k for k, v in by_key.items() if len(v) > 1]
        t.check(not missing, "every message stored (missing %s)" % missing[:10])
        t.check(not dups, "none stored twice (%s)" % dups[:5])
        bad = [k for k in want if k in by_key and (by_key[k][0][0], by_key[k][0][1]) != want[k]]
        t.check(not bad, "sender and text intact, parts in order (bad: %s)" %
                [(by_key[k][0][:2], want[k]) for k in bad[:2]])
        t.check(all(r[2] == 0 for r in rows), "no message flagged incomplete or badly decoded")
        linli.wait_for(lambda: all(int(m.stats()["deleted"]) >= 1 for m in gw.modems), 60, "deletes")

        def sim_empty():
            return all(not m.ctl_list("storage") for m in gw.modems)
        linli.wait_for(sim_empty, 120, "SIM storage emptied after the commits", 0.5)
        t.check(True, "SIM storage of every modem empty")
        linli.wait_for(lambda: all(r[0] == "done" for r in gw.sql("SELECT state FROM sms_in")), 60, "routing")
        used = set(known[i % len(known)] for i in range(500) if i % 2)
        helps = [h[0] for h in gw.sql("SELECT dest FROM sms_out")]
        t.check(len(helps) == len(set(helps)) and set(helps) == used,
                "each known number got one help reply, unknown numbers none (%d replies)" % len(helps))
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
