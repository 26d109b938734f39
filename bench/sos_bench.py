"""SOS latency through emulated modems and the real libgammu (a benchmark: figures, no pass/fail).

  sos_bench.py NMODEMS NBULK AIRTIME_MS [TRIALS]

A watch's SOS arrives on modem 1 (its +CMTI notice) while NBULK bulk messages are queued and
being sent; the figure is the time from that +CMTI to the first alert accepted by a modem
(+CMGS answer), and to the last alert of the first step. Times come from the emulators' own
AT logs (modemsim --log, millisecond stamps), not from the gateway.

The reference, measured in the same run: the send slot, the median time between two accepted
sends on one modem under load (air time + libgammu's fixed cost per part). The latency is
reported in slots. Goal (issue 4): at most two slots on one modem (the send under way, then the
alert) and about one with several, whatever the backlog; and no bulk send started between the
SOS's arrival and its alerts beyond the sends already under way.
Each trial sends the SOS at a random phase of the send under way, then acknowledges it. As the
modem answers one AT command at a time, the SOS can be read only when the send under way on its
modem ends (half a slot on average): the time from that read to the first alert is printed too.
"""
import os
import random
import re
import sqlite3
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
import linli  # noqa: E402
from sos_util import F1, F2, SOS_TEXT, WATCH, gateway, texts_to  # noqa: E402

MODEM_CFG = "poll-interval 30\nhealth-interval 30"  # linlid's shipped intervals
LINE = re.compile(r"^(\d+\.\d{3}) \S+: (.*)$")


