"""A district on one PostgreSQL database (issue 14): a throw-away cluster of the test's own
(tests/pg/cluster.sh). Two communities, alpha and beta (`community CODE`), each a box with an
emulated modem and the sample community imported into its own schema: a resident's 报事 on each
box gets a reference numbered in its own community, and neither box sees the other's rows. Then two
boxes for alpha, active/standby with a 3 s lease: the active one is frozen with SIGSTOP (its
session stays open on the server, as for a box cut off or hung), the standby ends that session
once the lease has run out and takes over; every queued message goes out (duplicates only in the
counted window); the frozen box, let go again, finds itself fenced and stops with an error."""
import os
import re
import signal
import time

import linli

R1 = "+8613800138001"   # 邹丽, 1幢1单元101 (grid W1)
N_OUT = 300
LEASE = 3
RULES = os.path.join(linli.ROOT, "routes", "sms.rules")
CFG = "rules-file %s\nhelp-interval 0" % RULES


def two_communities(t, url):
    a = b = None
    try:
        a = linli.Gateway(nmodems=1, db=url, community="alpha", extra_gateway_cfg=CFG).start()
        b = linli.Gateway(nmodems=1, db=url, community="beta", extra_gateway_cfg=CFG).start()
        refs = []
        for gw in (a, a, b):
            gw.modems[0].deliver(R1, "#我要报事 楼道灯坏了 %d" % len(refs))
            reply = linli.SentSms(gw).wait(R1, "已受理", "")
            refs.append(re.search(r"单号(\d{6})", reply).group(1))
            linli.wait_for(lambda: gw.sql("SELECT count(*) FROM request WHERE ref = ?", (refs[-1],))[0][0] == 1,
                           30, "the request stored")
        ids = [a.sql("SELECT id FROM request WHERE ref = ?", (refs[0],))[0][0],
               b.sql("SELECT id FROM request WHERE ref = ?", (refs[2],))[0][0]]
        t.check(ids == [1, 1], "each community numbers its own requests from 1 (alpha %d, beta %d)" % tuple(ids))
        na, nb = (g.sql("SELECT count(*) FROM request")[0][0] for g in (a, b))
        t.check((na, nb) == (2, 1), "alpha holds its 2 requests, beta its 1: neither sees the other's (%d, %d)"
                % (na, nb))
        com = linli.pg_sql(url, "SELECT code, schema_name FROM public.linli_community ORDER BY code")
        t.check(com == [("alpha", "linli_alpha"), ("beta", "linli_beta")], "the district lists both (%s)" % com)
        t.check("community alpha" in a.log_tail(400), "the log names the box's community")
    finally:
        for g in (a, b):
            if g:
                g.close()


def frozen_owner(t, url):
    cfg = CFG + "\nstandby on\nlease %d" % LEASE
    a = b = None
    try:
        a = linli.Gateway(nmodems=1, airtime_ms=20, db=url, community="gamma", extra_gateway_cfg=cfg)
        b = linli.Gateway(nmodems=1, airtime_ms=20, db=url, community="gamma", extra_gateway_cfg=cfg, sample=False)
        a.start()
        b.start(wait_ready=False)
        linli.wait_for(lambda: "standby: database" in b.log_tail(50), 30, "box b standing by")
        for i in range(N_OUT):
            a.send("+86139%08d" % (i % 13), "frozen box %04d" % i)
        linli.wait_for(lambda: a.queue()["sent"] >= N_OUT // 4, 300, "a quarter sent by box a", 0.2)
        os.kill(a.proc.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            linli.wait_for(lambda: "the owner stopped; taking over" in b.log_tail(200), 60, "box b takes over")
            took = time.monotonic() - frozen_at
            sending = b.sql("SELECT count(*) FROM sms_out WHERE state = 'sending'")[0][0]
            t.check("lease ran out" in b.log_tail(200), "box b says the owner's lease ran out")
            print("box b took over %.1f s after box a froze (lease %d s)" % (took, LEASE))
            t.check(took >= LEASE - 1, "box b waited for the lease (%.1f s, lease %d s)" % (took, LEASE))
            b.wait_modems_ready()
            linli.wait_for(lambda: b.sql("SELECT count(*) FROM sms_out WHERE state = 'sent'")[0][0] >= N_OUT, 300,
                           "every message sent after the takeover", 0.5)
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        rc = a.proc.wait(60)
        t.check(rc != 0 and "another linlid owns" in a.log_tail(100),
                "box a, let go again, finds itself fenced and stops with an error (rc %s)" % rc)
        seen = linli.count_sent(a.modems + b.modems, "frozen box")
        missing = [i for i in range(N_OUT) if "%04d" % i not in seen]
        extra = sum(n - 1 for n in seen.values())
        counted = b.sql("SELECT coalesce(sum(value), 0) FROM stat WHERE name IN ('out_possible_dup', 'out_late_dup')")
        t.check(not missing, "frozen owner: no message lost (missing %s)" % missing[:10])
        t.check(extra <= counted[0][0], "duplicates (%d) only in the counted window (%d counted; %d sending at the "
                "takeover)" % (extra, counted[0][0], sending))
        t.check(b.stop() == 0, "box b exits 0 on SIGTERM")
    finally:
        for g in (a, b):
            if g:
                g.close()


def main(t):
    with linli.PgCluster() as pc:
        two_communities(t, pc.url)
        frozen_owner(t, pc.url)


linli.run(main)
