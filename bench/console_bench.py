"""The staff console under a realistic database (a benchmark: figures, no pass/fail).

  console_bench.py api NREQUESTS SECONDS     GET /api/v1/requests per second over keep-alive HTTP
  console_bench.py paint NREQUESTS REPS      the page's first paint in headless chromium

Both start a real linlid (http-bind on a free loopback port) on a database with the sample
community (etc/sample) and NREQUESTS requests (报事) written straight into the request table by
sqlite3, spread over the ten states, the three grids, errands and 60 days, each with its
history's first row, as db/db_request.c stores them. Open requests past their deadline carry the
overdue, reminded and escalated flags, so linlid's overdue check (REQ_DUE) finds nothing to do
while it is measured.

api: one client (python's http.client, one keep-alive connection, a staff token from linlictl)
asks each path for SECONDS seconds, one request after the other: the first page, a filtered
page (state=dispatched&overdue=1), a deep page (the middle of the list), and the reference in
the same run, GET /api/v1/me (the token's check and a small JSON answer, no listing). Requests
per second, p50 and p99 latency, and each listing's rate over the reference's. The answers'
totals are checked against the database (the benchmark fails otherwise).

paint: the page (www/, served by linlid from a copy used as http-root) loaded REPS times, the
browser's cache off, first-contentful-paint from performance.getEntriesByType('paint'); the
reference, in the same browser and run, alternating with it: a one-line static HTML page in the
same http-root. Medians, and their ratio. The page starts on its log-in view (it resumes no
session on load), so that is its first paint; after it, the log-in with the token is timed to
the first request card in the work list (a listing of the whole database).
"""
import http.client
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
import linli  # noqa: E402
from console_util import wait_http  # noqa: E402

DAY = 86400
STAFF = "+8613900139101"
# the states as they are spread (most requests of 60 days are done); errands take the same states
STATES = [("closed", 40), ("visited", 8), ("merged", 3), ("received", 4), ("dispatched", 16), ("accepted", 8),
          ("in_progress", 9), ("returned", 3), ("extended", 5), ("reopened", 4)]
OPEN = {"received", "dispatched", "accepted", "in_progress", "returned", "extended", "reopened"}
TEXTS = ["3幢电梯坏了，困了老人", "楼道灯不亮了", "小区门口的井盖松了", "垃圾桶好几天没人清了", "楼上漏水到我家",
         "健身器材坏了一个", "路灯不亮", "停车位被占了", "下水道堵了", "邻居装修太吵"]
ERRANDS = ["帮忙买药", "帮忙取快递", "陪老人去医院", "帮忙买菜"]
SERVICES = ["facility", "environment", "safety", "neighbour"]


