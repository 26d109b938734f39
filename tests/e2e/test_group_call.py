"""The 6995 group call end to end: real Kamailio (routes/kamailio.cfg), real linlid with its sofia-sip
user agent and G.711 mixer, sipp as every phone (each its own process and port, loopback only) and a
tests/e2e/rtp.py peer behind each phone's SDP, so the media is checked, not only the signalling.

1. A caller (a trunk peer) and nine neighbours (SIP phones registered with Kamailio): all nine
   INVITEs go out; four answer and press 1 (RFC 4733 from their RTP peer), two answer and never
   press 1 (released with BYE after the prompt), three never answer (CANCEL after the ring time).
   Every party sends its own tone: the caller hears the four who joined and not itself, each
   joined neighbour hears the caller and the other three and not itself, nobody hears the two who
   never pressed 1. The caller hangs up: every joined leg gets BYE. The call and its legs are in
   the database.
2. Nobody answers (no neighbour reachable): the grid worker's phone rings (then is cancelled), the
   duty staff number is tried, the group gets an SMS (queued in the database), the caller is
   released.
3. An unknown number calling 6995 is refused, by Kamailio and by linlid itself.
4. A household whose group has no other household: answered, the no_group prompt plays, BYE, and
   the reason is logged and recorded.
5. The missed-call trigger (`missed-call group-call`): that household rings a GSM modem (modemsim,
   real libgammu); the call is rejected and linlid calls the household back through Kamailio; its
   phone answers and the call goes on as if it had dialled 6995 (here: the no_group prompt).
"""
import os
import time

import kamailio
import linli
from rtp import RtpPeer
from sipp_util import Sipp

CALLER = "+8613800138001"           # 1-1-101, group W1-1
NEIGHBOURS = ["+8613800138002", "+8613800138003", "+8613800138004", "+8613800138005", "+8613800138006",
              "+8613800138007", "+8613800138008", "+8613800138009", "+8613800138901"]
JOIN = NEIGHBOURS[:4]
VOICEMAIL = NEIGHBOURS[4:6]
NOANSWER = NEIGHBOURS[6:]
CALLER_TONE = 440
TONES = {JOIN[0]: 560, JOIN[1]: 1000, JOIN[2]: 1150, JOIN[3]: 1800, VOICEMAIL[0]: 2100, VOICEMAIL[1]: 2400}
LONELY = "+8613800138999"          # the only household of group W1-9
CALLER2 = "+8613800138010"          # 2-1-101, group W1-2, nobody reachable
WORKER = "+8613900139001"           # grid W1's worker
RING_S = 8
JOIN_S = 3


def import_csv(gw, kind, header, rows):
    path = os.path.join(gw.dir, "%s.csv" % kind)
    with open(path, "w") as f:
        f.write(header + "\n" + "\n".join(rows) + "\n")
    gw.linlictl("import", kind, path)


