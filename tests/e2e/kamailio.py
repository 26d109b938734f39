"""Start and stop a real Kamailio with routes/kamailio.cfg for the end-to-end tests and benchmarks.

    import kamailio
    k = kamailio.start(gw.db, "127.0.0.1", port=None, evapi_port=None,
                       linli_ua="127.0.0.1:5070", trunks=["127.0.0.1"], ua_peers=["127.0.0.1:5070"],
                       subscribers={"+8613800138001": "secret"})
    ... k.port, k.evapi_port, k.log_tail(), k.uri("6995") ...
    k.stop()

Kamailio runs in the foreground (-DD -E) in its own folder (pid file, runtime dir, log), on
loopback only, and is stopped by its PID. Its evapi takes only a client that sends the secret
first: linli.EVAPI_SECRET (in Kamailio's environment), which linli.Gateway writes as
`evapi-secret` next to `evapi`. Peers and SIP phone accounts are written to the
community database before it starts (Kamailio reads them at start): trunks go in the address
table as group 1, linlid's user agent as group 2 (see db/upgrade/005_sip.sql), subscribers in
the auth_db subscriber table (user name = the phone's E.164 number, plain password).
"""
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

from linli import EVAPI_SECRET, ROOT, free_port, pg_sql, wait_for

# LINLI_KAMAILIO_CFG: another config, e.g. an older one to show that a test catches its hole
CFG = os.environ.get("LINLI_KAMAILIO_CFG") or os.path.join(ROOT, "routes", "kamailio.cfg")
FRONT_CFG = os.path.join(ROOT, "routes", "front.cfg")
FRONT_SQL = os.path.join(ROOT, "routes", "front.sql")
KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"


def _split(peer):
    """"ip" or "ip:port" -> (ip, port); port 0 = any."""
    if ":" in peer:
        ip, port = peer.rsplit(":", 1)
        return ip, int(port)
    return peer, 0


def provision(db_path, trunks=(), ua_peers=(), subscribers=None, community=None):
    """Write peers (address table) and SIP accounts (subscriber table) into the database.
    linlid may be running: its WAL file and a busy timeout make this safe."""
    if db_path.startswith("postgresql://"):
        return provision_pg(db_path, trunks, ua_peers, subscribers, community)
    c = sqlite3.connect(db_path, timeout=30)
    try:
        with c:
            for grp, peers in ((1, trunks), (2, ua_peers)):
                for p in peers:
                    ip, port = _split(p)
                    if not c.execute("SELECT 1 FROM address WHERE grp = ? AND ip_addr = ? AND port = ?",
                                     (grp, ip, port)).fetchone():
                        c.execute("INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (?, ?, 32, ?, ?)",
                                  (grp, ip, port, "trunk" if grp == 1 else "linli"))
            for user, password in (subscribers or {}).items():
                c.execute("INSERT OR REPLACE INTO subscriber (username, domain, password) VALUES (?, '', ?)",
                          (user, password))
    finally:
        c.close()


def provision_pg(url, trunks, ua_peers, subscribers, community=None, schema=None, tags=("trunk", "linli")):
    """provision() on a PostgreSQL database (linli.pg_sql), in a community's schema or another."""
    for grp, peers in ((1, trunks), (2, ua_peers)):
        for p in peers:
            ip, port = _split(p)
            if not pg_sql(url, "SELECT 1 FROM address WHERE grp = ? AND ip_addr = ? AND port = ?", (grp, ip, port),
                          community, schema):
                pg_sql(url, "INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (?, ?, 32, ?, ?)",
                       (grp, ip, port, tags[grp - 1]), community, schema)
    for user, password in (subscribers or {}).items():
        pg_sql(url, "INSERT INTO subscriber (username, domain, password) VALUES (?, '', ?) ON CONFLICT"
               " (username, domain) DO UPDATE SET password = excluded.password", (user, password), community, schema)


