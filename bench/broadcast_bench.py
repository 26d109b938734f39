"""A notice to a whole community, and SOS latency while it drains (a benchmark: figures, no pass/fail).

  broadcast_bench.py HOUSEHOLDS NMODEMS AIRTIME_MS [TRIALS]

The community: the sample (etc/sample) and generated CSVs in its format (grids of 10 联户 groups
of 10 households, each household a primary phone, every 25th a family member) imported with
`linlictl import-all`, HOUSEHOLDS households in all; the watch and contacts of
tests/e2e/sos_util.py. linlid runs with NMODEMS emulated modems of AIRTIME_MS air time.

1. The reference, in the same run: TRIALS SOS alarms from the watch with an idle queue; each
   trial as bench/sos_bench.py's (+CMTI of the alarm on modem 1 to the first alert accepted,
   from the emulators' AT logs; then acknowledged and resolved).
2. `linlictl broadcast all TEXT`: the time from running it until sms_out holds every recipient's
   row (linlid's due work queues the notice within GW_DUE_MAX_WAIT_S, in one transaction).
3. TRIALS SOS alarms while the notice drains at bulk priority, measured the same way; the ratio
   to the idle reference.
The contacts alerted first (F1, F2) are opted out of notices (`linlictl optout add`), so that
a notice text to them is never taken for an alert; SOS alerts ignore the opt-out list.
"""
import csv
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
import linli  # noqa: E402
from sos_bench import MODEM_CFG, at_events, sends, slot_ms, trial  # noqa: E402
from sos_util import F1, F2, gateway  # noqa: E402

NOTICE = "明天（12月3日）8点至12点全小区停水，请提前储水。"


