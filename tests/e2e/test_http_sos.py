"""The SOS part of the staff console's API (docs/console-api.md "SOS, devices and calls") through
the real stack: a watch's alarm appears as an incident with every alert attempt; staff acknowledge
it on a contact's behalf (the others are told, as for an SMS reply), resolve it; a pending binding
is approved and removed (the contact told); devices, calls, metrics. Bad input: no token 401, a
readonly token acting 403, unknown ids 404, wrong states 409, malformed JSON and bad fields 400, a
number that is no contact 422; after every refusal nothing changed in the database."""
import linli
from console_util import call, gateway, token, wait_http
from sos_util import F1, F2, F3, PENDING, SOS_TEXT, STAFF, WATCH, idle, texts_to, wait_texts

STRANGER = "+8613700000099"


def snapshot(gw):
    return (gw.sql("SELECT * FROM sos_incident ORDER BY id"), gw.sql("SELECT * FROM sos_event ORDER BY id"),
            gw.sql("SELECT * FROM binding ORDER BY id"), gw.sql("SELECT count(*) FROM sms_out")[0][0],
            gw.sql("SELECT count(*) FROM sos_attempt")[0][0])


def main(t):
    gw = gateway(nmodems=1).start()
    wait_http(gw)
    staff = token(gw, STAFF[0])
    ro = token(gw, STAFF[1], "readonly")

    # ---- an alarm becomes an incident ----
    gw.modems[0].deliver(WATCH, SOS_TEXT)
    for num in (F1, F2):
        wait_texts(gw, num, "SOS求救", 1, 30)
    idle(gw)
    st, j = call(gw, "GET", "/api/v1/incidents")
    t.check(st == 401 and j["error"]["status"] == 401, "no token: 401 with an error body (%s)" % st)
    st, _ = call(gw, "GET", "/api/v1/incidents", "0" * 64)
    t.check(st == 401, "a wrong token: 401")
    for path in ("/api/v1/devices", "/api/v1/bindings", "/api/v1/incidents/1", "/api/v1/calls"):
        st, _ = call(gw, "GET", path)
        t.check(st == 401, "%s needs a token (a watch's position is for staff only): %s" % (path, st))
    st, j = call(gw, "GET", "/api/v1/incidents?state=open", ro)
    t.check(st == 200 and j["total"] == 1 and len(j["incidents"]) == 1, "one open incident (%s %s)" % (st, j))
    inc = j["incidents"][0]
    iid = inc["id"]
    t.check(inc["state"] == "notifying" and inc["watch"] == WATCH and inc["wearer"] == "邹丽" and
            inc["address"] == "1幢1单元101" and abs(inc["lat"] - 22.566923) < 1e-6 and
            "position=114.051331,22.566923" in inc["map_url"] and inc["raised_at"][10] == "T" and
            inc["raised_at"][-3] == ":", "who, where, the map link, ISO times: %s" % inc)
    linli.wait_for(lambda: call(gw, "GET", "/api/v1/incidents/%d" % iid, ro)[1]["alerts_sent"] == 2, 20,
                   "alerts_sent 2")
    st, d = call(gw, "GET", "/api/v1/incidents/%d" % iid, ro)
    alerts = [a for a in d["attempts"] if a["kind"] == "alert"]
    t.check(st == 200 and sorted(a["number"] for a in alerts) == [F1, F2] and
            all(a["channel"] == "sms" and a["state"] in ("sent", "delivered") and a["queued_at"] and a["sent_at"]
                and a["location"] for a in alerts), "every alert attempt: number, channel, state, times: %s" % alerts)
    t.check(len(d["alarms"]) == 1 and "help me" in d["alarms"][0]["text"] and
            [e["to"] for e in d["events"]] == ["raised"], "the alarm and the history (%s, %s)" % (d["alarms"], d["events"]))
    for path, want in (("/api/v1/incidents/999", 404), ("/api/v1/incidents/abc", 404),
                       ("/api/v1/incidents?state=bogus", 400), ("/api/v1/incidents?per_page=0", 400),
                       ("/api/v1/bindings?state=x", 400)):
        st, j = call(gw, "GET", path, ro)
        t.check(st == want and j["error"]["status"] == want and j["error"]["message"], "%s: %d (%s)" % (path, want, j))

    # ---- refusals change nothing ----
    before = snapshot(gw)
    ack = "/api/v1/incidents/%d/ack" % iid
    refusals = [
        ("no token", "POST", ack, None, {"on_behalf_of": F1}, None, 401),
        ("a readonly token acting", "POST", ack, ro, {"on_behalf_of": F1}, None, 403),
        ("malformed JSON", "POST", ack, staff, None, '{"on_behalf_of": ', 400),
        ("a JSON array", "POST", ack, staff, None, '["x"]', 400),
        ("on_behalf_of not a string", "POST", ack, staff, {"on_behalf_of": 13700000001}, None, 400),
        ("on_behalf_of not a number", "POST", ack, staff, {"on_behalf_of": "x'; DROP TABLE binding; --"}, None,
         400),
        ("a note too long", "POST", ack, staff, {"note": "长" * 400}, None, 400),
        ("on behalf of a stranger", "POST", ack, staff, {"on_behalf_of": STRANGER}, None, 422),
        ("an unknown incident", "POST", "/api/v1/incidents/999/ack", staff, {}, None, 404),
        ("resolve an unknown incident", "POST", "/api/v1/incidents/999/resolve", staff, {}, None, 404),
        ("a readonly token resolving", "POST", "/api/v1/incidents/%d/resolve" % iid, ro, {}, None, 403),
        ("approve an unknown binding", "POST", "/api/v1/bindings/999/approve", staff, None, None, 404),
        ("delete an unknown binding", "DELETE", "/api/v1/bindings/999", staff, None, None, 404),
        ("a readonly token deleting", "DELETE", "/api/v1/bindings/1", ro, None, None, 403),
        ("GET on an action", "GET", ack, staff, None, None, 405),
    ]
    for what, method, path, tok, body, raw, want in refusals:
        st, j = call(gw, method, path, tok, body, raw)
        t.check(st == want and isinstance(j, dict) and j["error"]["status"] == want,
                "%s: %d (%s %s)" % (what, want, st, j))
    t.check(snapshot(gw) == before, "after the refusals nothing changed in the database")

    # ---- acknowledge on behalf of F1, then resolve ----
    st, j = call(gw, "POST", ack, staff, {"on_behalf_of": "13700000001", "note": "打电话确认，女儿已出发"})
    t.check(st == 200 and j["state"] == "acknowledged" and j["acked_by"] == F1 and j["acked_at"],
            "acknowledged on behalf of F1 (number normalised): %s %s" % (st, j and j.get("state")))
    ev = j["events"][-1]
    t.check(ev["to"] == "acknowledged" and ev["actor"].startswith("web:") and STAFF[0] in ev["actor"] and
            F1 in ev["note"] and "女儿已出发" in ev["note"], "the event names the staff member and the note: %s" % ev)
    wait_texts(gw, F1, "已确认", 1, 30)
    wait_texts(gw, F2, "已响应", 1, 30)
    t.check(F1 in texts_to(gw, F2, "已响应")[0], "F2 is told F1 responded, as for an SMS reply")
    wait_texts(gw, WATCH, "help me!", 1, 30)
    before = snapshot(gw)
    st, j = call(gw, "POST", ack, staff, {})
    t.check(st == 409 and j["error"]["status"] == 409, "acknowledging again: 409 (%s)" % st)
    t.check(snapshot(gw) == before, "and nothing changed")
    st, j = call(gw, "POST", "/api/v1/incidents/%d/resolve" % iid, staff, {"note": "已送医"})
    t.check(st == 200 and j["state"] == "resolved" and j["resolved_at"], "resolved (%s)" % st)
    before = snapshot(gw)
    for action in ("resolve", "false-alarm", "ack"):
        st, j = call(gw, "POST", "/api/v1/incidents/%d/%s" % (iid, action), staff, {})
        t.check(st == 409, "%s of a resolved incident: 409 (%s)" % (action, st))
    t.check(snapshot(gw) == before, "and nothing changed")
    t.check(gw.sql("SELECT actor LIKE 'web:%', from_state, to_state, note FROM sos_event WHERE incident_id = ?"
                   " ORDER BY id", (iid,))[1:] == [(1, "notifying", "acknowledged", "on behalf of %s: 打电话确认，女儿已出发" % F1),
                                                     (1, "acknowledged", "resolved", "已送医")],
            "the history in the database")
    st, j = call(gw, "GET", "/api/v1/incidents?state=open", ro)
    t.check(st == 200 and j["total"] == 0, "nothing open now")
    st, j = call(gw, "GET", "/api/v1/incidents", ro)
    t.check(st == 200 and j["total"] == 1 and j["incidents"][0]["state"] == "resolved", "all: the resolved one")

    # ---- staff acknowledge for themselves; a false alarm nobody acknowledged ----
    for n, (what, action) in enumerate((("ack", "ack"), ("false alarm", "false-alarm"))):
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE state = 'new'")[0][0] == 0, 30, "routing")
        gw.ctrl.set("clock-offset", str(3600 * (n + 1)))  # past the window in which repeats attach
        before_f1 = len(texts_to(gw, F1))
        gw.modems[0].deliver(WATCH, SOS_TEXT + " #%d" % n)  # not a duplicate of the one before
        linli.wait_for(lambda: len(texts_to(gw, F1, "SOS求救")) >= 2 + n, 30, "the next alarm's alert to F1")
        new = call(gw, "GET", "/api/v1/incidents?state=open", ro)[1]["incidents"][0]["id"]
        if action == "ack":
            gw.ctrl.set("clock-offset", str(3600 + 400))  # acknowledged 400 s after the alarm
        st, j = call(gw, "POST", "/api/v1/incidents/%d/%s" % (new, action), staff, {})
        if action == "ack":
            t.check(st == 200 and j["acked_by"] == STAFF[0] and j["acked_by_name"].startswith("王敏"),
                    "staff acknowledge for themselves: acked_by is their number (%s %s)" % (st, j and j.get("acked_by")))
            wait_texts(gw, F2, "已响应", 2, 30)
            t.check(not texts_to(gw, STAFF[0], "已确认"), "and they get no thanks by SMS")
            st, j = call(gw, "POST", "/api/v1/incidents/%d/false-alarm" % new, staff, {})
            t.check(st == 200 and j["state"] == "false_alarm", "an acknowledged incident can still be a false alarm")
        else:
            t.check(st == 200 and j["state"] == "false_alarm", "a false alarm nobody acknowledged (%s)" % st)
            wait_texts(gw, F1, "【误报】", 1, 30)
            wait_texts(gw, F2, "【误报】", 1, 30)
            t.check("邹丽" in texts_to(gw, F1, "【误报】")[0], "those alerted are told it was a false alarm")
        t.check(len(texts_to(gw, F1)) > before_f1, "F1 was alerted for it")

    # ---- bindings ----
    st, j = call(gw, "GET", "/api/v1/bindings?state=pending", ro)
    pend = j["bindings"]
    t.check(st == 200 and [b["phone"] for b in pend] == [PENDING] and pend[0]["watch"] == WATCH and
            pend[0]["state"] == "pending", "the pending binding (%s)" % pend)
    bid = pend[0]["id"]
    st, j = call(gw, "POST", "/api/v1/bindings/%d/approve" % bid, ro)
    t.check(st == 403, "a readonly token cannot approve")
    st, j = call(gw, "POST", "/api/v1/bindings/%d/approve" % bid, staff)
    t.check(st == 200 and j["state"] == "approved" and j["approved_by"].startswith("web:"), "approved: %s" % j)
    wait_texts(gw, PENDING, "绑定成功", 1, 30)
    before = snapshot(gw)
    st, j = call(gw, "POST", "/api/v1/bindings/%d/approve" % bid, staff)
    t.check(st == 409 and snapshot(gw) == before, "approving again: 409, nothing changed (%s)" % st)
    st, j = call(gw, "GET", "/api/v1/devices", ro)
    dev = j["devices"][0]
    t.check(st == 200 and len(j["devices"]) == 1 and dev["number"] == WATCH and dev["dialect"] == "tk" and
            dev["battery"] == "4.32V" and dev["last_seen_at"] and
            sorted(b["phone"] for b in dev["bindings"]) == sorted([F1, F2, F3, PENDING]),
            "the watch with its bindings, battery, last seen: %s" % dev)
    st, j = call(gw, "DELETE", "/api/v1/bindings/%d" % bid, staff)
    t.check(st == 204, "removed: 204 (%s)" % st)
    wait_texts(gw, PENDING, "已解除", 1, 30)
    t.check(gw.sql("SELECT state FROM binding WHERE id = ?", (bid,))[0][0] == "removed", "removed in the database")
    before = snapshot(gw)
    st, j = call(gw, "DELETE", "/api/v1/bindings/%d" % bid, staff)
    t.check(st == 404 and snapshot(gw) == before, "removing again: 404, nothing changed (%s)" % st)

    # ---- calls and metrics ----
    st, j = call(gw, "GET", "/api/v1/calls", ro)
    t.check(st == 200 and j == {"calls": []}, "no calls yet (%s)" % j)
    st, j = call(gw, "GET", "/api/v1/calls?limit=0", ro)
    t.check(st == 400, "a bad limit: 400")
    st, text = call(gw, "GET", "/metrics", ro)
    t.check(st == 200 and isinstance(text, str), "metrics (%s)" % st)
    lines = set((text or "").splitlines())
    for want in ('linli_sos_incidents_open{state="notifying"} 0', "# TYPE linli_sos_time_to_first_alert_seconds histogram",
                 'linli_sos_time_to_first_alert_seconds_bucket{le="+Inf"} 3', "linli_sos_time_to_first_alert_seconds_count 3",
                 "# TYPE linli_sos_time_to_ack_seconds histogram", 'linli_sos_time_to_ack_seconds_bucket{le="1800"} 2',
                 'linli_sos_time_to_ack_seconds_bucket{le="300"} 1', 'linli_sos_time_to_ack_seconds_bucket{le="600"} 2',
                 "linli_sos_time_to_ack_seconds_count 2", "linli_calls_active 0"):
        t.check(want in lines, "metrics: %s" % want)
    buckets = [l for l in lines if l.startswith("linli_sos_time_to_first_alert_seconds_bucket")]
    t.check(len(buckets) == 11, "fixed buckets 1..1800 and +Inf (%d)" % len(buckets))
    gw.close()


linli.run(main)
