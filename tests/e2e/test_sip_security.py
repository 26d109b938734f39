"""SIP edge security (issue 13, security items 1, 2, 8, 9, 11), tried as an attacker would, on
loopback: a real Kamailio (routes/kamailio.cfg), a real linlid, raw UDP SIP and raw evapi TCP
from Python. The trunk (a UDP peer that answers 200) sits at 127.0.0.1, an attacker at 127.0.0.2
(not a peer), a victim host at 127.0.0.3.

1. In-dialog-looking requests (a made-up To tag, a Route to Kamailio) from a non-peer are not
   relayed: a MESSAGE and an INVITE do not reach the trunk, an OPTIONS does not reach another host
   (403). A new request with a preloaded Route from a non-peer gets 403 (before any challenge). A
   real dialog of a subscriber's phone still works through Kamailio (ACK and BYE reach the
   trunk); a BYE with a wrong To tag does not. An authenticated phone cannot send a request to a
   host of its choosing either.
2. evapi: clients that connect before and after linlid and never authenticate get nothing of
   what Kamailio hands linlid; a client that injects message-out without the secret is closed and
   nothing is sent; a wrong secret is closed; SMS over SIP keeps working for linlid.
3. A MESSAGE body above MESSAGE_MAX (4096 bytes; a 9000-byte one used to overflow Kamailio's 8 kB
   pv buffer and be lost) gets 413 and nothing is stored; a body of exactly MESSAGE_MAX, about 10 kB
   once JSON-escaped, is stored intact.
4. A body with a NUL byte is stored flagged as unreadable, its bytes kept (base64), not cut.
5. linlid itself, against a stand-in evapi server: it sends the secret first and waits for
   auth-ok; a message-in without a body is refused (400) and not stored; a JSON body with \\u0000
   is stored flagged with its full bytes; a server that does not accept the secret is reported.
6. With -A TRUNK_TCP (a second Kamailio, the trunk at 127.0.0.5 over TCP): a request over UDP
   from the trunk's address is not the trunk's, the same over TCP is, and a phone's MESSAGE to a
   number reaches the trunk over TCP.

LINLI_KAMAILIO_CFG=old.cfg runs it against another Kamailio config (to see its holes).
"""
import base64
import hashlib
import json
import os
import re
import select
import socket
import threading

import kamailio
import linli

PHONE = "+8613800138001"     # a resident with a SIP account
PASSWORD = "s3cret-sec"
FORGED = "+8613900139001"    # somebody else's number (the grid worker)
ATTACKER_IP = "127.0.0.2"
VICTIM_IP = "127.0.0.3"


def parse(data):
    """A SIP message -> (first line, {lower-case header: [values]}, body)."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    return lines[0], hdrs, body


def answer(hdrs, contact, n):
    """The 200 OK to a request (with a To tag and contact as its Contact)."""
    out = ["SIP/2.0 200 OK"]
    out += ["Via: %s" % v for v in hdrs.get("via", [])]
    out += ["Record-Route: %s" % v for v in hdrs.get("record-route", [])]
    out += ["From: %s" % hdrs["from"][0]]
    to = hdrs["to"][0]
    out += ["To: %s" % (to if "tag=" in to else to + ";tag=peer%d" % n)]
    out += ["Call-ID: %s" % hdrs["call-id"][0], "CSeq: %s" % hdrs["cseq"][0], "Contact: <%s>" % contact,
            "Content-Length: 0", "", ""]
    return "\r\n".join(out).encode()


def read_sip_stream(conn, buf):
    """One SIP message from a TCP stream (buf: bytearray of what was read already); None at EOF."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            m = re.search(rb"\r\n(?:Content-Length|l)\s*:\s*(\d+)", bytes(buf[:end]), re.I)
            total = end + 4 + (int(m.group(1)) if m else 0)
            if len(buf) >= total:
                data = bytes(buf[:total])
                del buf[:total]
                return data
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk


class TcpPeer:
    """A SIP peer over TCP (the trunk with TRUNK_TCP): records requests, answers them 200 on the
    connection they came on."""

    def __init__(self, ip):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind((ip, 0))
        self.srv.listen(8)
        self.srv.settimeout(0.2)
        self.ip, self.port = self.srv.getsockname()
        self.got = []
        self.stop_ev = threading.Event()
        self.threads = [threading.Thread(target=self._accept)]
        self.threads[0].start()

    def _accept(self):
        while not self.stop_ev.is_set():
            try:
                conn, _ = self.srv.accept()
            except socket.timeout:
                continue
            th = threading.Thread(target=self._serve, args=(conn,))
            self.threads.append(th)
            th.start()

    def _serve(self, conn):
        conn.settimeout(0.2)
        buf = bytearray()
        while not self.stop_ev.is_set():
            try:
                data = read_sip_stream(conn, buf)
            except socket.timeout:
                continue
            if data is None:
                break
            first, hdrs, _ = parse(data)
            if first.startswith("SIP/2.0"):
                continue
            self.got.append((first.split()[0], hdrs.get("call-id", [""])[0], first))
            if not first.startswith("ACK"):
                conn.sendall(answer(hdrs, "sip:peer@%s:%d;transport=tcp" % (self.ip, self.port), len(self.got)))
        conn.close()

    def stop(self):
        self.stop_ev.set()
        for th in self.threads:
            th.join()
        self.srv.close()


class Peer(kamailio.UdpPeer):
    """A UDP SIP peer that records every request and answers it: INVITE and the rest 200 (with a
    To tag and its Contact), ACK nothing."""

    def __init__(self, ip):
        self.got = []  # (method, call-id, first line)
        super().__init__(ip)

    def on_datagram(self, data, addr):
        first, hdrs, _ = parse(data)
        if first.startswith("SIP/2.0"):
            return
        method = first.split()[0]
        self.got.append((method, hdrs.get("call-id", [""])[0], first))
        if method == "ACK":
            return
        self.sock.sendto(answer(hdrs, "sip:peer@%s:%d" % (self.ip, self.port), len(self.got)), addr)

    def calls(self, callid, method=None):
        return [g for g in self.got if g[1] == callid and (method is None or g[0] == method)]


class Client:
    """Sends raw SIP requests from ip to Kamailio and waits for their final answer."""
    n = 0

    def __init__(self, ip, kport):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.sock.settimeout(20)
        self.ip, self.port = self.sock.getsockname()
        self.kport = kport

    def request(self, method, ruri, frm, to, callid, cseq=1, headers=(), body=b"", ftag="ft1"):
        """Send one request; return (code, headers, the whole answer)."""
        Client.n += 1
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-sec%d-%d" % (self.ip, self.port, os.getpid(), Client.n),
                 "From: <sip:%s@%s>;tag=%s" % (frm, self.ip, ftag), "To: %s" % to, "Call-ID: %s" % callid,
                 "CSeq: %d %s" % (cseq, method), "Max-Forwards: 70",
                 "Contact: <sip:%s@%s:%d>" % (frm, self.ip, self.port)] + list(headers)
        if body:
            lines.append("Content-Type: text/plain;charset=UTF-8")
        lines += ["Content-Length: %d" % len(body), "", ""]
        self.sock.sendto("\r\n".join(lines).encode() + body, ("127.0.0.1", self.kport))
        if method == "ACK":
            return None, {}, b""
        while True:
            data = self.sock.recv(65536)
            first, hdrs, _ = parse(data)
            if not first.startswith("SIP/2.0"):
                continue
            code = int(first.split()[1])
            if code >= 200:
                return code, hdrs, data

    def auth_request(self, method, ruri, frm, to, callid, password, headers=(), body=b""):
        """The request, and on a 401/407 again with digest credentials (user = frm)."""
        code, hdrs, data = self.request(method, ruri, frm, to, callid, 1, headers, body)
        if code not in (401, 407):
            return code, hdrs, data
        chal = (hdrs.get("proxy-authenticate") or hdrs.get("www-authenticate"))[0]
        p = dict(re.findall(r'(\w+)="?([^",]*)"?', chal))
        ha1 = hashlib.md5(("%s:%s:%s" % (frm, p["realm"], password)).encode()).hexdigest()
        ha2 = hashlib.md5(("%s:%s" % (method, ruri)).encode()).hexdigest()
        nc, cnonce = "00000001", "c%d" % os.getpid()
        resp = hashlib.md5(("%s:%s:%s:%s:auth:%s" % (ha1, p["nonce"], nc, cnonce, ha2)).encode()).hexdigest()
        cred = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", qop=auth, nc=%s, '
                'cnonce="%s", algorithm=MD5' % (frm, p["realm"], p["nonce"], ruri, resp, nc, cnonce))
        name = "Proxy-Authorization" if code == 407 else "Authorization"
        return self.request(method, ruri, frm, to, callid, 2, list(headers) + ["%s: %s" % (name, cred)], body)

    def close(self):
        self.sock.close()


