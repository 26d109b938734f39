"""linli's own AT+CMGS path (modem/mdm_send.c) against libgammu's GSM_SendSMS, through emulated
modems and the real libgammu:
- the PDUs on the wire are the same on both paths (GSM 7-bit, UCS-2, concatenated, with and
  without a status-report request);
- +CMTI/+CDSI released between the prompt and the PDU, during the air time and right after OK
  are all stored (the safety-net listing is off), vendor noise is ignored, a RING is rejected;
- AT+CMMS=2 is sent, and a modem that refuses it still sends;
- a prompt that never comes times out (ESC, AT) and the modem sends again; a modem that hangs
  mid-send is reset and, answering again, sends again;
- a modem reached through `connection proxyat` sends through GSM_SendSMS, beside one on the
  own path in the same linlid."""
import os

import linli

TEXTS = [
    "Hello linli 1",
    "GSM ext: [brackets] {braces} ~tilde~ |pipe| €euro",
    "您好，您报的事已受理。",
    "Long English: " + "The quick brown fox jumps over the lazy dog. " * 8,
    "长中文：" + "邻里互助，一户拨打九户帮。" * 12,
]


def tpdu_fields(hexpdu):
    """(SMSC field, first octet, TPDU with the concatenation reference masked) of a wire PDU."""
    b = bytearray.fromhex(hexpdu)
    sca = b[0] + 1
    t = b[sca:]
    first = t[0]
    da_digits = t[2]
    i = 3 + 1 + (da_digits + 1) // 2  # MTI.., MR, DA length, TOA, digits
    i += 2  # PID, DCS
    if first & 0x18 == 0x10:
        i += 1  # relative VP
    i += 1  # UDL
    if first & 0x40:  # UDHI
        udhl = t[i]
        j = i + 1
        while j < i + 1 + udhl:
            iei, ln = t[j], t[j + 1]
            if iei == 0x00 and ln == 3:
                t[j + 2] = 0  # the reference differs from message to message, not by path
            j += 2 + ln
    return bytes(b[:sca]).hex(), first, bytes(t).hex()


def wire(m):
    rows = m.ctl_list("sentpdus")
    return [(int(r.split("\t")[1]), r.split("\t")[2]) for r in rows]


def wait_sent(gw, ids, timeout=120):
    def done():
        rows = gw.sql("SELECT count(*) FROM sms_out WHERE state IN ('sent','failed') AND id IN (%s)" %
                      ",".join(str(i) for i in ids))
        return rows[0][0] == len(ids)
    linli.wait_for(done, timeout, "messages %s sent" % ids, 0.05)


def same_pdus(t):
    gws = {}
    for path in ("own", "gammu"):
        for reports in ("on", "off"):
            gws[(path, reports)] = linli.Gateway(
                nmodems=1, sample=False, modem_cfg="send-path %s\ndelivery-reports %s" % (path, reports))
    try:
        for gw in gws.values():
            gw.start(wait_ready=False)
        for gw in gws.values():
            gw.wait_modems_ready()
        for key, gw in gws.items():
            out = gw.vty("show modems")
            want = "own AT+CMGS" if key[0] == "own" else "GSM_SendSMS (send-path gammu)"
            t.check(want in out, "%s/reports %s: show modems says %s" % (key[0], key[1], want))
            ids = [gw.send("+8613900000%03d" % i, text) for i, text in enumerate(TEXTS)]
            wait_sent(gw, ids)
            st = gw.sql("SELECT count(*) FROM sms_out WHERE state='sent'")[0][0]
            t.check(st == len(TEXTS), "%s/reports %s: all %d sent (%d)" % (key[0], key[1], len(TEXTS), st))
        for reports in ("on", "off"):
            own = wire(gws[("own", reports)].modems[0])
            gam = wire(gws[("gammu", reports)].modems[0])
            t.check(len(own) == len(gam) and len(own) >= len(TEXTS) + 4,
                    "reports %s: as many parts on both paths (%d, %d)" % (reports, len(own), len(gam)))
            fo = sorted((n,) + tpdu_fields(h) for n, h in own)
            fg = sorted((n,) + tpdu_fields(h) for n, h in gam)
            t.check(fo == fg, "reports %s: AT+CMGS lengths, SMSC fields and TPDUs identical on both paths" % reports)
            if fo != fg:
                for a, b in zip(fo, fg):
                    if a != b:
                        print("   own   %s\n   gammu %s" % (a, b))
                        break
            srr = set(bool(f[2] & 0x20) for f in fo)
            t.check(srr == {reports == "on"}, "reports %s: TP-SRR %s in every PDU" % (reports, reports))
            dcs_ucs2 = [f for f in fo if f[2] & 0x40]
            t.check(len(dcs_ucs2) >= 4, "reports %s: concatenated parts among them (%d)" % (reports, len(dcs_ucs2)))
        for key, gw in gws.items():
            t.check(gw.stop() == 0, "%s/reports %s: linlid exits 0" % key)
    finally:
        for gw in gws.values():
            gw.close()