def fill(db, n, now):
    """n requests into db (the sample community already there): rows as db/db_request.c writes them."""
    rnd = random.Random(12)
    c = sqlite3.connect(db, timeout=30)
    hh = c.execute("SELECT h.id, p.id, p.number, g.worker_phone_id, g.code FROM household h "
                   "JOIN phone p ON p.household_id = h.id AND p.role = 'resident' JOIN grp ON grp.id = h.grp_id "
                   "JOIN grid g ON g.id = grp.grid_id GROUP BY h.id ORDER BY h.id").fetchall()
    runners = [r[0] for r in c.execute("SELECT id FROM phone WHERE role = 'runner'")]
    staff = [r[0] for r in c.execute("SELECT id FROM phone WHERE role = 'staff'")]
    states = [s for s, w in STATES for _ in range(w)]
    created = sorted(now - rnd.uniform(0, 60 * DAY) for _ in range(n))
    refs = rnd.sample(range(1000000), n)
    rows, events = [], []
    for i in range(n):
        rid = i + 1
        t = int(created[i])
        state = rnd.choice(states)
        kind = "errand" if rnd.random() < 0.05 else "request"
        if rnd.random() < 0.04:  # a number the database does not know
            h_id, p_id, number, worker, grid = None, None, "+86135%08d" % rnd.randrange(10 ** 8), None, None
        else:
            h_id, p_id, number, worker, grid = rnd.choice(hh)
        deadline = t + 4 * DAY
        flags = 0
        if state in OPEN:
            if deadline < now:
                flags = 1 | 2 | 4  # 超时, 催办 and 督办 sent already: nothing due
            else:
                deadline = max(deadline, now + 3600)  # none comes due while measured
        if rnd.random() < 0.03:
            flags |= 8
        if p_id is None:
            flags |= 16
        assignee = None
        if state != "received":
            assignee = rnd.choice(runners) if kind == "errand" else (worker or rnd.choice(staff))
        rating = rnd.choice(["满意", "满意", "基本满意", "不满意"]) if state == "closed" and rnd.random() < 0.6 else None
        merged = rnd.randrange(1, rid) if state == "merged" and rid > 1 else None
        source, service, lat, lon, address = "sms", None, None, None, None
        if kind == "request" and rnd.random() < 0.05:
            source, service = "open311", rnd.choice(SERVICES)
            lat, lon, address = 22.56 + rnd.random() / 100, 114.05 + rnd.random() / 100, "幸福里%d号" % rnd.randrange(99)
        text = (rnd.choice(ERRANDS) if kind == "errand" else rnd.choice(TEXTS)) + " (%d)" % rid
        updated = min(now, t + rnd.randrange(0, 5 * DAY))
        rows.append((rid, "%06d" % refs[i], kind, p_id, number, h_id, text, state, flags, deadline, assignee, rating,
                     merged, t, updated, source, service, lat, lon, address))
        events.append((rid, number, t, None, "received", text))
        if state != "received":
            events.append((rid, "system", updated, "received", state, None))
    with c:
        c.executemany("INSERT INTO request (id, ref, kind, reporter_phone_id, reporter, household_id, text, state, "
                      "flags, deadline, assignee_phone_id, rating, merged_into, created, updated, source, service, "
                      "lat, lon, address) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        c.executemany("INSERT INTO request_event (request_id, actor, at, from_state, to_state, note) "
                      "VALUES (?, ?, ?, ?, ?, ?)", events)
    c.execute("ANALYZE")
    c.close()