def tcp_request(src_ip, kport, method, ruri, frm, callid, body=b""):
    """One request over TCP from src_ip to Kamailio; its final answer's code."""
    c = socket.socket()
    c.bind((src_ip, 0))
    c.settimeout(20)
    try:
        c.connect(("127.0.0.1", kport))
    except OSError:
        c.close()
        return None  # no SIP over TCP there
    ip, port = c.getsockname()
    msg = ("%s %s SIP/2.0\r\nVia: SIP/2.0/TCP %s:%d;branch=z9hG4bK-tcp%d\r\nFrom: <sip:%s@%s>;tag=t1\r\n"
           "To: <%s>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\nContent-Type: text/plain\r\n"
           "Content-Length: %d\r\n\r\n" % (method, ruri, ip, port, port, frm, ip, ruri, callid, method, len(body)))
    c.sendall(msg.encode() + body)
    buf = bytearray()
    try:
        while True:
            data = read_sip_stream(c, buf)
            if data is None:
                return None
            code = int(parse(data)[0].split()[1])
            if code >= 200:
                return code
    finally:
        c.close()


def trunk_tcp(t, gw):
    """With TRUNK_TCP the trunk counts only over TCP, and requests to it go over TCP."""
    tip = "127.0.0.5"
    trunk = TcpPeer(tip)
    k = None
    phone = None
    try:
        k = kamailio.start(gw.db, trunks=[tip], subscribers={PHONE: PASSWORD}, trunk="%s:%d" % (tip, trunk.port),
                           defines={"TRUNK_TCP": "1"}, workdir=os.path.join(gw.dir, "tcp"))
        spoof = Client(tip, k.port)
        code, _, _ = spoof.request("MESSAGE", "sip:+8613700000031@127.0.0.1:%d" % k.port, FORGED,
                                   "<sip:+8613700000031@127.0.0.1>", "spoof-udp-%d" % os.getpid(), body=b"spoofed")
        spoof.close()
        t.check(code == 403, "TRUNK_TCP: a request over UDP from the trunk's address is not the trunk's (%s)" % code)
        code = tcp_request(tip, k.port, "MESSAGE", "sip:+8613700000032@127.0.0.1:%d" % k.port, FORGED,
                           "trunk-tcp-%d" % os.getpid(), b"from the trunk")
        t.check(code == 404, "the same over TCP is the trunk's (%s: a number without a phone here, not sent back "
                "to the trunk)" % code)
        phone = Client(ATTACKER_IP, k.port)
        cid = "to-trunk-tcp-%d" % os.getpid()
        code, _, _ = phone.auth_request("MESSAGE", "sip:+8613700000033@127.0.0.1:%d" % k.port, PHONE,
                                        "<sip:+8613700000033@127.0.0.1>", cid, PASSWORD, body=b"hi trunk")
        t.check(code == 200 and [g for g in trunk.got if g[1] == cid], "a phone's MESSAGE to a number goes to the "
                "trunk over TCP and its 200 comes back (%s, %s)" % (code, trunk.got))
    finally:
        if phone:
            phone.close()
        if k:
            if t.failures:
                print("---- kamailio (TRUNK_TCP) log, last lines ----")
                print(k.log_tail(40))
            k.stop()
        trunk.stop()


def frame(obj):
    b = json.dumps(obj).encode()
    return b"%d:%s," % (len(b), b)


