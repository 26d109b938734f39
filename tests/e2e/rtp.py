"""A Python RTP peer for end-to-end tests of the group call media (gateway/call/media.c).

One RtpPeer binds a loopback UDP port, sends 20 ms G.711 packets (PCMU pt 0 or PCMA pt 8) to its
remote at a steady pace: a sine tone (or the sum of several) or silence; sends RFC 4733 key presses
(or in-band DTMF tone pairs); and records what it receives: the decoded audio, the digits of
telephone-event packets (each event once), and packet statistics. A Goertzel filter tells which
of a set of frequencies it hears and how strongly (amplitude in linear 16-bit units).

    a = RtpPeer(pt=0)                     # binds 127.0.0.1:<free even port>
    a.set_remote("127.0.0.1", leg_port)   # from linlid's SDP answer
    a.tone(440)                           # start sending a 440 Hz tone
    a.send_digit("1")                     # RFC 4733 (te_pt 101 by default)
    mark = a.mark()
    time.sleep(1)                         # or wait_for(...) in the tests
    a.levels([440, 700], since=mark)      # {440: 3.2, 700: 3990.0}
    a.hears(700, since=mark)              # True when >= 25 % of the amplitude each peer sends
    a.close()

Only loopback addresses; the peer's threads stop with close() (also at interpreter exit).
"""
import array
import math
import random
import socket
import struct
import threading
import time

RATE = 8000
FRAME = 160  # samples in 20 ms
DEFAULT_AMPLITUDE = 4000
DTMF_LOW = {"1": 697, "2": 697, "3": 697, "A": 697, "4": 770, "5": 770, "6": 770, "B": 770,
            "7": 852, "8": 852, "9": 852, "C": 852, "*": 941, "0": 941, "#": 941, "D": 941}
DTMF_HIGH = {"1": 1209, "4": 1209, "7": 1209, "*": 1209, "2": 1336, "5": 1336, "8": 1336, "0": 1336,
             "3": 1477, "6": 1477, "9": 1477, "#": 1477, "A": 1633, "B": 1633, "C": 1633, "D": 1633}
TE_DIGITS = "0123456789*#ABCD"


# ---- G.711, written out (same algorithm as gateway/call/media_g711.c) ----

def ulaw_decode(u):
    u = ~u & 0xFF
    exp = (u >> 4) & 7
    v = ((((u & 0x0F) << 3) + 0x84) << exp) - 0x84
    return -v if u & 0x80 else v


def alaw_decode(a):
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


def ulaw_encode(s):
    sign = 0
    if s < 0:
        sign = 0x80
        s = -s
    s = min(s, 32635) + 0x84
    exp = 7
    while exp > 0 and not s & (0x80 << exp):
        exp -= 1
    return ~(sign | (exp << 4) | ((s >> (exp + 3)) & 0x0F)) & 0xFF


def alaw_encode(s):
    v = s >> 3
    if v >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        v = -v - 1
    seg = 0
    while seg < 8 and v > (0x20 << seg) - 1:
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    mant = (v >> 1) & 0x0F if seg < 2 else (v >> seg) & 0x0F
    return ((seg << 4) | mant) ^ mask


DEC = {0: [ulaw_decode(i) for i in range(256)], 8: [alaw_decode(i) for i in range(256)]}
_ENC = {}


def encode(pt, samples):
    """Linear samples to G.711 bytes of payload type pt (0 PCMU, 8 PCMA)."""
    tab = _ENC.get(pt)
    if tab is None:
        f = alaw_encode if pt == 8 else ulaw_encode
        tab = _ENC[pt] = bytes(f(i - 65536 if i >= 32768 else i) for i in range(65536))
    return bytes(tab[s & 0xFFFF] for s in samples)


def decode(pt, payload):
    tab = DEC[8 if pt == 8 else 0]
    return [tab[b] for b in payload]


def goertzel(samples, freq, rate=RATE):
    """Amplitude of freq in samples (a sine of amplitude A gives about A)."""
    n = len(samples)
    if n == 0:
        return 0.0
    w = 2 * math.pi * freq / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + c * s1 - s2, s1
    p = s1 * s1 + s2 * s2 - c * s1 * s2
    return 2 * math.sqrt(max(p, 0.0)) / n


