"""The kill -9 loop (issue 13, "Fault injection: the process"): linlid under mixed load (residents'
报事 through the emulated modems, SMS queued for sending, an SOS alarm whose escalation runs over
the kills) is killed with SIGKILL at random moments, K times, and started again each time; the
residents' phones keep texting while it is down (the SIMs hold their messages). At the end:

- every message the phones sent is stored once (sms_in), none lost, none twice;
- every 报事 made exactly one request, with its reference, its 'received' event, dispatched, and
  its reporter was texted the reference;
- every SMS queued was sent; a text went over the air twice only inside the counted crash window
  (stat out_possible_dup / out_late_dup);
- the SOS alarm alerted every approved step-1 contact, escalated to step 2 when nobody answered,
  and never reached the pending binding.

A second loop, run_group_call, kills linlid while a 6995 group call rings (real Kamailio, sipp as
the caller and as two neighbours' phones that ring and never answer): after each restart the call
of the killed process is closed (released, end_reason gateway_restart, every leg ended), none is
left active, and at the end a new group call rings the neighbours and is ended by linlid.

Used by tests/e2e/test_kill_loop.py (a few kills, in make test) and tests/soak/soak.py (many, in
make soak). The seed is printed so that a failing run can be repeated (KILL_SEED)."""
import os
import random
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import kamailio  # noqa: E402
import linli  # noqa: E402
from sipp_util import Sipp  # noqa: E402
from sos_util import F1, F2, F3, LINK, NEIGHBOURS, PENDING, PRIMARY, SOS_TEXT, WATCH, gateway  # noqa: E402

RESIDENTS = [PRIMARY] + NEIGHBOURS
OUT_DEST = ["+86139%08d" % i for i in range(7)]


class Load:
    """Residents texting 报事 through the modems, and SMS queued with linlictl, at a steady pace,
    whether linlid is up or not."""

    def __init__(self, gw, rnd, period=0.4):
        self.gw, self.rnd, self.period = gw, rnd, period
        self.reports, self.outs, self.errors = [], [], []
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self._stop.is_set():
            try:
                if i % 3 == 2:
                    text = "killloop out %05d 邻里" % i
                    self.gw.linlictl("send", self.rnd.choice(OUT_DEST), text)
                    self.outs.append(text)
                else:
                    who = RESIDENTS[i % len(RESIDENTS)]
                    text = "报事 killloop %05d 楼道灯不亮" % i
                    self.gw.modems[i % len(self.gw.modems)].deliver(who, text)
                    self.reports.append((who, text))
            except Exception as e:  # a busy database: counted, the run goes on
                self.errors.append(str(e)[:200])
            i += 1
            self._stop.wait(self.period)

    def start(self):
        self._th.start()

    def stop(self):
        self._stop.set()
        self._th.join(30)


