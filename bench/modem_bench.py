"""Benchmarks through emulated modems and the real libgammu (not tests: figures, no pass/fail).

  drain N AIRTIME_MS PER_MODEM   outbound drain with N modems: achieved msg/s vs capacity N/airtime
  inbound M                      M messages delivered to one modem at zero air time: stored msg/s
  rss N                          resident memory of linlid with N ready modems
Each prints "name value unit" lines.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
import linli  # noqa: E402


def drain(n, airtime_ms, per_modem):
    gw = linli.Gateway(nmodems=n, airtime_ms=airtime_ms).start()
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
        linli.wait_for(lambda: gw.queue()["sent"] >= total + n, 3600, "drain", 0.05)
        t1 = time.time()
        rate = total / (t1 - t0)
        cap = n * 1000.0 / airtime_ms
        print("drain_%dmodem_%dms_rate %.3f msg/s" % (n, airtime_ms, rate))
        print("drain_%dmodem_%dms_capacity %.3f msg/s" % (n, airtime_ms, cap))
        print("drain_%dmodem_%dms_ratio %.4f of capacity" % (n, airtime_ms, rate / cap))
    finally:
        gw.close()


def inbound(m):
    gw = linli.Gateway(nmodems=1, airtime_ms=0).start()
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
    gw = linli.Gateway(nmodems=n).start()
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
    args = [int(a) for a in sys.argv[2:]]
    {"drain": drain, "inbound": inbound, "rss": rss}[what](*args)
