"""Group-call set-up time: from the caller's INVITE reaching Kamailio to the last of the nine
neighbour INVITEs leaving it, through the real stack (sipp phones, Kamailio with
routes/kamailio.cfg, linlid's sofia-sip user agent), on loopback.

    python3 bench/callsetup.py [CALLS]

Each call: a trunk caller (sipp) INVITEs 6995; linlid answers and INVITEs the nine other
households of group W1-1, whose phones (sipp, registered with Kamailio) answer 486 at once; with
nobody reachable the grid worker and staff numbers get 404 and linlid releases the caller. Times
come from the sipp message traces: the caller's INVITE sent (~ at Kamailio, loopback) and each
neighbour's INVITE received (~ sent by Kamailio).

The reference, measured in the same run on the same Kamailio: one INVITE from the trunk to one
registered phone (answered 486), sent -> received, i.e. one relay through Kamailio. The ratio says
how many plain relays the group set-up costs (it is at least two: caller -> linlid -> neighbour).
Also linlid's own part (INVITE in -> nine INVITEs handed to the stack) from the call table.
Prints "name value unit" lines for bench/run.sh.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
import kamailio  # noqa: E402
import linli  # noqa: E402
from sipp_util import Sipp  # noqa: E402

CALLER = "+8613800138001"
NEIGHBOURS = ["+8613800138002", "+8613800138003", "+8613800138004", "+8613800138005", "+8613800138006",
              "+8613800138007", "+8613800138008", "+8613800138009", "+8613800138902"]
REF_PHONE = "+8613800138998"


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    ua_port = kamailio.free_udp_port()
    kport = kamailio.free_udp_port()
    cport = kamailio.free_udp_port()
    rport = kamailio.free_udp_port()
    cfg = ("sip-bind 127.0.0.1 %d\nsip-proxy 127.0.0.1 %d\ncall-ring-timeout 5\ncall-join-timeout 3\n"
           "rtp-ports 36000 36998\nprompts-dir %s\n" % (ua_port, kport, os.path.join(linli.BUILD, "prompts")))
    gw = linli.Gateway(nmodems=0, extra_gateway_cfg=cfg)
    path = os.path.join(gw.dir, "households.csv")
    with open(path, "w") as f:
        f.write("household,group,building,unit,room,number,name\n"
                "1-2-502,W1-1,1幢,2单元,502,13800138902,钱进\n1-2-503,W3-4,12幢,2单元,503,13800138998,参照\n")
    gw.linlictl("import", "households", path)
    subs = {n: "pw" for n in NEIGHBOURS + [REF_PHONE]}
    kam = kamailio.start(gw.db, "127.0.0.1", port=kport, linli_ua="127.0.0.1:%d" % ua_port,
                         trunks=["127.0.0.1:%d" % cport, "127.0.0.1:%d" % rport], subscribers=subs,
                         workdir=gw.dir)
    phones = []
    try:
        gw.start()
        linli.wait_for(lambda: "user agent listening" in gw.log_tail(200), 30, "linlid's SIP user agent")
        for i, num in enumerate(NEIGHBOURS + [REF_PHONE]):
            port = kamailio.free_udp_port()
            phones.append(Sipp(gw.dir, "ph%d" % i, "neighbour_busy.xml", port, extra=["-m", str(calls)]))
            reg = Sipp(gw.dir, "reg%d" % i, "register.xml", kamailio.free_udp_port(), "127.0.0.1:%d" % kport,
                       keys={"user": num, "contact_port": port}, extra=["-au", num, "-ap", "pw"])
            if reg.wait(30) != 0:
                raise AssertionError("%s did not register: %s" % (num, reg.errors()))
            reg.stop()
        setup, relay = [], []
        for k in range(calls):
            # the reference: one relay of one INVITE through Kamailio to a registered phone
            ref = Sipp(gw.dir, "ref%d" % k, "caller_busy.xml", rport, "127.0.0.1:%d" % kport,
                       keys={"caller": CALLER, "rtp_port": 4000}, extra=["-s", REF_PHONE])
            if ref.wait(30) != 0:
                raise AssertionError("reference call failed: %s" % ref.errors())
            ref.stop()
            rp = phones[-1]
            linli.wait_for(lambda: len(rp.times(("received", "INVITE"))) > k, 10, "the reference INVITE")
            relay.append(rp.times(("received", "INVITE"))[k] - ref.times(("sent", "INVITE"))[0])
            # the group call
            c = Sipp(gw.dir, "call%d" % k, "caller_hungup.xml", cport, "127.0.0.1:%d" % kport,
                     keys={"caller": CALLER, "rtp_port": 4002}, extra=["-s", "6995"])
            if c.wait(60) != 0:
                raise AssertionError("group call %d failed: %s" % (k, c.errors()))
            c.stop()
            t0 = c.times(("sent", "INVITE"))[0]
            last = 0
            for p in phones[:-1]:
                linli.wait_for(lambda: len(p.times(("received", "INVITE"))) > k, 10, "INVITE %d at a phone" % k)
                last = max(last, p.times(("received", "INVITE"))[k])
            setup.append(last - t0)
        inner = [r[0] for r in gw.sql("SELECT dialed_ms - started_ms FROM call WHERE dialed_ms IS NOT NULL")]
        med_setup = statistics.median(setup) * 1000
        med_relay = statistics.median(relay) * 1000
        print("callsetup_9_neighbours_median %.1f ms (caller's INVITE at Kamailio -> 9th neighbour INVITE out, "
              "%d calls)" % (med_setup, calls))
        print("callsetup_9_neighbours_max %.1f ms" % (max(setup) * 1000))
        print("callsetup_linlid_median %.1f ms (INVITE in -> 9 INVITEs queued to the stack, before the commit; call table)"
              % statistics.median(inner))
        print("callsetup_ref_relay_median %.2f ms (one INVITE relayed by Kamailio to a registered phone)"
              % med_relay)
        print("callsetup_vs_relay %.1f x one Kamailio relay" % (med_setup / med_relay))
    finally:
        for p in phones:
            p.stop()
        kam.stop()
        gw.close()
        gw.cleanup()


if __name__ == "__main__":
    main()