def at_events(path):
    """[(t, kind, arg)] from a modemsim --log: ('cmgs', None) at each AT+CMGS command,
    ('sent', dest) when a part was accepted, ('cmti', None) at each +CMTI notice."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            t, rest = float(m.group(1)), m.group(2)
            if rest.startswith("cmd AT+CMGS="):
                out.append((t, "cmgs", None))
            elif rest.startswith("sent mr="):
                out.append((t, "sent", rest.split(" to ")[1].split(" ")[0]))
            elif rest.startswith("urc +CMTI"):
                out.append((t, "cmti", None))
            elif rest.startswith("cmd AT+CMGR="):
                out.append((t, "cmgr", None))
    return out


def sends(events):
    """[(t_started, t_accepted, dest)] per CMGS, pairing each command with the next acceptance."""
    out, start = [], None
    for t, kind, arg in events:
        if kind == "cmgs":
            start = t
        elif kind == "sent" and start is not None:
            out.append((start, t, arg))
            start = None
    return out


def trial(gw, airtime_ms):
    n_alerts = {n: len(texts_to(gw, n, "SOS求救")) for n in (F1, F2)}
    # a random phase of the send under way
    time.sleep(random.uniform(0, max(airtime_ms, 500) / 1000.0))
    t_deliver = time.time()
    gw.modems[0].deliver(WATCH, SOS_TEXT)
    linli.wait_for(lambda: all(len(texts_to(gw, n, "SOS求救")) > n_alerts[n] for n in (F1, F2)), 120,
                   "both first-step alerts", 0.05)
    ev = [at_events(m.at_log) for m in gw.modems]
    cmti = min(e[0] for e in ev[0] if e[1] == "cmti" and e[0] >= t_deliver - 0.005)
    alert_sends, bulk_ahead = [], 0
    for e in ev:
        s = [x for x in sends(e) if x[1] >= cmti]
        mine = [x for x in s if x[2] in (F1, F2)]
        alert_sends += mine
        if mine:
            first = min(x[0] for x in mine)
            # bulk sends started after the SOS arrived and before this modem's first alert started
            bulk_ahead = max(bulk_ahead, sum(1 for x in s if x[2] not in (F1, F2) and cmti < x[0] < first))
    alert_sends.sort(key=lambda x: x[1])
    first_ms = (alert_sends[0][1] - cmti) * 1000
    last_ms = (alert_sends[1][1] - cmti) * 1000
    # the modem answers AT commands one at a time: the SOS can be read once the send under way ends
    read = min(e[0] for e in ev[0] if e[1] == "cmgr" and e[0] >= cmti)
    read_ms = (alert_sends[0][1] - read) * 1000
    # acknowledge, so the next trial is a new incident; wait until the "acknowledged" notices are out
    gw.modems[0].deliver(F1, "1")
    linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sos_incident WHERE state IN ('raised', 'notifying')")[0][0]
                   == 0, 120, "acknowledged", 0.1)
    linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_out WHERE prio = 0 AND state IN ('queued', 'sending')")
                   [0][0] == 0, 120, "SOS notices sent", 0.1)
    # closed by staff: a new alarm from the watch is a new incident, not a repeat of this one
    inc = gw.sql("SELECT max(id) FROM sos_incident")[0][0]
    gw.linlictl("incident", "resolve", str(inc))
    return first_ms, last_ms, bulk_ahead, read_ms


def slot_ms(gw):
    """Median time between two accepted sends on one modem."""
    gaps = []
    for m in gw.modems:
        acc = [x[1] for x in sends(at_events(m.at_log))]
        gaps += [(b - a) * 1000 for a, b in zip(acc, acc[1:])]
    return statistics.median(gaps) if gaps else None


def main():
    nmodems, nbulk, airtime_ms = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    trials = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    gw = gateway(nmodems=nmodems, airtime_ms=airtime_ms, at_log=True, modem_cfg=MODEM_CFG)
    now = int(time.time())
    # the load: nbulk bulk messages, plus (always) a few to measure the slot with
    c = sqlite3.connect(gw.db, timeout=30)
    with c:
        c.executemany("INSERT INTO sms_out (dest, text, prio, created) VALUES (?, ?, 3, ?)",
                      [("+86136%08d" % (i % 97), "社区通知 bulk %05d" % i, now) for i in range(max(nbulk, 3 * nmodems))])
    c.close()
    gw.start()
    try:
        linli.wait_for(lambda: all(len(m.sent()) >= 2 for m in gw.modems), 120, "bulk flowing on every modem", 0.2)
        if nbulk == 0:
            # the few slot-measuring messages must be out: then the modems are idle
            linli.wait_for(lambda: gw.queue()["queued"] == 0 and gw.queue()["sending"] == 0, 120, "idle", 0.1)
            time.sleep(1)
        res = [trial(gw, airtime_ms) for _ in range(trials)]
        slot = slot_ms(gw)
        name = "sos_%dmodem_%dbulk" % (nmodems, nbulk)
        firsts = [r[0] for r in res]
        print("%s_first_alert_ms %.0f ms median of %d (+CMTI to the first alert accepted; min %.0f max %.0f)"
              % (name, statistics.median(firsts), len(res), min(firsts), max(firsts)))
        print("%s_last_alert_ms %.0f ms median (+CMTI to both first-step alerts accepted)"
              % (name, statistics.median(r[1] for r in res)))
        if slot:
            print("%s_slot_ms %.0f ms (reference: median time between two accepted sends on one modem)" % (name, slot))
            print("%s_first_alert_slots %.2f slots (median; max %.2f)"
                  % (name, statistics.median(firsts) / slot, max(firsts) / slot))
        reads = [r[3] for r in res]
        print("%s_read_to_first_alert_ms %.0f ms median (from the modem's first AT+CMGR after the +CMTI)"
              % (name, statistics.median(reads)))
        if slot:
            print("%s_read_to_first_alert_slots %.2f slots (median; max %.2f)"
                  % (name, statistics.median(reads) / slot, max(reads) / slot))
        print("%s_bulk_ahead %d bulk sends started after the SOS and before the alert on any modem (max of trials)"
              % (name, max(r[2] for r in res)))
        if nbulk:
            left = gw.sql("SELECT count(*) FROM sms_out WHERE prio = 3 AND state = 'queued'")[0][0]
            print("%s_backlog_left %d bulk messages still queued when measured" % (name, left))
            c = sqlite3.connect(gw.db, timeout=30)
            with c:
                c.execute("UPDATE sms_out SET state = 'failed', error = 'bench: cleared' WHERE state = 'queued'")
            c.close()
    finally:
        gw.close()


if __name__ == "__main__":
    main()
