"""A district on one PostgreSQL database (issue 14): a throw-away cluster of the test's own
(tests/pg/cluster.sh). Two communities, alpha and beta (`community CODE`), each a box with an
emulated modem and the sample community imported into its own schema: a resident's 报事 on each
box gets a reference numbered in its own community, and neither box sees the other's rows; the
street office's tokens read the communities of their scope, read-only, on any box, and in the page
(a real browser: the district's overview, each community's requests, no action). Then two
boxes for alpha, active/standby with a 3 s lease: the active one is frozen with SIGSTOP (its
session stays open on the server, as for a box cut off or hung), the standby ends that session
once the lease has run out and takes over; every queued message goes out (duplicates only in the
counted window); the frozen box, let go again, finds itself fenced and stops with an error.
Last, the district's front Kamailio (routes/front.cfg) before two boxes for delta, each with its
own Kamailio reading the community's schema: the trunk's MESSAGE and INVITE for the district's
public numbers reach the box whose linlid holds the community; a peer that is not allowed gets 403,
a number the district does not have 404; box a's Kamailio hangs (SIGSTOP) while its linlid holds
the community: the trunk is told 480 after the front's timer, and at once while the box is down,
and the box is taken again when it answers; the active box is killed with -9, the front finds it
down by OPTIONS and sends to the standby once that has taken over; every message the trunk was
told 202 about is stored once, and every other one got an answer that keeps it at the trunk."""
import json
import os
import re
import signal
import time

import console_util
import kamailio
import linli
from cdp import Browser

R1 = "+8613800138001"   # 邹丽, 1幢1单元101 (grid W1)
N_OUT = 300
LEASE = 3
RULES = os.path.join(linli.ROOT, "routes", "sms.rules")
CFG = "rules-file %s\nhelp-interval 0" % RULES


def two_communities(t, url):
    a = b = None
    try:
        a = linli.Gateway(nmodems=1, db=url, community="alpha", extra_gateway_cfg=CFG, http=True).start()
        b = linli.Gateway(nmodems=1, db=url, community="beta", extra_gateway_cfg=CFG, http=True).start()
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
        street_office(t, a, b)
    finally:
        for g in (a, b):
            if g:
                g.close()


def street_office(t, a, b):
    """The street office's tokens: each reads the communities of its scope, read-only, on any box."""
    for g in (a, b):
        g.base = "http://127.0.0.1:%d" % g.http_port
        console_util.wait_http(g)
    both = a.linlictl("district", "token", "create", "--scope", "alpha,beta", "--label", "街道办").stdout.strip()
    only_a = b.linlictl("district", "token", "create", "--scope", "alpha").stdout.strip()
    r = a.linlictl("district", "token", "create", "--scope", "alpha,nosuch", check=False)
    t.check(r.returncode == 1 and "does not have" in r.stderr, "a scope naming no community of the district is "
            "refused: %s" % r.stderr.strip())
    st, j = console_util.call(a, "GET", "/api/v1/district/summary", both)
    got = [(c["community"], c["requests"], c["open"]) for c in j["communities"]] if st == 200 else j
    t.check(st == 200 and got == [("alpha", 2, 2), ("beta", 1, 1)], "the street office's summary over both "
            "communities: %s %s" % (st, got))
    st, j = console_util.call(b, "GET", "/api/v1/district/requests", both)
    got = sorted((q["community"], q["ref"]) for q in j["requests"]) if st == 200 else j
    mine = {g.community: sorted(x for x, in g.sql("SELECT ref FROM request")) for g in (a, b)}
    want = sorted([("alpha", x) for x in mine["alpha"]] + [("beta", x) for x in mine["beta"]])
    t.check(st == 200 and got == want, "any box lists the requests of the scope's communities: %s %s" % (st, got))
    st, j = console_util.call(a, "GET", "/api/v1/district/requests?state=open", only_a)
    got = sorted(q["ref"] for q in j["requests"]) if st == 200 else j
    t.check(st == 200 and got == mine["alpha"], "a token for alpha reads alpha's requests only: %s %s" % (st, got))
    st, _ = console_util.call(a, "GET", "/api/v1/district/requests?community=beta", only_a)
    t.check(st == 403, "and asking for beta's is refused (%s)" % st)
    got = [console_util.call(a, "GET", p, only_a)[0] for p in ("/api/v1/requests", "/api/v1/incidents",
                                                                 "/api/v1/households", "/api/v1/me")]
    t.check(got == [401] * 4, "to alpha's own console (requests, SOS incidents, households) it is nobody, on "
            "alpha's box too: the district's view only (%s)" % got)
    st, _ = console_util.call(a, "POST", "/api/v1/requests/%s/close" % mine["alpha"][0], only_a, body={"note": "x"})
    t.check(st == 401, "and it acts on no request (%s)" % st)
    staff = console_util.token(a, "+8613900139101", "operator")
    st, _ = console_util.call(a, "GET", "/api/v1/district/summary", staff)
    t.check(st == 403, "a community's own staff token is no street office's (%s)" % st)
    st, _ = console_util.call(a, "GET", "/api/v1/district/summary")
    t.check(st == 401, "no token: 401 (%s)" % st)
    st, j = console_util.call(b, "POST", "/api/v1/login", body={"token": both})
    t.check(st == 200 and j["staff"].get("district") == "alpha,beta" and j.get("csrf"),
            "the street office's token logs in to the page, which is told its communities (%s)" % st)
    br = Browser(b.dir)
    try:
        page(t, br, b, mine, both)
        tid = a.linlictl("district", "token", "list").stdout.split()[0]
        a.linlictl("district", "token", "revoke", tid)
        st, _ = console_util.call(a, "GET", "/api/v1/district/summary", both)
        t.check(st == 401, "a revoked street office's token is refused (%s)" % st)
        br.eval("document.querySelector('#dr-filter button').click(); 1")
        br.wait("!document.getElementById('login-view').hidden", 15, "the page back at the log-in")
        t.check(br.eval("document.getElementById('district-view').hidden"),
                "and its page session ends with it: the page asks for a token again")
    finally:
        br.close()