def verify(t, gw, load, settle=300):
    """Wait until everything is stored, routed and sent, then check the outcome (see above)."""
    # ---- quiescence: everything the phones sent stored and routed, the outbox drained ----
    want_in = len(load.reports) + 1  # + the SOS
    linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE sender IN (%s)" % ",".join(
        "?" * (len(RESIDENTS) + 1)), RESIDENTS + [WATCH])[0][0] >= want_in, settle, "every message stored", 0.5)
    linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE state = 'new'")[0][0] == 0, settle,
                   "every message routed", 0.5)
    linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_out WHERE state IN ('queued', 'sending')")[0][0] == 0,
                   settle, "the outbox drained", 0.5)

    # ---- inbound: stored once each ----
    rows = gw.sql("SELECT sender, text FROM sms_in WHERE text LIKE '%killloop%'")
    stored = {}
    for s, x in rows:
        stored[(s, x)] = stored.get((s, x), 0) + 1
    missing = [r for r in load.reports if r not in stored]
    twice = [r for r, n in stored.items() if n > 1]
    t.check(not missing, "no message from a phone lost (%d of %d missing: %s)" % (len(missing), len(load.reports),
                                                                                 missing[:3]))
    t.check(not twice, "no message stored twice (%s)" % twice[:3])

    # ---- requests: one each, consistent ----
    reqs = gw.sql("SELECT r.id, r.ref, r.reporter, r.text, r.state, "
                  "(SELECT count(*) FROM request_event e WHERE e.request_id = r.id AND e.to_state = 'received') "
                  "FROM request r WHERE r.text LIKE '%killloop%'")
    by_text = {}
    for r in reqs:
        by_text.setdefault(r[3], []).append(r)
    no_req = [x for _, x in load.reports if not any(k in x for k in by_text)]
    dup_req = [k for k, v in by_text.items() if len(v) > 1]
    t.check(len(reqs) == len(load.reports) and not dup_req,
            "one request per 报事 (%d requests for %d reports; twice: %s; none for: %s)"
            % (len(reqs), len(load.reports), dup_req[:2], no_req[:2]))
    bad = [r for r in reqs if not re.fullmatch(r"\d{6}", r[1] or "") or r[4] != "dispatched" or r[5] != 1]
    t.check(not bad, "each has its reference, one 'received' event, and is dispatched (%s)" % bad[:3])
    sent_to = {}
    for d, x in gw.sql("SELECT dest, text FROM sms_out WHERE state = 'sent'"):
        sent_to.setdefault(d, []).append(x)
    untold = [r[1] for r in reqs if not any(r[1] in x for x in sent_to.get(r[2], []))]
    t.check(not untold, "every reporter was texted the reference (%d not: %s)" % (len(untold),
                                                                                           untold[:3]))

    # ---- outbound: every queued SMS went out; duplicates only in the counted window ----
    aired = {}
    for m in gw.modems:
        for dest, nparts, text in m.sent():
            if "killloop out" in text:
                aired[text] = aired.get(text, 0) + 1
    lost = [x for x in load.outs if x not in aired]
    extra = sum(n - 1 for n in aired.values())
    counted = gw.sql("SELECT coalesce(sum(value), 0) FROM stat WHERE name IN ('out_possible_dup', "
                     "'out_late_dup')")[0][0]
    t.check(not lost, "every SMS queued went over the air (%d of %d lost: %s)" % (len(lost), len(load.outs),
                                                                                 lost[:3]))
    t.check(extra <= counted, "duplicates over the air (%d) only inside the counted crash window (%d)"
            % (extra, counted))

    # ---- the SOS: alerted, escalated, private ----
    linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sos_attempt a JOIN sos_incident i ON i.id = a.incident_id"
                                  " WHERE a.number = ? AND a.channel = 'sms'", (F3,))[0][0] > 0, settle,
                   "the escalation to step 2", 0.5)
    alerted = [d for d, _, x in sum((m.sent() for m in gw.modems), []) if "SOS" in x and LINK in x]
    t.check(F1 in alerted and F2 in alerted, "both step-1 contacts got the alert with the map link")
    t.check(F3 in alerted, "nobody acknowledged: step 2 was alerted too, across the kills")
    t.check(PENDING not in alerted, "the pending binding never got the location")
    t.check(gw.sql("SELECT count(*) FROM sos_incident")[0][0] == 1, "one incident")
    return dict(reports=len(load.reports), outs=len(load.outs), lost_in=len(missing), dup_in=len(twice),
                lost_out=len(lost), dup_out=extra, dup_counted=counted)


def proc_stats(gw):
    """linlid's resident memory (KiB), open file descriptors, threads, and the database's size on
    disk (KiB, with its WAL)."""
    pid = gw.proc.pid
    st = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "Threads"):
                st[k] = int(v.split()[0])
    db = sum(os.path.getsize(p) for p in (gw.db, gw.db + "-wal") if os.path.exists(p)) // 1024
    return {"rss_kib": st.get("VmRSS", 0), "fds": len(os.listdir("/proc/%d/fd" % pid)),
            "threads": st.get("Threads", 0), "db_kib": db}