def console(nreq, http_root=None):
    """A started linlid with the console and nreq requests; (gateway, staff token)."""
    gw = linli.Gateway(nmodems=1, http=True, http_root=http_root,
                       modem_cfg="poll-interval 30\nhealth-interval 30")
    t0 = time.time()
    fill(gw.db, nreq, int(time.time()))
    print("console_fill_s %.1f s to write %d requests with sqlite3 (set-up, not a figure of linlid)"
          % (time.time() - t0, nreq), file=sys.stderr)
    tok = gw.linlictl("token", "create", STAFF, "--role", "staff").stdout.strip()
    gw.start()
    gw.base = "http://127.0.0.1:%d" % gw.http_port
    wait_http(gw)
    return gw, tok


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def measure(port, tok, path, seconds, min_n=20):
    """(rate, p50_ms, p99_ms, n, connections, last answer) of GET path, one after the other on one
    keep-alive connection, for seconds (at least min_n requests)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    hdr = {"Authorization": "Bearer " + tok}
    socks = set()
    for _ in range(3):  # warm-up: the connection, SQLite's page cache
        conn.request("GET", path, headers=hdr)
        conn.getresponse().read()
    lat = []
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        a = time.perf_counter()
        conn.request("GET", path, headers=hdr)
        socks.add(id(conn.sock))
        r = conn.getresponse()
        body = r.read()
        b = time.perf_counter()
        if r.status != 200:
            raise AssertionError("GET %s: %d %s" % (path, r.status, body[:200]))
        lat.append((b - a) * 1000)
        if b >= end and len(lat) >= min_n:
            break
    elapsed = time.perf_counter() - t0
    conn.close()
    return len(lat) / elapsed, pct(lat, 50), pct(lat, 99), len(lat), len(socks), json.loads(body)


def api(nreq, seconds):
    gw, tok = console(nreq)
    try:
        now = int(time.time())
        per = 50
        deep = max(1, nreq // per // 2)
        want_overdue = gw.sql("SELECT count(*) FROM request WHERE state = 'dispatched' AND ((flags & 1) <> 0 "
                              "OR deadline < ?)", (now,))[0][0]
        paths = [("me", "/api/v1/me", None),
                 ("requests_first", "/api/v1/requests", nreq),
                 ("requests_overdue", "/api/v1/requests?state=dispatched&overdue=1", want_overdue),
                 ("requests_deep", "/api/v1/requests?page=%d" % deep, nreq)]
        print("console_requests_n %d requests in the database (%d dispatched and overdue; deep page %d of %d per page)"
              % (nreq, want_overdue, deep, per))
        ref = None
        for name, path, total in paths:
            rate, p50, p99, n, conns, last = measure(gw.http_port, tok, path, seconds)
            if total is not None and (last.get("total") != total or len(last.get("requests", [])) != min(per, total)):
                raise AssertionError("GET %s: total %s with %d rows, want %d" %
                                     (path, last.get("total"), len(last.get("requests", [])), total))
            what = "; the reference: auth and JSON only" if ref is None else ""
            print("console_%s_rate %.1f req/s (GET %s; %d requests on %d keep-alive connection(s)%s)"
                  % (name, rate, path, n, conns, what))
            print("console_%s_p50_ms %.2f ms" % (name, p50))
            print("console_%s_p99_ms %.2f ms" % (name, p99))
            if ref is None:
                ref = rate
            else:
                print("console_%s_vs_me %.3f listing/reference rate" % (name, rate / ref))
    finally:
        gw.close()
        gw.cleanup()


FCP_JS = ("new Promise(ok => { const f = () => { const e = performance.getEntriesByType('paint')"
          ".find(x => x.name === 'first-contentful-paint'); e ? ok(e.startTime) : setTimeout(f, 10); }; f(); })")
# from the log-in click to the first request card painted in the work list
LOGIN_JS = ("new Promise(ok => { const t0 = performance.now();"
            " const o = new MutationObserver(() => { if (document.querySelector('#rq-list .request')) {"
            " o.disconnect(); requestAnimationFrame(() => ok(performance.now() - t0)); } });"
            " o.observe(document.getElementById('rq-list'), {childList: true, subtree: true});"
            " document.getElementById('token').value = %s; document.getElementById('login-btn').click(); })")


def paint(nreq, reps):
    from cdp import Browser
    root = os.path.join(linli.ROOT, "www")
    tmp = os.path.join(tempfile.mkdtemp(prefix="linli-www-"), "www")
    shutil.copytree(root, tmp)
    with open(os.path.join(tmp, "ref.html"), "w") as f:
        f.write('<!DOCTYPE html><meta charset="utf-8"><title>ref</title><p>邻里</p>\n')
    gw, tok = console(nreq, tmp)
    b = None
    try:
        b = Browser(gw.dir)
        b.send("Network.enable")
        b.send("Network.setCacheDisabled", {"cacheDisabled": True})
        base = gw.base

        def fcp(url):
            b.navigate(url)
            return b.eval(FCP_JS, 30)
        fcp(base + "/ref.html")  # warm-up: the browser's first navigation
        fcp(base + "/")
        page, ref, login = [], [], []
        for _ in range(reps):
            ref.append(fcp(base + "/ref.html"))
            page.append(fcp(base + "/"))
            login.append(b.eval(LOGIN_JS % json.dumps(tok), 60))
            b.navigate("about:blank")
        errs = b.events("Runtime.exceptionThrown")
        if errs:
            raise AssertionError("JavaScript error in the page: %s" % errs[:1])
        mp, mr = statistics.median(page), statistics.median(ref)
        print("console_page_fcp_ms %.0f ms median of %d (first-contentful-paint of www/, its log-in view;"
              " min %.0f max %.0f)" % (mp, reps, min(page), max(page)))
        print("console_ref_fcp_ms %.0f ms median of %d (reference: a one-line static page, same linlid and browser;"
              " min %.0f max %.0f)" % (mr, reps, min(ref), max(ref)))
        print("console_page_vs_ref_fcp %.2f page/reference first paint" % (mp / mr))
        print("console_login_to_list_ms %.0f ms median of %d (log-in click to the first request card, %d requests;"
              " min %.0f max %.0f)" % (statistics.median(login), reps, nreq, min(login), max(login)))
    finally:
        if b:
            b.close()
        gw.close()
        gw.cleanup()
        shutil.rmtree(os.path.dirname(tmp), ignore_errors=True)


if __name__ == "__main__":
    what, n, m = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if what == "api":
        api(n, float(m))
    elif what == "paint":
        paint(n, int(m))
    else:
        sys.exit("usage: console_bench.py api NREQUESTS SECONDS | paint NREQUESTS REPS")