def read_frame(sock, buf):
    """One netstring payload from sock (buf: bytearray of what was read already)."""
    while True:
        m = re.match(rb"(\d+):", bytes(buf[:12]))
        if m and len(buf) >= m.end() + int(m.group(1)) + 1:
            n = int(m.group(1))
            payload = bytes(buf[m.end():m.end() + n])
            del buf[:m.end() + n + 1]
            return json.loads(payload)
        data = sock.recv(65536)
        if not data:
            raise AssertionError("evapi peer closed the connection")
        buf += data


def pending(sock):
    """What a socket has to read right now: None (nothing), b"" (closed), or the bytes."""
    r, _, _ = select.select([sock], [], [], 0)
    if not r:
        return None
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def closed_by_peer(sock):
    """True once the other end closed (polled)."""
    r, _, _ = select.select([sock], [], [], 0)
    if not r:
        return False
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def routing(t, k, trunk, victim):
    kp = k.port
    me = "sip:127.0.0.1:%d;lr" % kp
    att = Client(ATTACKER_IP, kp)
    try:
        # ---- 1a: a MESSAGE and an INVITE that look in-dialog, from a non-peer, aimed at the trunk ----
        for method in ("MESSAGE", "INVITE"):
            cid = "forged-%s-%d" % (method.lower(), os.getpid())
            code, _, _ = att.request(method, "sip:+8613700000001@127.0.0.1:%d" % trunk.port, FORGED,
                                     "<sip:+8613700000001@127.0.0.1>;tag=x", cid, 1, ["Route: <%s>" % me],
                                     b"forged" if method == "MESSAGE" else b"")
            t.check(code == 403 and not trunk.calls(cid), "an in-dialog-looking %s from a non-peer with a Route to "
                    "Kamailio is refused (%s) and never reaches the trunk (%s)" % (method, code, trunk.calls(cid)))
            if code == 200 and method == "INVITE":
                att.request("ACK", "sip:peer@127.0.0.1:%d" % trunk.port, FORGED,
                            "<sip:+8613700000001@127.0.0.1>;tag=x", cid)
        # ---- 1b: an OPTIONS to another host ----
        cid = "forged-options-%d" % os.getpid()
        code, _, _ = att.request("OPTIONS", "sip:x@%s:%d" % (VICTIM_IP, victim.port), FORGED, "<sip:x@%s>;tag=y"
                                 % VICTIM_IP, cid, 1, ["Route: <%s>" % me])
        t.check(code == 403 and not victim.calls(cid), "an in-dialog-looking OPTIONS to another host is refused (%s) "
                "and never reaches it (%s)" % (code, victim.calls(cid)))
        # ---- 1c: a preloaded Route on a new request from a non-peer: 403 before any challenge ----
        cid = "preloaded-%d" % os.getpid()
        code, _, _ = att.request("MESSAGE", "sip:+8613700000002@127.0.0.1:%d" % kp, PHONE,
                                 "<sip:+8613700000002@127.0.0.1>", cid, 1,
                                 ["Route: <sip:%s:%d;lr>" % (VICTIM_IP, victim.port)], b"hi")
        t.check(code == 403 and not victim.calls(cid) and not trunk.calls(cid),
                "a new request from a non-peer with a preloaded Route gets 403 (%s), not a challenge" % code)
        # ... but a phone with Kamailio as its outbound proxy (a Route to Kamailio alone) is served
        code, _, _ = att.request("MESSAGE", "sip:+8613700000002@127.0.0.1:%d" % kp, PHONE,
                                 "<sip:+8613700000002@127.0.0.1>", cid + "-own", 1, ["Route: <%s>" % me], b"hi")
        t.check(code == 407, "a new request whose only Route is Kamailio itself is served as usual (%s: the "
                "digest challenge)" % code)
        code, _, _ = att.request("MESSAGE", "sip:+8613700000002@127.0.0.1:%d" % kp, PHONE,
                                 "<sip:+8613700000002@127.0.0.1>", cid + "-two", 1,
                                 ["Route: <%s>, <sip:%s:%d;lr>" % (me, VICTIM_IP, victim.port)], b"hi")
        t.check(code == 403, "one with Kamailio and then another host gets 403 (%s)" % code)
    finally:
        att.close()

    # ---- 1d: a real dialog of a subscriber's phone: ACK and BYE through Kamailio reach the trunk ----
    phone = Client(ATTACKER_IP, kp)
    try:
        cid = "real-call-%d" % os.getpid()
        callee = "+8613700000003"
        code, hdrs, _ = phone.auth_request("INVITE", "sip:%s@127.0.0.1:%d" % (callee, kp), PHONE,
                                           "<sip:%s@127.0.0.1>" % callee, cid, PASSWORD)
        ok = t.check(code == 200 and trunk.calls(cid, "INVITE"), "a subscriber's phone calls a number: the INVITE "
                     "goes to the trunk, 200 (%s)" % code)
        if ok:
            to = hdrs["to"][0]
            target = re.search(r"<([^>]+)>", hdrs["contact"][0]).group(1)
            routes = ["Route: %s" % r for r in hdrs.get("record-route", [])]
            t.check(routes and "127.0.0.1:%d" % kp in routes[0], "Kamailio record-routes the call: %s" % routes)
            phone.request("ACK", target, PHONE, to, cid, 2, routes)
            wrong = re.sub(r"tag=[^;>]+", "tag=wrong", to)
            code, _, _ = phone.request("BYE", target, PHONE, wrong, cid, 3, routes)
            t.check(code == 403 and not trunk.calls(cid, "BYE"), "a BYE with a To tag of no dialog is refused (%s)"
                    % code)
            code, _, _ = phone.request("BYE", target, PHONE, to, cid, 4, routes)
            linli.wait_for(lambda: trunk.calls(cid, "ACK"), 10, "the ACK at the trunk")
            t.check(code == 200 and len(trunk.calls(cid, "BYE")) == 1, "in the real dialog, the ACK and the BYE "
                    "reach the trunk through Kamailio (%s, %s)" % (code, trunk.calls(cid)))
        # ---- 1e: an authenticated phone cannot aim a new request at a host of its choosing ----
        cid = "foreign-%d" % os.getpid()
        code, _, _ = phone.auth_request("OPTIONS", "sip:x@%s:%d" % (VICTIM_IP, victim.port), PHONE,
                                        "<sip:x@%s>" % VICTIM_IP, cid, PASSWORD)
        cid2 = "foreign-msg-%d" % os.getpid()
        code2, _, _ = phone.auth_request("MESSAGE", "sip:+8613700000004@%s:%d" % (VICTIM_IP, victim.port), PHONE,
                                         "<sip:+8613700000004@%s>" % VICTIM_IP, cid2, PASSWORD, body=b"hello")
        t.check(code == 405 and not victim.calls(cid) and not victim.calls(cid2) and trunk.calls(cid2, "MESSAGE"),
                "an authenticated phone's OPTIONS and MESSAGE to another host never reach it (OPTIONS %s; the "
                "MESSAGE went to the trunk instead, %s)" % (code, code2))
    finally:
        phone.close()


