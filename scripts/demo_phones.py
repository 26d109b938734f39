#!/usr/bin/env python3
"""The demo's SIP phones (`make run`, scripts/call.sh): small user agents on loopback that talk
to Kamailio as households' phones do, so the 6995 group call can be seen working without any
real phone.

  demo_phones.py neighbours --proxy 127.0.0.1:5060 --db var/linli.db --prompts DIR NUMBER:MODE ...
      register each NUMBER (password "demo") and answer the group call as MODE says:
      join       answers after a second, hears linlid's prompt, presses 1 (RFC 4733), then
                 speaks a line (espeak-ng, rendered at start) in a loop
      voicemail  answers and plays a greeting, never presses 1 (linlid releases it)
      noanswer   rings and never answers (linlid cancels it after its ring time)
  demo_phones.py call --proxy 127.0.0.1:5060 --db var/linli.db NUMBER [--to 6995] [--seconds 25]
      call the short code as NUMBER (password "demo"), print who joins as the database records
      it, hang up after SECONDS and print the call's summary.

SIP over UDP (RFC 3261) with digest authentication (RFC 2617, MD5, qop=auth), media through
tests/e2e/rtp.py. Only what a phone of the demo needs: no re-INVITE, no transfer, one call at a
time per phone. Every socket is bound to 127.0.0.1.
"""
import argparse
import hashlib
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from rtp import RtpPeer  # noqa: E402

PASSWORD = "demo"
T1 = 0.5
LINES = {
    "join": "我是邻居，我马上过来帮忙",
    "voicemail": "您好，我现在不方便接听，请留言",
    "caller": "我家里有急事，请邻居帮帮忙",
}


LOG_LOCK = threading.Lock()


def log(who, msg):
    with LOG_LOCK:
        print("%s %s: %s" % (time.strftime("%H:%M:%S"), who, msg), flush=True)


def render(text, wav2ul):
    """A spoken line as 8 kHz mu-law bytes (espeak-ng + scripts/wav2ul.c), b"" when it fails."""
    try:
        wav = subprocess.run(["espeak-ng", "-v", "cmn", "-s", "150", "--stdout", text], capture_output=True,
                             check=True, timeout=30).stdout
        ul = subprocess.run([wav2ul], input=wav, capture_output=True, check=True, timeout=30).stdout
        return ul + b"\xff" * 8000  # a second of silence between repeats
    except (OSError, subprocess.SubprocessError):
        return b""


# ---- SIP messages ----

class Msg:
    def __init__(self, data):
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.first = lines[0]
        self.headers = []  # (lower name, value), in order
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + line.strip())
            elif ":" in line:
                n, v = line.split(":", 1)
                self.headers.append((COMPACT.get(n.strip().lower(), n.strip().lower()), v.strip()))
        parts = self.first.split(" ", 2)
        self.is_response = parts[0].startswith("SIP/")
        self.status = int(parts[1]) if self.is_response else 0
        self.method = self.cseq_method() if self.is_response else parts[0]
        self.uri = None if self.is_response else parts[1]

    def get(self, name):
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def all(self, name):
        out = []
        for n, v in self.headers:
            if n == name:
                out += split_commas(v)
        return out

    def cseq_method(self):
        v = self.get("cseq") or "0 X"
        return v.split()[-1]

    def cseq(self):
        v = self.get("cseq") or "0"
        return int(v.split()[0])


COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
           "c": "content-type"}


def split_commas(v):
    out, depth, cur, quote = [], 0, "", False
    for ch in v:
        if ch == '"':
            quote = not quote
        elif ch == "<" and not quote:
            depth += 1
        elif ch == ">" and not quote:
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def uri_of(v):
    m = re.search(r"<([^>]*)>", v)
    return m.group(1) if m else v.split(";")[0].strip()


def hostport(uri):
    m = re.match(r"sips?:(?:[^@]*@)?([^;>?]+)", uri)
    hp = m.group(1) if m else "127.0.0.1:5060"
    host, _, port = hp.partition(":")
    return host, int(port or 5060)


def tag_of(v):
    m = re.search(r";\s*tag=([^;>\s]+)", v or "")
    return m.group(1) if m else None


def sdp_media(body):
    """(host, audio port, telephone-event payload type) from an SDP body."""
    text = body.decode("utf-8", "replace")
    host = re.search(r"^c=IN IP4 (\S+)", text, re.M)
    port = re.search(r"^m=audio (\d+)", text, re.M)
    te = re.search(r"^a=rtpmap:(\d+) telephone-event/8000", text, re.M)
    return (host.group(1) if host else "127.0.0.1", int(port.group(1)) if port else 0,
            int(te.group(1)) if te else 101)


def sdp(user, port):
    return ("v=0\r\no=%s %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
            "a=fmtp:101 0-15\r\na=sendrecv\r\n" % (user.lstrip("+"), random.randrange(1 << 30), port)).encode()