def page(t, br, b, mine, tok):
    """The street office's page on beta's box, in a real browser: both communities' counts and requests,
    read-only, filtered by community."""
    shots = os.path.join(linli.BUILD, "test-logs", "screenshots")
    os.makedirs(shots, exist_ok=True)
    br.navigate(b.base + "/")
    br.eval("document.getElementById('token').value = %s; document.getElementById('login-btn').click(); 1"
            % json.dumps(tok))
    br.wait("!document.getElementById('district-view').hidden", 15, "the district's view")
    rows = "Array.from(document.querySelectorAll('#ds-table tr[data-community]')).map(r => " \
           "Array.from(r.cells).map(c => c.textContent).join(' '))"
    br.wait(rows + ".length == 2", 15, "both communities in the overview")
    got = br.eval(rows)
    t.check(got == ["alpha 2 2 0", "beta 1 1 0"], "the page's overview: each community's requests, open, overdue: %s"
            % got)
    t.check(br.eval("document.getElementById('app').hidden") and "街道" in br.eval(
        "document.getElementById('who').textContent") and br.eval("document.title") == "邻里 街道总览",
            "no community console (SOS board, actions): the district's "
            "view only, the street office named")
    cards = "Array.from(document.querySelectorAll('#dr-list .request')).map(r => r.dataset.community + ' ' + " \
            "r.dataset.ref).sort()"
    br.wait(cards + ".length == 3", 15, "the requests of both communities")
    want = sorted(["alpha " + x for x in mine["alpha"]] + ["beta " + x for x in mine["beta"]])
    t.check(br.eval(cards) == want, "every open request of both communities listed: %s" % br.eval(cards))
    t.check(br.eval("document.querySelectorAll('#dr-list button, #dr-list input').length") == 0,
            "read-only: no button or field on the requests")
    br.screenshot(os.path.join(shots, "district_1_overview.png"))
    br.eval("document.querySelector('#ds-table tr[data-community=\"alpha\"]').click(); 1")
    br.wait(cards + ".length == 2", 15, "alpha's requests only")
    t.check(br.eval(cards) == ["alpha " + x for x in mine["alpha"]] and
            br.eval("document.getElementById('dr-community').value") == "alpha",
            "a click on a community lists its requests only")
    br.screenshot(os.path.join(shots, "district_2_alpha.png"))


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


DID_SMS = "+8657100000001"     # the district's number for delta's SMS over SIP
DID_CALL = "+8657100006995"    # and for delta's group call