def evapi_and_bodies(t, gw, k, trunk, tclient, evapi_port):
    kp = k.port
    early = socket.create_connection(("127.0.0.1", evapi_port))
    gw.start()
    authed = True
    try:
        linli.wait_for(lambda: "connected to Kamailio's evapi" in gw.log_tail(400), 30, "linlid authenticated", 0.2)
    except AssertionError:
        authed = False
    t.check(authed, "linlid sent its secret and Kamailio accepted it")
    late = socket.create_connection(("127.0.0.1", evapi_port))
    # a MESSAGE for linlid (from the trunk): 202, stored; the two others got none of it
    code, _, _ = tclient.request("MESSAGE", "sip:linli@127.0.0.1:%d" % kp, "13700000011", "<sip:linli@127.0.0.1>",
                                 "evapi-1-%d" % os.getpid(), body="查询 秘密".encode())
    rows = gw.sql("SELECT text FROM sms_in WHERE sender = '+8613700000011'")
    leaked = [pending(s) for s in (early, late)]
    t.check(code == 202 and rows == [("查询 秘密",)], "SMS over SIP works for the authenticated linlid (%s, %s)"
            % (code, rows))
    t.check(not any(leaked), "evapi clients that did not authenticate (before and after linlid) got none of it: "
            "%s" % [x[:80] if x else x for x in leaked])
    # an injection without the secret: closed, nothing sent
    inj = socket.create_connection(("127.0.0.1", evapi_port))
    inj.sendall(frame({"event": "message-out", "id": "999", "to": "+8613700000099", "body": "伪造"}))

    def settled():
        return closed_by_peer(inj) or [g for g in trunk.got if g[0] == "MESSAGE" and "+8613700000099@" in g[2]]
    try:
        linli.wait_for(settled, 15, "the injecting client closed (or its MESSAGE sent)", 0.1)
    except AssertionError:
        pass
    sent = [g for g in trunk.got if g[0] == "MESSAGE" and "+8613700000099@" in g[2]]
    t.check(not sent, "a message-out from a client without the secret is not sent (%s)" % sent)
    t.check("its first frame is not the secret" in k.log_text(), "and Kamailio closed it, saying why")
    wrong = socket.create_connection(("127.0.0.1", evapi_port))
    wrong.sendall(frame({"event": "auth", "secret": "guess"}))
    try:
        linli.wait_for(lambda: closed_by_peer(wrong), 15, "the client with a wrong secret closed", 0.1)
        t.check(True, "a client with a wrong secret is closed")
    except AssertionError:
        t.check(False, "a client with a wrong secret is closed")
    after = socket.create_connection(("127.0.0.1", evapi_port))
    code, _, _ = tclient.request("MESSAGE", "sip:linli@127.0.0.1:%d" % kp, "13700000012", "<sip:linli@127.0.0.1>",
                                 "evapi-2-%d" % os.getpid(), body="查询 again".encode())
    t.check(code == 202 and pending(after) is None and pending(early) is None,
            "after the closes linlid is still served (%s), and a new unauthenticated client gets nothing" % code)
    for s in (early, late, inj, wrong, after):
        s.close()

    # ---- bodies: MESSAGE_MAX passes intact even when escaping makes it large; above: 413 ----
    big = ("报事 " + '"\\' * 1000 + "\x01" * 1000).encode()
    big += b"x" * (4096 - len(big))
    code, _, _ = tclient.request("MESSAGE", "sip:linli@127.0.0.1:%d" % kp, "13700000013", "<sip:linli@127.0.0.1>",
                                 "big-%d" % os.getpid(), body=big)
    rows = gw.sql("SELECT text, flags FROM sms_in WHERE sender = '+8613700000013'")
    t.check(code == 202 and rows == [(big.decode(), 0)], "a 4096-byte body (about 10 kB as JSON) gets 202 and is "
            "stored intact (%s, %s)" % (code, [(r[0][:20], len(r[0]), r[1]) for r in rows]))
    code, _, _ = tclient.request("MESSAGE", "sip:linli@127.0.0.1:%d" % kp, "13700000014", "<sip:linli@127.0.0.1>",
                                 "huge-%d" % os.getpid(), body=("报" * 3000).encode())
    rows = gw.sql("SELECT text, flags FROM sms_in WHERE sender = '+8613700000014'")
    t.check(code == 413 and rows == [], "a 9000-byte body gets 413 and nothing is stored (%s, %s)"
            % (code, [(len(r[0]), r[1]) for r in rows]))
    # ---- a NUL byte: flagged, the bytes kept, not cut ----
    nul = "报事 a\0b".encode()
    code, _, _ = tclient.request("MESSAGE", "sip:linli@127.0.0.1:%d" % kp, "13700000015", "<sip:linli@127.0.0.1>",
                                 "nul-%d" % os.getpid(), body=nul)
    rows = gw.sql("SELECT text, flags, raw FROM sms_in WHERE sender = '+8613700000015'")
    t.check(code == 202 and len(rows) == 1 and rows[0][0] == "" and rows[0][1] & 2 and
            base64.b64encode(nul).decode() in rows[0][2], "a body with a NUL byte is stored flagged as unreadable "
            "with its bytes in base64, not cut (%s, %s)" % (code, rows))