def run(t, kills=4, seed=None, min_up=2.0, max_up=7.0, airtime_ms=100, settle=300, steady_s=0):
    """The loop; then, with steady_s, that long of the same load without kills, linlid's memory,
    descriptors, threads and database size sampled at its start and end (in the figures)."""
    seed = int(os.environ.get("KILL_SEED", seed if seed is not None else random.randrange(1 << 30)))
    rnd = random.Random(seed)
    print("kill loop: %d kills, seed %d (KILL_SEED=%d repeats it)" % (kills, seed, seed))
    rules = os.path.join(linli.ROOT, "routes", "sms.rules")
    gw = gateway(nmodems=2, delay=20, rounds=1, airtime_ms=airtime_ms,
                 extra_cfg="rules-file %s\nhelp-interval 0\nflood-limit 0 10" % rules)
    load = Load(gw, rnd)
    figures = {"seed": seed, "kills": kills}
    try:
        gw.start()
        gw.modems[0].deliver(WATCH, SOS_TEXT)
        load.start()
        for k in range(kills):
            up = rnd.uniform(min_up, max_up)
            time.sleep(up)
            gw.kill9()
            down = rnd.uniform(0.2, 1.5)
            print("kill %d after %.1f s up; down %.1f s" % (k + 1, up, down))
            time.sleep(down)
            gw.start(wait_ready=False)
        time.sleep(rnd.uniform(min_up, max_up))
        if steady_s:
            gw.wait_modems_ready()
            time.sleep(min(60, steady_s / 10))
            first = proc_stats(gw)
            n0 = len(load.reports) + len(load.outs)
            print("steady load for %d s: at the start %s" % (steady_s, first))
            extra = Steady(t, gw, rnd)
            extra.start()
            time.sleep(steady_s)
            extra.stop()
            figures.update(extra.verify(settle))
            last = proc_stats(gw)
            print("steady load: at the end %s, %d messages later" % (last, len(load.reports) + len(load.outs) - n0))
            figures.update(("steady_%s_start" % k, v) for k, v in first.items())
            figures.update(("steady_%s_end" % k, v) for k, v in last.items())
            figures["steady_s"] = steady_s
            figures["steady_messages"] = len(load.reports) + len(load.outs) - n0
        load.stop()
        gw.wait_modems_ready()
        t.check(not load.errors, "the load ran without errors (%s)" % load.errors[:3])

        figures.update(verify(t, gw, load, settle))
        print("kill loop: %s" % figures)
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM at the end")
        return figures
    finally:
        load.stop()
        gw.close()


# ---- the steady phase's extras (make soak): errands, modem faults, a group call every minute ----

class Steady:
    """Beside the Load of the steady phase: a resident's 跑腿 every ~20 s, a burst of CMS 500 on a
    modem every ~2 min (retried, nothing may fail for it), and a group call every minute on a
    second linlid behind Kamailio (GroupCallRig: two neighbours ring, nobody answers, the caller
    hangs up), each of which must end released normally."""

    def __init__(self, t, gw, rnd, errand_s=20, fault_s=120, call_s=60):
        self.t, self.gw, self.rnd = t, gw, rnd
        self.errand_s, self.fault_s, self.call_s = errand_s, fault_s, call_s
        self.errands, self.faults, self.calls, self.call_errors, self.errors = [], 0, 0, [], []
        self._stop = threading.Event()
        self._ths = [threading.Thread(target=f, daemon=True) for f in (self._errands, self._faults, self._calls)]
        self.rig = None

    def _errands(self):
        i = 0
        while not self._stop.wait(self.errand_s):
            who = RESIDENTS[i % len(RESIDENTS)]
            text = "跑腿 soakerrand %05d 帮忙取快递" % i
            try:
                self.gw.modems[i % len(self.gw.modems)].deliver(who, text)
                self.errands.append((who, text))
            except Exception as e:
                self.errors.append(str(e)[:200])
            i += 1

    def _faults(self):
        while not self._stop.wait(self.fault_s):
            m = self.rnd.choice(self.gw.modems)
            try:
                m.ctl("fail 500 3")
                self.faults += 1
            except Exception as e:
                self.errors.append(str(e)[:200])

    def _calls(self):
        try:
            self.rig = GroupCallRig()
            self.rig.start()
        except Exception as e:
            self.call_errors.append("set-up: %s" % str(e)[:300])
            return
        while not self._stop.wait(self.call_s):
            try:
                phones = self.rig.phones()
                caller = self.rig.call("caller_hungup.xml", ())
                rcs = [p.wait(60) for p in phones] + [caller.wait(90)]
                for p in phones + [caller]:
                    p.stop()
                last = self.rig.gw.sql("SELECT state, end_reason FROM call ORDER BY id DESC LIMIT 1")
                self.calls += 1
                if any(rcs) or not last or last[0][0] != "released" or last[0][1] in ("gateway_restart", "error"):
                    self.call_errors.append("call %d: sipp %s, %s" % (self.calls, rcs, last))
            except Exception as e:
                self.call_errors.append(str(e)[:300])

    def start(self):
        for th in self._ths:
            th.start()

    def stop(self):
        self._stop.set()
        for th in self._ths:
            th.join(180)

    def verify(self, settle):
        t, gw = self.t, self.gw
        try:
            t.check(not self.errors, "the steady extras ran without errors (%s)" % self.errors[:3])
            t.check(self.calls > 0 and not self.call_errors, "%d group calls in the steady phase, each released "
                    "normally (%s)" % (self.calls, self.call_errors[:3]))
            t.check(not self.rig or not self.rig.open_calls(), "no group call left active")
            linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE text LIKE '%soakerrand%'")[0][0]
                           >= len(self.errands), settle, "every errand stored", 0.5)
            stored = gw.sql("SELECT text, count(*) FROM sms_in WHERE text LIKE '%soakerrand%' GROUP BY text")
            t.check(len(stored) == len(self.errands) and all(n == 1 for _, n in stored),
                    "every 跑腿 stored once (%d texts, %d stored)" % (len(self.errands), len(stored)))
            rows = gw.sql("SELECT text, count(*) FROM request WHERE kind = 'errand' AND text LIKE '%soakerrand%' "
                          "GROUP BY text")
            t.check(len(rows) == len(self.errands) and all(n == 1 for _, n in rows),
                    "one errand per 跑腿 (%d errands for %d texts)" % (len(rows), len(self.errands)))
            failed = gw.sql("SELECT count(*) FROM sms_out WHERE state = 'failed'")[0][0]
            t.check(failed == 0, "the CMS 500 bursts (%d) failed no message (%d failed)" % (self.faults, failed))
            return {"steady_errands": len(self.errands), "steady_faults": self.faults, "steady_calls": self.calls,
                    "steady_call_errors": len(self.call_errors)}
        finally:
            if self.rig:
                self.rig.close()


