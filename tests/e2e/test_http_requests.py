"""Requests in the staff console (issue 11, gateway/request/request_http.c) end to end: a resident
texts 报事 through modemsim and the request shows in GET /api/v1/requests; assign, note, extend
(延期), close and reopen over HTTP send the SMS the SMS commands send (to the assignee and the
resident, read back from modemsim), and the history names the staff member; registrations and
points; bad input (malformed JSON, unknown fields, missing/wrong token, a read-only token, unknown
refs, wrong states, SQL metacharacters in every field) gets the right status and changes nothing
in the database; /metrics has the requests' gauges."""
import re

import console_util
import linli
from test_http import is_error, urlq

R1 = "+8613800138001"      # 邹丽, 1幢1单元101 (grid W1)
R2 = "+8613800138002"      # 吕永福, 1幢1单元102 (grid W1)
W1 = "+8613900139001"      # 杜军, grid worker of W1
W2 = "+8613900139002"      # 姚雨桐, grid worker of W2
STAFF = "+8613900139102"   # 吴杰
READER = "+8613900139103"  # 陆洋
UNKNOWN = "+8613700000001"
ACTOR = "web:吴杰 (%s)" % STAFF

SQL = ["' OR 1=1 --", "\"; DROP TABLE request; --", "x'); DELETE FROM request_event; --", "%", "_"]


