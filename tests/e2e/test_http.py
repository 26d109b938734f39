"""The staff console's HTTP core (issue 11, gateway/core/http.c): tokens made with linlictl,
401 for a missing, wrong or revoked token, 403 for a role too low, the login cookie's flags and
its CSRF token, 413/400 for oversized, malformed or non-UTF-8 input with nothing changed, SQL
metacharacters as plain text, no path out of the page's folder, POST /api/v1/sms out through
the emulated modem, /metrics as Prometheus text, and the CSV import's row errors."""
import http.client
import http.server
import json
import os
import re
import threading

import linli

STAFF = "+8613900139102"
OPERATOR = "+8613900139101"
READER = "+8613900139103"


class Client:
    def __init__(self, port):
        self.port = port

    def req(self, method, path, body=None, headers=None, token=None, ctype=None):
        """(status, headers dict lower-cased, body bytes)."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            ctype = ctype or "application/json"
        elif isinstance(body, str):
            body = body.encode()
        if ctype:
            h["Content-Type"] = ctype
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            hdrs = {}
            for k, v in r.getheaders():
                k = k.lower()
                hdrs[k] = hdrs[k] + "\n" + v if k in hdrs else v
            return r.status, hdrs, data
        finally:
            c.close()

    def json(self, *a, **kw):
        st, h, data = self.req(*a, **kw)
        try:
            return st, h, json.loads(data) if data else None
        except ValueError:
            return st, h, {"unparsed": data[:200]}


def is_error(body, status):
    return isinstance(body, dict) and body.get("error", {}).get("status") == status and \
        isinstance(body["error"].get("message"), str)


def token(gw, number, role):
    r = gw.linlictl("token", "create", number, "--role", role, "--label", "e2e " + role)
    tok = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", tok), r.stdout
    return tok


def main(t):
    root = None
    gw = None
    cb = None
    try:
        import tempfile
        root = tempfile.mkdtemp(prefix="linli-www-")
        www = os.path.join(root, "www")
        os.mkdir(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("<!doctype html><title>linli</title>")
        with open(os.path.join(www, "app.js"), "w") as f:
            f.write("console.log(1);")
        with open(os.path.join(root, "secret.txt"), "w") as f:
            f.write("SECRET-OUTSIDE-ROOT")
        os.symlink(os.path.join(root, "secret.txt"), os.path.join(www, "link.txt"))

        cb = CallbackServer()
        gw = linli.Gateway(nmodems=1, http=True, http_root=www, extra_gateway_cfg="http-callback-allow 127.0.0.1")
        staff = token(gw, STAFF, "staff")
        oper = token(gw, OPERATOR, "operator")
        reader = token(gw, READER, "readonly")
        revoked = token(gw, "+8613900139001", "staff")
        hashes = ",".join(r[0] for r in gw.sql("SELECT token_hash FROM staff_token"))
        t.check("token" not in hashes and staff not in hashes,
                "only hashes of the tokens are stored")
        r = gw.linlictl("token", "create", "+8613712345678", check=False)
        t.check(r.returncode == 1 and "not an active phone" in r.stderr, "no token for a number the database lacks")
        rid = [row for row in gw.linlictl("token", "list").stdout.splitlines() if "+8613900139001" in row][0].split()[0]
        gw.linlictl("token", "revoke", rid)
        t.check("REVOKED" in gw.linlictl("token", "list").stdout, "token list shows the revoked one")
        gw.start()
        c = Client(gw.http_port)

        # ---- authentication ----
        st, h, b = c.json("GET", "/api/v1/me")
        t.check(st == 401 and is_error(b, 401), "no token: 401 with a JSON error (%s %s)" % (st, b))
        st, h, b = c.json("GET", "/api/v1/me", token="0" * 64)
        t.check(st == 401 and is_error(b, 401), "a wrong token: 401")
        st, h, b = c.json("GET", "/api/v1/me", token=revoked)
        t.check(st == 401, "a revoked token: 401")
        st, h, b = c.json("GET", "/api/v1/me", token=staff)
        t.check(st == 200 and b == {"number": STAFF, "name": "吴杰", "role": "staff"}, "me with Bearer: %s" % b)
        st, h, b = c.json("GET", "/api/v1/me?api_key=" + reader)
        t.check(st == 200 and b["role"] == "readonly", "api_key in the query works")
        t.check(h.get("cache-control") == "no-store" and h.get("x-content-type-options") == "nosniff" and
                h.get("x-frame-options") == "DENY", "security headers and no-store on /api")
        st, h, b = c.json("GET", "/api/v1/tokens", token=staff)
        t.check(st == 403 and is_error(b, 403), "staff may not list tokens: 403")
        st, h, b = c.json("POST", "/api/v1/sms", {"to": "+8613800138001", "text": "x"}, token=reader)
        t.check(st == 403, "readonly may not send: 403")
        st, h, b = c.json("GET", "/api/v1/tokens", token=oper)
        t.check(st == 200 and len(b["tokens"]) == 4 and all("hash" not in str(x) for x in b["tokens"]),
                "operator lists tokens (no hashes)")

        st, h, b = c.json("POST", "/api/v1/logout", "api_key=" + staff, ctype="application/x-www-form-urlencoded")
        t.check(st == 204, "api_key in a form body works (Open311 clients)")
        st, h, b = c.json("POST", "/api/v1/logout", "api_key=bad", ctype="application/x-www-form-urlencoded")
        t.check(st == 401, "a wrong api_key in a form body: 401")

        # ---- routing ----
        st, h, b = c.json("GET", "/api/v1/nothing", token=staff)
        t.check(st == 404 and is_error(b, 404), "unknown API path: 404")
        st, h, b = c.json("DELETE", "/api/v1/me", token=staff)
        t.check(st == 405 and "GET" in h.get("allow", ""), "wrong method: 405 with Allow (%s)" % h.get("allow"))
        st, h, data = c.req("HEAD", "/api/v1/me", token=staff)
        t.check(st == 200 and data == b"", "HEAD is served as GET, without a body")

        # ---- the session cookie and CSRF ----
        st, h, b = c.json("POST", "/api/v1/login", {"token": "nope"})
        t.check(st == 401, "login with a wrong token: 401")
        st, h, b = c.json("POST", "/api/v1/login", {"token": staff})
        cookie = h.get("set-cookie", "")
        t.check(st == 200 and b["staff"]["number"] == STAFF and re.fullmatch(r"[0-9a-f]{64}", b.get("csrf", "")),
                "login answers the staff and a CSRF token")
        t.check("HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie and
                cookie.startswith("linli_session="), "cookie flags: %s" % cookie)
        sess = cookie.split(";")[0]
        csrf = b["csrf"]
        st, h, b = c.json("GET", "/api/v1/me", headers={"Cookie": sess})
        t.check(st == 200 and b["number"] == STAFF, "the cookie authenticates a GET")
        before = gw.sql("SELECT name FROM phone WHERE number = '+8613800138001'")
        st, h, b = c.json("PATCH", "/api/v1/phones/+8613800138001", {"name": "改了"}, headers={"Cookie": sess})
        t.check(st == 403 and is_error(b, 403), "cookie without X-CSRF-Token: 403")
        st, h, b = c.json("PATCH", "/api/v1/phones/+8613800138001", {"name": "改了"},
                          headers={"Cookie": sess, "X-CSRF-Token": "0" * 64})
        t.check(st == 403, "cookie with a wrong X-CSRF-Token: 403")
        t.check(gw.sql("SELECT name FROM phone WHERE number = '+8613800138001'") == before,
                "and nothing changed")
        st, h, b = c.json("PATCH", "/api/v1/phones/+8613800138001", {"name": "邹丽丽"},
                          headers={"Cookie": sess, "X-CSRF-Token": csrf})
        t.check(st == 200 and b["name"] == "邹丽丽", "cookie with its CSRF token: the phone is changed (%s)" % b)
        st, h, b = c.json("PATCH", "/api/v1/phones/+8613800138001", {"name": "x"}, token=reader)
        t.check(st == 403, "readonly may not edit a phone")
        st, h, b = c.json("PATCH", "/api/v1/phones/+8613800138001", {"role": "king"}, token=staff)
        t.check(st == 400, "an unknown role: 400")
        st, h, b = c.json("POST", "/api/v1/login", {"token": oper}, headers={"Cookie": sess})
        t.check(st == 200 and b["staff"]["number"] == OPERATOR and h.get("set-cookie", "").split(";")[0] != sess,
                "logging in again with a session cookie (no CSRF on the login) gives a new session")
        st, h, b = c.json("POST", "/api/v1/logout", headers={"Cookie": sess, "X-CSRF-Token": csrf})
        t.check(st == 204, "logout: 204")
        st, h, b = c.json("GET", "/api/v1/me", headers={"Cookie": sess})
        t.check(st == 401, "after logout the cookie is refused")
        # a revoked token ends its sessions
        st, h, b = c.json("POST", "/api/v1/login", {"token": reader})
        sess2 = h.get("set-cookie", "").split(";")[0]
        rid = [row for row in gw.linlictl("token", "list").stdout.splitlines() if READER in row][0].split()[0]
        gw.linlictl("token", "revoke", rid)
        st, h, b = c.json("GET", "/api/v1/me", headers={"Cookie": sess2})
        t.check(st == 401, "revoking the token ends its session")

        # ---- bad input ----
        n_out = gw.sql("SELECT count(*) FROM sms_out")[0][0]
        st, h, b = c.json("POST", "/api/v1/sms", "x" * (300 * 1024), token=staff, ctype="application/json")
        t.check(st == 413 and is_error(b, 413), "an oversized body: 413")
        st, h, b = c.json("POST", "/api/v1/sms", '{"to": "+8613800138001", "text": ', token=staff,
                          ctype="application/json")
        t.check(st == 400 and "line 1" in b["error"]["message"] and "column" in b["error"]["message"],
                "malformed JSON: 400 with line and column (%s)" % b["error"]["message"])
        st, h, b = c.json("POST", "/api/v1/sms", b'{"to": "+8613800138001", "text": "\xff\xfe"}', token=staff,
                          ctype="application/json")
        t.check(st == 400 and is_error(b, 400), "a body that is not UTF-8: 400")
        st, h, b = c.json("GET", "/api/v1/households?q=%FF%FE", token=staff)
        t.check(st == 400, "an argument that is not UTF-8: 400")
        st, h, b = c.json("POST", "/api/v1/sms", {"to": "+8613800138001", "text": "hi",
                                                  "callback_url": "http://10.0.0.1/cb"}, token=staff)
        t.check(st == 403 and "http-callback-allow" in b["error"]["message"], "a callback host not allowed: 403")
        for url in ["http://example.com/cb", "https://127.0.0.1/cb", "http://u@127.0.0.1/", "http://127.0.0.1:0/",
                    "http://127.0.0.1/a b", "ftp://127.0.0.1/"]:
            st, h, b = c.json("POST", "/api/v1/sms", {"to": "+8613800138001", "text": "hi", "callback_url": url},
                              token=staff)
            t.check(st == 400, "callback_url %s: 400 (%s)" % (url, b["error"]["message"]))
        t.check(gw.sql("SELECT count(*) FROM sms_out")[0][0] == n_out, "none of these queued anything")
        for q in ["' OR 1=1 --", "%", "_", "\"; DROP TABLE phone; --", "101'"]:
            st, h, b = c.json("GET", "/api/v1/households?q=" + urlq(q), token=staff)
            t.check(st == 200 and b["total"] == 0 and b["households"] == [], "q=%r is only text" % q)
        st, h, b = c.json("GET", "/api/v1/households?q=101&per_page=5", token=staff)
        t.check(st == 200 and b["total"] > 0 and len(b["households"]) <= 5 and b["households"][0]["phones"],
                "q=101 finds households with their phones (%s)" % b.get("total"))
        t.check(gw.sql("SELECT count(*) FROM phone")[0][0] > 100, "the phone table is still there")

        # ---- static files ----
        st, h, data = c.req("GET", "/")
        t.check(st == 200 and b"<title>linli" in data and h["content-type"].startswith("text/html") and
                "default-src 'self'" in h.get("content-security-policy", ""), "GET / is index.html with a CSP")
        st, h, data = c.req("GET", "/app.js")
        t.check(st == 200 and "javascript" in h["content-type"], "a .js file with its type")
        for p in ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/link.txt", "/nothing.html",
                  "/%2e%2e/%2e%2e/etc/passwd"]:
            st, h, data = c.req("GET", p)
            t.check(st in (400, 404) and b"SECRET" not in data and b"root:" not in data, "%s refused (%d)" % (p, st))

        # ---- the send API ----
        st, h, b = c.json("POST", "/api/v1/sms", {"to": "13800138002", "text": "来自网页的通知"}, token=staff)
        t.check(st == 201 and isinstance(b.get("id"), int), "POST /api/v1/sms: 201 with its id")
        sid = b["id"]
        linli.wait_for(lambda: any(d == "+8613800138002" and "来自网页的通知" in x for d, n, x in gw.modems[0].sent()),
                       30, "the SMS at modemsim")
        t.check(True, "the message left through the emulated modem")
        st, h, b = linli.wait_for(lambda: (lambda r: r if r[2].get("state") in ("sent", "delivered") else None)(
            c.json("GET", "/api/v1/sms/%d" % sid, token=staff)), 30, "state sent")
        t.check(b["to"] == "+8613800138002" and b["sent_at"] and re.match(r"\d{4}-\d\d-\d\dT", b["queued_at"]),
                "GET /api/v1/sms/{id}: %s" % b)
        # with a callback: the receiver fails the first try, the second one (2 s later) is told
        cb_url = "http://127.0.0.1:%d/linli/cb?x=1" % cb.port
        st, h, b = c.json("POST", "/api/v1/sms", {"to": "13800138003", "text": "回调测试", "callback_url": cb_url},
                          token=staff)
        t.check(st == 201, "POST /api/v1/sms with an allowed callback_url: 201")
        cid = b["id"]
        got = linli.wait_for(lambda: [x for x in cb.ok if x.get("id") == cid and x.get("state") == "sent"], 40,
                             "the sent callback")
        t.check(got[0]["to"] == "+8613800138003" and cb.paths[0] == "/linli/cb?x=1",
                "the callback says sent, to its path (%s)" % got[0])
        # linlid records the try once the receiver's answer is in, which may be just after we got it
        linli.wait_for(lambda: len(gw.sql("SELECT id FROM sms_callback WHERE sms_out_id = ?", (cid,))) >= 2, 20,
                       "both tries recorded", 0.1)
        tries = gw.sql("SELECT event, http_status FROM sms_callback WHERE sms_out_id = ? ORDER BY id", (cid,))
        t.check(tries[:2] == [("sent", 500), ("sent", 200)], "the failed try and the retry are recorded: %s" % tries)
        # modemsim reports delivery: that is told next
        got = linli.wait_for(lambda: [x for x in cb.ok if x.get("id") == cid and x.get("state") == "delivered"], 40,
                             "the delivered callback")
        t.check(gw.sql("SELECT callback_told FROM sms_out WHERE id = ?", (cid,)) == [("delivered",)],
                "delivered is told once the report is in")
        st, h, b = c.json("GET", "/api/v1/sms/999999", token=staff)
        t.check(st == 404, "an unknown message: 404")
        st, h, b = c.json("POST", "/api/v1/sms", {"to": "not a number!", "text": "x"}, token=staff)
        t.check(st == 400, "a bad number: 400")

        # a box that is no community of a district has no street office's view
        st, h, b = c.json("GET", "/api/v1/district/summary", token=staff)
        t.check(st == 501 and "PostgreSQL" in b["error"]["message"], "the district's view on a lone box: 501 (%s %s)"
                % (st, b))

        # ---- the box ----
        st, h, b = c.json("GET", "/api/v1/modems", token=staff)
        t.check(st == 200 and b["modems"][0]["name"] == "m1" and b["modems"][0]["state"] == "ready" and
                b["modems"][0]["sent"] >= 1, "modems: %s" % b)
        st, h, b = c.json("GET", "/api/v1/queues", token=staff)
        t.check(st == 200 and [q["prio"] for q in b["queues"]] == ["sos", "normal", "reply", "bulk"],
                "queues by priority")
        st, h, b = c.json("GET", "/api/v1/groups", token=staff)
        t.check(st == 200 and len(b["groups"]) == 12, "12 groups")

        # ---- metrics ----
        st, h, data = c.req("GET", "/metrics")
        t.check(st == 401, "/metrics needs a token without http-metrics-public")
        st, h, data = c.req("GET", "/metrics", token=staff)
        text = data.decode()
        t.check(st == 200 and h["content-type"].startswith("text/plain"), "/metrics is text")
        t.check(prom_ok(text), "/metrics parses as Prometheus text")
        t.check(re.search(r'^linli_sms_out_total\{modem="m1",result="sent"\} [1-9]', text, re.M) is not None,
                "linli_sms_out_total{modem=m1,result=sent} counts the send")
        st, h, data = c.req("GET", "/metrics", token="f" * 64)
        t.check(st == 401, "/metrics with a wrong token: 401")
        gw.vty(["configure terminal", "gateway", "http-metrics-public", "end"])
        st, h, data = c.req("GET", "/metrics")
        t.check(st == 200 and prom_ok(data.decode()), "with http-metrics-public, /metrics needs no token")
        out = gw.vty("show running-config")
        t.check(" http-bind 127.0.0.1 %d" % gw.http_port in out and " http-metrics-public" in out,
                "write/show running-config has the http lines")
        t.check('linli_queue_depth{prio="sos"}' in text and 'linli_modem_registered{modem="m1"}' in text,
                "queue depth and modem registration")

        # ---- import ----
        bad = "household,group,building,unit,room,number,name\n9-9-901,NOGROUP,9幢,1单元,901,13800139999,甲\n" \
              "9-9-902,W1-1,9幢,1单元,902,notanumber,乙\n"
        nh = gw.sql("SELECT count(*) FROM household")[0][0]
        st, h, b = c.json("POST", "/api/v1/import?kind=households", bad, token=oper, ctype="text/csv")
        t.check(st == 422 and b["imported"] == 0 and [e["line"] for e in b["errors"]] == [2, 3],
                "import: every bad row with its line (%s)" % b)
        t.check(gw.sql("SELECT count(*) FROM household")[0][0] == nh, "and nothing imported")
        st, h, b = c.json("POST", "/api/v1/import?kind=households", bad, token=staff, ctype="text/csv")
        t.check(st == 403, "import needs operator")
        good = "household,group,building,unit,room,number,name\n9-9-901,W1-1,9幢,1单元,901,13800139999,甲\n"
        st, h, b = c.json("POST", "/api/v1/import?kind=households", good, token=oper, ctype="text/csv")
        t.check(st == 200 and b["imported"] == 1 and b["errors"] == [], "a good file is imported (%s)" % b)

        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        if gw:
            gw.close()
            gw.cleanup()
        if cb:
            cb.stop()
        if root:
            import shutil
            shutil.rmtree(root, ignore_errors=True)


class CallbackServer:
    """A receiver of delivery callbacks on loopback: answers 500 to the first POST, then 200."""

    def __init__(self):
        outer = self
        self.ok = []
        self.paths = []
        self.n = 0

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.n += 1
                outer.paths.append(self.path)
                code = 500 if outer.n == 1 else 200
                if code == 200:
                    outer.ok.append(json.loads(body))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def urlq(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="")


def prom_ok(text):
    """Every line a comment (HELP/TYPE) or `name{labels} value`; TYPE before the samples."""
    typed = set()
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
                        r'(-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            f = line.split()
            if len(f) != 4 or f[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                return False
            typed.add(f[2])
            continue
        if line.startswith("# HELP ") or not line:
            continue
        m = sample.match(line)
        if not m:
            print("bad metrics line: %r" % line)
            return False
        name = m.group(1)
        if name not in typed and re.sub(r"_(bucket|sum|count)$", "", name) not in typed:
            print("metric without TYPE: %r" % line)
            return False
    return bool(typed)


if __name__ == "__main__":
    linli.run(main)