def community(folder, households):
    """CSVs in etc/sample's format: households beyond the sample's 100, in new grids W4...
    The number of households written."""
    n = max(0, households - 100)
    grids, groups, hh, phones = [], [], [], []
    for i in range(n):
        g, grp = i // 100, i // 10
        if i % 100 == 0:
            grids.append(["幸福里社区", "W%d" % (g + 4), "第%d网格" % (g + 4), "136%08d" % (g + 1), "网格员%d" % (g + 4)])
        if i % 10 == 0:
            groups.append(["W%d-%d" % (g + 4, grp % 10 + 1), "W%d" % (g + 4), "%d幢联户组" % (grp + 13)])
        code = "%d-%d-%d" % (grp + 13, i % 10 // 5 + 1, 101 + i % 5)
        hh.append([code, "W%d-%d" % (g + 4, grp % 10 + 1), "%d幢" % (grp + 13), "%d单元" % (i % 10 // 5 + 1),
                   str(101 + i % 5), "135%08d" % (i + 1), "住户%d" % (i + 1)])
        if i % 25 == 0:
            phones.append(["137%08d" % (50000000 + i), "家属%d" % (i + 1), "resident", "zh-CN", code])
    for name, header, rows in (("grids", "community,grid,name,worker_number,worker_name", grids),
                               ("groups", "group,grid,name", groups),
                               ("households", "household,group,building,unit,room,number,name", hh),
                               ("phones", "number,name,role,lang,household", phones)):
        with open(os.path.join(folder, name + ".csv"), "w", newline="") as f:
            f.write(header + "\n")
            csv.writer(f, lineterminator="\n").writerows(rows)
    return n


def ahead(gw, since):
    """Notice sends that started, on any modem, after the alarm read from modem 1 (its first
    AT+CMGR after the +CMTI) and before that modem's first alert: the max over the modems. Those
    started before the read are sends under way on another modem while the alarm waited to be
    read (sos_bench.py's bulk_ahead counts them too)."""
    ev = [at_events(m.at_log) for m in gw.modems]
    cmti = min(e[0] for e in ev[0] if e[1] == "cmti" and e[0] >= since)
    read = min(e[0] for e in ev[0] if e[1] == "cmgr" and e[0] >= cmti)
    most = 0
    for e in ev:
        s = [x for x in sends(e) if x[1] >= cmti]
        mine = [x[0] for x in s if x[2] in (F1, F2)]
        if mine:
            most = max(most, sum(1 for x in s if x[2] not in (F1, F2) and read < x[0] < min(mine)))
    return most


def trials(gw, airtime_ms, n):
    """([first alert ms], [read to first alert ms], most notice sends ahead from the alarm, from its read)"""
    res, after_read = [], 0
    for _ in range(n):
        since = time.time() - 0.005
        res.append(trial(gw, airtime_ms))
        after_read = max(after_read, ahead(gw, since))
    return [r[0] for r in res], [r[3] for r in res], max(r[2] for r in res), after_read


def main():
    households, nmodems, airtime_ms = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    ntrials = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    gw = gateway(nmodems=nmodems, airtime_ms=airtime_ms, at_log=True, modem_cfg=MODEM_CFG)
    with tempfile.TemporaryDirectory(prefix="linli-community-") as d:
        community(d, households)
        gw.linlictl("import-all", d)
    n_hh = gw.sql("SELECT count(*) FROM household")[0][0]
    for num in (F1, F2):
        gw.linlictl("optout", "add", num)
    gw.start()
    try:
        name = "broadcast_%dhh_%dmodem_%dms" % (n_hh, nmodems, airtime_ms)
        # 1. the reference: an idle queue
        idle, idle_read, _, _ = trials(gw, airtime_ms, ntrials)

        # 2. a notice to all, until every row is in sms_out
        t0 = time.time()
        out = gw.linlictl("broadcast", "all", NOTICE).stdout
        t_ctl = time.time() - t0
        m = re.search(r"notice #(\d+) to .*: (\d+) number", out)
        if not m:
            raise AssertionError("linlictl broadcast: %r" % out)
        bid, n = int(m.group(1)), int(m.group(2))
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_out WHERE broadcast_id = ?", (bid,))[0][0] >= n,
                       300, "the notice's %d rows in sms_out" % n, 0.01)
        t_queued = time.time() - t0
        print("%s_recipients %d messages (every active phone of %d households, less the opted-out)" % (name, n, n_hh))
        print("%s_queue_s %.2f s (linlictl broadcast all until sms_out holds every row; linlictl itself %.2f s)"
              % (name, t_queued, t_ctl))
        print("%s_queue_rate %.0f msg/s queued" % (name, n / t_queued))

        # 3. SOS while it drains
        linli.wait_for(lambda: all(sum(1 for x in md.sent() if "社区通知" in x[2]) >= 1 for md in gw.modems), 120,
                       "the notice flowing on every modem", 0.2)
        busy, busy_read, n_ahead, n_after_read = trials(gw, airtime_ms, ntrials)
        left = gw.sql("SELECT count(*) FROM sms_out WHERE broadcast_id = ? AND state = 'queued'", (bid,))[0][0]
        mi, mb = statistics.median(idle), statistics.median(busy)
        print("%s_sos_idle_first_alert_ms %.0f ms median of %d (reference: +CMTI to the first alert accepted, idle"
              " queue; min %.0f max %.0f)" % (name, mi, len(idle), min(idle), max(idle)))
        print("%s_sos_drain_first_alert_ms %.0f ms median of %d (the same while the notice drains; min %.0f max %.0f)"
              % (name, mb, len(busy), min(busy), max(busy)))
        print("%s_sos_drain_vs_idle %.2f draining/idle first-alert latency" % (name, mb / mi))
        ri, rb = statistics.median(idle_read), statistics.median(busy_read)
        print("%s_sos_idle_read_to_first_alert_ms %.0f ms median (from modem 1's AT+CMGR of the alarm)" % (name, ri))
        print("%s_sos_drain_read_to_first_alert_ms %.0f ms median (max %.0f)" % (name, rb, max(busy_read)))
        print("%s_sos_drain_vs_idle_from_read %.2f draining/idle, from the alarm's read" % (name, rb / ri))
        slot = slot_ms(gw)
        if slot:
            print("%s_slot_ms %.0f ms (median time between two accepted sends on one modem)" % (name, slot))
        print("%s_sos_bulk_ahead %d notice sends started after an alarm's +CMTI and before its alert on a modem (max)"
              % (name, n_ahead))
        print("%s_sos_bulk_after_read %d notice sends started after the alarm was read and before its alert (max)"
              % (name, n_after_read))
        print("%s_backlog_left %d notice messages still queued when measured" % (name, left))
    finally:
        gw.close()
        gw.cleanup()


if __name__ == "__main__":
    main()
