"""SOS first: an alarm arriving while 5,000 bulk messages are queued (and being sent) goes out
before any bulk message that was not already under way. Each send takes 0.3 s of the emulated
modem's air time (a real modem takes one to a few seconds), so the order is judged from what each
emulated modem was asked to send, not by waiting for the backlog; the rest of the bulk is then
failed by SQL and linlid stopped."""
import time

import linli
from sos_util import F1, F2, LINK, SOS_TEXT, WATCH, gateway, wait_texts

N_BULK = 5000


def main(t):
    gw = gateway(nmodems=2, airtime_ms=300)
    now = int(time.time())
    gw.sql_write_many("INSERT INTO sms_out (dest, text, prio, created) VALUES (?, ?, 3, ?)",
                      [("+86136%08d" % (i % 97), "社区通知 bulk %05d" % i, now) for i in range(N_BULK)])
    gw.start()
    try:
        linli.wait_for(lambda: all(len(m.sent()) >= 2 for m in gw.modems), 60, "bulk flowing on both modems", 0.2)
        before = [len(m.sent()) for m in gw.modems]
        t0 = time.time()
        gw.modems[0].deliver(WATCH, SOS_TEXT)
        wait_texts(gw, F1, "SOS求救", 1, 60)
        wait_texts(gw, F2, "SOS求救", 1, 60)
        print("both alerts accepted %.1fs after the SOS was delivered" % (time.time() - t0))
        bulk_ahead = []
        for m, n0 in zip(gw.modems, before):
            sent = m.sent()
            last_alert = max((i for i, s in enumerate(sent) if "SOS求救" in s[2]), default=-1)
            if last_alert < 0:
                continue
            bulk_ahead.append(sum(1 for s in sent[n0:last_alert] if "bulk" in s[2]))
        print("bulk messages sent between the SOS arriving and the alert, per modem that sent one: %s" % bulk_ahead)
        # one send may be under way on the modem when the SOS arrives, and one more may start on a
        # modem before the SOS is read and committed (libgammu reads it between two sends)
        t.check(all(n <= 2 for n in bulk_ahead), "no bulk message overtook the alerts beyond the sends under way")
        queued = gw.sql("SELECT count(*) FROM sms_out WHERE prio = 3 AND state = 'queued'")[0][0]
        t.check(queued >= N_BULK - 60, "the bulk backlog was still there (%d queued)" % queued)
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sos_attempt a JOIN sms_out o ON o.id = a.sms_out_id"
                                      " WHERE o.state = 'sent'")[0][0] == 2, 30, "alerts recorded as sent", 0.1)
        ids = gw.sql("SELECT o.state, o.prio FROM sos_attempt a JOIN sms_out o ON o.id = a.sms_out_id")
        t.check(ids == [("sent", 0), ("sent", 0)], "alerts at SOS priority, sent (%s)" % ids)
        t.check(LINK in wait_texts(gw, F1, "SOS求救")[0], "with the link")
        gw.sql_write("UPDATE sms_out SET state = 'failed', error = 'test: bulk cleared' WHERE prio = 3"
                     " AND state = 'queued'")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
