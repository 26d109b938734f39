"""Shared set-up of the SOS end-to-end tests (test_sos*.py): a watch in household 1-1-101 of the
sample community (group W1-1, grid W1), bound contacts, and helpers to read what each number
received from the emulated modems."""
import linli

WATCH = "+8613912340001"
F1 = "+8613700000001"        # daughter, step 1, approved
F2 = "+8613700000002"        # son, step 1, approved
F3 = "+8613700000003"        # nephew, step 2, approved
PENDING = "+8613700000004"   # asked to be bound, never approved
PRIMARY = "+8613800138001"   # household 1-1-101's primary phone (邹丽)
GRID_WORKER = "+8613900139001"
STAFF = ["+8613900139101", "+8613900139102", "+8613900139103"]
NEIGHBOURS = ["+86138001380%02d" % i for i in range(2, 10)]  # the other 8 households of W1-1
SOS_TEXT = ("lat: 22.566923 long: 114.051331 speed:0.00 28/10/09 03:33 F:4.32V,0, Signal:F\n"
            "help me! imei:359587011016261 05 41.9")
LINK = "position=114.051331,22.566923&coordinate=wgs84"


def gateway(nmodems=3, delay=60, rounds=2, airtime_ms=0, bindings=True, dialect="tk", extra_cfg="", **kw):
    gw = linli.Gateway(nmodems=nmodems, airtime_ms=airtime_ms, **kw, extra_gateway_cfg="\n".join([
        "sos-step-delay %d" % delay, "sos-rounds %d" % rounds, "community-number 10657000", "test-clock on",
        extra_cfg]))
    gw.linlictl("device", "add", WATCH, "--household", "1-1-101", "--person", "邹丽", "--dialect", dialect)
    if bindings:
        for num, step in ((F1, 1), (F2, 1), (F3, 2), (PENDING, 1)):
            gw.linlictl("bind", "add", WATCH, num, "--step", str(step))
        for num in (F1, F2, F3):
            gw.linlictl("bind", "approve", WATCH, num)
    return gw


def received(gw):
    """{number: [text, ...]} of everything the modems sent, in order per modem."""
    out = {}
    for m in gw.modems:
        for dest, nparts, text in m.sent():
            if "/" not in nparts:  # "k/total": parts still missing, not a whole message yet
                out.setdefault(dest, []).append(text)
    return out


def texts_to(gw, number, contains=""):
    return [t for t in received(gw).get(number, []) if contains in t]


def wait_texts(gw, number, contains, n=1, timeout=60):
    return linli.wait_for(lambda: len(texts_to(gw, number, contains)) >= n and texts_to(gw, number, contains),
                          timeout, "%d message(s) with %r to %s" % (n, contains, number), 0.2)


def routed(gw, timeout=60):
    """Wait until every received message was routed."""
    linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE state = 'new'")[0][0] == 0 and
                   gw.sql("SELECT count(*) FROM sms_in")[0][0] > 0, timeout, "routing", 0.1)


def deliver_and_route(gw, number, text, modem=0, opts=""):
    n = gw.sql("SELECT count(*) FROM sms_in")[0][0]
    gw.modems[modem].deliver(number, text, opts)
    linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE state = 'done'")[0][0] > n, 60,
                   "message from %s routed" % number, 0.1)


def idle(gw, timeout=60):
    """Wait until nothing is queued or being sent."""
    linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_out WHERE state IN ('queued', 'sending')")[0][0] == 0,
                   timeout, "the outbox drained", 0.2)


def set_clock(gw, offset):
    gw.ctrl.set("clock-offset", str(offset))
