"""1,000 outgoing messages (Chinese, English, emoji, GSM extension characters, multipart) through
three emulated modems and the real libgammu: each arrives exactly once, with its text intact,
and the scheduler spreads them over every modem."""
import re

import linli

SAMPLES = [
    "您好，您报的事已受理，编号{n}。",
    "Hello {n}, your request is received.",
    "Emoji {n} 👍🏻 and a family 👨‍👩‍👧 ok",
    "GSM ext {n}: [brackets] {braces} ~tilde~ |pipe| €euro ^caret \\backslash",
    "Long English {n}: " + "The quick brown fox jumps over the lazy dog. " * 8,
    "长中文{n}：" + "邻里互助，一户拨打九户帮。" * 12,
    "Exactly at the edge {n} " + "x" * 120,
    "Ünïcödé Latin {n} çà ñ ß ø Å é",
]


def make_text(i):
    base = SAMPLES[i % len(SAMPLES)].replace("{n}", "#%04d" % i)
    return base


def main(t):
    gw = linli.Gateway(nmodems=3).start()
    try:
        want = {}
        for i in range(1000):
            dest = "+86139%08d" % (i % 37)
            text = make_text(i)
            gw.send(dest, text)
            want["#%04d" % i] = (dest, text)
        linli.wait_for(lambda: gw.queue()["sent"] + gw.queue()["failed"] >= 1000, 600,
                       "1000 messages sent", 0.5)
        q = gw.queue()
        t.check(q["sent"] == 1000 and q["failed"] == 0, "all 1000 sent, none failed: %s" % q)

        got = {}
        per_modem = []
        for m in gw.modems:
            rows = m.sent()
            per_modem.append(len(rows))
            for dest, nparts, text in rows:
                k = re.search(r"#\d{4}", text)
                key = k.group(0) if k else None
                got.setdefault(key, []).append((dest, text, nparts))
        missing = [k for k in want if k not in got]
        dups = [k for k, v in got.items() if len(v) > 1]
        t.check(not missing, "every message arrived (missing: %s)" % missing[:10])
        t.check(not dups, "none arrived twice (duplicates: %s)" % dups[:10])
        bad = [k for k in want if k in got and (got[k][0][0], got[k][0][1]) != want[k]]
        t.check(not bad, "destination and text intact (bad: %s)" %
                [(k, got[k][0], want[k]) for k in bad[:3]])
        t.check(None not in got, "no unidentifiable message arrived")
        t.check(all(n >= 100 for n in per_modem), "every modem took a share: %s" % per_modem)
        multi = [v[0][2] for v in got.values() if v[0][2] not in ("1",)]
        t.check(len(multi) >= 250, "multipart messages went out as several parts (%d)" % len(multi))

        rows = gw.sql("SELECT count(*) FROM sms_out WHERE state='sent' AND refs IS NOT NULL AND refs != ''")
        t.check(rows[0][0] == 1000, "database: 1000 rows sent with message references (%s)" % rows[0][0])
        def delivered():
            return gw.sql("SELECT count(*) FROM sms_out WHERE delivery='delivered'")[0][0] >= 1000
        linli.wait_for(delivered, 120, "delivery reports for all 1000", 0.5)
        t.check(True, "a delivery report recorded for every message")
        out = gw.vty("show modems")
        t.check(out.count(": ready") == 3, "show modems lists three ready modems")
        out = gw.vty("show queue")
        t.check("1000 sent" in out, "show queue counts 1000 sent")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