def digest(user, password, method, uri, challenge):
    """The Authorization value answering a Digest challenge (WWW- or Proxy-Authenticate)."""
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    realm, nonce = p.get("realm", ""), p.get("nonce", "")
    ha1 = hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).hexdigest()
    ha2 = hashlib.md5(("%s:%s" % (method, uri)).encode()).hexdigest()
    fields = 'username="%s", realm="%s", nonce="%s", uri="%s", algorithm=MD5' % (user, realm, nonce, uri)
    if "auth" in p.get("qop", "").split(","):
        cnonce, nc = "%08x" % random.randrange(1 << 32), "00000001"
        resp = hashlib.md5(("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2)).encode()).hexdigest()
        fields += ', qop=auth, nc=%s, cnonce="%s"' % (nc, cnonce)
    else:
        resp = hashlib.md5(("%s:%s:%s" % (ha1, nonce, ha2)).encode()).hexdigest()
    if "opaque" in p:
        fields += ', opaque="%s"' % p["opaque"]
    return "Digest " + fields + ', response="%s"' % resp


class Phone:
    """One SIP phone: a UDP socket on loopback, its number, the proxy it registers with."""

    def __init__(self, number, proxy):
        self.number = number
        self.proxy = proxy
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.aor = "sip:%s@%s" % (number, proxy[0])
        self.contact = "<sip:%s@127.0.0.1:%d>" % (number, self.port)
        self.tag = "%08x" % random.randrange(1 << 32)

    def branch(self):
        return "z9hG4bK%016x" % random.randrange(1 << 64)

    def send(self, text, body=b"", to=None):
        data = text.replace("\n", "\r\n").encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body
        self.sock.sendto(data, to or self.proxy)

    def recv(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            try:
                return Msg(data), addr
            except (ValueError, IndexError):
                continue
        return None, None

    def request(self, method, uri, headers, body=b"", cseq=1, call_id=None, to_hdr=None, timeout=8):
        """Send a request outside a dialog, answering one digest challenge; the final response."""
        call_id = call_id or "%016x@127.0.0.1" % random.randrange(1 << 64)
        auth = ""
        for _ in range(2):
            br = self.branch()
            self.send("%s %s SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\nMax-Forwards: 70\n"
                      "From: <%s>;tag=%s\nTo: %s\nCall-ID: %s\nCSeq: %d %s\nContact: %s\n%s%s"
                      % (method, uri, self.port, br, self.aor, self.tag, to_hdr or "<%s>" % uri, call_id, cseq,
                         method, self.contact, headers, auth), body)
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                m, addr = self.recv(end - time.monotonic())
                if m is None:
                    break
                if not m.is_response:
                    self.on_request(m, addr)
                    continue
                if m.cseq() != cseq or m.status < 200:
                    if m.status in (180, 183):
                        self.on_provisional(m)
                    continue
                if method == "INVITE" and m.status >= 300:
                    self.send("ACK %s SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\nMax-Forwards: 70\n"
                              "From: <%s>;tag=%s\nTo: %s\nCall-ID: %s\nCSeq: %d ACK\n"
                              % (uri, self.port, br, self.aor, self.tag, m.get("to"), call_id, cseq))
                if m.status in (401, 407) and not auth:
                    ch = m.get("www-authenticate" if m.status == 401 else "proxy-authenticate") or ""
                    name = "Authorization" if m.status == 401 else "Proxy-Authorization"
                    auth = "%s: %s\n" % (name, digest(self.number, PASSWORD, method, uri, ch))
                    cseq += 1
                    break
                return m, call_id, cseq
            else:
                return None, call_id, cseq
            if not auth:
                return None, call_id, cseq
        return None, call_id, cseq

    def register(self, expires=3600):
        m, _, _ = self.request("REGISTER", "sip:%s" % self.proxy[0], "Expires: %d\n" % expires,
                               to_hdr="<%s>" % self.aor)
        return m is not None and m.status == 200

    def reply(self, req, status, reason, extra="", body=b"", to_tag=None):
        to = req.get("to") or ""
        if to_tag and not tag_of(to):
            to += ";tag=" + to_tag
        vias = "".join("Via: %s\n" % v for v in req.all("via"))
        rr = "".join("Record-Route: %s\n" % v for v in req.all("record-route"))
        self.send("SIP/2.0 %d %s\n%sFrom: %s\nTo: %s\nCall-ID: %s\nCSeq: %s\n%sContact: %s\n%s"
                  % (status, reason, vias, req.get("from"), to, req.get("call-id"), req.get("cseq"), rr,
                     self.contact, extra), body, to=self.via_addr(req))

    def via_addr(self, req):
        """Where a response goes: the top Via's received/rport, else its sent-by."""
        v = req.all("via")[0]
        host = re.search(r";received=([^;]+)", v)
        rport = re.search(r";rport=(\d+)", v)
        sent = re.match(r"SIP/2.0/UDP\s+([^;]+)", v)
        h, _, p = (sent.group(1) if sent else "127.0.0.1:5060").partition(":")
        return (host.group(1) if host else h, int(rport.group(1)) if rport else int(p or 5060))

    def on_request(self, m, addr):
        if m.method in ("OPTIONS", "NOTIFY"):
            self.reply(m, 200, "OK")
        elif m.method != "ACK":
            self.reply(m, 481, "Call/Transaction Does Not Exist")

    def on_provisional(self, m):
        pass


# ---- the neighbours ----

class Neighbour(Phone):
    def __init__(self, number, proxy, mode, audio):
        super().__init__(number, proxy)
        self.mode = mode
        self.audio = audio
        self.calls = {}  # Call-ID -> state dict

    def run(self, stop):
        while not stop.is_set():
            if not self.register():
                log(self.number, "could not register with Kamailio at %s:%d (retrying in 5 s)" % self.proxy)
                stop.wait(5)
                continue
            log(self.number, "registered (%s)" % self.mode)
            until = time.monotonic() + 1800
            while not stop.is_set() and time.monotonic() < until:
                m, addr = self.recv(0.2)
                if m is not None and not m.is_response:
                    self.handle(m)
                self.tick()
        for c in self.calls.values():
            if c.get("peer"):
                c["peer"].close()

    def handle(self, m):
        cid = m.get("call-id")
        c = self.calls.get(cid)
        if m.method == "INVITE":
            if c is not None:  # a retransmission
                if c.get("ok"):
                    self.reply(m, 200, "OK", "Content-Type: application/sdp\n", c["sdp"], c["tag"])
                return
            c = self.calls[cid] = {"inv": m, "tag": "%08x" % random.randrange(1 << 32), "t": time.monotonic()}
            self.reply(m, 180, "Ringing", to_tag=c["tag"])
            log(self.number, "ringing: the group call of %s" % uri_of(m.get("from") or ""))
        elif m.method == "CANCEL" and c is not None:
            self.reply(m, 200, "OK")
            if not c.get("ok"):
                self.reply(c["inv"], 487, "Request Terminated", to_tag=c["tag"])
                log(self.number, "stopped ringing (cancelled): never answered")
                c["done"] = True
        elif m.method == "ACK" and c is not None:
            c["acked"] = True
        elif m.method == "BYE" and c is not None:
            self.reply(m, 200, "OK")
            log(self.number, "call ended (%s)" % ("joined" if c.get("pressed") else "released"))
            if c.get("peer"):
                c["peer"].close()
            c["done"] = True
        else:
            self.on_request(m, None)

    def tick(self):
        now = time.monotonic()
        for cid, c in list(self.calls.items()):
            if c.get("done"):
                if now - c["t"] > 40:
                    del self.calls[cid]
                continue
            if self.mode == "noanswer" or c.get("ok"):
                if c.get("ok") and not c.get("acked") and now - c["okt"] > T1 * (2 ** c["rtx"]):
                    c["rtx"] += 1
                    if c["rtx"] > 6:
                        c["done"] = True
                        continue
                    self.reply(c["inv"], 200, "OK", "Content-Type: application/sdp\n", c["sdp"], c["tag"])
                    c["okt"] = now
                peer = c.get("peer")
                if self.mode == "join" and peer and not c.get("pressed") and peer.packets > 0:
                    c.setdefault("heard", now)
                    if now - c["heard"] > 2.5:  # the prompt "press 1" has been heard
                        peer.send_digit("1")
                        c["pressed"] = True
                        peer.play(self.audio)
                        log(self.number, "answered and pressed 1: joins the call")
                continue
            if now - c["t"] >= 1.0:  # pick up after a second of ringing
                inv = c["inv"]
                host, port, te = sdp_media(inv.body)
                peer = RtpPeer(te_pt=te, name=self.number[-4:])
                if self.mode == "voicemail":
                    peer.play(self.audio)
                peer.set_remote(host, port)
                c.update(peer=peer, sdp=sdp(self.number, peer.port), ok=True, okt=now, rtx=0)
                self.reply(inv, 200, "OK", "Content-Type: application/sdp\n", c["sdp"], c["tag"])
                log(self.number, "answered" + (" (a greeting; will not press 1)" if self.mode == "voicemail" else ""))


def neighbours(args):
    wav2ul = os.path.join(args.build, "wav2ul")
    audio = {mode: render(text, wav2ul) for mode, text in LINES.items() if mode != "caller"}
    stop = threading.Event()
    threads = []
    for spec in args.phones:
        number, _, mode = spec.partition(":")
        if mode not in ("join", "voicemail", "noanswer"):
            sys.exit("demo_phones: %s: the mode must be join, voicemail or noanswer" % spec)
        n = Neighbour(number, args.proxy, mode, audio.get(mode, b""))
        th = threading.Thread(target=n.run, args=(stop,), daemon=True)
        th.start()
        threads.append(th)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()


# ---- the caller of scripts/call.sh ----

class Caller(Phone):
    def on_provisional(self, m):
        if m.status == 180:
            log(self.number, "ringing")


def db_rows(path, sql, params=()):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []


def call(args):
    c = Caller(args.number, args.proxy)
    uri = "sip:%s@%s" % (args.to, args.proxy[0])
    peer = RtpPeer(name="caller")
    peer.play(render(LINES["caller"], os.path.join(args.build, "wav2ul")))
    before = (db_rows(args.db, "SELECT max(id) FROM call") or [(0,)])[0][0] or 0
    log(args.number, "calling %s through Kamailio at %s:%d" % (args.to, args.proxy[0], args.proxy[1]))
    m, call_id, cseq = c.request("INVITE", uri, "Content-Type: application/sdp\n", sdp(args.number, peer.port),
                                 timeout=30)
    if m is None or m.status != 200:
        log(args.number, "the call failed: %s" % (m.first if m else "no answer"))
        peer.close()
        return 1
    host, port, te = sdp_media(m.body)
    peer.te_pt = te
    peer.set_remote(host, port)
    target = uri_of(m.get("contact") or uri)
    routes = list(reversed(m.all("record-route")))
    route_hdr = "".join("Route: %s\n" % r for r in routes)
    nxt = hostport(uri_of(routes[0])) if routes else hostport(target)
    to = m.get("to")

    def in_dialog(method, n):
        c.send("%s %s SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\nMax-Forwards: 70\n%s"
               "From: <%s>;tag=%s\nTo: %s\nCall-ID: %s\nCSeq: %d %s\n"
               % (method, target, c.port, c.branch(), route_hdr, c.aor, c.tag, to, call_id, n, method), to=nxt)

    in_dialog("ACK", cseq)
    log(args.number, "answered by linlid: the neighbours are being called")
    call_row = None
    seen = set()
    end = time.monotonic() + args.seconds
    ended = False
    while time.monotonic() < end:
        r, _ = c.recv(0.5)
        if r is not None and not r.is_response:
            if r.method == "BYE":
                c.reply(r, 200, "OK")
                log(args.number, "linlid ended the call")
                ended = True
                break
            if r.method == "INVITE":  # a 200 retransmitted: ACK again
                continue
            c.on_request(r, None)
        elif r is not None and r.status == 200 and r.method == "INVITE":
            in_dialog("ACK", cseq)
        if call_row is None:
            rows = db_rows(args.db, "SELECT id FROM call WHERE id > ? AND caller = ? ORDER BY id LIMIT 1",
                           (before, args.number))
            call_row = rows[0][0] if rows else None
        if call_row is not None:
            for num, joined in db_rows(args.db, "SELECT number, joined_at FROM call_leg WHERE call_id = ? AND "
                                       "kind = 'neighbour' AND joined_at IS NOT NULL", (call_row,)):
                if num not in seen:
                    seen.add(num)
                    log(args.number, "joined: %s" % num)
    if not ended:
        in_dialog("BYE", cseq + 1)
        r, _ = c.recv(3)
        log(args.number, "hung up")
    peer.close()
    time.sleep(0.5)
    print("joined: %d (%s)" % (len(seen), ", ".join(sorted(seen)) or "nobody"), flush=True)
    if call_row is not None:
        for num, kind, result in db_rows(args.db, "SELECT number, kind, result FROM call_leg WHERE call_id = ? "
                                         "ORDER BY id", (call_row,)):
            print("  %-16s %-10s %s" % (num, kind, result or "-"), flush=True)
    return 0 if seen else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proxy", default="127.0.0.1:5060", help="Kamailio's SIP address (HOST:PORT)")
    ap.add_argument("--db", default="var/linli.db", help="the demo's database (read only)")
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"), help="the build folder (wav2ul)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    n = sub.add_parser("neighbours")
    n.add_argument("phones", nargs="+", metavar="NUMBER:MODE")
    c = sub.add_parser("call")
    c.add_argument("number")
    c.add_argument("--to", default="6995")
    c.add_argument("--seconds", type=float, default=25)
    args = ap.parse_args()
    host, _, port = args.proxy.partition(":")
    if not host.startswith("127.") and host != "localhost":
        sys.exit("demo_phones: the demo talks to loopback only, not %s" % host)
    args.proxy = ("127.0.0.1" if host == "localhost" else host, int(port or 5060))
    if args.cmd == "neighbours":
        neighbours(args)
        return 0
    return call(args)


if __name__ == "__main__":
    sys.exit(main())
