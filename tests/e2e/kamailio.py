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
import time

from linli import EVAPI_SECRET, ROOT, free_port, pg_sql, wait_for

# LINLI_KAMAILIO_CFG: another config, e.g. an older one to show that a test catches its hole
CFG = os.environ.get("LINLI_KAMAILIO_CFG") or os.path.join(ROOT, "routes", "kamailio.cfg")
KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"


def _split(peer):
    """"ip" or "ip:port" -> (ip, port); port 0 = any."""
    if ":" in peer:
        ip, port = peer.rsplit(":", 1)
        return ip, int(port)
    return peer, 0


def provision(db_path, trunks=(), ua_peers=(), subscribers=None):
    """Write peers (address table) and SIP accounts (subscriber table) into the database.
    linlid may be running: its WAL file and a busy timeout make this safe."""
    if db_path.startswith("postgresql://"):
        return provision_pg(db_path, trunks, ua_peers, subscribers)
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


def provision_pg(url, trunks, ua_peers, subscribers):
    """provision() on a PostgreSQL database (linli.pg_sql)."""
    for grp, peers in ((1, trunks), (2, ua_peers)):
        for p in peers:
            ip, port = _split(p)
            if not pg_sql(url, "SELECT 1 FROM address WHERE grp = ? AND ip_addr = ? AND port = ?", (grp, ip, port)):
                pg_sql(url, "INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (?, ?, 32, ?, ?)",
                       (grp, ip, port, "trunk" if grp == 1 else "linli"))
    for user, password in (subscribers or {}).items():
        pg_sql(url, "INSERT INTO subscriber (username, domain, password) VALUES (?, '', ?) ON CONFLICT"
               " (username, domain) DO UPDATE SET password = excluded.password", (user, password))


class Kamailio:
    def __init__(self, db_path, listen_ip="127.0.0.1", port=None, evapi_port=None, linli_ua="127.0.0.1:5070",
                 trunk="", short_code="6995", voice_code="6996", defines=None, workdir=None, evapi_secret=EVAPI_SECRET):
        pg = db_path.startswith("postgresql://")
        self.db = db_path if pg else os.path.abspath(db_path)
        self.ip = listen_ip
        self.port = port or free_udp_port(listen_ip)
        self.evapi_port = evapi_port or free_port()
        self.linli_ua = linli_ua
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="linli-kamailio-")
        self.rundir = os.path.join(self.dir, "kamailio-run")
        os.makedirs(self.rundir, exist_ok=True)
        self.log = os.path.join(self.dir, "kamailio.log")
        self.pidfile = os.path.join(self.rundir, "kamailio.pid")
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
        self.args = args
        self.logf = open(self.log, "a")
        # the evapi secret goes in the environment (not on the command line, which ps shows)
        env = dict(os.environ, LINLI_EVAPI_SECRET=evapi_secret or "")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=self.logf, cwd=self.dir, env=env)
        try:
            wait_for(self._ready, 30, "Kamailio's evapi port %d" % self.evapi_port, 0.1)
        except Exception:
            self.stop()
            raise

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("kamailio exited with %s; log:\n%s" % (self.proc.returncode, self.log_tail()))
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
          trunks=("127.0.0.1",), ua_peers=(), subscribers=None, trunk="", workdir=None, **kw):
    """Provision peers/subscribers into db_path, start Kamailio, return a Kamailio (.stop(), .port,
    .evapi_port, .log, .log_tail())."""
    provision(db_path, trunks, ua_peers or [linli_ua], subscribers)
    return Kamailio(db_path, listen_ip, port, evapi_port, linli_ua, trunk=trunk, workdir=workdir, **kw)