def main(t):
    build = linli.BUILD
    ua_port = kamailio.free_udp_port()
    kport = kamailio.free_udp_port()
    caller_ports = [kamailio.free_udp_port() for _ in range(5)]
    rtp_lo = 20000 + (os.getpid() % 200) * 100
    prompts = os.path.join(build, "prompts")
    cfg = ("sip-bind 127.0.0.1 %d\nsip-proxy 127.0.0.1 %d\nshort-code 6995\ncall-ring-timeout %d\n"
           "call-join-timeout %d\nrtp-ports %d %d\nprompts-dir %s\nmissed-call group-call\n"
           % (ua_port, kport, RING_S, JOIN_S, rtp_lo, rtp_lo + 98, prompts))
    gw = linli.Gateway(nmodems=1, extra_gateway_cfg=cfg)
    # a tenth household for W1-1 (caller + nine neighbours), and a group with a single household
    import_csv(gw, "groups", "group,grid,name", ["W1-9,W1,9幢联户组"])
    import_csv(gw, "households", "household,group,building,unit,room,number,name",
               ["1-2-502,W1-1,1幢,2单元,502,13800138901,钱进", "19-1-101,W1-9,19幢,1单元,101,13800138999,孤雁"])
    t.check(os.path.exists(os.path.join(prompts, "press1.ul")), "the prompts were rendered at build time")

    subs = {n: "pw" + n[-4:] for n in NEIGHBOURS + [WORKER, LONELY]}
    kam = kamailio.start(gw.db, "127.0.0.1", port=kport, linli_ua="127.0.0.1:%d" % ua_port,
                         trunks=["127.0.0.1:%d" % p for p in caller_ports], subscribers=subs,
                         workdir=gw.dir)
    sipps, peers = [], []
    try:
        gw.start()
        linli.wait_for(lambda: "user agent listening" in gw.log_tail(200), 30, "linlid's SIP user agent")

        # ---- the nine neighbours: a phone (sipp UAS) registered with Kamailio, an RTP peer each ----
        nb = {}
        for i, num in enumerate(NEIGHBOURS):
            peer = RtpPeer(name=num[-4:])
            peers.append(peer)
            port = kamailio.free_udp_port()
            scen = "neighbour_noanswer.xml" if num in NOANSWER else "neighbour_answer.xml"
            s = Sipp(gw.dir, "nb%d" % i, scen, port, keys={"rtp_port": peer.port})
            sipps.append(s)
            nb[num] = (s, peer)
            reg = Sipp(gw.dir, "reg%d" % i, "register.xml", kamailio.free_udp_port(), "127.0.0.1:%d" % kport,
                       keys={"user": num, "contact_port": port}, extra=["-au", num, "-ap", subs[num]])
            rc = reg.wait(30)
            reg.stop()
            if not t.check(rc == 0, "%s's phone registered with Kamailio (sipp %s) %s" % (num, rc, reg.errors())):
                return

        # ---- the caller ----
        cpeer = RtpPeer(name="caller")
        peers.append(cpeer)
        cpeer.tone(CALLER_TONE)
        t0 = time.time()
        caller = Sipp(gw.dir, "caller", "caller.xml", caller_ports[0], "127.0.0.1:%d" % kport,
                      keys={"caller": CALLER, "rtp_port": cpeer.port}, extra=["-s", "6995", "-d", "24000"])
        sipps.append(caller)
        port = linli.wait_for(lambda: caller.remote_rtp_port(cpeer.port), 20, "linlid's answer to the caller")
        cpeer.set_remote("127.0.0.1", port)

        # all nine INVITEs go out; the answering phones' peers learn linlid's port from the INVITE
        for num in NEIGHBOURS:
            s, peer = nb[num]
            p = linli.wait_for(lambda: s.remote_rtp_port(peer.port), 20, "the INVITE to %s" % num)
            if num in TONES:
                peer.set_remote("127.0.0.1", p)
                peer.tone(TONES[num])
        t.check(True, "all nine neighbours got an INVITE within %.1fs" % (time.time() - t0))
        for num in JOIN:
            # once linlid sends to it, the leg is answered and listens: press 1
            peer = nb[num][1]
            linli.wait_for(lambda: peer.packets > 0, 20, "the prompt reaching %s" % num)
            peer.send_digit("1")

        def joined():
            return gw.sql("SELECT count(*) FROM call_leg WHERE kind = 'neighbour' AND joined_at IS NOT NULL")[0][0]
        linli.wait_for(lambda: joined() == 4, 20, "four neighbours joined")

        # ---- media: who hears whom (polled until the prompts are over, then judged on one window) ----
        others = [TONES[n] for n in JOIN]

        def caller_hears_all():
            return all(cpeer.hears(f) for f in others)
        linli.wait_for(caller_hears_all, 20, "the caller hearing the four who joined", 0.2)
        lv = cpeer.levels([CALLER_TONE] + others + [TONES[n] for n in VOICEMAIL])
        t.check(all(lv[f] >= 0.25 * cpeer.amplitude for f in others), "the caller hears all four joined: %s" % lv)
        t.check(lv[CALLER_TONE] < 0.05 * cpeer.amplitude, "the caller does not hear itself (%.0f)" % lv[CALLER_TONE])
        t.check(all(lv[TONES[n]] < 0.05 * cpeer.amplitude for n in VOICEMAIL),
                "the caller does not hear the two who never pressed 1")
        for num in JOIN:
            peer = nb[num][1]
            want = [CALLER_TONE] + [TONES[n] for n in JOIN if n != num]
            linli.wait_for(lambda: all(peer.hears(f) for f in want), 20, "%s hearing the others" % num, 0.2)
            lv = peer.levels([CALLER_TONE] + others)
            t.check(all(lv[f] >= 0.25 * peer.amplitude for f in want),
                    "%s hears the caller and the other three: %s" % (num, lv))
            t.check(lv[TONES[num]] < 0.05 * peer.amplitude, "%s does not hear itself (%.0f)" % (num, lv[TONES[num]]))
        t.check(nb[JOIN[0]][1].packets > 0 and not nb[JOIN[0]][1].malformed, "RTP well formed")

        # ---- the two that never press 1 are released after the prompt; three are cancelled ----
        for num in VOICEMAIL + NOANSWER:
            rc = nb[num][0].wait(40)
            t.check(rc == 0, "%s: %s (sipp exit %s) %s" % (num, "BYE after the prompt" if num in VOICEMAIL
                                                                  else "CANCEL after the ring time", rc,
                                                                  nb[num][0].errors()))
        t.check(gw.sql("SELECT count(*) FROM call WHERE ended_at IS NULL")[0][0] == 1,
                "the call goes on while they leave")

        # ---- the caller hangs up: every joined leg gets BYE ----
        rc = caller.wait(60)
        t.check(rc == 0, "the caller's call went through and its BYE was answered (sipp %s) %s" % (rc, caller.errors()))
        for num in JOIN:
            rc = nb[num][0].wait(30)
            t.check(rc == 0, "%s got BYE when the caller hung up (sipp %s) %s" % (num, rc, nb[num][0].errors()))

        linli.wait_for(lambda: gw.sql("SELECT ended_at FROM call")[0][0], 10, "the call recorded as ended")
        call = gw.sql("SELECT id, caller, state, end_reason, first_join_at IS NOT NULL, dialed_ms - started_ms "
                      "FROM call")[0]
        t.check(call[2:5] == ("released", "caller_hangup", 1), "call recorded: %s" % (call,))
        legs = dict((r[0], r[1:]) for r in gw.sql("SELECT number, kind, result, answered_at IS NOT NULL, "
                                                  "joined_at IS NOT NULL, ended_at IS NOT NULL FROM call_leg "
                                                  "WHERE call_id = ?", (call[0],)))
        t.check(legs.get(CALLER) == ("caller", "left", 1, 0, 1), "the caller's leg: %s" % (legs.get(CALLER),))
        t.check(all(legs.get(n) == ("neighbour", "released", 1, 1, 1) for n in JOIN), "four joined, released at the "
                "end: %s" % [legs.get(n) for n in JOIN])
        t.check(all(legs.get(n) == ("neighbour", "no_key", 1, 0, 1) for n in VOICEMAIL),
                "two answered without a 1: %s" % [legs.get(n) for n in VOICEMAIL])
        t.check(all(legs.get(n) == ("neighbour", "no_answer", 0, 0, 1) for n in NOANSWER),
                "three never answered: %s" % [legs.get(n) for n in NOANSWER])
        t.check(len(legs) == 10, "ten legs recorded (%d)" % len(legs))
        vm_end = gw.sql("SELECT CASE WHEN count(*) > 0 AND sum(CASE WHEN l.ended_at <= c.ended_at THEN 1 ELSE 0 END)"
                        " = count(*) THEN 1 ELSE 0 END FROM call_leg l JOIN call c ON c.id = l.call_id"
                        " WHERE l.result = 'no_key'")[0][0]
        t.check(vm_end == 1, "the voicemail legs ended before the call")
        print("set-up: all neighbour INVITEs handed to the stack %d ms after the INVITE reached linlid" % call[5])
        vty = gw.vty("show calls")
        t.check("from %s state released joined 4/9 end caller_hangup" % CALLER in vty, "VTY show calls: %s" % vty)
        show = gw.linlictl("call", "show", str(call[0]), check=False)
        t.check(show.returncode == 0 and CALLER in show.stdout and "no_key" in show.stdout,
                "linlictl call show: %s" % show.stdout[:300])

        # ---- nobody reachable: the grid worker rings, the staff number is tried, the group SMS ----
        wpeer = RtpPeer(name="worker")
        peers.append(wpeer)
        wport = kamailio.free_udp_port()
        worker = Sipp(gw.dir, "worker", "neighbour_noanswer.xml", wport, keys={"rtp_port": wpeer.port})
        sipps.append(worker)
        reg = Sipp(gw.dir, "regw", "register.xml", kamailio.free_udp_port(), "127.0.0.1:%d" % kport,
                   keys={"user": WORKER, "contact_port": wport}, extra=["-au", WORKER, "-ap", subs[WORKER]])
        t.check(reg.wait(30) == 0, "the grid worker's phone registered")
        reg.stop()
        c2peer = RtpPeer(name="caller2")
        peers.append(c2peer)
        caller2 = Sipp(gw.dir, "caller2", "caller_hungup.xml", caller_ports[1], "127.0.0.1:%d" % kport,
                       keys={"caller": CALLER2, "rtp_port": c2peer.port}, extra=["-s", "6995"])
        sipps.append(caller2)
        rc = worker.wait(60)
        t.check(rc == 0, "the grid worker's phone rang and was cancelled (sipp %s) %s" % (rc, worker.errors()))
        rc = caller2.wait(60)
        t.check(rc == 0, "the caller was released at the end (sipp %s) %s" % (rc, caller2.errors()))
        c2 = gw.sql("SELECT id, end_reason FROM call WHERE caller = ?", (CALLER2,))
        t.check(len(c2) == 1 and c2[0][1] == "nobody", "second call recorded as nobody: %s" % c2)
        wl = gw.sql("SELECT kind, result FROM call_leg WHERE call_id = ? AND number = ?", (c2[0][0], WORKER))
        t.check(wl == [("grid_worker", "no_answer")], "the grid worker was called: %s" % wl)
        members = [r[0] for r in gw.sql("SELECT number FROM linli_group_members WHERE group_code = 'W1-2' "
                                        "AND is_primary = 1 AND number != ?", (CALLER2,))]
        sms = dict(gw.sql("SELECT dest, text FROM sms_out WHERE text LIKE '%6995%'"))
        t.check(len(members) == 8 and all(m in sms for m in members),
                "every other household of the group got the SMS (%d of %d)" % (len(set(sms) & set(members)),
                                                                               len(members)))
        t.check(all("2幢1单元101室" in sms[m] for m in members if m in sms), "the SMS says who: %s"
                % next(iter(sms.values()), ""))

        # ---- unknown caller: refused by Kamailio, and by linlid when asked directly ----
        r1 = Sipp(gw.dir, "unknown-k", "caller_refused.xml", caller_ports[2], "127.0.0.1:%d" % kport,
                  keys={"caller": "+8613912345678", "rtp_port": 4000}, extra=["-s", "6995"])
        r2 = Sipp(gw.dir, "unknown-ua", "caller_refused.xml", caller_ports[3], "127.0.0.1:%d" % ua_port,
                  keys={"caller": "+8613912345678", "rtp_port": 4000}, extra=["-s", "6995"])
        t.check(r1.wait(30) == 0, "an unknown number is refused by Kamailio %s" % r1.errors())
        t.check(r2.wait(30) == 0, "an unknown number is refused by linlid's user agent %s" % r2.errors())
        r1.stop()
        r2.stop()
        t.check("6995 from unknown number '+8613912345678': 403" in gw.log_tail(400), "linlid logged the refusal")

        # ---- a household with no other household in its group ----
        lpeer = RtpPeer(name="lonely")
        peers.append(lpeer)
        lonely = Sipp(gw.dir, "lonely", "caller_hungup.xml", caller_ports[4], "127.0.0.1:%d" % kport,
                      keys={"caller": LONELY, "rtp_port": lpeer.port}, extra=["-s", "6995"])
        sipps.append(lonely)
        port = linli.wait_for(lambda: lonely.remote_rtp_port(lpeer.port), 20, "linlid answering the lonely caller")
        lpeer.set_remote("127.0.0.1", port)
        rc = lonely.wait(40)
        t.check(rc == 0, "answered, then released after the prompt (sipp %s) %s" % (rc, lonely.errors()))
        t.check(lpeer.rms(seconds=4) > 200 or lpeer.packets > 100, "the no_group prompt was played (%d packets)"
                % lpeer.packets)
        lc = gw.sql("SELECT end_reason, note FROM call WHERE caller = ?", (LONELY,))
        t.check(lc and lc[0][0] == "no_group" and "no other household" in (lc[0][1] or ""),
                "recorded as no_group with the reason: %s" % lc)
        t.check("the group has no other household to call: playing no_group" in gw.log_tail(400),
                "the reason is logged")
        t.check(gw.sql("SELECT count(*) FROM call_leg WHERE call_id = (SELECT id FROM call WHERE caller = ?)",
                       (LONELY,))[0][0] == 1, "nobody else was called")

        # ---- the missed-call trigger: the household rings a modem, linlid calls it back ----
        bpeer = RtpPeer(name="back")
        peers.append(bpeer)
        bport = kamailio.free_udp_port()
        back = Sipp(gw.dir, "back", "neighbour_answer.xml", bport, keys={"rtp_port": bpeer.port})
        sipps.append(back)
        reg = Sipp(gw.dir, "regb", "register.xml", kamailio.free_udp_port(), "127.0.0.1:%d" % kport,
                   keys={"user": LONELY, "contact_port": bport}, extra=["-au", LONELY, "-ap", subs[LONELY]])
        t.check(reg.wait(30) == 0, "the household's SIP phone registered %s" % reg.errors())
        reg.stop()
        t.check(gw.modems[0].ctl("ring %s 0" % LONELY).startswith("ok"), "the household rings the modem")
        p = linli.wait_for(lambda: back.remote_rtp_port(bpeer.port), 30, "linlid calling the household back")
        bpeer.set_remote("127.0.0.1", p)
        rc = back.wait(40)
        t.check(rc == 0, "called back, answered, the prompt, then BYE (sipp %s) %s" % (rc, back.errors()))
        t.check(bpeer.packets > 100, "the household heard the prompt (%d packets)" % bpeer.packets)
        bc = gw.sql("SELECT end_reason, note FROM call WHERE caller = ? ORDER BY id DESC LIMIT 1", (LONELY,))
        t.check(bc and bc[0][0] == "no_group" and (bc[0][1] or "").startswith("called back after a missed call"),
                "the call back recorded: %s" % bc)
        t.check("missed call from %s: group call started by calling back" % LONELY in gw.log_tail(600),
                "the modem side logged it")
    finally:
        for s in sipps:
            s.stop()
        for p in peers:
            p.close()
        if t.failures:
            print("---- kamailio log, last lines ----")
            print(kam.log_tail(40))
        kam.stop()
        rc = gw.stop()
        t.check(rc == 0, "linlid stopped cleanly (%s)" % rc)


if __name__ == "__main__":
    linli.run(main)
