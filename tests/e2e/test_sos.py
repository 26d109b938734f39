"""SOS through the real stack (modemsim + libgammu + linlid): an alarm from a bound watch reaches
every first-step contact once with the right text and map link; a pending binding gets nothing;
repeats attach to the one incident and a move of more than 100 m is sent on; a reply acknowledges
it, the others are told, the TK watch gets its stop word and escalation stops; binding by SMS
with the household's confirmation code; low-battery notices rate-limited; linlictl incident and
parse-alert."""
import json
import re
import subprocess
import os
import time

import linli
from sos_util import (F1, F2, F3, GRID_WORKER, LINK, PENDING, PRIMARY, SOS_TEXT, WATCH, deliver_and_route, gateway,
                      idle, received, routed, set_clock, texts_to, wait_texts)


def main(t):
    gw = gateway(nmodems=3).start()
    try:
        # ---- the alarm ----
        t0 = time.time()
        gw.modems[0].deliver(WATCH, SOS_TEXT)
        for num in (F1, F2):
            wait_texts(gw, num, "SOS求救", 1, 30)
        print("first alerts out after %.1fs" % (time.time() - t0))
        rows = gw.sql("SELECT id, state, step, kind, battery, alarms FROM sos_incident")
        t.check(len(rows) == 1 and rows[0][1] == "notifying" and rows[0][2] == 1 and rows[0][3] == "sos"
                and rows[0][4] == "4.32V", "one incident, notifying step 1, kind sos, battery 4.32V (%s)" % rows)
        inc = rows[0][0]
        idle(gw)
        for num in (F1, F2):
            got = texts_to(gw, num)
            t.check(len(got) == 1, "%s got exactly one message (%d)" % (num, len(got)))
            a = got[0]
            t.check(LINK in a and "https://uri.amap.com/marker?" in a, "%s: the AMap link, longitude first" % num)
            t.check("邹丽" in a and "1幢1单元101" in a and "电量4.32V" in a and "回复1或收到确认" in a,
                    "%s: who, where, battery, how to acknowledge: %s" % (num, a))
            t.check(re.search(r" \d\d:\d\d ", a) is not None, "%s: the time" % num)
        t.check(not texts_to(gw, PENDING), "the pending binding got nothing")
        t.check(not texts_to(gw, F3) and not texts_to(gw, GRID_WORKER), "step 2 and the grid worker not yet")
        out = gw.sql("SELECT o.prio, o.state, a.step, a.location FROM sos_attempt a JOIN sms_out o ON o.id = a.sms_out_id"
                     " WHERE a.incident_id = ?", (inc,))
        t.check(len(out) == 2 and all(r == (0, "sent", 1, 1) for r in out),
                "two attempts recorded, priority SOS, sent, with location (%s)" % out)
        linli.wait_for(lambda: gw.sql("SELECT first_sent_at FROM sos_incident")[0][0], 10, "first_sent_at")
        fa = gw.sql("SELECT first_alert_at - created, first_sent_at - created FROM sos_incident")[0]
        t.check(fa[0] == 0 and 0 <= fa[1] <= 10, "time to first alert recorded (queued +%ds, sent +%ds)" % fa)

        # ---- repeats attach; a move is sent on ----
        # a repeat comes with a later SMSC time stamp; the same text in the same second is the same
        # message (dedup by sender, time stamp and text), so wait for the next second
        time.sleep(1.1)
        deliver_and_route(gw, WATCH, SOS_TEXT, modem=1)
        rows = gw.sql("SELECT count(*), max(alarms) FROM sos_incident")[0]
        t.check(rows == (1, 2), "the repeat attached to the incident (incidents, alarms = %s)" % (rows,))
        moved = SOS_TEXT.replace("22.566923", "22.576923")  # about 1.1 km north
        deliver_and_route(gw, WATCH, moved, modem=2)
        for num in (F1, F2):
            wait_texts(gw, num, "位置更新", 1, 30)
        idle(gw)
        t.check(all(len(texts_to(gw, n)) == 2 for n in (F1, F2)), "one update each, nothing else")
        t.check("position=114.051331,22.576923" in texts_to(gw, F1, "位置更新")[0], "the update has the new position")
        t.check(gw.sql("SELECT count(*) FROM sos_incident")[0][0] == 1, "still one incident")

        # ---- acknowledgement ----
        deliver_and_route(gw, F1, "ｏｋ！")
        row = gw.sql("SELECT state, acked_by, acked_at - created FROM sos_incident")[0]
        t.check(row[0] == "acknowledged" and row[1] == F1, "acknowledged by %s (%s)" % (F1, row))
        wait_texts(gw, F2, "已响应", 1, 30)
        wait_texts(gw, F1, "已确认", 1, 30)
        wait_texts(gw, WATCH, "help me!", 1, 30)
        t.check(F1 in texts_to(gw, F2, "已响应")[0], "the other contact is told who responded")
        t.check(True, "the TK watch got its stop word")
        deliver_and_route(gw, F2, "1")
        wait_texts(gw, F2, "谢谢", 1, 30)
        t.check(F1 in texts_to(gw, F2, "谢谢")[0] and
                gw.sql("SELECT acked_by FROM sos_incident")[0][0] == F1,
                "a second reply is told who was first; the first acknowledgement stands")
        idle(gw)
        before = sum(len(v) for v in received(gw).values())
        set_clock(gw, 400)
        time.sleep(3)
        after = received(gw)
        t.check(sum(len(v) for v in after.values()) == before and not texts_to(gw, F3) and
                not texts_to(gw, GRID_WORKER), "no escalation after the acknowledgement (clock +400 s)")
        set_clock(gw, 0)

        # ---- binding by SMS: pending until the household's primary phone confirms ----
        S = "+8613700000009"
        deliver_and_route(gw, S, "绑定 " + WATCH)
        msg = wait_texts(gw, PRIMARY, "确认", 1, 30)[0]
        code = re.search(r"确认 (\d{6})", msg).group(1)
        reply = wait_texts(gw, S, "已收到您的绑定申请", 1, 30)[0]
        t.check("邹丽" not in reply, "the requester is not told whose watch it is: %s" % reply)
        t.check(gw.sql("SELECT b.state FROM binding b JOIN phone p ON p.id = b.phone_id WHERE p.number = ?", (S,))
                == [("pending",)], "the SMS binding is pending")
        deliver_and_route(gw, PRIMARY, "确认 000000" if code != "000000" else "确认 111111")
        wait_texts(gw, PRIMARY, "确认码无效", 1, 30)
        deliver_and_route(gw, PRIMARY, "ＱＲ " + code)
        wait_texts(gw, S, "绑定成功", 1, 30)
        t.check(gw.sql("SELECT b.state, b.approved_by FROM binding b JOIN phone p ON p.id = b.phone_id"
                       " WHERE p.number = ?", (S,)) == [("approved", PRIMARY)], "approved by the primary phone's code")

        # ---- low battery: to the approved step-1 contacts, at reply priority, once per 30 min ----
        n_in = gw.sql("SELECT count(*) FROM sms_out")[0][0]
        deliver_and_route(gw, WATCH, "Attention!!!battery too low, please charge.")
        for num in (F1, F2, S):
            wait_texts(gw, num, "低电量", 1, 30)
        # the watch's second report, a few seconds later by the SMSC's clock: the same text in the
        # same second from the same sender is one message read twice (its dedup key), not two
        deliver_and_route(gw, WATCH, "Attention!!!battery too low, please charge.",
                          opts="smsc-ts=%d" % (int(time.time()) + 5))
        idle(gw)
        t.check(all(len(texts_to(gw, n, "低电量")) == 1 for n in (F1, F2, S)), "one low-battery notice each")
        t.check(not texts_to(gw, F3, "低电量") and not texts_to(gw, PENDING), "not to step 2 nor the pending one")
        prios = gw.sql("SELECT DISTINCT prio FROM sms_out WHERE id > ? AND text LIKE '%低电量%'", (n_in,))
        t.check(prios == [(2,)], "notices at reply priority (%s)" % prios)

        # ---- privacy: the pending binding never got a location ----
        t.check(not any("amap" in x for x in texts_to(gw, PENDING)), "pending binding: no location ever")

        # ---- linlictl ----
        r = gw.linlictl("incident", "list")
        t.check(("#%d" % inc) in r.stdout and "acknowledged" in r.stdout, "incident list: %s" % r.stdout.strip())
        r = gw.linlictl("incident", "show", str(inc))
        t.check("attempt" in r.stdout and "delivery=" in r.stdout, "incident show lists the attempts")
        print(r.stdout)
        v = gw.vty("show sos incidents")
        t.check(("#%d" % inc) in v and "first-alert=" in v, "VTY show sos incidents: %s" % v.strip())
        r = gw.linlictl("incident", "resolve", str(inc))
        t.check(gw.sql("SELECT state FROM sos_incident")[0][0] == "resolved", "resolved with linlictl")
        p = subprocess.run([os.path.join(linli.BUILD, "linlictl"), "parse-alert"], input="【SOS】紧急求助! 位置:"
                           "https://uri.amap.com/marker?position=116.397428,39.90923 电量:35%", capture_output=True,
                           text=True)
        j = json.loads(p.stdout)
        t.check(j == {"kind": "sos", "lat": 39.90923, "lon": 116.397428, "battery": "35%"}, "parse-alert: %s" % j)
        r = gw.linlictl("bind", "list", WATCH)
        t.check(r.stdout.count("approved") == 4 and "pending" in r.stdout, "bind list")

        # ---- a position report (tk dialect): a notice with the link to the step-1 contacts ----
        deliver_and_route(gw, WATCH, "Lat:N22.571285,Lon:E113.877115,Course:42.20,Speed:0.0740,DateTime:10-11-23 22:28:51")
        for num in (F1, F2, S):
            wait_texts(gw, num, "【位置】", 1, 30)
        t.check("position=113.877115,22.571285" in texts_to(gw, F1, "【位置】")[0], "the position notice has the link")
        t.check(gw.sql("SELECT count(*) FROM sos_incident")[0][0] == 1, "a position report raises no incident")

        # ---- unbinding by SMS, confirmed by the household ----
        deliver_and_route(gw, S, "JB " + WATCH)
        msg = wait_texts(gw, PRIMARY, "解除绑定", 1, 30)[0]
        code = re.search(r"确认 (\d{6})", msg).group(1)
        t.check(gw.sql("SELECT b.state FROM binding b JOIN phone p ON p.id = b.phone_id WHERE p.number = ?", (S,))
                == [("approved",)], "still bound until the household confirms")
        deliver_and_route(gw, PRIMARY, "确认 " + code)
        wait_texts(gw, S, "已解除", 1, 30)
        t.check(gw.sql("SELECT b.state FROM binding b JOIN phone p ON p.id = b.phone_id WHERE p.number = ?", (S,))
                == [("removed",)], "unbound after the confirmation")

        # ---- programming the watch: the community number from linlid's config ----
        r = gw.linlictl("watch", "program", WATCH)
        t.check("W000000,003,1,1,10657000" in r.stdout, "tk template with the community number: %s" % r.stdout.strip())
        wait_texts(gw, WATCH, "W000000,003,1,1,10657000", 1, 30)
        deliver_and_route(gw, WATCH, "Set SOS number OK!")
        t.check(gw.sql("SELECT program_reply FROM device") == [("Set SOS number OK!",)],
                "the watch's answer is recorded, not taken for an alarm")
        t.check(gw.sql("SELECT count(*) FROM sos_incident")[0][0] == 1, "no incident from the answer")
        r = gw.linlictl("device", "list")
        t.check("programmed (watch answered: Set SOS number OK!)" in r.stdout, "device list: %s" % r.stdout.strip())
        # ... and its report interval, so supervision hears from it
        r = gw.linlictl("watch", "program", WATCH, "--interval", "30")
        t.check("t030m***n123456" in r.stdout, "tk report interval command queued: %s" % r.stdout.strip())
        wait_texts(gw, WATCH, "t030m***n123456", 1, 30)
        r = gw.linlictl("watch", "program", WATCH, "--interval", "600", check=False)
        t.check(r.returncode != 0 and "255" in r.stderr and "t600" not in r.stdout,
                "an interval the dialect cannot take is refused: %s" % r.stderr.strip())

        # ---- a failed delivery report: the alert is sent again (twice at most per contact) ----
        for m in gw.modems:
            m.ctl("report-status 65")
        n_f1 = len(texts_to(gw, F1, "SOS求救"))
        gw.modems[0].deliver(WATCH, "SOS ALARM")
        wait_texts(gw, F1, "SOS求救", n_f1 + 3, 60)
        idle(gw)
        for m in gw.modems:
            m.ctl("report-status 0")
        inc2 = gw.sql("SELECT max(id) FROM sos_incident")[0][0]
        rows = gw.sql("SELECT a.kind, a.result IS NOT NULL, o.delivery FROM sos_attempt a JOIN sms_out o ON"
                      " o.id = a.sms_out_id WHERE a.incident_id = ? AND a.number = ? ORDER BY a.id", (inc2, F1))
        print(rows)
        t.check([r[0] for r in rows] == ["alert", "resend", "resend"], "undelivered alert sent again twice (%s)" % rows)
        t.check(rows[0][1] == 1 and rows[1][1] == 1, "each failed attempt notes its resend")
        mods = [r[0] for r in gw.sql("SELECT o.modem FROM sos_attempt a JOIN sms_out o ON o.id = a.sms_out_id"
                                     " WHERE a.incident_id = ? AND a.number = ? ORDER BY a.id", (inc2, F1))]
        t.check(len(mods) == 3 and all(mods) and mods[0] != mods[1] and mods[1] != mods[2],
                "each resend went through another modem than the failed attempt (%s)" % mods)
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        gw.close()


linli.run(main)
