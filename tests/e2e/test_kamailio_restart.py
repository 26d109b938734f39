"""Kamailio restarted during a group call (issue 13, fault injection). Kamailio keeps its dialogs in
memory (routes/kamailio.cfg: the dialog module, db_mode 0), and relays a phone's in-dialog request
only for a dialog it knows: after a restart it refuses the BYE of a phone whose call was set up
before (403), so linlid would never hear that the phone hung up. linlid's rtp-timeout ends such a
leg when its RTP stops; the rest of the call goes on, and ends normally.

Real Kamailio, real linlid, sipp as the caller (a trunk peer) and three neighbours' phones
(registered with Kamailio), a tests/e2e/rtp.py peer behind each. The three answer and press 1;
Kamailio is stopped and started again; one neighbour hangs up (its BYE refused by the new Kamailio)
and its RTP stops: linlid ends its leg after rtp-timeout, the caller and the two others still hear
each other; the caller hangs up (a trunk peer's BYE goes through): the two get linlid's BYE."""
import kamailio
import linli
from rtp import RtpPeer
from sipp_util import Sipp

CALLER = "+8613800138001"
STAY = ["+8613800138002", "+8613800138003"]
LEAVER = "+8613800138004"
TONES = {CALLER: 440, STAY[0]: 1000, STAY[1]: 1500, LEAVER: 700}
RTP_TIMEOUT = 5


def main(t):
    ua_port = kamailio.free_udp_port()
    kport = kamailio.free_udp_port()
    cport = kamailio.free_udp_port()
    rtp_lo = 20000 + (__import__("os").getpid() % 100) * 100
    cfg = ("sip-bind 127.0.0.1 %d\nsip-proxy 127.0.0.1 %d\nshort-code 6995\ncall-ring-timeout 6\n"
           "call-join-timeout 20\nrtp-ports %d %d\nprompts-dir %s\nrtp-timeout %d\n"
           % (ua_port, kport, rtp_lo, rtp_lo + 98, linli.BUILD + "/prompts", RTP_TIMEOUT))
    gw = linli.Gateway(nmodems=1, extra_gateway_cfg=cfg)
    subs = {n: "pw" + n[-4:] for n in STAY + [LEAVER]}
    kargs = dict(port=kport, linli_ua="127.0.0.1:%d" % ua_port, trunks=["127.0.0.1:%d" % cport],
                 subscribers=subs, workdir=gw.dir)
    kam = kamailio.start(gw.db, "127.0.0.1", **kargs)
    sipps, peers = [], []
    try:
        gw.start()
        linli.wait_for(lambda: "user agent listening" in gw.log_tail(200), 30, "linlid's SIP user agent")
        nb = {}
        for num in STAY + [LEAVER]:
            peer = RtpPeer(name=num[-4:])
            peers.append(peer)
            port = kamailio.free_udp_port()
            if num == LEAVER:
                s = Sipp(gw.dir, "leaver", "answer_hangup.xml", port, keys={"rtp_port": peer.port},
                         extra=["-d", "14000"])
            else:
                s = Sipp(gw.dir, "nb" + num[-4:], "neighbour_answer.xml", port, keys={"rtp_port": peer.port})
            sipps.append(s)
            nb[num] = (s, peer)
            reg = Sipp(gw.dir, "reg" + num[-4:], "register.xml", kamailio.free_udp_port(), "127.0.0.1:%d" % kport,
                       keys={"user": num, "contact_port": port}, extra=["-au", num, "-ap", subs[num]])
            rc = reg.wait(30)
            reg.stop()
            t.check(rc == 0, "%s's phone registered (sipp %s) %s" % (num, rc, reg.errors()))

        cpeer = RtpPeer(name="caller")
        peers.append(cpeer)
        cpeer.tone(TONES[CALLER])
        caller = Sipp(gw.dir, "caller", "caller.xml", cport, "127.0.0.1:%d" % kport,
                      keys={"caller": CALLER, "rtp_port": cpeer.port}, extra=["-s", "6995", "-d", "40000"])
        sipps.append(caller)
        cpeer.set_remote("127.0.0.1", linli.wait_for(lambda: caller.remote_rtp_port(cpeer.port), 20,
                                                     "linlid's answer to the caller"))
        for num, (s, peer) in nb.items():
            peer.set_remote("127.0.0.1", linli.wait_for(lambda: s.remote_rtp_port(peer.port), 20,
                                                        "the INVITE to %s" % num))
            peer.tone(TONES[num])
            linli.wait_for(lambda: peer.packets > 0, 20, "the prompt reaching %s" % num)
            peer.send_digit("1")
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM call_leg WHERE joined_at IS NOT NULL")[0][0] == 3, 30,
                       "three neighbours joined")
        t.check(True, "three neighbours joined the call")

        # ---- Kamailio restarts: it forgets the dialogs ----
        kam.stop()
        kam = kamailio.start(gw.db, "127.0.0.1", **kargs)
        t.check(True, "Kamailio stopped and started again during the call")

        # ---- the leaver hangs up: its BYE is refused (403), its RTP stops ----
        rc = nb[LEAVER][0].wait(40)
        nb[LEAVER][1].close()
        t.check(rc != 0 and "403" in nb[LEAVER][0].text(),
                "the new Kamailio refused the leaver's BYE for a dialog it does not know (sipp %s)" % rc)
        linli.wait_for(lambda: gw.sql("SELECT result FROM call_leg WHERE number = ?", (LEAVER,))[0][0], RTP_TIMEOUT + 20,
                       "linlid ending the silent leg", 0.2)
        res = gw.sql("SELECT result, ended_at IS NOT NULL FROM call_leg WHERE number = ?", (LEAVER,))[0]
        t.check(res == ("media_timeout", 1), "linlid ended the leaver's leg when its RTP stopped: %s" % (res,))
        t.check("no RTP from %s for %d s" % (LEAVER, RTP_TIMEOUT) in gw.log_tail(400), "and logged why")
        t.check(gw.sql("SELECT count(*) FROM call WHERE ended_at IS NULL")[0][0] == 1, "the call goes on")
        p1 = nb[STAY[0]][1]
        linli.wait_for(lambda: p1.hears(TONES[CALLER]) and p1.hears(TONES[STAY[1]]), 20,
                       "the others still hearing each other", 0.2)
        lv = p1.levels([TONES[CALLER], TONES[STAY[1]], TONES[LEAVER]])
        t.check(lv[TONES[LEAVER]] < 0.05 * p1.amplitude, "nobody hears the leaver any more: %s" % lv)

        # ---- the caller hangs up (a trunk peer: relayed), the two get BYE ----
        rc = caller.wait(60)
        t.check(rc == 0, "the caller's BYE went through the new Kamailio (sipp %s) %s" % (rc, caller.errors()))
        for num in STAY:
            rc = nb[num][0].wait(30)
            t.check(rc == 0, "%s got linlid's BYE through the new Kamailio (sipp %s) %s" % (num, rc,
                                                                                       nb[num][0].errors()))
        linli.wait_for(lambda: gw.sql("SELECT ended_at FROM call")[0][0], 20, "the call recorded as ended")
        call = gw.sql("SELECT end_reason FROM call")[0]
        t.check(call == ("caller_hangup",), "the call ended by the caller: %s" % (call,))
        t.check("rtp-timeout %d" % RTP_TIMEOUT in gw.vty("show running-config"), "rtp-timeout in the config")
        t.check(gw.stop() == 0, "linlid stopped cleanly")
    finally:
        for s in sipps:
            s.stop()
        for p in peers:
            p.close()
        kam.stop()
        gw.close()


linli.run(main)