def linlid_side(t):
    """linlid against a stand-in for Kamailio's evapi."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(30)
    port = srv.getsockname()[1]
    secret = "s-" + os.urandom(8).hex()
    gw = linli.Gateway(nmodems=1, extra_gateway_cfg="help-interval 0\nevapi 127.0.0.1 %d\nevapi-secret %s"
                       % (port, secret))
    gw.start()
    conn, _ = srv.accept()
    conn.settimeout(20)
    buf = bytearray()
    try:
        first = read_frame(conn, buf)
        t.check(first == {"event": "auth", "secret": secret}, "linlid's first frame is its secret: %s" % first)
        t.check(not gw.log_tail(400).count("connected to Kamailio's evapi"), "linlid does not count itself "
                "connected before auth-ok")
        conn.sendall(frame({"event": "auth-ok"}))
        linli.wait_for(lambda: "connected to Kamailio's evapi" in gw.log_tail(400), 20, "linlid authenticated", 0.1)
        base = {"event": "message-in", "tindex": 1, "tlabel": 1, "from": "13700000021", "to": "linli",
                "peer": "trunk", "src": "127.0.0.1:5060", "cseq": "1"}
        conn.sendall(frame(dict(base, callid="nobody-1")))
        ack = read_frame(conn, buf)
        rows = gw.sql("SELECT text, flags FROM sms_in WHERE sender = '+8613700000021'")
        t.check(ack.get("code") == 400 and rows == [], "a message-in without a body is answered 400 and not "
                "stored as bad text (%s, %s)" % (ack, rows))
        t.check("came without its body" in gw.log_tail(400), "and the error is logged")
        conn.sendall(frame(dict(base, callid="nul-1", tlabel=2, **{"from": "13700000022", "body": "报事 a\0b"})))
        ack = read_frame(conn, buf)
        rows = gw.sql("SELECT text, flags, raw FROM sms_in WHERE sender = '+8613700000022'")
        full = base64.b64encode("报事 a\0b".encode()).decode()
        t.check(ack.get("code") == 202 and len(rows) == 1 and rows[0][0] == "" and rows[0][1] & 2 and
                full in rows[0][2], "a JSON body with \\u0000 is stored flagged with all its bytes (%s, %s)"
                % (ack, rows))
        # a server that does not take the secret: linlid says so, keeps retrying
        conn.close()
        conn, _ = srv.accept()
        conn.settimeout(20)
        read_frame(conn, bytearray())
        conn.close()
        linli.wait_for(lambda: "did not accept linlid" in gw.log_tail(400), 20, "linlid reporting the refusal", 0.1)
        t.check(True, "a Kamailio that does not accept the secret is reported in linlid's log")
        t.check(gw.stop() == 0, "linlid stopped cleanly")
    finally:
        conn.close()
        srv.close()


def main(t):
    evapi_port = linli.free_port()
    trunk = Peer("127.0.0.1")
    victim = Peer(VICTIM_IP)
    tclient = None
    k = None
    try:
        tclient = Client("127.0.0.1", 0)
        gw = linli.Gateway(nmodems=1, extra_gateway_cfg="help-interval 0\nevapi 127.0.0.1 %d" % evapi_port)
        k = kamailio.start(gw.db, evapi_port=evapi_port, trunks=["127.0.0.1:%d" % trunk.port,
                                                                 "127.0.0.1:%d" % tclient.port],
                           subscribers={PHONE: PASSWORD}, trunk="127.0.0.1:%d" % trunk.port, workdir=gw.dir)
        tclient.kport = k.port
        routing(t, k, trunk, victim)
        trunk_tcp(t, gw)
        evapi_and_bodies(t, gw, k, trunk, tclient, evapi_port)
        t.check(gw.stop() == 0, "linlid stopped cleanly")
        linlid_side(t)
    finally:
        if tclient:
            tclient.close()
        trunk.stop()
        victim.stop()
        if k:
            if t.failures:
                print("---- kamailio log, last lines ----")
                print(k.log_tail(60))
            k.stop()


if __name__ == "__main__":
    linli.run(main)
