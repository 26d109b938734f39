"""Open311 GeoReport v2 (issue 11, gateway/request/request_open311.c) end to end: services.json and
a service's definition in public; POST requests.json with an api_key (form-urlencoded as the spec
says, and JSON with a Bearer token) files a request that enters the lifecycle of a 报事: the grid
worker of the phone's household gets the dispatch SMS through modemsim and the resident the
reference; without a known phone the duty staff get it; GET requests.json by id, service_code,
dates and status and GET requests/{id}.json in public, open/closed with the Chinese state in
status_notes and no phone number or name; errors in Open311's form with their status for an
unknown service_code, bad dates, malformed JSON, a missing/read-only key, .xml, SQL
metacharacters in every field, and nothing changed in the database by a refused post."""
import json
import re

import console_util
import linli
from test_http import urlq

R2 = "+8613800138002"      # 吕永福, 1幢1单元102 (grid W1)
W1 = "+8613900139001"      # 杜军, grid worker of W1
STAFF = "+8613900139102"   # 吴杰
STAFF1 = "+8613900139101"
READER = "+8613900139103"
FORM = "application/x-www-form-urlencoded"

SQL = ["' OR 1=1 --", "\"; DROP TABLE request; --", "x'); DELETE FROM request_event; --"]


def form(fields):
    return "&".join("%s=%s" % (k, urlq(str(v))) for k, v in fields.items())


def is_o311_error(b, code):
    return isinstance(b, list) and len(b) == 1 and b[0].get("code") == code and \
        isinstance(b[0].get("description"), str)


