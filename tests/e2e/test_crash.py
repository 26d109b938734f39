"""kill -9 of linlid in the middle of sending and receiving, then a restart: nothing is lost.
An outgoing message may go out twice only in the window between AT+CMGS and its commit, and
every such case is counted (stat out_possible_dup); no received message is stored twice."""
import re

import linli

N_OUT = 400
N_IN = 200


def main(t):
    gw = linli.Gateway(nmodems=2, airtime_ms=15).start()
    try:
        for i in range(N_OUT):
            gw.send("+86139%08d" % (i % 11), "crash test %04d 邻里" % i)
        for i in range(N_IN):
            text = "incoming %04d " % i + ("长" * 100 if i % 4 == 0 else "short")
            gw.modems[i % 2].deliver("+86137%08d" % i, text, "order=reverse" if i % 8 == 0 else "")
        linli.wait_for(lambda: gw.queue()["sent"] >= N_OUT // 4, 120, "a quarter sent")
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in")[0][0] >= N_IN // 4, 120, "a quarter stored")
        gw.kill9()
        t.check(True, "linlid killed with SIGKILL mid-flight")
        before = gw.sql("SELECT count(*) FROM sms_out WHERE state='sent'")[0][0]
        sending = gw.sql("SELECT count(*) FROM sms_out WHERE state='sending'")[0][0]
        print("at the kill: %d sent, %d in the crash window" % (before, sending))

        gw.start()
        linli.wait_for(lambda: gw.queue()["sent"] >= N_OUT, 300, "all sent after the restart", 0.5)
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in")[0][0] >= N_IN, 300,
                       "all stored after the restart", 0.5)
        arrived = {}
        for m in gw.modems:
            for dest, nparts, text in m.sent():
                k = re.search(r"crash test (\d{4})", text)
                if k:
                    arrived[k.group(1)] = arrived.get(k.group(1), 0) + 1
        missing = [i for i in range(N_OUT) if "%04d" % i not in arrived]
        extra = sum(n - 1 for n in arrived.values())
        counted = gw.sql("SELECT coalesce(sum(value),0) FROM stat WHERE name IN ('out_possible_dup','out_late_dup')")[0][0]
        t.check(not missing, "no outgoing message lost (missing %s)" % missing[:10])
        t.check(extra <= counted, "duplicates (%d) only in the counted crash window (%d counted)" % (extra, counted))
        t.check(counted <= sending + 1, "the count is the crash window's size (%d <= %d)" % (counted, sending))
        rows = gw.sql("SELECT text FROM sms_in")
        keys = [re.search(r"incoming (\d{4})", r[0]).group(1) for r in rows]
        t.check(len(keys) == N_IN and len(set(keys)) == N_IN,
                "every incoming message stored exactly once (%d rows, %d distinct)" % (len(keys), len(set(keys))))
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM after the restart")
    finally:
        gw.close()


linli.run(main)
