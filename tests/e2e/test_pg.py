"""linlid on PostgreSQL (issue 14, first step): a throw-away cluster of the test's own
(tests/pg/cluster.sh: its folder, a loopback port, stopped at the end), the sample community
imported by linlictl into it, then the real libgammu and an emulated modem as in test_request:
a resident's 报事 gets its reference, the grid worker the dispatch, 签收 moves it on; an errand
credits points (the ledger's trigger refuses a change); 400 outgoing messages with linlid killed
with SIGKILL midway all go out (duplicates only in the counted window); a second linlid on the
same database is refused; the password of the URL never shows in the log; `linlictl backup` says
to use pg_dump. Then two boxes on one database (active/standby, `standby on`), an emulated modem
each: 2,000 messages queued, the active one killed with SIGKILL midway: the standby takes over and
every message goes out exactly once (duplicates only in the counted window)."""
import os
import re
import subprocess

import linli

R1 = "+8613800138001"   # 邹丽, 1幢1单元101 (grid W1)
W1 = "+8613900139001"   # 杜军, grid worker of W1
N_OUT = 400
N_BOXES = 2000
CLUSTER = linli.PG_CLUSTER
RULES = os.path.join(linli.ROOT, "routes", "sms.rules")


def two_boxes(t, d, port):
    r = subprocess.run(["sh", CLUSTER, "createdb", os.path.join(d, "c"), str(port), "boxes"], capture_output=True,
                       text=True, timeout=120)
    url = r.stdout.strip()
    a = b = None
    try:
        a = linli.Gateway(nmodems=1, airtime_ms=20, db=url, extra_gateway_cfg="standby on")
        b = linli.Gateway(nmodems=1, airtime_ms=20, db=url, extra_gateway_cfg="standby on", sample=False)
        a.start()
        b.start(wait_ready=False)
        linli.wait_for(lambda: "standby: database" in b.log_tail(50), 30, "box b standing by")
        for i in range(N_BOXES):
            a.send("+86139%08d" % (i % 13), "two boxes %04d" % i)
        linli.wait_for(lambda: a.queue()["sent"] >= N_BOXES // 4, 300, "a quarter sent by box a", 0.2)
        a.kill9()
        sending = a.sql("SELECT count(*) FROM sms_out WHERE state = 'sending'")[0][0]
        by_a = sum(linli.count_sent(a.modems, "two boxes").values())
        linli.wait_for(lambda: "taking over" in b.log_tail(200), 60, "box b takes over")
        b.wait_modems_ready()
        linli.wait_for(lambda: b.sql("SELECT count(*) FROM sms_out WHERE state = 'sent'")[0][0] >= N_BOXES, 600,
                       "every message sent after the takeover", 0.5)
        seen = linli.count_sent(a.modems + b.modems, "two boxes")
        by_b = sum(linli.count_sent(b.modems, "two boxes").values())
        missing = [i for i in range(N_BOXES) if "%04d" % i not in seen]
        extra = sum(n - 1 for n in seen.values())
        counted = b.sql("SELECT coalesce(sum(value), 0) FROM stat WHERE name IN ('out_possible_dup', 'out_late_dup')")
        counted = counted[0][0]
        print("box a sent %d, box b %d after the takeover; %d sending at the kill" % (by_a, by_b, sending))
        t.check(by_a > 0 and by_b > 0, "both boxes sent (a %d before the kill, b %d after)" % (by_a, by_b))
        t.check(not missing, "two boxes: no message lost (missing %s)" % missing[:10])
        t.check(extra <= counted <= sending + 1, "two boxes: duplicates (%d) only in the counted window (%d counted, "
                "%d sending at the kill)" % (extra, counted, sending))
        t.check(b.stop() == 0, "box b exits 0 on SIGTERM")
    finally:
        if a:
            a.close()
        if b:
            b.close()


def main(t):
    with linli.PgCluster() as pc:
        run_all(t, pc.dir, pc.port)


def run_all(t, d, port):
    # trust authentication on loopback: the password is not checked, only kept out of the log
    url = "postgresql://linli:s3cret-word@127.0.0.1:%d/linli" % port
    gw = gw2 = None
    try:
        gw = linli.Gateway(nmodems=2, airtime_ms=15, db=url, extra_gateway_cfg="rules-file %s\nhelp-interval 0" % RULES)
        v = gw.sql("SELECT version FROM linli_schema")[0][0]
        t.check(v == 23, "the schema is at version 23 on PostgreSQL (%s)" % v)
        n = gw.sql("SELECT count(*) FROM household")[0][0]
        t.check(n > 0, "linlictl imported the sample community into PostgreSQL (%d households)" % n)
        gw.start()
        sms = linli.SentSms(gw)

        gw.modems[0].deliver(R1, "#我要报事 1幢楼道灯坏了，晚上很黑")
        reply = sms.wait(R1, "已受理")
        m = re.search(r"单号(\d{6})", reply)
        t.check(m is not None, "the resident gets a 6-digit reference: %s" % reply)
        ref = m.group(1) if m else "000000"
        dsp = sms.wait(W1, "派单", ref)
        t.check("1幢1单元101" in dsp and "邹丽" in dsp, "the grid worker gets the dispatch: %s" % dsp)
        st = gw.sql("SELECT state, text FROM request WHERE ref = ?", (ref,))
        t.check(st == [("dispatched", "1幢楼道灯坏了，晚上很黑")], "the request row is dispatched (%s)" % st)
        gw.modems[1].deliver(W1, "签收 " + ref)
        sms.wait(W1, "已签收", ref)
        linli.wait_for(lambda: gw.sql("SELECT state FROM request WHERE ref = ?", (ref,))[0][0] == "accepted", 30,
                       "accepted")
        ev = gw.sql("SELECT to_state FROM request_event WHERE request_id = (SELECT id FROM request WHERE ref = ?)"
                    " ORDER BY at, id", (ref,))
        t.check([e[0] for e in ev][-2:] == ["dispatched", "accepted"], "its events are kept in order (%s)" % ev)

        # the points ledger: a row cannot be changed (the trigger, P0001 -> -EPERM as on SQLite)
        r = gw.linlictl("points", "add", R1, "5", "test entry", check=False)
        t.check(r.returncode == 0, "points added by linlictl (%s)" % r.stdout.strip())
        r = subprocess.run(["psql", url, "-AtXqc", "UPDATE points SET delta = 500"], capture_output=True, text=True)
        t.check(r.returncode != 0 and "ledger" in r.stderr, "the ledger refuses an UPDATE (%s)" % r.stderr.strip())

        # a second linlid on the same database is refused
        gw2 = linli.Gateway(nmodems=1, db=url, sample=False)
        p = subprocess.run([os.path.join(linli.BUILD, "linlid"), "-c", gw2.cfg], capture_output=True, text=True,
                           timeout=60, cwd=gw2.dir)
        t.check(p.returncode != 0 and "in use by another linlid" in p.stderr + p.stdout,
                "a second linlid on the same database is refused (rc %d)" % p.returncode)

        # the server restarts under a running linlid: it is degraded meanwhile, then reconnects and
        # a message that came during the restart is stored and answered
        subprocess.run(["sh", CLUSTER, "stop", os.path.join(d, "c")], check=True, timeout=120)
        gw.modems[0].deliver(R1, "查询 " + ref)
        linli.wait_for(lambda: "degraded" in gw.log_tail(200) or "connection lost" in gw.log_tail(200), 60,
                       "linlid notices the server is gone")
        r = subprocess.run(["sh", CLUSTER, "start", os.path.join(d, "c"), str(port)], capture_output=True, text=True,
                           timeout=180)
        t.check(r.returncode == 0, "the server started again")
        got = sms.wait(R1, ref, timeout=90)
        t.check(ref in got, "after the restart linlid reconnected and answered the 查询 sent meanwhile: %s" % got)
        t.check("reconnected, statements prepared again" in gw.log_tail(400), "the log says it reconnected")

        r = gw.linlictl("backup", os.path.join(d, "copy.db"), check=False)
        t.check(r.returncode != 0 and "pg_dump" in r.stderr, "linlictl backup points to pg_dump (%s)" %
                r.stderr.strip())

        # kill -9 in the middle of sending: nothing lost, duplicates only in the counted window
        for i in range(N_OUT):
            gw.send("+86139%08d" % (i % 11), "pg crash %04d 邻里" % i)
        linli.wait_for(lambda: gw.queue()["sent"] >= N_OUT // 4, 120, "a quarter sent")
        gw.kill9()
        sending = gw.sql("SELECT count(*) FROM sms_out WHERE state = 'sending'")[0][0]
        gw.start()
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_out WHERE text LIKE 'pg crash %' AND state = 'sent'")
                       [0][0] >= N_OUT, 300, "all sent after the restart", 0.5)
        seen = linli.count_sent(gw.modems, "pg crash")
        missing = [i for i in range(N_OUT) if "%04d" % i not in seen]
        extra = sum(n - 1 for n in seen.values())
        counted = gw.sql("SELECT coalesce(sum(value), 0) FROM stat WHERE name IN ('out_possible_dup', 'out_late_dup')")
        counted = counted[0][0]
        t.check(not missing, "killed midway: no outgoing message lost (missing %s)" % missing[:10])
        t.check(extra <= counted <= sending + 1, "duplicates (%d) only in the counted window (%d counted, %d "
                "sending at the kill)" % (extra, counted, sending))
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
        with open(gw.log_path, errors="replace") as f:
            log = f.read()
        t.check("s3cret-word" not in log and "linli:***@127.0.0.1" in log,
                "the URL's password is not in the log")
        gw.close()
        gw2.close()
        gw = gw2 = None
        two_boxes(t, d, port)
    finally:
        if gw:
            gw.close()
        if gw2:
            gw2.close()


linli.run(main)
