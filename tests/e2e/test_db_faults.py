"""The database that cannot commit (issue 13, fault injection): a lock held by another process for
30 s, and a full disk (a small tmpfs). While it lasts linlid says so once in its log, in `show
queue` and in /metrics, deletes nothing from the SIM (the messages wait there), claims nothing from
the outbox, keeps the outcome of a send that finished meanwhile, and still answers its VTY; when the
fault goes it recovers by itself: every message stored once, the replies sent, nothing sent twice.

Real libgammu on modemsim, a real SQLite file. The full disk needs a tmpfs mount (root); where
mounting is not allowed the test says so and checks the lock only."""
import os
import sqlite3
import subprocess
import time
import urllib.request

import linli
import sos_util

RESIDENTS = ["+8613800138001", "+8613800138002", "+8613800138003"]


def stored(gw, tag):
    return gw.sql("SELECT sender, text FROM sms_in WHERE text LIKE ?", ("%" + tag + "%",))


def metric(gw, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % gw.http_port, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return line
    return None


def main(t):
    rules = os.path.join(linli.ROOT, "routes", "sms.rules")
    gw = linli.Gateway(nmodems=1, http=True,
                       extra_gateway_cfg="rules-file %s\nhelp-interval 0\nhttp-metrics-public" % rules)
    # a watch with its contacts (tests/e2e/sos_util.py): its SOS during the fault must not wait
    gw.linlictl("device", "add", sos_util.WATCH, "--household", "1-1-101", "--person", "邹丽", "--dialect", "tk")
    for num in (sos_util.F1, sos_util.F2):
        gw.linlictl("bind", "add", sos_util.WATCH, num, "--step", "1")
        gw.linlictl("bind", "approve", sos_util.WATCH, num)
    fs = os.path.join(gw.dir, "fs")
    mounted = False
    try:
        # ---- the database on a small tmpfs of its own, when mounting is allowed ----
        os.makedirs(fs)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk" % (os.path.getsize(gw.db) // 1024 + 2048),
                            "linli-test", fs], capture_output=True, text=True)
        mounted = r.returncode == 0
        if mounted:
            newdb = os.path.join(fs, "linli.db")
            with open(gw.db, "rb") as a, open(newdb, "wb") as b:
                b.write(a.read())
            with open(gw.cfg) as f:
                cfg = f.read().replace(" database %s\n" % gw.db, " database %s\n" % newdb)
            with open(gw.cfg, "w") as f:
                f.write(cfg)
            gw.db = newdb
        else:
            print("tmpfs not mountable here (%s): the full-disk part is not run" % r.stderr.strip())
        gw.start()
        m = gw.modems[0]

        # ---- a lock held by another process for 30 s ----
        # a send under way when the lock comes: its outcome arrives during the lock
        m.ctl("airtime 4000")
        out = gw.send("+8613900000099", "lock outcome 发送中")
        linli.wait_for(lambda: gw.sql("SELECT state FROM sms_out WHERE id=?", (out,))[0][0] == "sending", 30,
                       "the message being sent", 0.1)
        lock = sqlite3.connect(gw.db, timeout=30, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        held = time.time()
        for i, who in enumerate(RESIDENTS):
            m.deliver(who, "报事 lock %d 楼道灯不亮" % i)
        linli.wait_for(lambda: "database cannot commit" in gw.log_tail(200), 30, "linlid noticing the lock", 0.2)
        m.ctl("airtime 0")
        linli.wait_for(lambda: "outcome(s) waiting" in gw.vty("show queue") and
                       "0 outcome(s)" not in gw.vty("show queue"), 30, "the finished send's outcome kept", 0.2)
        q = gw.vty("show queue")
        t.check("DEGRADED" in q, "show queue says the database is degraded: %s" % q.strip()[:300])
        t.check((metric(gw, "linli_db_ok") or "").endswith(" 0"), "linli_db_ok is 0: %s" % metric(gw, "linli_db_ok"))
        t.check(int((metric(gw, 'linli_db_faults_total{code="busy"}') or "x 0").split()[-1]) > 0,
                "linli_db_faults_total counts the busy commits")
        # an SOS while the database cannot commit: its contacts are alerted at once, straight
        m.deliver(sos_util.WATCH, sos_util.SOS_TEXT)
        for num in (sos_util.F1, sos_util.F2):
            sos_util.wait_texts(gw, num, "SOS求救", 1, 30)
        t.check(time.time() - held < 30, "the SOS alert reached both contacts during the lock (after %.0f s)" %
                (time.time() - held))
        t.check(any(sos_util.LINK in x for x in sos_util.texts_to(gw, sos_util.F1, "SOS求救")),
                "the direct alert carries the map link")
        st = m.stats()
        t.check(int(st["deleted"]) == 0 and int(st["stored"]) >= len(RESIDENTS) + 1,
                "nothing deleted from the SIM while the database cannot commit (%s)" % st)
        # the loop is not stalled: the VTY answers every few seconds all through the lock
        answered = 0
        while time.time() - held < 30:
            if "database:" in gw.vty("show queue"):
                answered += 1
            time.sleep(3)
        t.check(answered >= 5, "the VTY answered %d times during the 30 s lock" % answered)
        sent_before = len([1 for d, _, x in m.sent() if "lock outcome" in x])
        lock.execute("ROLLBACK")
        lock.close()
        linli.wait_for(lambda: len(stored(gw, "lock")) == len(RESIDENTS), 60, "the messages stored after the lock")
        rows = stored(gw, "lock")
        t.check(len(set(rows)) == len(rows) == len(RESIDENTS), "each stored once after the lock: %s" % rows)
        linli.wait_for(lambda: "database commits again" in gw.log_tail(300), 30, "the recovery logged")
        t.check(gw.log_tail(400).count("database cannot commit") == 1, "the fault logged once, not per message")
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sos_incident")[0][0] == 1, 60,
                       "the SOS incident raised once the database commits")
        t.check(True, "the incident of the SOS is raised after the lock (its alerts queued again)")
        st, refs = gw.sql("SELECT state, refs FROM sms_out WHERE id=?", (out,))[0]
        t.check(st == "sent", "the send finished during the lock is recorded sent afterwards (%s %s)" % (st, refs))
        for who in RESIDENTS:
            linli.wait_for(lambda: any(d == who and "已受理" in x or d == who and "编号" in x
                                       for d, _, x in m.sent()), 60, "the reply to %s" % who, 0.2)
        t.check(True, "every resident got the reply once the lock was gone")
        time.sleep(2)
        n_out = len([1 for d, _, x in m.sent() if "lock outcome" in x])
        t.check(sent_before == 1 and n_out == 1, "the message sent during the lock went out once (%d)" % n_out)
        t.check("database: ok" in gw.vty("show queue"), "show queue: ok again")
        linli.wait_for(lambda: int(m.stats()["deleted"]) >= len(RESIDENTS), 30, "the SIM copies deleted")

        # ---- a full disk ----
        if mounted:
            c = sqlite3.connect(gw.db, timeout=30)
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            c.close()
            filler = os.path.join(fs, "filler")
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            n_del = int(m.stats()["deleted"])
            n_out = gw.sql("SELECT count(*) FROM sms_out WHERE state = 'sent'")[0][0]
            for i, who in enumerate(RESIDENTS):
                m.deliver(who, "报事 full %d 电梯坏了" % i)
            linli.wait_for(lambda: "No space left" in gw.log_tail(300) or "DEGRADED" in gw.vty("show queue"), 60,
                           "linlid noticing the full disk", 0.2)
            time.sleep(3)
            t.check("DEGRADED" in gw.vty("show queue"), "show queue: degraded on the full disk")
            t.check(int(m.stats()["deleted"]) == n_del, "nothing deleted from the SIM on the full disk")
            t.check(not stored(gw, "full"), "nothing half-stored")
            os.unlink(filler)
            linli.wait_for(lambda: len(stored(gw, "full")) == len(RESIDENTS), 60, "the messages stored once space "
                           "returned")
            rows = stored(gw, "full")
            t.check(len(set(rows)) == len(rows) == len(RESIDENTS), "each stored once after the full disk: %s" % rows)
            linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_out WHERE state = 'sent'")[0][0]
                           >= n_out + len(RESIDENTS), 60, "the replies sent after the full disk")
            t.check(True, "the replies went out once space returned")
        t.check(gw.stop() == 0, "linlid stopped cleanly")
    finally:
        gw.close()
        if mounted:
            subprocess.run(["umount", "-l", fs], capture_output=True)


linli.run(main)
