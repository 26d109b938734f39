"""The staff console over HTTP for the end-to-end tests (test_http_sos.py, test_console_browser.py):
a Gateway from sos_util with http-bind on a free loopback port and the page's files, tokens made
with linlictl, and a small JSON client (urllib, loopback only)."""
import json
import os
import urllib.error
import urllib.request

import linli
import sos_util


def gateway(**kw):
    port = linli.free_port()
    extra = kw.pop("extra_cfg", "")
    gw = sos_util.gateway(extra_cfg="\n".join([
        "http-bind 127.0.0.1 %d" % port, "http-root %s" % os.path.join(linli.ROOT, "www"),
        "rules-file %s" % os.path.join(linli.ROOT, "routes", "sms.rules"), "help-interval 0", extra]), **kw)
    gw.http_port = port
    gw.base = "http://127.0.0.1:%d" % port
    return gw


def token(gw, number, role="staff"):
    return gw.linlictl("token", "create", number, "--role", role).stdout.strip()


def call(gw, method, path, tok=None, body=None, raw=None, headers=None):
    """(status, parsed JSON or text or None) of one request; body is sent as JSON, raw as is."""
    h = dict(headers or {})
    data = None
    if tok:
        h["Authorization"] = "Bearer " + tok
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    elif raw is not None:
        data = raw if isinstance(raw, bytes) else raw.encode()
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(gw.base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, ctype, text = r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        status, ctype, text = e.code, e.headers.get("Content-Type", ""), e.read().decode()
    if "json" in ctype and text:
        return status, json.loads(text)
    return status, text or None


def wait_http(gw, timeout=30):
    linli.wait_for(lambda: _up(gw), timeout, "the console's HTTP port")


def _up(gw):
    try:
        return call(gw, "GET", "/api/v1/me")[0] == 401
    except OSError:
        return False


def request_console(staff, reader):
    """The request tests' set-up (test_http_requests.py, test_open311.py): one modem, the shipped
    rules, the console on; a staff and a read-only token. (gw, client, staff token, reader token,
    wait_sms)."""
    from test_http import Client
    rules = os.path.join(linli.ROOT, "routes", "sms.rules")
    gw = linli.Gateway(nmodems=1, http=True, extra_gateway_cfg="rules-file %s\nhelp-interval 0" % rules)
    st, rt = token(gw, staff, "staff"), token(gw, reader, "readonly")
    gw.start()
    return gw, Client(gw.http_port), st, rt, linli.SentSms(gw).wait