def front(t, url):
    cfg = CFG + "\nstandby on\nlease %d" % LEASE
    ua = kamailio.FakeTrunk()   # where the boxes' Kamailios send the group call (linlid's UA): answers 486
    boxes, kams, fr = [], [], None
    try:
        for i in range(2):
            ev = linli.free_port()
            g = linli.Gateway(nmodems=1, db=url, community="delta", sample=(i == 0),
                              extra_gateway_cfg=cfg + "\nevapi 127.0.0.1 %d" % ev)
            boxes.append(g)
            kams.append(kamailio.start(url, evapi_port=ev, trunks=["127.0.0.1"], linli_ua="127.0.0.1:%d" % ua.port,
                                       community="delta", defines={"HEALTH_LINLI": 1}, workdir=g.dir))
        a, b = boxes
        ka, kb = kams
        a.start()
        b.start(wait_ready=False)
        linli.wait_for(lambda: "standby: database" in b.log_tail(50), 30, "box b standing by")
        linli.wait_for(lambda: "connected to Kamailio's evapi" in a.log_tail(400), 30, "box a on its Kamailio")
        fr = kamailio.Front(url, boxes={1: [("127.0.0.1:%d" % ka.port, 10), ("127.0.0.1:%d" % kb.port, 5)]},
                            numbers={DID_SMS: (1, "linli", "delta"), DID_CALL: (1, "6995", "delta")})
        linli.wait_for(lambda: "box sip:127.0.0.1:%d down" % kb.port in fr.log_text(), 30,
                       "the front finding the standby box not serving")

        def message(text, sender=R1, to=DID_SMS, ip="127.0.0.1", timeout=15):
            return kamailio.send_request(fr.port, "MESSAGE", to, sender, text.encode(), ip=ip, timeout=timeout)

        def stored(text):
            return linli.pg_sql(url, "SELECT count(*) FROM sms_in WHERE text = ?", (text,), "delta")[0][0]

        code = message("#我要报事 前端转来的 一号")
        t.check(code == 202, "the trunk's MESSAGE for delta's number is taken by the box holding delta (%s)" % code)
        linli.wait_for(lambda: stored("#我要报事 前端转来的 一号") == 1, 30, "the message stored")
        n = linli.pg_sql(url, "SELECT count(*) FROM request WHERE text LIKE '%前端转来的%'", (), "delta")[0][0]
        t.check(n == 1, "a request made from it in delta (%d)" % n)
        t.check("connected" in a.vty("show sip"), "box a's linlid is on evapi with its own Kamailio")
        code = message("from elsewhere", ip="127.0.0.2")
        t.check(code == 403, "a MESSAGE from an address that is no peer of the front: 403 (%s)" % code)
        code = message("no such number", to="+8657199999999")
        t.check(code == 404, "a MESSAGE for a number the district does not have: 404 (%s)" % code)
        code = kamailio.send_request(fr.port, "INVITE", DID_CALL, R1)
        t.check(code == 486 and ua.invited == ["6995"], "the trunk's INVITE for delta's group call number goes "
                "through the box to linlid's UA as 6995 (%s, %s)" % (code, ua.invited))

        hung_kamailio(t, fr, ka, message, stored)

        a.kill9()
        killed = time.monotonic()
        tries = []
        while time.monotonic() - killed < 60:
            text = "front probe %03d" % len(tries)
            code = message(text)
            tries.append((time.monotonic() - killed, text, code))
            if code == 202:
                break
            time.sleep(0.3)
        took = tries[-1][0]
        print("after box a was killed: %s; first 202 at %.1f s" % ([c for _, _, c in tries], took))
        t.check(tries[-1][2] == 202, "after the active box is killed, the standby box takes the trunk's MESSAGEs "
                "(first 202 at %.1f s)" % took)
        t.check(all(c in (202, 480) for _, _, c in tries), "meanwhile every MESSAGE got 480 (try later), which "
                "keeps it at the trunk (%s)" % sorted(set(c for _, _, c in tries)))
        lost = [x for _, x, c in tries if c == 202 and stored(x) != 1]
        t.check(not lost, "each MESSAGE answered 202 is stored once (not so: %s)" % lost)
        log = fr.log_text()
        t.check("box sip:127.0.0.1:%d down" % ka.port in log and "box sip:127.0.0.1:%d up" % kb.port in log,
                "the front's log: box a down, box b up")
        t.check("connected to Kamailio's evapi" in b.log_tail(400), "box b's linlid joined its own Kamailio")
    finally:
        for k in kams + ([fr] if fr else []):
            k.stop()
        for g in boxes:
            g.close()
        ua.stop()


def hung_kamailio(t, fr, ka, message, stored):
    """Box a's Kamailio hangs while its linlid holds the community (its modems still serve it): the
    front gives up on it after its fr_timer and tells the trunk 480 (keep it, try later), then at
    once while the box is down; let go, the box is up again at the next OPTIONS and takes MESSAGEs."""
    ups = fr.log_text().count("box sip:127.0.0.1:%d up" % ka.port)
    down = re.compile(r"box sip:127\.0\.0\.1:%d (down|did not take it)" % ka.port)
    downs = len(down.findall(fr.log_text()))
    ka.hang()
    try:
        t0 = time.monotonic()
        first = message("挂起 一号", timeout=30)
        took = time.monotonic() - t0
        linli.wait_for(lambda: len(down.findall(fr.log_text())) > downs, 30, "the front marking box a down")
        t0 = time.monotonic()
        second = message("挂起 二号")
        took2 = time.monotonic() - t0
    finally:
        ka.hang(False)
    print("box a's Kamailio hung: %s after %.1f s, then %s after %.1f s" % (first, took, second, took2))
    t.check(first == 480,
            "a MESSAGE to the hung box: the trunk is told 480 after the front's timer, which keeps it (%s, %.1f s)"
            % (first, took))
    t.check(second == 480, "the next one: 480 too, the box being down (%s, %.1f s)" % (second, took2))
    linli.wait_for(lambda: fr.log_text().count("box sip:127.0.0.1:%d up" % ka.port) > ups, 30,
                   "box a up again at the front")
    code = message("挂起之后")
    t.check(code == 202 and linli.wait_for(lambda: stored("挂起之后") == 1, 30, "stored"),
            "let go, box a is up again at the front and takes the trunk's MESSAGE (%s)" % code)
    late = [x for x in ("挂起 一号", "挂起 二号") if stored(x)]
    print("answered 480 but stored when the hung Kamailio went on: %s" % late)


def main(t):
    with linli.PgCluster() as pc:
        two_communities(t, pc.url)
        frozen_owner(t, pc.url)
        front(t, pc.url)


linli.run(main)
