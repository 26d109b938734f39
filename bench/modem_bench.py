"""Benchmarks through emulated modems and the real libgammu (not tests: figures, no pass/fail).

  drain N AIRTIME_MS PER_MODEM [OVERHEAD_MS] [own|gammu]
                                 outbound drain with N modems: achieved msg/s vs capacity N/airtime
                                 (AIRTIME_MS 0: the fixed per-send cost instead; OVERHEAD_MS, that
                                 cost: also vs the bound N/(airtime + overhead); own|gammu: the
                                 modems' send-path, named in the figures)
  inbound M                      M messages delivered to one modem at zero air time: stored msg/s
  rss N                          resident memory of linlid with N ready modems
Each prints "name value unit" lines.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
import linli  # noqa: E402

# linlid's shipped intervals (etc/linlid.cfg, and the defaults), not the e2e harness's 5 s: each
# health check holds the modem for about 0.9 s (libgammu's GSM_GetSecurityStatus, AT+CPIN?).
MODEM_CFG = "poll-interval 30\nhealth-interval 30"


def drain(n, airtime_ms, per_modem, overhead_ms=None, path=None):
    """Prints the achieved rate, the capacity N/airtime and their ratio. At zero air time it
    prints instead the fixed cost of one send through libgammu (1 modem: 1/rate). With
    overhead_ms (that cost, measured in the same run) it also prints the libgammu bound
    N/(airtime + overhead) and the achieved rate as a fraction of it."""
    cfg = MODEM_CFG + ("\nsend-path %s" % path if path else "")
    gw = linli.Gateway(nmodems=n, airtime_ms=airtime_ms, modem_cfg=cfg).start()
    try:
        total = n * per_modem
        # warm-up: one message per modem, so that connection set-up is not measured
        for i in range(n):
            gw.send("+8613900000000", "warm-up %d" % i)
        linli.wait_for(lambda: gw.queue()["sent"] >= n, 120, "warm-up", 0.05)
        # queue through the gateway's CTRL (the normal path); the clock runs from the first message
        t0 = time.time()
        for i in range(total):
            gw.send("+86139%08d" % (i % 97), "drain %d" % i)
        linli.wait_for(lambda: gw.queue()["sent"] >= total + n, 3600, "drain", 0.02)
        t1 = time.time()
        rate = total / (t1 - t0)
        name = "drain_%s%dmodem_%dms" % (path + "_" if path else "", n, airtime_ms)
        print("%s_rate %.3f msg/s" % (name, rate))
        if airtime_ms == 0:
            print("%s_per_send %.0f ms per part per modem (the fixed cost of a send)" % (name, n * 1000.0 / rate))
            return
        cap = n * 1000.0 / airtime_ms
        print("%s_capacity %.3f msg/s" % (name, cap))
        print("%s_ratio %.4f of capacity" % (name, rate / cap))
        print("%s_per_send_overhead %.0f ms per part per modem beyond the air time" % (name, n * 1000.0 / rate - airtime_ms))
        if overhead_ms:
            bound = n * 1000.0 / (airtime_ms + overhead_ms)
            print("%s_libgammu_bound %.3f msg/s (N/(airtime+%.0f ms))" % (name, bound, overhead_ms))
            print("%s_vs_libgammu_bound %.4f of bound" % (name, rate / bound))
    finally:
        gw.close()


def inbound(m):
    gw = linli.Gateway(nmodems=1, airtime_ms=0, modem_cfg=MODEM_CFG).start()
    try:
        t0 = time.time()
        for i in range(m):
            gw.modems[0].deliver("+86137%08d" % i, "inbound bench %d" % i)
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in")[0][0] >= m, 3600, "inbound", 0.05)
        t1 = time.time()
        print("inbound_one_modem_rate %.1f msg/s" % (m / (t1 - t0)))
    finally:
        gw.close()


def rss(n):
    gw = linli.Gateway(nmodems=n, modem_cfg=MODEM_CFG).start()
    try:
        time.sleep(2)
        with open("/proc/%d/status" % gw.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS"):
                    kb = int(line.split()[1])
                    print("rss_%dmodems %.1f MiB" % (n, kb / 1024.0))
    finally:
        gw.close()


if __name__ == "__main__":
    what = sys.argv[1]
    def arg(a):
        try:
            return float(a) if "." in a else int(a)
        except ValueError:
            return a
    args = [arg(a) for a in sys.argv[2:]]
    {"drain": drain, "inbound": inbound, "rss": rss}[what](*args)