def stored_texts(gw):
    return sorted(r[0] for r in gw.sql("SELECT text FROM sms_in"))


def mid_send(t):
    # no safety-net listing: what is stored is only what the unsolicited lines announced
    gw = linli.Gateway(nmodems=1, airtime_ms=300, sample=False, modem_cfg="poll-interval 3600", at_log=True)
    gw.start()
    try:
        m = gw.modems[0]
        wait_sent(gw, [gw.send("+8613900000001", "warm-up")])
        linli.wait_for(lambda: gw.sql("SELECT delivery FROM sms_out")[0][0] == "delivered", 30, "warm-up report")
        t.check(m.ctl("urc-hold on").startswith("ok"), "the modem holds its unsolicited lines back")

        m.deliver("+8613711110001", "between prompt and PDU 1")
        m.deliver("+8613711110002", "between prompt and PDU 2")
        m.ctl("inject prompt release")
        x1 = gw.send("+8613900000002", "x1")
        wait_sent(gw, [x1])
        t.check(int(m.stats()["injected"]) == 2, "two +CMTI came between the prompt and the PDU")

        m.deliver("+8613711110003", "during the air time")
        m.ctl("inject airtime release")
        m.ctl("inject airtime line ^BOOT:12345678,0,0,0,75")
        m.ctl("inject airtime line RING")
        m.ctl("inject airtime line +CLIP: \"+8613711119999\",145,,,,0")
        x2 = gw.send("+8613900000003", "x2")
        wait_sent(gw, [x2])
        t.check(int(m.stats()["injected"]) >= 6, "+CMTI, +CDSI of x1, ^BOOT, RING, +CLIP came during the air time")

        m.deliver("+8613711110004", "right after OK")
        m.ctl("inject ok release")
        x3 = gw.send("+8613900000004", "x3")
        wait_sent(gw, [x3])
        t.check(int(m.stats()["injected"]) >= 7, "+CMTI (and +CDSI of x2) came right after OK")

        want = sorted(["between prompt and PDU 1", "between prompt and PDU 2", "during the air time",
                       "right after OK"])
        linli.wait_for(lambda: stored_texts(gw) == want, 30, "the four messages stored", 0.1)
        t.check(stored_texts(gw) == want, "every message announced mid-send is stored, once")
        t.check(m.ctl("urc-hold off").startswith("ok"), "the modem sends its unsolicited lines again")

        def delivered():
            return gw.sql("SELECT count(*) FROM sms_out WHERE delivery='delivered'")[0][0] == 4
        linli.wait_for(delivered, 30, "delivery reports of x1..x3", 0.1)
        t.check(True, "every send's status report (+CDSI, some released mid-send) is recorded")
        st = m.stats()
        t.check(st["cmms"] == "2" and int(st["cmms_sets"]) >= 1, "AT+CMMS=2 was sent (%s)" % st)
        with open(m.at_log, errors="replace") as f:
            log = f.read()
        t.check("cmd AT+CHUP" in log or "cmd ATH" in log, "the RING met mid-send was rejected (AT+CHUP)")
        t.check(all(v == 1 for v in [len([1 for r in m.sent() if r[2] == x]) for x in ("x1", "x2", "x3")]),
                "x1, x2, x3 each sent once")
        t.check(gw.stop() == 0, "linlid exits 0")
    finally:
        gw.close()


