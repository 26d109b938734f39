"""The SOS second path: every alerted contact also gets a call (DOMAIN.md: "use a second path, SMS
and a call"). Real Kamailio, real linlid with its sofia-sip user agent, sipp as the daughter's SIP
phone with a tests/e2e/rtp.py peer behind it; the watch's SOS comes through modemsim and libgammu.

The daughter (F1) answers, hears the prompt and presses 1 (RFC 4733): the incident is acknowledged
by her as if she had texted "1", the son (F2, no SIP phone: his call fails) is told by SMS who
responded, her call ends with BYE, and both calls are recorded (sos_attempt channel 'call', the
call and its leg). A later incident with `sos-call off` places no call."""
import time

import kamailio
import linli
from rtp import RtpPeer
from sipp_util import Sipp
from sos_util import F1, F2, SOS_TEXT, WATCH, gateway, texts_to, wait_texts


def main(t):
    ua_port = kamailio.free_udp_port()
    kport = kamailio.free_udp_port()
    prompts = linli.BUILD + "/prompts"
    gw = gateway(nmodems=1, extra_cfg="sip-bind 127.0.0.1 %d\nsip-proxy 127.0.0.1 %d\ncall-ring-timeout 10\n"
                 "call-join-timeout 8\nprompts-dir %s" % (ua_port, kport, prompts))
    kam = kamailio.start(gw.db, "127.0.0.1", port=kport, linli_ua="127.0.0.1:%d" % ua_port,
                         trunks=["127.0.0.1:%d" % kamailio.free_udp_port()], subscribers={F1: "pw0001"},
                         workdir=gw.dir)
    sipps, peers = [], []
    try:
        gw.start()
        linli.wait_for(lambda: "user agent listening" in gw.log_tail(200), 30, "linlid's SIP user agent")
        peer = RtpPeer(name="daughter")
        peers.append(peer)
        pport = kamailio.free_udp_port()
        phone = Sipp(gw.dir, "daughter", "neighbour_answer.xml", pport, keys={"rtp_port": peer.port})
        sipps.append(phone)
        reg = Sipp(gw.dir, "reg", "register.xml", kamailio.free_udp_port(), "127.0.0.1:%d" % kport,
                   keys={"user": F1, "contact_port": pport}, extra=["-au", F1, "-ap", "pw0001"])
        rc = reg.wait(30)
        reg.stop()
        if not t.check(rc == 0, "the daughter's SIP phone registered with Kamailio (sipp %s) %s" % (rc, reg.errors())):
            return

        # ---- the SOS: SMS alerts and, beside them, a call to each contact ----
        gw.modems[0].deliver(WATCH, SOS_TEXT)
        wait_texts(gw, F1, "SOS求救", 1, 60)
        wait_texts(gw, F2, "SOS求救", 1, 60)
        t.check(True, "both first-step contacts got the alert SMS")
        port = linli.wait_for(lambda: phone.remote_rtp_port(peer.port), 30, "the alert call reaching the daughter")
        peer.set_remote("127.0.0.1", port)
        linli.wait_for(lambda: peer.packets > 25, 20, "the prompt playing to the daughter", 0.1)
        linli.wait_for(lambda: peer.rms(seconds=0.5) > 100, 10, "speech in the prompt", 0.1)
        t.check(True, "she hears the prompt (rms %.0f)" % peer.rms(seconds=0.5))
        t.check(gw.sql("SELECT state FROM sos_incident") == [("notifying",)], "not acknowledged before the 1")
        peer.send_digit("1")
        linli.wait_for(lambda: gw.sql("SELECT state, acked_by FROM sos_incident")[0] == ("acknowledged", F1), 20,
                       "the incident acknowledged by the daughter's 1", 0.1)
        t.check(True, "her 1 acknowledged the incident")
        told = wait_texts(gw, F2, "已响应", 1, 60)[0]
        t.check(F1 in told, "the son is told who responded: %r" % told)
        rc = phone.wait(40)
        t.check(rc == 0, "her call ended with linlid's BYE after 'acked' (sipp %s) %s" % (rc, phone.errors()))

        def calls():
            return dict(gw.sql("SELECT number, result FROM sos_attempt WHERE channel = 'call'"))
        linli.wait_for(lambda: all(r and r != "calling" for r in calls().values()) and len(calls()) == 2, 40,
                       "both calls over", 0.2)
        c = calls()
        t.check(c[F1].endswith(": acknowledged"), "the daughter's call recorded as acknowledged: %r" % c[F1])
        t.check(c[F2].startswith("call ") and "acknowledged" not in c[F2],
                "the son's call (no SIP phone) recorded as not answered: %r" % c[F2])
        legs = gw.sql("SELECT c.caller, l.kind, l.number, l.result, l.joined_at IS NOT NULL FROM call c"
                      " JOIN call_leg l ON l.call_id = c.id ORDER BY l.id")
        t.check(("SOS", "sos_contact", F1, "acknowledged", 1) in legs, "the call and its leg recorded: %s" % legs)
        msg = gw.sql("SELECT channel, text, raw FROM sms_in WHERE sender = ?", (F1,))
        t.check(len(msg) == 1 and msg[0][:2] == ("sip", "1") and "DTMF 1" in msg[0][2],
                "her 1 is kept as a message from her, saying where it came from: %s" % msg)

        # ---- sos-call off: SMS only ----
        gw.linlictl("incident", "resolve", str(gw.sql("SELECT max(id) FROM sos_incident")[0][0]))
        gw.vty(["configure terminal", "gateway", "sos-call off", "end"])
        n_f2 = len(texts_to(gw, F2, "SOS求救"))
        gw.modems[0].deliver(WATCH, "SOS")
        wait_texts(gw, F2, "SOS求救", n_f2 + 1, 60)
        time.sleep(2)
        t.check(gw.sql("SELECT count(*) FROM sos_attempt WHERE channel = 'call' AND incident_id = "
                       "(SELECT max(id) FROM sos_incident)")[0][0] == 0, "sos-call off: no call placed")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        for s in sipps:
            s.stop()
        for p in peers:
            p.close()
        kam.stop()
        gw.close()


linli.run(main)