def main(t):
    gw, c, staff, reader, wait_sms = console_util.request_console(STAFF, READER)

    def snapshot():
        return (gw.sql("SELECT * FROM request ORDER BY id"), gw.sql("SELECT * FROM request_event ORDER BY id"),
                gw.sql("SELECT id, dest, text FROM sms_out ORDER BY id"), gw.sql("SELECT * FROM points ORDER BY id"),
                gw.sql("SELECT * FROM registration ORDER BY id"))

    def post(path, body, tok=staff, ctype=None):
        return c.json("POST", path, body, token=tok, ctype=ctype)

    # ---- a resident's 报事 shows in the console ----
    gw.modems[0].deliver(R1, "报事 1幢楼道灯坏了")
    m = re.search(r"单号(\d{6})", wait_sms(R1, "已受理"))
    ref = m.group(1)
    wait_sms(W1, "派单", ref)
    st, h, b = c.json("GET", "/api/v1/requests?state=dispatched&grid=W1", token=reader)
    t.check(st == 200 and b["total"] >= 1 and b["requests"][0]["ref"] == ref and
            b["requests"][0]["state_label"] == "已派单" and b["requests"][0]["assignee"] == W1 and
            b["requests"][0]["reporter"] == R1 and b["requests"][0]["source"] == "sms",
            "listed by state and grid: %s" % (b["requests"][:1] if st == 200 else b))
    st, h, b = c.json("GET", "/api/v1/requests?q=" + urlq("楼道") + "&kind=request&per_page=1", token=reader)
    t.check(st == 200 and b["total"] == 1 and b["per_page"] == 1 and b["page"] == 1, "found by a word, paged")
    st, h, b = c.json("GET", "/api/v1/requests?overdue=1", token=reader)
    t.check(st == 200 and b["total"] == 0, "nothing overdue")
    st, h, b = c.json("GET", "/api/v1/requests/" + ref, token=reader)
    t.check(st == 200 and [e["to"] for e in b["events"]] == ["received", "dispatched"] and
            b["events"][0]["actor"] == R1, "shown with its events: %s" % b.get("events"))

    # ---- the staff's actions, with the residents' SMS ----
    st, h, b = post("/api/v1/requests/%s/assign" % ref, {"number": "139 0013 9002"})
    t.check(st == 200 and b["assignee"] == W2 and b["state"] == "dispatched", "assigned to W2: %s" % b)
    t.check(wait_sms(W2, "改派", ref) is not None, "W2 gets the dispatch SMS through the modem")
    st, h, b = post("/api/v1/requests/%s/assign" % ref, {"number": W1})
    wait_sms(W1, "改派", ref)
    st, h, b = post("/api/v1/requests/%s/note" % ref, {"note": "居民下午在家"})
    t.check(st == 200 and b["state"] == "dispatched", "a note keeps the state")
    t.check("居民下午在家" in wait_sms(W1, "备注", ref), "the assignee gets the note by SMS")
    st, h, b = post("/api/v1/requests/%s/extend" % ref, {"days": 2, "reason": "等待配件"})
    t.check(st == 200 and b["state"] == "extended" and b["state_label"] == "已延期", "extended: %s" % b)
    t.check("等待配件" in wait_sms(R1, "延期", ref), "the resident is told of the extension and why")
    wait_sms(W1, "延期", ref)
    gw.modems[0].deliver(W1, "CZ %s 已订灯管" % ref)
    wait_sms(W1, "已记录", ref)
    t.check(gw.sql("SELECT state FROM request WHERE ref = ?", (ref,))[0][0] == "in_progress",
            "the grid worker's 处置 by SMS works on the extended request")
    st, h, b = post("/api/v1/requests/%s/close" % ref, {"result": "已更换灯管"})
    t.check(st == 200 and b["state"] == "closed", "closed")
    t.check("回复1满意" in wait_sms(R1, "已办结", ref, "已更换灯管"), "the resident gets the result and the rating prompt")
    st, h, b = post("/api/v1/requests/%s/close" % ref, {"result": "again"})
    t.check(st == 409 and is_error(b, 409) and "closed" in b["error"]["message"], "closing it again: 409 (%s)" % b)
    st, h, b = post("/api/v1/requests/%s/reopen" % ref, {"reason": "灯又坏了"})
    t.check(st == 200 and b["state"] == "dispatched" and b["assignee"] == W1, "reopened to W1: %s" % b)
    wait_sms(W1, "重办", ref)
    t.check(wait_sms(R1, "重新办理", ref, "灯又坏了") is not None, "the resident is told it is reopened")
    ev = gw.sql("SELECT actor, to_state, coalesce(note, '') FROM request_event WHERE request_id = "
                "(SELECT id FROM request WHERE ref = ?) ORDER BY id", (ref,))
    mine = [e for e in ev if e[0] == ACTOR]
    t.check(len(mine) >= 7 and {"extended", "closed", "reopened"} <= {e[1] for e in mine} and
            any(e[2] == "居民下午在家" for e in mine), "the history names the staff member: %s" % mine)
    st, h, b = c.json("GET", "/api/v1/requests/" + ref, token=reader)
    t.check(st == 200 and sum(e["actor"] == ACTOR for e in b["events"]) == len(mine), "and the API shows it")

    # ---- refused input changes nothing ----
    snap = snapshot()
    st, h, b = c.json("POST", "/api/v1/requests/%s/note" % ref, {"note": "x"})
    t.check(st == 401 and is_error(b, 401), "no token: 401")
    st, h, b = post("/api/v1/requests/%s/note" % ref, {"note": "x"}, tok="0" * 64)
    t.check(st == 401, "a wrong token: 401")
    st, h, b = post("/api/v1/requests/%s/note" % ref, {"note": "x"}, tok=reader)
    t.check(st == 403 and is_error(b, 403), "a read-only token: 403")
    st, h, b = post("/api/v1/requests/%s/note" % ref, '{"note": ', ctype="application/json")
    t.check(st == 400 and is_error(b, 400), "malformed JSON: 400")
    st, h, b = post("/api/v1/requests/%s/note" % ref, "note=x", ctype="application/x-www-form-urlencoded")
    t.check(st == 400, "a form instead of JSON: 400")
    st, h, b = post("/api/v1/requests/%s/note" % ref, {"note": "x", "state": "closed"})
    t.check(st == 400 and "state" in b["error"]["message"], "an unknown field: 400 (%s)" % b)
    st, h, b = post("/api/v1/requests/%s/note" % ref, {"note": "灯" * 501})
    t.check(st == 400 and "500" in b["error"]["message"], "a note of 501 characters: 400")
    st, h, b = post("/api/v1/requests/%s/note" % ref, {"note": ["x"]})
    t.check(st == 400, "a note that is a list: 400")
    st, h, b = post("/api/v1/requests/999999/note", {"note": "x"})
    t.check(st == 404 and is_error(b, 404), "an unknown ref: 404")
    st, h, b = post("/api/v1/requests/%s/extend" % ref, {"days": 30, "reason": "x"})
    t.check(st == 400, "30 days: 400")
    st, h, b = post("/api/v1/requests/%s/extend" % ref, {"deadline": "2020-01-01", "reason": "x"})
    t.check(st == 400, "a deadline in the past: 400 (%s)" % b)
    st, h, b = post("/api/v1/requests/%s/extend" % ref, {"days": 2})
    t.check(st == 400, "no reason: 400")
    st, h, b = post("/api/v1/requests/%s/reopen" % ref, {"reason": "x"})
    t.check(st == 409, "reopening an open request: 409")
    st, h, b = post("/api/v1/requests/%s/assign" % ref, {"number": UNKNOWN})
    t.check(st == 400 and UNKNOWN in b["error"]["message"], "assigning to an unknown number: 400 (%s)" % b)
    for s in SQL:
        for path, body in [("/api/v1/requests/%s/assign" % ref, {"number": s}),
                           ("/api/v1/requests/%s/extend" % ref, {"deadline": s, "reason": s}),
                           ("/api/v1/requests/%s/extend" % ref, {"days": s, "reason": s}),
                           ("/api/v1/registrations/%s/approve" % urlq(s), {}),
                           ("/api/v1/points/%s" % urlq(s), {"n": 1, "reason": s}),
                           ("/api/v1/points/" + R2, {"n": s, "reason": "x"}),
                           ("/api/v1/requests/%s/note" % urlq(s), {"note": s})]:
            st, h, b = post(path, body)
            t.check(st in (400, 404) and is_error(b, st), "%s %r: %d" % (path, body, st))
        st, h, b = c.json("GET", "/api/v1/requests?q=" + urlq(s), token=reader)
        t.check(st == 200 and b["total"] == 0, "q=%r is only text" % s)
        st, h, b = c.json("GET", "/api/v1/requests?grid=" + urlq(s), token=reader)
        t.check((st == 200 and b["total"] == 0) or (st == 400 and len(s) > 31),
                "grid=%r is only text (or too long for a code): %d" % (s, st))
        st, h, b = c.json("GET", "/api/v1/requests?state=" + urlq(s), token=reader)
        t.check(st == 400, "state=%r: 400" % s)
    t.check(snapshot() == snap, "none of the refused requests changed the database")
    st, h, b = post("/api/v1/requests/%s/note" % ref, {"note": SQL[2]})
    t.check(st == 200 and gw.sql("SELECT count(*) FROM request_event WHERE note = ?", (SQL[2],))[0][0] == 1 and
            gw.sql("SELECT count(*) FROM request")[0][0] == len(snap[0]),
            "SQL in a note is kept as text, nothing deleted")

    # ---- registrations and points ----
    gw.modems[0].deliver(UNKNOWN, "注册 张三 1-1-101")
    wait_sms(UNKNOWN, "待社区审核")
    st, h, b = c.json("GET", "/api/v1/registrations", token=reader)
    t.check(st == 200 and b["registrations"][0]["number"] == UNKNOWN and
            b["registrations"][0]["household_match"] == "1-1-101" and b["registrations"][0]["state"] == "pending",
            "the pending registration: %s" % b)
    st, h, b = post("/api/v1/registrations/%s/approve" % UNKNOWN, {"household": "9-9-999"})
    t.check(st == 400, "approving into an unknown household: 400")
    st, h, b = post("/api/v1/registrations/%s/approve" % urlq(UNKNOWN), {})
    t.check(st == 200 and b["state"] == "approved", "approved: %s" % b)
    wait_sms(UNKNOWN, "注册已通过")
    st, h, b = post("/api/v1/registrations/%s/reject" % UNKNOWN, {"reason": "x"})
    t.check(st == 404, "no longer pending: 404")
    st, h, b = post("/api/v1/points/" + R2, {"n": 5, "reason": "帮助邻居"})
    t.check(st == 200 and b["balance"] == 5 and b["entries"][0]["actor"] == ACTOR, "points awarded: %s" % b)
    wait_sms(R2, "积分+5")
    st, h, b = c.json("GET", "/api/v1/points/" + R2, token=reader)
    t.check(st == 200 and b["balance"] == 5 and b["entries"][0]["reason"] == "帮助邻居", "points shown")

    # ---- metrics ----
    st, h, data = c.req("GET", "/metrics", token=reader)
    text = data.decode()
    t.check(st == 200 and 'linli_requests_open{state="dispatched"} 1' in text and
            "linli_requests_overdue 0" in text and "linli_errands_open 0" in text,
            "/metrics has the requests' gauges: %s" % [l for l in text.splitlines() if "request" in l or "errand" in l])


if __name__ == "__main__":
    linli.run(main)
