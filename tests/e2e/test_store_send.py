"""Store-and-send (issue 10): with `store-and-send on` a message is stored on the SIM (AT+CMGW), its
index committed to sms_out, then sent from there (AT+CMSS) and the copy deleted (AT+CMGD) once the
outcome is committed. linlid killed with SIGKILL at chosen points of that and started again: every
message went over the air exactly once, counted from what the emulated modem sent:
- after the index was committed, before AT+CMSS was carried out (the modem hangs on AT+CMSS):
  read back as "STO UNSENT", sent after the restart;
- during the air time of AT+CMSS: read back as "STO SENT", marked sent (reference unknown);
- right after +CMSS: the outcome was committed or is read back as "STO SENT".
A message of several parts is stored part by part, all indexes committed before the first AT+CMSS;
killed between its parts it is read back part by part and only the parts "STO UNSENT" go out; a part
refused after others went out keeps it stored, read back later, an attempt each time, until it
fails for good after max-attempts (its copies deleted, no part sent twice). An
outgoing message on the SIM that no message refers to (a crash between AT+CMGW and the commit of
its index) is deleted before the next store-and-send; received messages there are read as always.
A row stored on a modem no longer configured is queued again and counted; a queue of messages (one in
three of two parts) with kills at random points (LINLI_SEED) goes out once each, part by part. A modem that refuses AT+CMGW falls back to
AT+CMGS and still delivers; the flag shows in the configuration and the send path in `show modems`."""
import os
import random
import time

import linli

DEST = "+8613900000%03d"
N_LOOP = 20
K_LOOP = 5


def over_air(m, text):
    """How many times the modem sent a message with this text (AT+CMGS or AT+CMSS)."""
    return sum(1 for dest, nparts, t in m.sent() if t == text)


def row(gw, mid):
    """state, refs, the first part's SIM index and its modem (None when no copy is recorded)"""
    return gw.sql("SELECT state, coalesce(refs, ''),"
                  " (SELECT sim_index FROM sms_out_copy WHERE out_id = o.id ORDER BY part LIMIT 1),"
                  " (SELECT modem FROM sms_out_copy WHERE out_id = o.id ORDER BY part LIMIT 1)"
                  " FROM sms_out o WHERE id = ?", (mid,))[0]


def copies(gw, mid):
    return gw.sql("SELECT count(*) FROM sms_out_copy WHERE out_id = ?", (mid,))[0][0]


def parts_to(m, dest):
    """The part numbers the modem sent to dest, in the order sent (1 for a message of one part)."""
    out = []
    for r in m.ctl_list("sentparts"):
        f = r.split("\t")
        if f[1] == dest:
            out.append(int(f[3].split("/")[1]))
    return out


def submit_tpdu(dest, text):
    """An SMS-SUBMIT TPDU (23.040 9.2.2.2, UCS-2) to dest, as hex: what a phone keeps as a draft."""
    digits = dest.lstrip("+")
    sem = "".join(digits[i + 1] + digits[i] if i + 1 < len(digits) else "F" + digits[i]
                  for i in range(0, len(digits), 2))
    ud = text.encode("utf-16-be")
    return "0100%02X91%s0008%02X%s" % (len(digits), sem, len(ud), ud.hex().upper())


def wait_state(gw, mid, state, timeout=90):
    linli.wait_for(lambda: row(gw, mid)[0] == state, timeout, "message %d %s" % (mid, state), 0.05)


def stat(m, k):
    return int(m.stats()[k])


def stored_out(m):
    """The stat of each outgoing message on the SIM (2 STO UNSENT, 3 STO SENT); received messages
    and status reports there are not ours."""
    return [r.split("\t")[1] for r in m.ctl_list("storage") if r.split("\t")[1] in ("2", "3")]


def storage_empty(m):
    return not stored_out(m)