# ---- kills during a group call ----

CALLER = "+8613800138001"                       # 1-1-101, group W1-1 of the sample community
RINGING = ["+8613800138002", "+8613800138003"]  # two neighbours whose phones ring, never answered
RING_S = 6


class GroupCallRig:
    """linlid with its SIP user agent behind Kamailio, and the phones of one group call."""

    def __init__(self):
        self.ua_port = kamailio.free_udp_port()
        self.kport = kamailio.free_udp_port()
        self.caller_port = kamailio.free_udp_port()
        rtp_lo = 20000 + (os.getpid() % 200) * 100
        cfg = ("sip-bind 127.0.0.1 %d\nsip-proxy 127.0.0.1 %d\nshort-code 6995\ncall-ring-timeout %d\n"
               "call-join-timeout 3\nrtp-ports %d %d\nprompts-dir %s\n"
               % (self.ua_port, self.kport, RING_S, rtp_lo, rtp_lo + 98, os.path.join(linli.BUILD, "prompts")))
        self.gw = linli.Gateway(nmodems=1, extra_gateway_cfg=cfg)
        self.subs = {n: "pw" + n[-4:] for n in RINGING}
        self.kam = kamailio.start(self.gw.db, "127.0.0.1", port=self.kport, linli_ua="127.0.0.1:%d" % self.ua_port,
                                  trunks=["127.0.0.1:%d" % self.caller_port], subscribers=self.subs,
                                  workdir=self.gw.dir)
        self.sipps = []
        self.n = 0

    def start(self):
        self.gw.start()
        self.wait_ua()

    def wait_ua(self):
        # each start logs it once: count the lines, so a restart waits for its own
        want = self.starts = getattr(self, "starts", 0) + 1
        linli.wait_for(lambda: self.gw.log_tail(100000).count("user agent listening") >= want, 60,
                       "linlid's SIP user agent")

    def phones(self):
        """The ringing neighbours' phones, registered anew (the last ones died with their call)."""
        out = []
        for num in RINGING:
            self.n += 1
            port = kamailio.free_udp_port()
            s = Sipp(self.gw.dir, "nb%d" % self.n, "neighbour_noanswer.xml", port, keys={"rtp_port": 4000})
            self.sipps.append(s)
            reg = Sipp(self.gw.dir, "reg%d" % self.n, "register.xml", kamailio.free_udp_port(),
                       "127.0.0.1:%d" % self.kport, keys={"user": num, "contact_port": port},
                       extra=["-au", num, "-ap", self.subs[num]])
            rc = reg.wait(30)
            reg.stop()
            if rc != 0:
                raise AssertionError("%s's phone did not register (sipp %s): %s" % (num, rc, reg.errors()))
            out.append(s)
        return out

    def call(self, scenario="caller.xml", extra=("-d", "60000")):
        self.n += 1
        c = Sipp(self.gw.dir, "caller%d" % self.n, scenario, self.caller_port, "127.0.0.1:%d" % self.kport,
                 keys={"caller": CALLER, "rtp_port": 4002}, extra=["-s", "6995"] + list(extra))
        self.sipps.append(c)
        return c

    def open_calls(self):
        return self.gw.sql("SELECT id, state FROM call WHERE state != 'released' OR ended_at IS NULL")

    def close(self):
        for s in self.sipps:
            s.stop()
        self.kam.stop()
        self.gw.close()