def parse_rtp(pkt):
    """(pt, marker, seq, ts, ssrc, payload) of an RTP packet, or None when it is not RTP v2."""
    if len(pkt) < 12 or pkt[0] >> 6 != 2:
        return None
    hdr = 12 + 4 * (pkt[0] & 0x0F)
    if pkt[0] & 0x10:
        if len(pkt) < hdr + 4:
            return None
        hdr += 4 + 4 * struct.unpack("!H", pkt[hdr + 2:hdr + 4])[0]
    end = len(pkt)
    if pkt[0] & 0x20:
        end -= pkt[-1]
    if end < hdr:
        return None
    seq, ts, ssrc = struct.unpack("!HII", pkt[2:12])
    return pkt[1] & 0x7F, bool(pkt[1] & 0x80), seq, ts, ssrc, pkt[hdr:end]


class RtpPeer:
    def __init__(self, pt=0, te_pt=101, host="127.0.0.1", port=0, name="peer", amplitude=DEFAULT_AMPLITUDE):
        if not host.startswith("127."):
            raise ValueError("RtpPeer binds loopback addresses only, not %r" % host)
        self.name = name
        self.pt = pt
        self.te_pt = te_pt
        self.amplitude = amplitude
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if port:
            self.sock.bind((host, port))
        else:
            self._bind_even(host)
        self.sock.settimeout(0.1)
        self.host, self.port = self.sock.getsockname()
        self.remote = None
        self._lock = threading.Lock()
        self._freqs = []
        self._buf = encode(self.pt, [0] * RATE)  # one second of what is sent, looped
        self._pos = 0
        self._events = []  # digits waiting to be sent as RFC 4733
        self._inband_until = 0.0
        self.seq = random.randrange(65536)
        self.ts = random.randrange(1 << 32)
        self.ssrc = random.randrange(1 << 32)
        self._first = True
        # what was received
        self.audio = array.array("h")
        self.digits = []
        self.packets = 0
        self.foreign = 0  # packets from an address that is not the remote
        self.malformed = 0
        self.pts = set()
        self.ssrcs = set()
        self.seq_errors = 0  # not exactly one more than the previous packet's sequence number
        self.markers = 0
        self._last_seq = None
        self._last_event_ts = None
        self.sent_packets = 0
        self._stop = threading.Event()
        self._rx = threading.Thread(target=self._rx_loop, name="rtp-rx-%s" % name, daemon=True)
        self._tx = threading.Thread(target=self._tx_loop, name="rtp-tx-%s" % name, daemon=True)
        self._rx.start()
        self._tx.start()

    def _bind_even(self, host):
        for _ in range(200):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((host, 0))
            if s.getsockname()[1] % 2 == 0:
                self.sock.close()
                self.sock = s
                return
            s.close()
        self.sock.bind((host, 0))  # an odd port works too; RTP only prefers even

    # ---- what to send ----

    def set_remote(self, host, port, pt=None, te_pt=None):
        """Where to send (from linlid's SDP); sending starts now. pt/te_pt as negotiated."""
        with self._lock:
            self.remote = (host, port)
            if pt is not None and pt != self.pt:
                self.pt = pt
                self._render()
            if te_pt is not None:
                self.te_pt = te_pt

    def tone(self, freqs, amplitude=None):
        """Send a tone (a frequency or a list of them, summed) from now on; [] or None is silence."""
        if freqs is None:
            freqs = []
        elif not isinstance(freqs, (list, tuple)):
            freqs = [freqs]
        with self._lock:
            self._freqs = list(freqs)
            if amplitude is not None:
                self.amplitude = amplitude
            self._render()

    def silence(self):
        self.tone([])

    def play(self, payload):
        """Send recorded audio from now on, looped: payload already encoded for pt (G.711 bytes,
        e.g. a prompt rendered by scripts/prompts.sh); empty is silence."""
        with self._lock:
            self._buf = bytes(payload) or encode(self.pt, [0] * RATE)
            self._pos = 0

    def _render(self):
        # integer frequencies repeat exactly over one second, so one second is rendered and looped
        samples = []
        for i in range(RATE):
            v = sum(self.amplitude * math.sin(2 * math.pi * f * i / RATE) for f in self._freqs)
            samples.append(int(max(-32768, min(32767, round(v)))))
        self._buf = encode(self.pt, samples)

    def send_digit(self, digit, duration_ms=100):
        """One key press as RFC 4733 telephone-event packets (te_pt): packets every 20 ms while the
        key is down, then the end packet three times, all with the event's timestamp."""
        if self.te_pt is None or self.te_pt < 0:
            raise ValueError("no telephone-event payload type: use send_inband_digit")
        digit = digit.upper()
        if digit not in TE_DIGITS:
            raise ValueError("not a DTMF key: %r" % digit)
        with self._lock:
            self._events.append((TE_DIGITS.index(digit), max(40, duration_ms)))

    def send_inband_digit(self, digit, duration_ms=120):
        """One key press as its DTMF tone pair in the audio; the previous tone comes back after."""
        digit = digit.upper()
        before = list(self._freqs)
        self.tone([DTMF_LOW[digit], DTMF_HIGH[digit]])
        time.sleep(duration_ms / 1000.0)
        self.tone(before)
        time.sleep(0.06)

    # ---- the sender thread: one packet every 20 ms on an absolute schedule ----

    def _packet(self, pt, payload, marker=False, ts=None):
        hdr = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, self.seq, self.ts if ts is None else ts,
                          self.ssrc)
        self.seq = (self.seq + 1) & 0xFFFF
        try:
            self.sock.sendto(hdr + payload, self.remote)
            self.sent_packets += 1
        except OSError:
            pass

    def _tx_loop(self):
        nxt = time.monotonic()
        event = None  # [code, total samples, sent samples, ts, ends sent]
        while not self._stop.is_set():
            nxt += 0.02
            with self._lock:
                if self.remote is not None:
                    if event is None and self._events:
                        code, ms = self._events.pop(0)
                        event = [code, ms * 8, 0, self.ts, 0]
                    if event is not None:
                        code, total, done, ts, ends = event
                        if done < total:
                            done = min(total, done + FRAME)
                            self._packet(self.te_pt, struct.pack("!BBH", code, 10, done), marker=(done == FRAME),
                                         ts=ts)
                            event[2] = done
                        else:
                            self._packet(self.te_pt, struct.pack("!BBH", code, 0x80 | 10, total), ts=ts)
                            event[4] += 1
                            if event[4] == 3:
                                self.ts = (ts + total) & 0xFFFFFFFF
                                event = None
                    else:
                        buf = self._buf
                        pos = self._pos
                        payload = buf[pos:pos + FRAME]
                        if len(payload) < FRAME:
                            payload += buf[:FRAME - len(payload)]
                        self._pos = (pos + FRAME) % len(buf)
                        self._packet(self.pt, payload, marker=self._first)
                        self._first = False
                        self.ts = (self.ts + FRAME) & 0xFFFFFFFF
            delay = nxt - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -0.2:
                nxt = time.monotonic()  # stalled (loaded machine): do not burst

    # ---- the receiver thread ----

    def _rx_loop(self):
        while not self._stop.is_set():
            try:
                pkt, addr = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            with self._lock:
                if self.remote is not None and addr != self.remote:
                    self.foreign += 1
                    continue
                r = parse_rtp(pkt)
                if r is None:
                    self.malformed += 1
                    continue
                pt, marker, seq, ts, ssrc, payload = r
                self.packets += 1
                self.pts.add(pt)
                self.ssrcs.add(ssrc)
                if marker:
                    self.markers += 1
                if self._last_seq is not None and seq != (self._last_seq + 1) & 0xFFFF:
                    self.seq_errors += 1
                self._last_seq = seq
                if pt in (0, 8):
                    self.audio.extend(decode(pt, payload))
                elif self.te_pt is not None and pt == self.te_pt and len(payload) >= 4:
                    if ts != self._last_event_ts and payload[0] < 16:
                        self._last_event_ts = ts
                        self.digits.append(TE_DIGITS[payload[0]])

    # ---- what was heard ----

    def mark(self):
        """A position in the received audio, for since= below."""
        with self._lock:
            return len(self.audio)

    def samples(self, since=0, seconds=None):
        """Received samples after mark `since`; only the last `seconds` of them if given."""
        with self._lock:
            s = self.audio[since:]
        if seconds is not None:
            s = s[-int(seconds * RATE):]
        return s

    def levels(self, freqs, since=0, seconds=1.0):
        """{freq: amplitude} over the last `seconds` received after `since`."""
        s = self.samples(since, seconds)
        return {f: goertzel(s, f) for f in freqs}

    def hears(self, freq, since=0, seconds=1.0, fraction=0.25):
        """Whether freq is in the audio at >= fraction of this peer's own sending amplitude."""
        return self.levels([freq], since, seconds)[freq] >= fraction * self.amplitude

    def rms(self, since=0, seconds=1.0):
        s = self.samples(since, seconds)
        return math.sqrt(sum(x * x for x in s) / len(s)) if s else 0.0

    def close(self):
        self._stop.set()
        self._tx.join(2)
        self._rx.join(2)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