class Kamailio:
    def __init__(self, db_path, listen_ip="127.0.0.1", port=None, evapi_port=None, linli_ua="127.0.0.1:5070",
                 trunk="", short_code="6995", voice_code="6996", defines=None, workdir=None, evapi_secret=EVAPI_SECRET,
                 community=None):
        pg = db_path.startswith("postgresql://")
        self.db = db_path if pg else os.path.abspath(db_path)
        self.ip = listen_ip
        self.port = port or free_udp_port(listen_ip)
        self.evapi_port = evapi_port or free_port()
        self.linli_ua = linli_ua
        self._workdir(workdir, "kamailio")
        args = [KAMAILIO, "-f", CFG, "-DD", "-E", "-m", "64", "-M", "8",
                "-Y", self.rundir, "-P", self.pidfile,
                "--substdef=!DBFILE!%s!g" % ("/nonexistent" if pg else self.db),
                "-A", "SIP_IP=%s" % listen_ip, "-A", "SIP_PORT=%d" % self.port,
                "-A", 'EVAPI_BIND="127.0.0.1:%d"' % self.evapi_port,
                "-A", 'LINLI_UA="%s"' % linli_ua,
                "-A", 'TRUNK="%s"' % trunk,
                "-A", 'SHORT_CODE="%s"' % short_code,
                "-A", 'VOICE_CODE="%s"' % voice_code]
        if pg:
            # db_postgres takes postgres://; the same database as linlid's
            args += ["-A", "WITH_PGSQL", "--substdef=!PGURL!postgres://%s!g" % self.db.split("://", 1)[1]]
        for k, v in (defines or {}).items():
            args += ["-A", "%s=%s" % (k, v)]
        # the evapi secret goes in the environment (not on the command line, which ps shows); on
        # PostgreSQL a community's box reads its schema (the session's search_path)
        env = {"LINLI_EVAPI_SECRET": evapi_secret or ""}
        if pg and community:
            env["PGOPTIONS"] = "-c search_path=linli_%s" % community
        self._spawn(args, env, "Kamailio's evapi port %d" % self.evapi_port)

    def _workdir(self, workdir, name):
        """Its folder (workdir, else a temporary one removed by cleanup()), NAME-run/ for its pid
        file and NAME.log."""
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="linli-%s-" % name)
        self.rundir = os.path.join(self.dir, "%s-run" % name)
        os.makedirs(self.rundir, exist_ok=True)
        self.log = os.path.join(self.dir, "%s.log" % name)
        self.pidfile = os.path.join(self.rundir, "kamailio.pid")

    def _spawn(self, args, env, what):
        self.args = args
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=self.logf, cwd=self.dir,
                                     env=dict(os.environ, **env))
        try:
            wait_for(self._ready, 30, what, 0.1)
        except Exception:
            self.stop()
            raise

    def _exited(self):
        if self.proc.poll() is not None:
            raise AssertionError("kamailio exited with %s; log:\n%s" % (self.proc.returncode, self.log_tail()))

    def _ready(self):
        self._exited()
        # SIP is up once the evapi dispatcher listens (it starts after the SIP listeners)
        try:
            socket.create_connection(("127.0.0.1", self.evapi_port), timeout=1).close()
            return True
        except OSError:
            return False

    def uri(self, user):
        return "sip:%s@%s:%d" % (user, self.ip, self.port)

    def log_tail(self, n=60):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def pids(self):
        """The main process and its children (Kamailio's workers), by /proc."""
        out = [self.proc.pid]
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == self.proc.pid:
                    out.append(int(d))
        return out

    def hang(self, on=True):
        """Every process of this Kamailio stopped (SIGSTOP: it answers nothing, its sockets stay
        open, as a hung one's), or let go again (SIGCONT)."""
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP if on else signal.SIGCONT)

    def stop(self):
        """SIGTERM to the main process (it stops its children), SIGKILL after 15 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        self.proc = None

    def cleanup(self):
        if self.own_dir and not os.environ.get("LINLI_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def free_udp_port(ip="127.0.0.1"):
    """A UDP port free on ip (and its TCP twin too, for sipp's -t options): linli.free_port."""
    return free_port(udp=True, tcp=True, ip=ip)


def start(db_path, listen_ip="127.0.0.1", port=None, evapi_port=None, linli_ua="127.0.0.1:5070",
          trunks=("127.0.0.1",), ua_peers=(), subscribers=None, trunk="", workdir=None, community=None, **kw):
    """Provision peers/subscribers into db_path, start Kamailio, return a Kamailio (.stop(), .port,
    .evapi_port, .log, .log_tail())."""
    provision(db_path, trunks, ua_peers or [linli_ua], subscribers, community)
    return Kamailio(db_path, listen_ip, port, evapi_port, linli_ua, trunk=trunk, workdir=workdir, community=community,
                    **kw)


class Front(Kamailio):
    """The district's front Kamailio (routes/front.cfg) on a PostgreSQL database: its tables
    (routes/front.sql, schema "district") are created first; trunks and boxes are its allowed
    peers; boxes: {setid: [(box Kamailio's "ip:port", priority), ...]}; numbers: {"+E164": (setid,
    target, community)}."""

    def __init__(self, url, trunks=("127.0.0.1",), boxes=None, numbers=None, ping_interval=1, workdir=None):
        r = subprocess.run(["psql", url, "-qX", "-v", "ON_ERROR_STOP=1", "-f", FRONT_SQL], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("routes/front.sql: %s" % r.stderr.strip())
        box_peers = [b for dests in (boxes or {}).values() for b, _ in dests]
        provision_pg(url, trunks, box_peers, None, schema="district", tags=("trunk", "box"))
        for setid, dests in (boxes or {}).items():
            for dest, prio in dests:
                pg_sql(url, "INSERT INTO dispatcher (setid, destination, priority, description) VALUES (?, ?, ?, ?)",
                       (setid, "sip:" + dest, prio, "box %s" % dest), schema="district")
        for number, (setid, target, community) in (numbers or {}).items():
            pg_sql(url, "INSERT INTO linli_number (number, setid, target, community) VALUES (?, ?, ?, ?)",
                   (number, setid, target, community), schema="district")
        self.db = url
        self.ip = "127.0.0.1"
        self.port = free_udp_port()
        self._workdir(workdir, "front")
        args = [KAMAILIO, "-f", FRONT_CFG, "-DD", "-E", "-m", "64", "-M", "8", "-Y", self.rundir, "-P", self.pidfile,
                "--substdef=!PGURL!postgres://%s!g" % url.split("://", 1)[1],
                "-A", "SIP_IP=%s" % self.ip, "-A", "SIP_PORT=%d" % self.port,
                "-A", "PING_INTERVAL=%d" % ping_interval]
        self._spawn(args, {"PGOPTIONS": "-c search_path=district"}, "the front's OPTIONS answer on %d" % self.port)

    def _ready(self):
        self._exited()
        return send_request(self.port, "OPTIONS", None, "front-test", timeout=1) == 200


def send_request(port, method, user, sender, body=b"", ctype="text/plain;charset=UTF-8", ip="127.0.0.1", timeout=15):
    """One request from a fresh UDP port on ip to a Kamailio on 127.0.0.1:port: sip:USER@... (no
    user: the Kamailio itself), From sip:SENDER@ip, sent again every 0.5 s until an answer comes;
    returns the final status code (an INVITE's negative answer is ACKed), None on timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    s.settimeout(0.5)
    lport = s.getsockname()[1]
    ruri = "sip:%s127.0.0.1:%d" % (user + "@" if user else "", port)
    branch = "z9hG4bK-req%d-%d" % (lport, int(time.time() * 1000) % 100000)
    cid = "req-%d-%s@%s" % (lport, branch[-5:], ip)
    common = ("Via: SIP/2.0/UDP %s:%d;branch=%s\r\nFrom: <sip:%s@%s>;tag=req\r\n" % (ip, lport, branch, sender, ip))
    head = ("%s %s SIP/2.0\r\n%sTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\n"
            "Contact: <sip:%s@%s:%d>\r\n" % (method, ruri, common, ruri, cid, method, sender, ip, lport))
    if body:
        head += "Content-Type: %s\r\n" % ctype
    head += "Content-Length: %d\r\n\r\n" % len(body)
    data = head.encode() + body
    deadline = time.monotonic() + timeout
    provisional = False
    try:
        s.sendto(data, ("127.0.0.1", port))
        while time.monotonic() < deadline:
            try:
                reply = s.recv(65536)
            except socket.timeout:
                if not provisional:
                    s.sendto(data, ("127.0.0.1", port))
                continue
            code = int(reply.split(b" ", 2)[1])
            if code < 200:
                provisional = True
                continue
            if method == "INVITE" and code >= 300:
                to = [l for l in reply.decode("utf-8", "replace").split("\r\n") if l.lower().startswith("to:")][0]
                s.sendto(("ACK %s SIP/2.0\r\n%s%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n"
                          "Content-Length: 0\r\n\r\n" % (ruri, common, to, cid)).encode(), ("127.0.0.1", port))
            return code
        return None
    finally:
        s.close()


class UdpPeer:
    """A SIP peer on a UDP port of ip, its datagrams handled by on_datagram(data, addr) in a thread
    of its own until stop()."""

    def __init__(self, ip="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.sock.settimeout(0.2)
        self.ip, self.port = self.sock.getsockname()
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self._run)
        self.th.start()

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            self.on_datagram(data, addr)

    def on_datagram(self, data, addr):
        raise NotImplementedError

    def stop(self):
        self.stop_ev.set()
        self.th.join()
        self.sock.close()


class FakeTrunk(UdpPeer):
    """A UDP SIP peer that answers every INVITE with 486 and records the numbers it was asked for."""

    def __init__(self, ip="127.0.0.1"):
        self.invited = []
        super().__init__(ip)

    def on_datagram(self, data, addr):
        lines = data.decode("utf-8", "replace").split("\r\n")
        if not lines[0].startswith("INVITE "):
            return
        self.invited.append(lines[0].split()[1].split("@")[0].split(":")[1])
        keep = [l for l in lines[1:] if l.split(":")[0].lower() in ("via", "from", "call-id", "cseq")]
        to = [l for l in lines[1:] if l.lower().startswith("to:")][0]
        reply = ["SIP/2.0 486 Busy Here"] + keep + [to + ";tag=trunk%d" % len(self.invited), "Content-Length: 0", "",
                                                   ""]
        self.sock.sendto("\r\n".join(reply).encode(), addr)
