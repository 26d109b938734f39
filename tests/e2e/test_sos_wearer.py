"""Talk to the wearer (issue 12): after a contact presses 1 in the SOS alert call, linlid calls
the watch's number through Kamailio (its registered phone, else the trunk: here a sipp phone
registered as the watch, standing in for the trunk's way to it, so the son's call, which has no
phone, still fails as in test_sos_call.py) and bridges the contact to
the wearer, as an alarm centre verifies an alarm by talking to the person. Real Kamailio, real
linlid, sipp as the daughter's SIP phone and as the watch's, a tests/e2e/rtp.py peer behind each, so the media is checked: she hears the watch and the watch
hears her. The watch hangs up: her call ends with BYE, the incident's history tells the story.
A second incident, the watch unreachable (its phone gone): the history says so, she hears
it and her call ends; the acknowledgement stands and the SMS path goes on."""
import kamailio
import linli
from rtp import RtpPeer
from sipp_util import Sipp
from sos_util import F1, SOS_TEXT, WATCH, gateway, wait_texts

F1_TONE, WATCH_TONE = 1000, 600


def main(t):
    ua_port = kamailio.free_udp_port()
    kport = kamailio.free_udp_port()
    tport = kamailio.free_udp_port()
    gw = gateway(nmodems=1, extra_cfg="sip-bind 127.0.0.1 %d\nsip-proxy 127.0.0.1 %d\ncall-ring-timeout 8\n"
                 "call-join-timeout 8\nprompts-dir %s" % (ua_port, kport, linli.BUILD + "/prompts"))
    kam = kamailio.start(gw.db, "127.0.0.1", port=kport, linli_ua="127.0.0.1:%d" % ua_port,
                         trunks=["127.0.0.1:%d" % kamailio.free_udp_port()],
                         subscribers={F1: "pw0001", WATCH: "pw0002"}, workdir=gw.dir)
    sipps, peers = [], []

    def sip_phone(name, number, password, scenario, pport=None, extra=()):
        peer = RtpPeer(name=name)
        peers.append(peer)
        pport = pport or kamailio.free_udp_port()
        phone = Sipp(gw.dir, name, scenario, pport, keys={"rtp_port": peer.port}, extra=list(extra))
        sipps.append(phone)
        reg = Sipp(gw.dir, "reg-" + name, "register.xml", kamailio.free_udp_port(), "127.0.0.1:%d" % kport,
                   keys={"user": number, "contact_port": pport}, extra=["-au", number, "-ap", password])
        rc = reg.wait(30)
        reg.stop()
        t.check(rc == 0, "%s's SIP phone registered (sipp %s) %s" % (name, rc, reg.errors()))
        return phone, peer

    def daughter(name):
        return sip_phone(name, F1, "pw0001", "neighbour_answer.xml")

    def press1(phone, peer):
        port = linli.wait_for(lambda: phone.remote_rtp_port(peer.port), 30, "the alert call reaching the daughter")
        peer.set_remote("127.0.0.1", port)
        linli.wait_for(lambda: peer.packets > 25, 20, "the prompt playing to the daughter", 0.1)
        peer.send_digit("1")

    def history(inc):
        return [r[0] for r in gw.sql("SELECT note FROM sos_event WHERE incident_id = ? AND actor = 'call' "
                                     "ORDER BY id", (inc,))]
    try:
        gw.start()
        linli.wait_for(lambda: "user agent listening" in gw.log_tail(200), 30, "linlid's SIP user agent")

        # ---- the watch answers through the trunk and talks ----
        phone, peer = daughter("daughter")
        watch, wpeer = sip_phone("watch", WATCH, "pw0002", "answer_hangup.xml", tport, extra=["-d", "6000"])
        gw.modems[0].deliver(WATCH, SOS_TEXT)
        wait_texts(gw, F1, "SOS求救", 1, 60)
        press1(phone, peer)
        linli.wait_for(lambda: gw.sql("SELECT state, acked_by FROM sos_incident")[0] == ("acknowledged", F1), 20,
                       "the incident acknowledged by her 1", 0.1)
        inc = gw.sql("SELECT id FROM sos_incident")[0][0]
        wport = linli.wait_for(lambda: watch.remote_rtp_port(wpeer.port), 30, "linlid calling the watch")
        t.check(True, "after her 1, linlid calls the watch")
        invite = watch.text()
        t.check("INVITE sip:%s@" % WATCH in invite, "the INVITE is for the watch's number")
        wpeer.set_remote("127.0.0.1", wport)
        wpeer.tone(WATCH_TONE)
        peer.tone(F1_TONE)
        linli.wait_for(lambda: peer.hears(WATCH_TONE), 20, "the daughter hearing the wearer", 0.2)
        linli.wait_for(lambda: wpeer.hears(F1_TONE), 20, "the wearer hearing the daughter", 0.2)
        lv = peer.levels([WATCH_TONE, F1_TONE])
        t.check(lv[WATCH_TONE] >= 0.25 * peer.amplitude, "she hears the wearer: %s" % lv)
        t.check(lv[F1_TONE] < 0.05 * peer.amplitude, "she does not hear herself (%.0f)" % lv[F1_TONE])
        lw = wpeer.levels([WATCH_TONE, F1_TONE])
        t.check(lw[F1_TONE] >= 0.25 * wpeer.amplitude, "the wearer hears her: %s" % lw)
        h = history(inc)
        t.check(any("calling the watch %s" % WATCH in n for n in h) and any("talking to the wearer" in n for n in h),
                "the history says the watch was called and answered: %s" % h)

        rc = watch.wait(40)
        t.check(rc == 0, "the watch hung up and its BYE was answered (sipp %s) %s" % (rc, watch.errors()))
        rc = phone.wait(30)
        t.check(rc == 0, "her call ended with linlid's BYE when the watch hung up (sipp %s) %s" % (rc, phone.errors()))
        linli.wait_for(lambda: any("talk with the wearer ended" in n for n in history(inc)), 20, "the end in the history")
        t.check(True, "the history has the end of the talk: %s" % history(inc)[-1])
        legs = dict((r[0], r[1:]) for r in gw.sql(
            "SELECT l.kind, l.number, l.result, l.joined_at IS NOT NULL FROM call c JOIN call_leg l ON l.call_id = c.id"
            " WHERE c.caller = 'SOS' AND l.number IN (?, ?)", (F1, WATCH)))
        t.check(legs.get("wearer") == (WATCH, "left", 1), "the watch's leg recorded, joined, it hung up: %s" % legs)
        t.check(legs.get("sos_contact") == (F1, "acknowledged", 1), "her leg recorded as acknowledged: %s" % legs)
        att = gw.sql("SELECT result FROM sos_attempt WHERE channel = 'call' AND number = ? AND incident_id = ?",
                     (F1, inc))
        t.check(len(att) == 1 and att[0][0].endswith(": acknowledged"),
                "her attempt's result is the acknowledgement, not the watch's leg: %s" % att)
        t.check(gw.sql("SELECT state FROM sos_incident WHERE id = ?", (inc,)) == [("acknowledged",)],
                "the incident stays acknowledged")

        # ---- the watch unreachable: the history says so, she hears it, the call ends ----
        gw.linlictl("incident", "resolve", str(inc))
        phone2, peer2 = daughter("daughter2")
        n_before = len(gw.sql("SELECT id FROM sos_incident"))
        gw.modems[0].deliver(WATCH, "SOS")
        linli.wait_for(lambda: len(gw.sql("SELECT id FROM sos_incident")) > n_before, 60, "a second incident")
        inc2 = gw.sql("SELECT max(id) FROM sos_incident")[0][0]
        press1(phone2, peer2)
        rc = phone2.wait(60)
        t.check(rc == 0, "her call ended with linlid's BYE (sipp %s) %s" % (rc, phone2.errors()))
        h2 = linli.wait_for(lambda: [n for n in history(inc2) if "did not answer" in n], 20, "the failure noted")
        t.check("SMS path goes on" in h2[0], "the history says the watch could not be reached: %s" % h2)
        t.check(peer2.packets > 100, "she heard the prompts, the last that the watch cannot be reached (%d packets)"
                % peer2.packets)
        t.check(gw.sql("SELECT state FROM sos_incident WHERE id = ?", (inc2,)) == [("acknowledged",)],
                "the acknowledgement stands")
        t.check(gw.sql("SELECT l.result FROM call_leg l JOIN call c ON c.id = l.call_id WHERE l.kind = 'wearer' "
                       "ORDER BY l.id DESC LIMIT 1") == [("no_answer",)], "the watch's second leg: no answer")

        # ---- sos-call-wearer off: no call to the watch ----
        gw.vty(["configure terminal", "gateway", "sos-call-wearer off", "end"])
        t.check("sos-call-wearer off" in gw.vty("show running-config"), "the setting shows in the running config")
        t.check(gw.stop() == 0, "linlid exits 0 on SIGTERM")
    finally:
        for s in sipps:
            s.stop()
        for p in peers:
            p.close()
        kam.stop()
        gw.close()


linli.run(main)
