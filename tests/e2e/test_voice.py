"""Requests by voice end to end: real Kamailio (routes/kamailio.cfg, VOICE_CODE), real linlid with
its sofia-sip user agent (`voice-code 6996`), sipp as the caller's phone and a tests/e2e/rtp.py peer
behind its SDP that speaks (a tone).

1. A known resident calls 6996 through Kamailio, speaks for about 4 s after the prompt and beep,
   and hangs up: a request with source voice exists; its WAV file is under var/recordings (in
   linlid's working directory), a valid mu-law WAV (RIFF, format 7, 8000 Hz, mono, 8 bit, a fact
   chunk) of about 4 s whose samples hold the caller's tone; the reporter got the reference by
   SMS, the grid worker the dispatch that says it is a voice request; over HTTP the request shows
   the recording and GET .../recording answers the same bytes as audio/wav, to a read-only
   token, and 401 without one.
2. A caller whose phone speaks PCMA presses # after a few seconds: linlid stops recording (as
   mu-law: the tone is in the file), files the request, says "voice_thanks" and hangs up itself.
3. An unknown number calling 6996 is refused, by Kamailio and by linlid's user agent.
4. A caller who hangs up at once (no speech): no request, no file, logged.
"""
import json
import os
import struct
import time

import console_util
import kamailio
import linli
import rtp
from rtp import RtpPeer
from sipp_util import Sipp
from test_http import Client

CALLER = "+8613800138001"    # 邹丽, 1幢1单元101, grid W1
CALLER2 = "+8613800138002"   # 吕永福, 1幢1单元102, grid W1
CALLER3 = "+8613800138003"
WORKER = "+8613900139001"    # grid W1's worker
READER = "+8613900139103"
UNKNOWN = "+8613912345678"
TONE = 440
OTHER = 1000                 # the beep's frequency: not what the caller said
SPEAK_S = 4.0


