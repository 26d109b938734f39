"""Modem storms under load (issue 13, "The modems"): three emulated modems, a few hundred queued
messages and inbound SMS arriving, while one modem after the other (and several at once) goes
through a CMS 500 storm, SIM busy (+CMS ERROR: 314, +CME ERROR: 14), a SIM full of read messages,
loss of registration (+CREG: 0,0 / 0,2, sends answered +CMS ERROR: 331) and garbage (noise,
binary bytes, partial lines, instead of or before an answer; garbage lines in the middle of a send).

At the end every queued message was sent exactly once as the modems saw it, or failed with its
reason; every inbound SMS is stored once; linlid still answers VTY and CTRL; every modem is ready."""
import re

import linli

NOUT = 300
NMORE = 60  # queued once m1 is registered again
NIN = 12  # inbound SMS per modem and phase


def main(t):
    gw = linli.Gateway(nmodems=3, airtime_ms=20,
                       extra_gateway_cfg="retry-backoff 1 2\nsend-timeout 10\nmax-attempts 10\n")
    gw.start()
    try:
        m1, m2, m3 = gw.modems
        inbound = []  # texts delivered to the modems (or put on their SIM), each to be stored once

        def deliver(m, tag, n):
            for i in range(n):
                text = "in %s %s %03d" % (tag, m.name, i)
                m.deliver("+86137%08d" % (len(inbound) + 1), text)
                inbound.append(text)

        def outstanding():
            return gw.sql("SELECT count(*) FROM sms_out WHERE state NOT IN ('sent', 'failed')")[0][0]

        def sent_ids():
            seen = {}
            for m in gw.modems:
                for dest, nparts, text in m.sent():
                    k = re.search(r"storm (\d{4})", text)
                    if k:
                        seen[int(k.group(1))] = seen.get(int(k.group(1)), 0) + 1
            return seen

        def cmgs(m):
            return int(m.stats()["cmgs"])

        # ---- phase 1, at once: a CMS 500 storm on m1, SIM busy on m2, garbage before m3's answers
        t.check(m1.ctl("fail 500 30").startswith("ok"), "m1: the next 30 sends answer +CMS ERROR: 500")
        t.check(m2.ctl("fail 314 8").startswith("ok"), "m2: the next 8 sends answer +CMS ERROR: 314 (SIM busy)")
        t.check(m2.ctl("cme 14 8").startswith("ok"), "m2: then 8 sends answer +CME ERROR: 14 (SIM busy)")
        t.check(m3.ctl("garbage 40").startswith("ok"), "m3: garbage before its next 40 answers")
        ids = [gw.send("+86139%08d" % i, "storm %04d" % i) for i in range(NOUT)]
        deliver(m1, "p1", NIN)
        deliver(m3, "p1", NIN)
        linli.wait_for(lambda: gw.queue()["sent"] >= NOUT // 3, 150, "a third of the messages sent", 0.2)
        st = [m1.stats(), m2.stats(), m3.ctl("storm")]
        t.check(int(st[0]["cmgs_failed"]) >= 1, "m1's storm hit sends (%s failed so far)" % st[0]["cmgs_failed"])
        t.check(int(st[1]["cmgs_failed"]) >= 1, "m2's SIM-busy answers hit sends (%s so far)" % st[1]["cmgs_failed"])
        t.check("garbage_lines=0 " not in st[2], "m3 wrote garbage: %s" % st[2])

        # ---- phase 2: m1 loses the network, m2's SIM is full of read messages, m3 answers garbage
        # instead of its answers and has garbage lines in the middle of a send
        t.check(m1.ctl("fail 500 0").startswith("ok") and m1.ctl("creg 2").startswith("ok"),
                "m1: not registered (+CREG: 0,2, sends answer +CMS ERROR: 331)")
        r = m2.ctl("simfill 100")
        t.check(r.startswith("ok"), "m2's SIM is filled with read messages: %s" % r)
        nfill = int(r.split()[1])
        inbound += ["simfill %s %04d" % (m2.name, i) for i in range(nfill)]
        deliver(m2, "p2", NIN)
        t.check(m2.stats()["pending"] != "0", "m2 cannot store what comes in while its SIM is full")
        t.check(m3.ctl("garbage 6 instead").startswith("ok"), "m3: garbage instead of its next 6 answers")
        for pt, text in (("prompt", b"\x00\x01\xfe\xff noise"), ("airtime", b"^RSSI:\xc3\x28 17"),
                         ("airtime", b"\x80\x81\x82"), ("ok", b"qz#~ partial")):
            t.check(m3.ctl(b"inject " + pt.encode() + b" line " + linli.esc(text)).startswith("ok"),
                    "m3: a garbage line at %s of a send" % pt)
        deliver(m3, "p2", NIN)
        # m1 is seen unregistered (by its health poll, or by a send refused with 331) and is then
        # given no more messages: at most the one it was sending when it lost the network
        linli.wait_for(lambda: "NOT registered" in gw.vty("show modems").split("modem m2")[0], 60,
                       "linlid's health poll to see m1 unregistered", 0.5)
        linli.wait_for(lambda: gw.queue()["sent"] >= 2 * NOUT // 3, 150, "two thirds sent", 0.2)
        noreg = int(m1.ctl("storm").split("noreg_fails=")[1].split()[0])
        t.check(noreg <= 1, "m1 is given no messages while unregistered (%d sends refused with 331)" % noreg)
        # the SIM full of read messages is read and emptied: what waited comes in
        linli.wait_for(lambda: m2.stats()["pending"] == "0", 120, "m2's pending inbound stored", 0.5)
        t.check(True, "m2's SIM was read and emptied, the inbound that waited was stored")

        # ---- phase 3: all well again; m1 registers, more inbound, everything drains
        t.check(m1.ctl("creg 1").startswith("ok"), "m1 registered again")
        m3.ctl("garbage off")
        m3.ctl("inject clear")
        deliver(m1, "p3", NIN)
        linli.wait_for(lambda: "NOT registered" not in gw.vty("show modems").split("modem m2")[0], 60,
                       "linlid's health poll to see m1 registered", 0.5)
        c1 = cmgs(m1)
        ids += [gw.send("+86139%08d" % i, "storm %04d" % i) for i in range(NOUT, NOUT + NMORE)]
        linli.wait_for(lambda: cmgs(m1) > c1, 120, "m1 to send again", 0.5)
        t.check(True, "m1 sends again once registered")
        linli.wait_for(lambda: outstanding() == 0, 150, "every message sent or failed", 0.5)

        # ---- the outcome
        seen = sent_ids()
        rows = gw.sql("SELECT id, state, error FROM sms_out WHERE id >= ? AND id <= ?", (min(ids), max(ids)))
        state = dict((r[0], (r[1], r[2])) for r in rows)
        lost, dup, bad_fail, failed = [], [], [], []
        for i, mid in enumerate(ids):
            s, err = state.get(mid, (None, None))
            n = seen.get(i, 0)
            if s == "sent" and n != 1:
                (dup if n > 1 else lost).append(i)
            elif s == "failed":
                failed.append((i, err))
                if not err or n:
                    bad_fail.append(i)
            elif s != "sent":
                lost.append(i)
        print("outcome: %d queued, %d sent, %d failed, %d lost, %d sent twice" %
              (len(ids), len(ids) - len(failed) - len(lost), len(failed), len(lost), len(dup)))
        t.check(not lost, "no message lost (%s)" % lost[:10])
        t.check(not dup, "no message sent twice (%s)" % dup[:10])
        t.check(not bad_fail, "every failed message has its reason and was not sent (%s)" % bad_fail[:10])
        t.check(not failed, "the faults are all passing ones: nothing failed (%s)" % failed[:5])

        def stored():
            got = {}
            for (text,) in gw.sql("SELECT text FROM sms_in WHERE channel='gsm'"):
                got[text] = got.get(text, 0) + 1
            return got
        try:
            linli.wait_for(lambda: all(x in stored() for x in inbound), 120, "every inbound SMS stored", 0.5)
        except AssertionError:
            pass
        got = stored()
        missing = [x for x in inbound if x not in got]
        t.check(not missing, "every inbound SMS stored (%d missing: %s; SIMs: %s)" %
                (len(missing), missing[:8], ["%s: %d slots, %s pending" % (m.name, len(m.ctl_list("storage")),
                                                                         m.stats()["pending"]) for m in gw.modems]))
        twice = [x for x in inbound if got.get(x, 0) != 1]
        print("inbound: %d delivered, %d stored" % (len(inbound), sum(got.get(x, 0) for x in inbound)))
        t.check(not twice, "every inbound SMS stored once (%s)" % twice[:5])

        # what was stored in the database is deleted from the SIMs, also where a delete got a
        # garbled answer: no SIM slowly fills with copies
        try:
            linli.wait_for(lambda: all(not m.ctl_list("storage") for m in gw.modems), 60, "the SIMs emptied", 0.5)
        except AssertionError:
            pass
        left = dict((m.name, len(m.ctl_list("storage"))) for m in gw.modems)
        t.check(not any(left.values()), "the SIMs are empty at the end (%s)" % left)

        # ---- linlid answers, no modem stuck
        gw.wait_modems_ready(timeout=60)
        t.check("modem m3" in gw.vty("show modems"), "the VTY answers")
        t.check(gw.ctrl.get("queue").startswith("queued=0"), "CTRL answers, nothing queued")
        for m in gw.modems:
            t.check(not m.ctl("storm").startswith("err"), "%s answers its control socket" % m.name)
        post = gw.send("+8613900009999", "after the storm")
        linli.wait_for(lambda: gw.sql("SELECT state FROM sms_out WHERE id=?", (post,))[0][0] == "sent", 60,
                       "a message after the storm", 0.2)
        t.check(True, "a message after the storm is sent")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