def crash_point(t, gw, m, name, text, arm, wait_kill, after_kill):
    """One message, linlid killed at one point of its store-and-send, then restarted."""
    arm()
    mid = gw.send(DEST % 100, text)
    wait_kill(mid)
    gw.kill9()
    at_kill = row(gw, mid)
    print("%s: at the kill %s" % (name, (at_kill,)))
    after_kill()
    t.check(at_kill[0] in ("sending", "sent"), "%s: the row was %s at the kill" % (name, at_kill[0]))
    cmgw = stat(m, "cmgw")
    gw.start()
    wait_state(gw, mid, "sent")
    t.check(stat(m, "cmgw") == cmgw, "%s: the stored copy was used, not stored again" % name)
    linli.wait_for(lambda: storage_empty(m), 60, "%s: the SIM copy deleted" % name, 0.1)
    linli.wait_for(lambda: row(gw, mid)[2] is None, 60, "%s: the SIM index cleared" % name, 0.1)
    n = over_air(m, text)
    t.check(n == 1, "%s: went over the air exactly once (%d)" % (name, n))
    r = row(gw, mid)
    t.check(r[0] == "sent" and r[2] is None and r[3] is None,
            "%s: sent, SIM index cleared (%s)" % (name, (r,)))
    return r


def main(t):
    gw = linli.Gateway(nmodems=1, sample=False, modem_cfg="store-and-send on",
                       extra_gateway_cfg="max-attempts 3\nretry-backoff 1 4")
    plain = linli.Gateway(nmodems=1, sample=False, modem_cfg="store-and-send on")
    try:
        m = gw.modems[0]
        gw.start()
        out = gw.vty("show running-config")
        t.check("store-and-send on" in out, "the option is in the running configuration")
        out = gw.vty("show modems")
        t.check("store-and-send" in out, "show modems says store-and-send")

        # N messages, no crash: each stored, sent from storage, the copy deleted
        texts = ["store and send %d" % i for i in range(6)]
        ids = [gw.send(DEST % i, x) for i, x in enumerate(texts)]
        for mid in ids:
            wait_state(gw, mid, "sent")
        st = m.stats()
        t.check(int(st["cmgw"]) == len(texts) and int(st["cmss"]) == len(texts) and int(st["cmgs"]) == 0,
                "each message stored and sent from storage (cmgw %s cmss %s cmgs %s)" %
                (st["cmgw"], st["cmss"], st["cmgs"]))
        t.check(all(over_air(m, x) == 1 for x in texts), "each went over the air once")
        refs = [row(gw, mid)[1] for mid in ids]
        t.check(all(r.isdigit() for r in refs), "each has its +CMSS reference (%s)" % refs)
        linli.wait_for(lambda: storage_empty(m), 60, "the SIM copies deleted", 0.1)

        # a message of three parts, no crash: each part stored, all committed, each sent from storage
        st0 = m.stats()
        long3 = "三段" * 75
        mid = gw.send(DEST % 50, long3)
        wait_state(gw, mid, "sent")
        st = m.stats()
        t.check(int(st["cmgw"]) - int(st0["cmgw"]) == 3 and int(st["cmss"]) - int(st0["cmss"]) == 3 and
                int(st["cmgs"]) == 0,
                "three parts: each stored and sent from storage (cmgw +%d cmss +%d cmgs %s)" %
                (int(st["cmgw"]) - int(st0["cmgw"]), int(st["cmss"]) - int(st0["cmss"]), st["cmgs"]))
        p = parts_to(m, DEST % 50)
        t.check(p == [1, 2, 3], "three parts: each over the air once, in order (%s)" % p)
        r = row(gw, mid)
        t.check(len(r[1].split(",")) == 3, "three parts: a reference for each (%r)" % r[1])
        linli.wait_for(lambda: storage_empty(m) and copies(gw, mid) == 0, 60, "three parts: the copies deleted",
                       0.1)

        # three parts, killed while the second is on the air: read back part by part
        m.ctl("airtime 1500")
        mid = gw.send(DEST % 51, long3)
        linli.wait_for(lambda: len(parts_to(m, DEST % 51)) == 1, 60, "the first part sent", 0.02)
        t.check(copies(gw, mid) == 3, "all three copies were committed before the first went out")
        time.sleep(0.3)
        gw.kill9()
        time.sleep(1.6)
        st = stored_out(m)
        t.check(sorted(st) == ["2", "3", "3"],
                "killed during the second part: two STO SENT, one STO UNSENT (%s)" % st)
        gw.start()
        wait_state(gw, mid, "sent")
        p = parts_to(m, DEST % 51)
        t.check(p == [1, 2, 3], "killed between parts: each part over the air once (%s)" % p)
        r = row(gw, mid)
        t.check(r[1].isdigit(), "killed between parts: the part sent after the restart has its reference (%r)" % r[1])
        linli.wait_for(lambda: storage_empty(m) and copies(gw, mid) == 0, 60, "killed between parts: copies deleted",
                       0.1)
        m.ctl("airtime 0")

        # three parts, the second refused again and again after the first went out (+CMS ERROR: 42,
        # congestion: temporary): kept stored and read back later, an attempt each time, until
        # max-attempts (3): then failed for good, its copies deleted, no part sent twice
        m.ctl("airtime 800")
        st0, base = m.stats(), stat(m, "injected")
        m.ctl("inject airtime line +CREG: 1")
        mid = gw.send(DEST % 52, long3)
        linli.wait_for(lambda: stat(m, "injected") > base, 60, "the first part on the air", 0.01)
        m.ctl("fail 42 1000")
        try:
            wait_state(gw, mid, "failed", 120)
        finally:
            m.ctl("fail 42 0")
            m.ctl("airtime 0")
        log = gw.log_tail(600)
        err = gw.sql("SELECT error, attempts FROM sms_out WHERE id = ?", (mid,))[0]
        print("refused after the first part: %s" % (err,))
        t.check("stays stored on m1" in log and "attempt 2 of 3" in log, "refused after the first part: kept stored, "
                "read back later, an attempt counted")
        t.check(err[1] == 3 and "after 3 attempts" in err[0] and "congestion" in err[0],
                "refused each time: failed for good after 3 attempts, with why (%s)" % (err,))
        p = parts_to(m, DEST % 52)
        t.check(p == [1], "no part went twice: the first once, the refused ones never (%s)" % p)
        t.check(stat(m, "cmgw") - int(st0["cmgw"]) == 3, "stored once, read back from the SIM after that")
        linli.wait_for(lambda: storage_empty(m) and copies(gw, mid) == 0, 60, "the failed message's copies deleted",
                       0.1)

        # outgoing messages on the SIM no message refers to: deleted before the next store-and-send;
        # a received message there is read as always
        gw.kill9()
        orphans = [m.ctl("storeout 2 " + submit_tpdu(DEST % 60, "孤儿 unsent")),
                   m.ctl("storeout 3 " + submit_tpdu(DEST % 61, "孤儿 sent"))]
        t.check(all(o.startswith("ok ") for o in orphans), "two outgoing messages put on the SIM (%s)" % orphans)
        m.ctl("deliver +8613800000077 收到的 kept")
        gw.start()
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE text = '收到的 kept'")[0][0] == 1, 60,
                       "the received message read", 0.1)
        mid = gw.send(DEST % 62, "after orphans")
        wait_state(gw, mid, "sent")
        linli.wait_for(lambda: storage_empty(m), 60, "the unreferenced outgoing copies deleted", 0.1)
        t.check(over_air(m, "孤儿 unsent") == 0 and over_air(m, "孤儿 sent") == 0,
                "the unreferenced copies were not sent")
        t.check("no message refers to" in gw.log_tail(400), "the log says unreferenced copies were deleted")

        # 1. after the index was committed, before AT+CMSS was carried out
        def arm1():
            m.ctl("inject cmss hang")

        def wait1(mid):
            linli.wait_for(lambda: row(gw, mid)[2] is not None, 60, "the SIM index committed", 0.02)

        def after1():
            m.ctl("inject clear")
            m.ctl("hang off")
            st = stored_out(m)
            t.check(st == ["2"],
                    "before CMSS: the modem holds it, stat 2 STO UNSENT (%s)" % st)

        r = crash_point(t, gw, m, "killed before CMSS", "crash before cmss", arm1, wait1, after1)
        t.check(r[1].isdigit(), "before CMSS: sent after the restart with its reference (%r)" % r[1])

        # 2. during the air time of AT+CMSS
        m.ctl("airtime 2000")
        base = stat(m, "injected")

        def arm2():
            m.ctl("inject airtime line +CREG: 1")

        def wait2(mid):
            linli.wait_for(lambda: stat(m, "injected") > base, 60, "the air time started", 0.02)

        def after2():
            t.check(over_air(m, "crash during airtime") == 0, "killed during the air time: not sent yet")
            linli.wait_for(lambda: stored_out(m) == ["3"], 30,
                           "the air time over: stat 3 STO SENT", 0.05)

        r = crash_point(t, gw, m, "killed during the air time", "crash during airtime", arm2, wait2, after2)
        t.check(r[1] == "", "during the air time: marked sent, reference unknown (%r)" % r[1])
        m.ctl("airtime 0")

        # 3. right after +CMSS (before or after its commit: exactly once either way)
        def arm3():
            m.ctl("inject ok hang")

        def wait3(mid):
            linli.wait_for(lambda: over_air(m, "crash after cmss") >= 1, 60, "+CMSS given", 0.01)

        def after3():
            m.ctl("inject clear")
            m.ctl("hang off")

        crash_point(t, gw, m, "killed after +CMSS", "crash after cmss", arm3, wait3, after3)
        dup = gw.sql("SELECT coalesce(sum(value),0) FROM stat WHERE name = 'out_possible_dup'")[0][0]
        t.check(dup == 0, "no message was queued again as a possible duplicate (%d)" % dup)

        # stored on a modem that is gone from the configuration: queued again, counted
        m.ctl("inject cmss hang")
        mid = gw.send(DEST % 101, "orphan")
        linli.wait_for(lambda: row(gw, mid)[2] is not None, 60, "the SIM index committed", 0.02)
        gw.kill9()
        m.ctl("inject clear")
        m.ctl("hang off")
        with open(gw.cfg) as f:
            cfg = f.read()
        with open(gw.cfg, "w") as f:
            f.write(cfg.replace("modem m1\n", "modem m9\n"))
        gw.start(wait_ready=False)
        gw.wait_modems_ready(["m9"])
        wait_state(gw, mid, "sent")
        dup = gw.sql("SELECT coalesce(sum(value),0) FROM stat WHERE name = 'out_possible_dup'")[0][0]
        t.check(dup == 1, "a message stored on a modem no longer configured is queued again, counted (%d)" % dup)
        t.check(over_air(m, "orphan") == 1, "it went over the air once (%d)" % over_air(m, "orphan"))

        # kills at random points of a queue of messages
        m.ctl("airtime 300")
        rnd = random.Random(os.environ.get("LINLI_SEED", "store-send"))
        texts = ["loop %02d" % i + (" two parts" * 20 if i % 3 == 0 else "") for i in range(N_LOOP)]
        ids = [gw.send(DEST % (200 + i), x) for i, x in enumerate(texts)]
        kills = 0
        while kills < K_LOOP and gw.sql("SELECT count(*) FROM sms_out WHERE state != 'sent' AND id IN (%s)" %
                                        ",".join(map(str, ids)))[0][0]:
            time.sleep(rnd.uniform(0.2, 1.5))
            gw.kill9()
            kills += 1
            gw.start(wait_ready=False)
            gw.wait_modems_ready(["m9"])
        for mid in ids:
            wait_state(gw, mid, "sent")
        got = [parts_to(m, DEST % (200 + i)) for i in range(N_LOOP)]
        want = [[1, 2] if i % 3 == 0 else [1] for i in range(N_LOOP)]
        t.check(kills > 0 and got == want,
                "%d kills at random points: every part over the air exactly once (%s)" % (kills, got))
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")

        # a modem without AT+CMGW: AT+CMGS, still delivered
        pm = plain.modems[0]
        pm.ctl("store off")
        plain.start()
        texts = ["fallback %d" % i for i in range(3)]
        ids = [plain.send(DEST % i, x) for i, x in enumerate(texts)]
        for mid in ids:
            wait_state(plain, mid, "sent")
        st = pm.stats()
        t.check(int(st["cmgs"]) == len(texts) and int(st["cmss"]) == 0,
                "refused: every message through AT+CMGS (cmgs %s cmss %s)" % (st["cmgs"], st["cmss"]))
        t.check(all(over_air(pm, x) == 1 for x in texts), "refused: each went over the air once")
        out = plain.vty("show modems")
        t.check("store-and-send refused" in out, "show modems says store-and-send was refused")
        t.check(plain.stop() == 0, "linlid exits 0 on SIGTERM (fallback)")
    finally:
        gw.close()
        plain.close()


linli.run(main)