def run_group_call(t, kills=2, seed=None):
    """kills times: a group call rings two neighbours, linlid is killed at a random moment of the
    ringing and started again; the killed call must be closed at the restart. Then a new call."""
    seed = int(os.environ.get("KILL_SEED", seed if seed is not None else random.randrange(1 << 30)))
    rnd = random.Random(seed)
    print("group call kill loop: %d kills, seed %d (KILL_SEED=%d repeats it)" % (kills, seed, seed))
    rig = GroupCallRig()
    gw = rig.gw
    figures = {"call_kills": kills, "call_seed": seed}
    try:
        rig.start()
        for k in range(kills):
            phones = rig.phones()
            caller = rig.call()
            linli.wait_for(lambda: all(p.remote_rtp_port(4000) for p in phones), 30,
                           "linlid's INVITE ringing both neighbours")
            live = rig.open_calls()
            t.check(len(live) == 1 and live[0][1] == "ringing", "kill %d: the group call is ringing (%s)" %
                    (k + 1, live))
            time.sleep(rnd.uniform(0, RING_S - 2))
            gw.kill9()
            print("group call kill %d: call %s killed while ringing" % (k + 1, live))
            for s in phones + [caller]:
                s.stop()  # their dialogs died with linlid; they would wait for their own time-out
            gw.start(wait_ready=False)
            rig.wait_ua()
            t.check(not rig.open_calls(), "after restart %d no call is left active (%s)" % (k + 1, rig.open_calls()))
            if live:
                row = gw.sql("SELECT state, end_reason, ended_at IS NOT NULL FROM call WHERE id = ?", (live[0][0],))
                t.check(row == [("released", "gateway_restart", 1)],
                        "the killed call was closed at the restart as gateway_restart (%s)" % row)
                legs = gw.sql("SELECT kind, result FROM call_leg WHERE call_id = ? AND ended_at IS NULL",
                              (live[0][0],))
                t.check(not legs, "and every leg of it ended (%s)" % legs)

        # ---- after the kills: a new group call rings the neighbours, nobody answers, linlid ends it ----
        phones = rig.phones()
        caller = rig.call("caller_hungup.xml", ())
        for num, p in zip(RINGING, phones):
            rc = p.wait(60)
            t.check(rc == 0, "after the kills a new call rang %s, then CANCEL (sipp %s) %s" % (num, rc, p.errors()))
        rc = caller.wait(90)
        t.check(rc == 0, "and linlid released the caller at the end (sipp %s) %s" % (rc, caller.errors()))
        last = gw.sql("SELECT state, end_reason FROM call ORDER BY id DESC LIMIT 1")
        t.check(last and last[0][0] == "released" and last[0][1] not in ("gateway_restart", "error"),
                "the new call recorded as released normally (%s)" % last)
        t.check(not rig.open_calls(), "no call left active at the end")
        figures["calls_closed_at_restart"] = gw.sql("SELECT count(*) FROM call WHERE end_reason = "
                                                    "'gateway_restart'")[0][0]
        t.check(figures["calls_closed_at_restart"] == kills, "one closed call per kill (%d)" %
                figures["calls_closed_at_restart"])
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM at the end")
        return figures
    finally:
        if t.failures:
            print("---- kamailio log, last lines ----")
            print(rig.kam.log_tail(30))
        rig.close()