def faults(t):
    gw = linli.Gateway(nmodems=1, airtime_ms=200, sample=False,
                       extra_gateway_cfg="send-timeout 20\nretry-backoff 1 2\nmax-attempts 10")
    m = gw.modems[0]
    t.check(m.ctl("cmms off").startswith("ok"), "this modem refuses AT+CMMS")
    gw.start()
    try:
        wait_sent(gw, [gw.send("+8613900000001", "first")])
        t.check(m.stats()["cmms_sets"] == "0", "a refused AT+CMMS does not stop the sends")

        m.ctl("noprompt 1")
        a = gw.send("+8613900000002", "after no prompt")
        wait_sent(gw, [a], 90)
        st, attempts = gw.sql("SELECT state, attempts FROM sms_out WHERE id=?", (a,))[0]
        t.check(st == "sent" and attempts >= 2, "no prompt: timed out, then sent (%s, %d attempts)" % (st, attempts))
        t.check(m.stats()["early_pdu"] == "0", "the PDU was never written without a prompt")
        t.check("m1=ready" in gw.ctrl.get("modems"), "the modem stayed ready (ESC, AT answered)")

        m.ctl("inject airtime hang")
        b = gw.send("+8613900000003", "after a hang")
        linli.wait_for(lambda: "m1=ready" not in gw.ctrl.get("modems"), 90, "the hung modem reset", 0.2)
        t.check(True, "a modem that hangs mid-send is reset")
        m.ctl("hang off")
        gw.wait_modems_ready(timeout=120)
        wait_sent(gw, [b], 120)
        c = gw.send("+8613900000004", "and one more")
        wait_sent(gw, [c], 60)
        rows = dict((r[0], r[1]) for r in gw.sql("SELECT id, state FROM sms_out"))
        t.check(rows[b] == "sent" and rows[c] == "sent", "it answers again and sends: %s" % rows)
        texts = [r[2] for r in m.sent()]
        t.check(texts.count("after a hang") == 1 and texts.count("after no prompt") == 1,
                "each reached the modem once: %s" % texts)
        t.check(gw.stop() == 0, "linlid exits 0")
    finally:
        gw.close()


def proxyat(t):
    gw = linli.Gateway(nmodems=2, airtime_ms=50, sample=False)
    m1 = gw.modems[0]
    relay = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ttyrelay.py")
    with open(gw.cfg) as f:
        cfg = f.read()
    cfg = cfg.replace(" device %s\n connection at" % m1.link,
                      " device python3 %s %s\n connection proxyat" % (relay, m1.link))
    with open(gw.cfg, "w") as f:
        f.write(cfg)
    gw.start()
    try:
        out = gw.vty("show modems")
        t.check("m1: ready (connected, sending with GSM_SendSMS (proxyat))" in out and
                "m2: ready (connected, sending with own AT+CMGS" in out,
                "the path is chosen per modem: m1 (proxyat) GSM_SendSMS, m2 own AT+CMGS")
        ids = [gw.send("+8613900000%03d" % i, "per modem %d" % i) for i in range(6)]
        wait_sent(gw, ids, 60)
        rows = gw.sql("SELECT modem, count(*) FROM sms_out WHERE state='sent' GROUP BY modem")
        t.check(sum(n for _, n in rows) == 6, "all six sent (%s)" % rows)
        t.check(gw.stop() == 0, "linlid exits 0")
    finally:
        gw.close()


def main(t):
    proxyat(t)
    same_pdus(t)
    mid_send(t)
    faults(t)


linli.run(main)