def parse_wav(data):
    """(format, channels, rate, bits, fact samples, the data chunk) of a RIFF/WAVE file; raises on a
    malformed one."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "not RIFF/WAVE"
    riff_len = struct.unpack("<I", data[4:8])[0]
    assert riff_len == len(data) - 8, "RIFF length %d, file %d" % (riff_len, len(data))
    pos, chunks = 12, {}
    while pos + 8 <= len(data):
        cid, clen = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks[cid] = data[pos + 8:pos + 8 + clen]
        pos += 8 + clen + (clen & 1)
    assert pos == len(data), "chunks end at %d of %d" % (pos, len(data))
    fmt = chunks[b"fmt "]
    tag, ch, rate, byterate, align, bits = struct.unpack("<HHIIHH", fmt[:16])
    assert byterate == rate * ch * bits // 8 and align == ch * bits // 8, "inconsistent fmt"
    fact = struct.unpack("<I", chunks[b"fact"])[0] if b"fact" in chunks else None
    return tag, ch, rate, bits, fact, chunks[b"data"]


def prompt_ms(build, names):
    return sum(os.path.getsize(os.path.join(build, "prompts", n + ".ul")) for n in names) // 8


def main(t):
    build = linli.BUILD
    ua_port = kamailio.free_udp_port()
    kport = kamailio.free_udp_port()
    caller_ports = [kamailio.free_udp_port() for _ in range(5)]
    rtp_lo = 20000 + (os.getpid() % 200) * 100
    prompts = os.path.join(build, "prompts")
    t.check(all(os.path.exists(os.path.join(prompts, n + ".ul")) for n in ("voice_prompt", "beep", "voice_thanks")),
            "the voice line's prompts were rendered at build time")
    cfg = ("sip-bind 127.0.0.1 %d\nsip-proxy 127.0.0.1 %d\nshort-code 6995\nvoice-code 6996\n"
           "voice-max-seconds 30\nrtp-ports %d %d\nprompts-dir %s\n" % (ua_port, kport, rtp_lo, rtp_lo + 98, prompts))
    rules = os.path.join(linli.ROOT, "routes", "sms.rules")
    gw = linli.Gateway(nmodems=1, http=True, extra_gateway_cfg=cfg + "rules-file %s\nhelp-interval 0" % rules)
    reader = console_util.token(gw, READER, "readonly")
    c = Client(gw.http_port)
    kam = kamailio.start(gw.db, "127.0.0.1", port=kport, linli_ua="127.0.0.1:%d" % ua_port,
                         trunks=["127.0.0.1:%d" % p for p in caller_ports], workdir=gw.dir, voice_code="6996")
    sms = linli.SentSms(gw)
    sipps, peers = [], []
    try:
        gw.start()
        linli.wait_for(lambda: "user agent listening" in gw.log_tail(200), 30, "linlid's SIP user agent")
        linli.wait_for(lambda: c.req("GET", "/api/v1/me")[0] == 401, 30, "the console's HTTP port")

        run = gw.vty("show running-config")
        t.check("voice-code 6996" in run and "voice-max-seconds 30" in run,
                "the voice line's settings show in the running config")

        # ---- 1. speak for about 4 s after the prompt and the beep, then hang up ----
        before = prompt_ms(build, ["voice_prompt", "beep"])
        peer = RtpPeer(name="caller")
        peers.append(peer)
        peer.tone(TONE)
        caller = Sipp(gw.dir, "voice", "caller.xml", caller_ports[0], "127.0.0.1:%d" % kport,
                      keys={"caller": CALLER, "rtp_port": peer.port},
                      extra=["-s", "6996", "-d", str(before + int(SPEAK_S * 1000))])
        sipps.append(caller)
        port = linli.wait_for(lambda: caller.remote_rtp_port(peer.port), 20, "linlid's answer to the caller")
        peer.set_remote("127.0.0.1", port)
        t.check(caller.wait(60) == 0, "the call went through and the caller hung up %s" % caller.errors())

        def voice_request():
            rows = gw.sql("SELECT ref, recording, recording_s, text, reporter FROM request WHERE source = 'voice' "
                          "AND reporter = ?", (CALLER,))
            return rows[0] if rows else None
        row = linli.wait_for(voice_request, 20, "a request with source voice")
        ref, path, secs, text, _ = row
        t.check(text == "（语音报事，%d秒）" % secs, "its text says it is a voice request of %s s: %s" % (secs, text))
        full = os.path.join(gw.dir, path)
        t.check(path.startswith("var/recordings/") and os.path.isfile(full),
                "the WAV file is under var/recordings of linlid's working directory: %s" % path)
        with open(full, "rb") as f:
            wav = f.read()
        tag, ch, rate, bits, fact, data = parse_wav(wav)
        t.check((tag, ch, rate, bits) == (7, 1, 8000, 8), "a mu-law WAV, mono, 8000 Hz, 8 bit: %s" %
                ((tag, ch, rate, bits),))
        t.check(fact == len(data), "its fact chunk counts the samples (%s of %d)" % (fact, len(data)))
        dur = len(data) / 8000.0
        t.check(SPEAK_S - 1.5 <= dur <= SPEAK_S + 1.0, "about %.0f s recorded: %.2f s" % (SPEAK_S, dur))
        t.check(abs(secs - dur) <= 0.5, "the request's recording_s (%s) is the file's length (%.2f)" % (secs, dur))
        samples = [rtp.ulaw_decode(b) for b in data]
        mid = samples[len(samples) // 4:len(samples) // 4 + 8000]
        lv, lo = rtp.goertzel(mid, TONE), rtp.goertzel(mid, OTHER)
        t.check(lv > 0.5 * peer.amplitude and lo < 0.05 * peer.amplitude,
                "the recording holds the caller's %d Hz tone (%.0f) and not %d Hz (%.0f)" % (TONE, lv, OTHER, lo))
        t.check(sms.wait(CALLER, ref), "the reporter got the SMS with the reference %s" % ref)
        d = sms.wait(WORKER, ref, "语音")
        t.check(d and "工作台" in d, "the grid worker's dispatch says it is a voice request to hear in the "
                "console: %s" % d)

        # over HTTP: the request and its recording
        st, _, body = c.req("GET", "/api/v1/requests/%s" % ref, token=reader)
        j = json.loads(body) if st == 200 else None
        rec = (j or {}).get("recording") if st == 200 else None
        t.check(st == 200 and j.get("source") == "voice" and rec ==
                {"url": "/api/v1/requests/%s/recording" % ref, "seconds": secs},
                "the request's JSON shows the recording: %s %s" % (st, rec))
        st, h, body = c.req("GET", "/api/v1/requests/%s/recording" % ref, token=reader)
        t.check(st == 200 and h.get("content-type", "").startswith("audio/wav") and body == wav,
                "GET .../recording answers the file's bytes as audio/wav to a read-only token (%s, %s, %d bytes)" %
                (st, h.get("content-type"), len(body)))
        st, _, _ = c.req("GET", "/api/v1/requests/%s/recording" % ref)
        t.check(st == 401, "without a token: 401 (%s)" % st)
        st, _, _ = c.req("GET", "/api/v1/requests/999999/recording", token=reader)
        t.check(st == 404, "an unknown request: 404 (%s)" % st)

        # ---- 2. # ends the recording: linlid thanks the caller and hangs up ----
        # (this phone offers PCMA first: linlid answers PCMA, and records it as mu-law)
        peer2 = RtpPeer(pt=8, name="caller2")
        peers.append(peer2)
        peer2.tone(TONE)
        c2 = Sipp(gw.dir, "voice-hash", "caller_hungup.xml", caller_ports[1], "127.0.0.1:%d" % kport,
                  keys={"caller": CALLER2, "rtp_port": peer2.port}, extra=["-s", "6996"])
        sipps.append(c2)
        port = linli.wait_for(lambda: c2.remote_rtp_port(peer2.port), 20, "linlid's answer to the second caller")
        peer2.set_remote("127.0.0.1", port)
        linli.wait_for(lambda: "voice line: recording %s" % CALLER2 in gw.log_tail(400), 30,
                       "the recording of the second caller")
        time.sleep(2.5)  # what the caller says: 2.5 s of tone
        mark = peer2.mark()
        peer2.send_digit("#")
        t.check(c2.wait(60) == 0, "after the #, linlid said thanks and hung up %s" % c2.errors())
        t.check(peer2.rms(since=mark, seconds=1.0) > 100, "the caller heard voice_thanks after the #")
        rows = gw.sql("SELECT ref, recording_s, recording FROM request WHERE source = 'voice' AND reporter = ?",
                      (CALLER2,))
        t.check(len(rows) == 1 and 1 <= rows[0][1] <= 4, "the # filed the request: %s" % rows)
        answer = [l for l in c2.text().splitlines() if l.startswith("m=audio") and str(peer2.port) not in l]
        t.check(answer and answer[0].split()[3] == "8", "linlid answered the PCMA offer with PCMA: %s" % answer)
        if rows:
            with open(os.path.join(gw.dir, rows[0][2]), "rb") as f:
                tag, _, _, _, _, data = parse_wav(f.read())
            samples = [rtp.ulaw_decode(b) for b in data[:8000]]
            lv = rtp.goertzel(samples, TONE)
            t.check(tag == 7 and lv > 0.5 * peer2.amplitude,
                    "the PCMA caller's tone is in the mu-law recording (format %d, %.0f)" % (tag, lv))

        # ---- 3. an unknown number: refused by Kamailio, and by linlid when asked directly ----
        r1 = Sipp(gw.dir, "unknown-k", "caller_refused.xml", caller_ports[2], "127.0.0.1:%d" % kport,
                  keys={"caller": UNKNOWN, "rtp_port": 4000}, extra=["-s", "6996"])
        r2 = Sipp(gw.dir, "unknown-ua", "caller_refused.xml", caller_ports[3], "127.0.0.1:%d" % ua_port,
                  keys={"caller": UNKNOWN, "rtp_port": 4000}, extra=["-s", "6996"])
        t.check(r1.wait(30) == 0, "an unknown number is refused by Kamailio %s" % r1.errors())
        t.check(r2.wait(30) == 0, "an unknown number is refused by linlid's user agent %s" % r2.errors())
        r1.stop()
        r2.stop()
        t.check("6996 from unknown number '%s': 403" % UNKNOWN in gw.log_tail(600), "linlid logged the refusal")
        t.check("voice line call from %s refused" % UNKNOWN in kam.log_tail(200), "Kamailio logged the refusal")

        # ---- 4. hang up at once: no speech, no request ----
        files = sorted(os.listdir(os.path.join(gw.dir, "var", "recordings")))
        c3 = Sipp(gw.dir, "voice-none", "caller.xml", caller_ports[4], "127.0.0.1:%d" % kport,
                  keys={"caller": CALLER3, "rtp_port": 4002}, extra=["-s", "6996", "-d", "200"])
        sipps.append(c3)
        t.check(c3.wait(60) == 0, "the silent caller got through and hung up %s" % c3.errors())
        linli.wait_for(lambda: "voice line: %s left 0 ms of speech" % CALLER3 in gw.log_tail(400), 20,
                       "linlid logging the call without speech")
        t.check(not gw.sql("SELECT ref FROM request WHERE source = 'voice' AND reporter = ?", (CALLER3,)), "no request for it")
        t.check(sorted(os.listdir(os.path.join(gw.dir, "var", "recordings"))) == files, "and no file")
        t.check(not [1 for d_, _, x in sms.sent() if d_ == CALLER3], "and no SMS to the caller")
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