def main(t):
    gw, c, staff, reader, wait_sms = console_util.request_console(STAFF, READER)

    def snapshot():
        return (gw.sql("SELECT * FROM request ORDER BY id"), gw.sql("SELECT * FROM request_event ORDER BY id"),
                gw.sql("SELECT id, dest, text FROM sms_out ORDER BY id"))

    # ---- services ----
    st, h, b = c.json("GET", "/open311/v2/services.json")
    codes = [s["service_code"] for s in b] if st == 200 else []
    t.check(st == 200 and "request" in codes and "facility" in codes and
            all(s["metadata"] is False and s["type"] == "realtime" and s["service_name"] for s in b),
            "services.json in public: %s" % codes)
    st, h, b = c.json("GET", "/open311/v2/services/facility.json")
    t.check(st == 200 and b == {"service_code": "facility", "attributes": []}, "a service's definition: %s" % b)
    st, h, b = c.json("GET", "/open311/v2/services/nothing.json")
    t.check(st == 404 and is_o311_error(b, 404), "an unknown service: 404 in Open311's form (%s)" % b)
    st, h, b = c.json("GET", "/open311/v2/services.xml")
    t.check(st == 400 and is_o311_error(b, 400) and "JSON" in b[0]["description"], "XML: 400, only JSON")

    # ---- POST requests.json ----
    snap = snapshot()
    good = {"service_code": "facility", "description": "2幢门禁坏了", "lat": "30.25", "long": "120.16"}
    st, h, b = c.json("POST", "/open311/v2/requests.json", form(good), ctype=FORM)
    t.check(st == 401 and is_o311_error(b, 401), "no api_key: 401 (%s)" % b)
    st, h, b = c.json("POST", "/open311/v2/requests.json", form(dict(good, api_key="0" * 64)), ctype=FORM)
    t.check(st == 401, "a wrong api_key: 401")
    st, h, b = c.json("POST", "/open311/v2/requests.json", form(dict(good, api_key=reader)), ctype=FORM)
    t.check(st == 403 and is_o311_error(b, 403), "a read-only api_key: 403")
    bad = [({"service_code": "nosuch"}, "unknown service_code"),
           ({"service_code": ""}, "service_code is required"),
           ({"lat": "91"}, "lat"), ({"long": "abc"}, "long"), ({"lat": "", "long": ""}, "location"),
           ({"description": "灯" * 1001}, "description"), ({"phone": "not a phone"}, "phone"),
           ({"address_string": "幢" * 100, "lat": "", "long": ""}, "address_string")]
    for s in SQL:
        bad += [({"service_code": s}, "service_code"), ({"lat": s}, "lat"), ({"long": s}, "long"),
                ({"phone": s}, "phone")]
    for change, what in bad:
        f = dict(good, api_key=staff)
        f.update(change)
        st, h, b = c.json("POST", "/open311/v2/requests.json", form(f), ctype=FORM)
        t.check(st == 400 and is_o311_error(b, 400), "%s: 400 (%r -> %s)" % (what, change, b))
    st, h, b = c.json("POST", "/open311/v2/requests.json", '{"service_code": "facility", ', token=staff,
                      ctype="application/json")
    t.check(st == 400, "malformed JSON: 400")
    st, h, b = c.json("POST", "/open311/v2/requests.json", {"service_code": "facility", "lat": [30]}, token=staff)
    t.check(st == 400 and is_o311_error(b, 400), "lat as a list: 400")
    st, h, b = c.json("POST", "/open311/v2/requests.xml", form(dict(good, api_key=staff)), ctype=FORM)
    t.check(st == 400 and is_o311_error(b, 400), "POST requests.xml: 400")
    t.check(snapshot() == snap, "no refused post changed the database")

    # filed with a resident's phone: the grid worker and the resident get the SMS of a 报事
    f = dict(good, api_key=staff, phone="138 0013 8002", address_string="2幢东门", first_name="吕",
             email="x@example.org")
    st, h, b = c.json("POST", "/open311/v2/requests.json", form(f), ctype=FORM)
    t.check(st == 201 and len(b) == 1 and re.fullmatch(r"\d{6}", b[0]["service_request_id"]) and
            b[0]["account_id"] is None and "已受理" in b[0]["service_notice"], "filed: %s" % b)
    ref = b[0]["service_request_id"] if st == 201 else "000000"
    d = wait_sms(W1, "派单", ref)
    t.check("2幢门禁坏了" in d and "1幢1单元102" in d and "吕永福" in d,
            "the household's grid worker gets the dispatch SMS: %s" % d)
    t.check(wait_sms(R2, "已受理", ref) is not None, "the resident gets the reference")
    row = gw.sql("SELECT source, service, lat, lon, address, state, (SELECT number FROM phone WHERE "
                 "id = reporter_phone_id), deadline > created FROM request WHERE ref = ?", (ref,))
    t.check(row == [("open311", "facility", 30.25, 120.16, "2幢东门", "dispatched", R2, 1)],
            "kept: source, service, lat/long, address_string; linked to the resident; a deadline (%s)" % row)
    ev = gw.sql("SELECT actor FROM request_event WHERE request_id = (SELECT id FROM request WHERE ref = ?) "
                "ORDER BY id", (ref,))
    t.check(ev[0][0] == "web:吴杰 (%s)" % STAFF, "the history names who filed it: %s" % ev)

    # JSON with a Bearer token, no phone: to the duty staff; SQL in the text fields is text
    st, h, b = c.json("POST", "/open311/v2/requests.json",
                      {"service_code": "environment", "description": SQL[1], "address_string": SQL[0]}, token=staff)
    t.check(st == 201, "filed as JSON with Bearer: %s" % b)
    ref2 = b[0]["service_request_id"] if st == 201 else "000000"
    t.check(wait_sms(STAFF1, "派单", ref2) is not None, "without a phone the duty staff get it")
    t.check(gw.sql("SELECT text, address FROM request WHERE ref = ?", (ref2,)) == [(SQL[1], SQL[0])] and
            gw.sql("SELECT count(*) FROM request")[0][0] == len(snap[0]) + 2,
            "SQL in description and address_string is kept as text")

    # ---- GET requests.json, requests/{id}.json: public, no personal data ----
    st, h, data = c.req("GET", "/open311/v2/requests/%s.json" % ref)
    b = json.loads(data) if st == 200 else None
    t.check(st == 200 and b[0]["service_request_id"] == ref and b[0]["status"] == "open" and
            b[0]["status_notes"] == "已派单" and b[0]["service_code"] == "facility" and b[0]["lat"] == 30.25 and
            b[0]["long"] == 120.16 and b[0]["address"] == "2幢东门" and b[0]["expected_datetime"],
            "requests/{id}.json: %s" % b)
    text = data.decode()
    t.check("13800138002" not in text and "吕永福" not in text and "1幢1单元102" not in text and
            "杜军" not in text and "13900139001" not in text, "no number, name or household address in public")
    st, h, b = c.json("GET", "/open311/v2/requests/999999.json")
    t.check(st == 404 and is_o311_error(b, 404), "an unknown id: 404")
    st, h, b = c.json("GET", "/open311/v2/requests/%s.xml" % ref)
    t.check(st == 400 and is_o311_error(b, 400), "XML: 400")
    st, h, b = c.json("GET", "/open311/v2/requests.json?service_request_id=%s,%s" % (ref, ref2))
    t.check(st == 200 and sorted(x["service_request_id"] for x in b) == sorted([ref, ref2]), "two by id")
    st, h, b = c.json("GET", "/open311/v2/requests.json?service_code=environment")
    t.check(st == 200 and [x["service_request_id"] for x in b] == [ref2], "by service_code")
    st, h, b = c.json("GET", "/open311/v2/requests.json?status=closed")
    t.check(st == 200 and b == [], "none closed yet")
    st, h, b = c.json("POST", "/api/v1/requests/%s/close" % ref, {"result": "已修好"}, token=staff)
    wait_sms(R2, "已办结", ref)
    st, h, b = c.json("GET", "/open311/v2/requests.json?status=closed")
    t.check(st == 200 and [x["service_request_id"] for x in b] == [ref] and b[0]["status_notes"] == "已办结",
            "closed in the console: status closed, 已办结 (%s)" % b)
    st, h, b = c.json("GET", "/open311/v2/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2099-01-01")
    t.check(st == 200 and len(b) == 2, "by dates")
    st, h, b = c.json("GET", "/open311/v2/requests.json?start_date=2099-01-01T00:00:00%2B08:00")
    t.check(st == 200 and b == [], "none after 2099")
    for q in ["start_date=yesterday", "end_date=2026-13-01", "start_date=2026-02-01&end_date=2026-01-01",
              "service_code=nosuch", "status=pending"] + \
            ["%s=%s" % (k, urlq(s)) for s in SQL for k in ["service_request_id", "service_code", "start_date",
                                                            "end_date", "status"]]:
        st, h, b = c.json("GET", "/open311/v2/requests.json?" + q)
        t.check(st == 400 and is_o311_error(b, 400), "%s: 400" % q)
    t.check(gw.sql("SELECT count(*) FROM request")[0][0] == len(snap[0]) + 2, "the requests are all there")


if __name__ == "__main__":
    linli.run(main)
