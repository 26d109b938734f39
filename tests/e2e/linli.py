"""End-to-end harness: real linlid, real libgammu, emulated modems (tests/modemsim) on
pseudo-terminals, a real SQLite file. Everything runs on loopback in a temporary folder; the
harness starts its own processes and stops only those, by PID.

Used by tests/e2e/test_*.py and bench/*.py.
"""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LINLI_BUILD", os.path.join(ROOT, "build"))
# the evapi secret shared by every linlid (evapi-secret) and Kamailio (LINLI_EVAPI_SECRET) of a test
EVAPI_SECRET = os.urandom(16).hex()


# Ports for the tests' servers and SIP peers are taken from below the kernel's ephemeral range
# (ip_local_port_range, 32768 and up on Debian) and below linlid's default RTP range (16384 and
# up): a port found free by binding port 0 is an ephemeral one, and any process that binds port 0
# before the test starts its server may be handed the same one (a sipp that then cannot bind
# exits, and the test waits in vain). Each port is handed out once per test process.
PORT_LO, PORT_HI = 10000, 16383
_handed = set()


_pg_dbs = [0]


def pg_fresh_db(base):
    """A new empty database on the cluster of base (a URL ending in /postgres): its URL."""
    _pg_dbs[0] += 1
    name = "e%d_%d" % (os.getpid(), _pg_dbs[0])
    pg_sql(base, "CREATE DATABASE %s" % name)
    return base.rsplit("/", 1)[0] + "/" + name


def pg_literal(q, args):
    """q with its "?" placeholders replaced by args as quoted literals."""
    parts = q.strip().rstrip(";").split("?")
    if len(parts) != len(args) + 1:
        raise AssertionError("pg_sql: %d placeholders, %d args" % (len(parts) - 1, len(args)))
    text = parts[0]
    for a, p in zip(args, parts[1:]):
        if a is None:
            lit = "NULL"
        elif isinstance(a, (int, float)):
            lit = repr(a)
        else:
            lit = "'" + str(a).replace("'", "''") + "'"
        text += lit + p
    return text


def pg_sql(url, q, args=(), community=None, schema=None):
    """Rows of q on a PostgreSQL database through psql (no driver needed): "?" placeholders become
    quoted literals; each row comes back through row_to_json, so numbers are int or float, text
    str, NULL None and booleans 1 or 0, as SQLite's would be. community: in that community's
    schema (linli_CODE, `community CODE`); schema: in another schema (the front's "district")."""
    text = pg_literal(q, args)
    select = re.match(r"\s*(SELECT|WITH)\b", text, re.I)
    if select:
        text = "SELECT row_to_json(linli_row)::text FROM (%s) linli_row" % text
    schema = "linli_%s" % community if community else schema
    env = dict(os.environ, PGOPTIONS="-c search_path=%s" % schema) if schema else None
    # a long text (sql_write_many) goes on standard input: the command line has a limit
    long = len(text) > 65536
    r = subprocess.run(["psql", url, "-AtXq", "-v", "ON_ERROR_STOP=1"] + ([] if long else ["-c", text]),
                       input=text if long else None, capture_output=True, text=True, timeout=60, env=env)
    if r.returncode != 0:
        raise AssertionError("psql %r: %s" % (text, r.stderr.strip()))
    if not select:
        return []

    def values(pairs):
        return tuple(int(v) if isinstance(v, bool) else v for _, v in pairs)
    return [json.loads(line, object_pairs_hook=values) for line in r.stdout.splitlines() if line]


PG_CLUSTER = os.path.join(ROOT, "tests", "pg", "cluster.sh")


class PgCluster:
    """A throw-away PostgreSQL cluster of the test's own (tests/pg/cluster.sh): a temporary folder,
    a free loopback port; .url is its database "linli". Stopped and removed on leaving the with."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="linli-pg-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        r = subprocess.run(["sh", PG_CLUSTER, "start", os.path.join(self.dir, "c"), str(self.port)],
                           capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise AssertionError("cannot start the PostgreSQL cluster: %s" % r.stderr)
        self.url = r.stdout.strip()
        return self

    def __exit__(self, *exc):
        subprocess.run(["sh", PG_CLUSTER, "stop", os.path.join(self.dir, "c")], timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def count_sent(modems, prefix):
    """How often each numbered message "PREFIX NNNN" went over the air, over these modems."""
    seen = {}
    for m in modems:
        for _, _, text in m.sent():
            k = re.search(prefix + r" (\d{4})", text)
            if k:
                seen[k.group(1)] = seen.get(k.group(1), 0) + 1
    return seen


def free_port(udp=False, tcp=True, ip="127.0.0.1"):
    """A port free on ip for TCP (and UDP with udp=True; for UDP alone: tcp=False), not handed
    out before by this process."""
    import random
    rnd = random.Random()
    for _ in range(500):
        port = rnd.randint(PORT_LO, PORT_HI)
        if port in _handed:
            continue
        kinds = ([socket.SOCK_STREAM] if tcp else []) + ([socket.SOCK_DGRAM] if udp else [])
        try:
            for kind in kinds:
                s = socket.socket(socket.AF_INET, kind)
                try:
                    if kind == socket.SOCK_STREAM:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((ip, port))
                finally:
                    s.close()
        except OSError:
            continue
        _handed.add(port)
        return port
    raise AssertionError("no free port in %d-%d" % (PORT_LO, PORT_HI))


def wait_for(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns something true; fail the test after timeout seconds."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def esc(text):
    """Escape a text for the modemsim control protocol (\\n, \\t, \\\\, \\xHH for raw bytes)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    out = []
    for b in text:
        c = chr(b)
        if c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif b < 0x20 or b == 0x7F:
            out.append("\\x%02x" % b)
        else:
            out.append(None)
            out[-1] = bytes([b])
    # join keeping raw UTF-8 bytes intact
    buf = b""
    for o in out:
        buf += o if isinstance(o, bytes) else o.encode()
    return buf


def unesc(s):
    """Inverse of esc(), returning bytes."""
    out = bytearray()
    i = 0
    b = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s
    while i < len(b):
        if b[i:i + 1] == b"\\" and i + 1 < len(b):
            n = b[i + 1:i + 2]
            if n == b"n":
                out += b"\n"
                i += 2
                continue
            if n == b"t":
                out += b"\t"
                i += 2
                continue
            if n == b"\\":
                out += b"\\"
                i += 2
                continue
            if n == b"x":
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
        out += b[i:i + 1]
        i += 1
    return bytes(out)


class Modem:
    """One tests/modemsim process: an AT modem on a pty, driven through its control socket."""

    def __init__(self, workdir, name, airtime_ms=0, at_log=False):
        self.name = name
        self.link = os.path.join(workdir, name + ".tty")
        self.sock = os.path.join(workdir, name + ".sock")
        self.log = open(os.path.join(workdir, name + ".log"), "w")
        # at_log: every AT exchange with a millisecond time stamp (modemsim --log), for benchmarks
        self.at_log = os.path.join(workdir, name + ".at.log") if at_log else None
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "modemsim"), "--link", self.link, "--ctl", self.sock,
             "--airtime-ms", str(airtime_ms), "--name", name] + (["--log", self.at_log] if at_log else []),
            stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("modemsim ready"):
            raise AssertionError("modemsim %s did not start: %r" % (name, line))
        self._conn = None

    def ctl(self, line):
        """Send one control line; return the reply line (str), or the list lines for list commands."""
        if self._conn is None:
            self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._conn.connect(self.sock)
            self._rf = self._conn.makefile("rb")
        if isinstance(line, str):
            line = line.encode()
        self._conn.sendall(line + b"\n")
        first = self._rf.readline().rstrip(b"\n").decode("utf-8", "surrogateescape")
        return first

    def ctl_list(self, line):
        if self._conn is None:
            self.ctl("stats")
        self._conn.sendall(line.encode() + b"\n")
        rows = []
        while True:
            r = self._rf.readline()
            if not r:
                raise AssertionError("modemsim %s closed the control socket" % self.name)
            r = r.rstrip(b"\n")
            if r == b".":
                return rows
            if r.startswith(b"err"):
                raise AssertionError("modemsim %s: %s" % (self.name, r))
            rows.append(r.decode("utf-8", "surrogateescape"))

    def deliver(self, number, text, opts=""):
        r = self.ctl(b"deliver " + (opts.encode() + b" " if opts else b"") + number.encode() + b" " + esc(text))
        if not r.startswith("ok"):
            raise AssertionError("deliver failed: %s" % r)
        return r

    def sent(self):
        """[(dest, nparts, text)] of every message the modem was asked to send, reassembled."""
        out = []
        for row in self.ctl_list("sent"):
            f = row.split("\t")
            out.append((f[1], f[2], unesc(f[4]).decode("utf-8", "replace")))
        return out

    def stats(self):
        r = self.ctl("stats")
        return dict(kv.split("=") for kv in r.split()[1:])

    def stop(self):
        if self._conn:
            self._conn.close()
            self._conn = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Ctrl:
    """Osmocom CTRL client (IPA framing: len16, 0xEE, ext 0x00 = CTRL)."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.id = 0

    def _rx(self):
        hdr = b""
        while len(hdr) < 3:
            hdr += self.s.recv(3 - len(hdr))
        n = struct.unpack(">H", hdr[:2])[0]
        body = b""
        while len(body) < n:
            body += self.s.recv(n - len(body))
        return body[1:].decode("utf-8", "replace")  # skip the CTRL extension byte

    def cmd(self, verb, var, value=None):
        self.id += 1
        msg = "%s %d %s" % (verb, self.id, var)
        if value is not None:
            msg += " " + value
        body = b"\x00" + msg.encode()
        self.s.sendall(struct.pack(">HB", len(body), 0xEE) + body)
        while True:
            r = self._rx()
            parts = r.split(" ", 3)
            if parts[0] == "TRAP":
                continue
            if parts[0].endswith("ERROR"):
                raise AssertionError("CTRL %s %s: %s" % (verb, var, r))
            return parts[3] if len(parts) > 3 else ""

    def get(self, var):
        return self.cmd("GET", var)

    def set(self, var, value):
        return self.cmd("SET", var, value)

    def close(self):
        self.s.close()


class Gateway:
    """A linlid with n emulated modems in a temporary folder."""

    def __init__(self, nmodems=1, airtime_ms=0, sample=True, extra_gateway_cfg="", modem_cfg="", at_log=False,
                 vty_password=None, http=False, http_root=None, db=None, community=None):
        self.dir = tempfile.mkdtemp(prefix="linli-e2e-")
        # community: this box's community in a district's PostgreSQL database (`community CODE`)
        self.community = community
        self.log_path = os.path.join(self.dir, "linlid.log")
        self.proc = None
        self.modems = []
        ALL_GATEWAYS.append(self)
        # db: a postgresql:// URL (tests/pg/cluster.sh) instead of an SQLite file; LINLI_E2E_PG (the
        # URL of a cluster's maintenance database): every gateway on a fresh database there
        if not db and os.environ.get("LINLI_E2E_PG"):
            db = pg_fresh_db(os.environ["LINLI_E2E_PG"])
        self.db = db or os.path.join(self.dir, "linli.db")
        self.vty_port = free_port()
        self.ctrl_port = free_port()
        # http: the staff console on 127.0.0.1:http_port (gateway/core/http.h)
        self.http_port = free_port() if http else None
        self.modems = [Modem(self.dir, "m%d" % (i + 1), airtime_ms, at_log) for i in range(nmodems)]
        self.proc = None
        self.log_path = os.path.join(self.dir, "linlid.log")
        if sample:
            self.linlictl("import-all", os.path.join(ROOT, "etc", "sample"))
        else:
            self.linlictl("init")
        self.vty_password = vty_password
        cfg = ["password %s" % vty_password, "enable password %s" % vty_password] if vty_password else []
        cfg += ["log stderr", " logging filter all 1", " logging color 0", " logging print category 1",
               " logging print extended-timestamp 1", " logging level set-all notice",
               "line vty", " bind 127.0.0.1 %d" % self.vty_port] + ([" login"] if vty_password else []) + [
               "gateway", " database %s" % self.db, " ctrl-bind 127.0.0.1 %d" % self.ctrl_port, " ctrl-send on"]
        if community:
            cfg.append(" community %s" % community)
        if self.http_port:
            cfg.append(" http-bind 127.0.0.1 %d" % self.http_port)
            cfg.append(" http-root %s" % (http_root or os.path.join(ROOT, "www")))
        cfg += [" " + l for l in extra_gateway_cfg.splitlines() if l.strip()]
        if "evapi " in extra_gateway_cfg and "evapi-secret" not in extra_gateway_cfg:
            cfg.append(" evapi-secret %s" % EVAPI_SECRET)
        for m in self.modems:
            cfg += ["modem %s" % m.name, " device %s" % m.link, " connection at",
                    " poll-interval 5", " health-interval 5"]
            cfg += [" " + l for l in modem_cfg.splitlines() if l.strip()]
        self.cfg = os.path.join(self.dir, "linlid.cfg")
        with open(self.cfg, "w") as f:
            f.write("\n".join(cfg) + "\n")
        self.ctrl = None

    def linlictl(self, *args, check=True):
        r = subprocess.run([os.path.join(BUILD, "linlictl"), "-d", self.db] +
                           (["-C", self.community] if self.community else []) + list(args),
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError("linlictl %s failed (%d): %s %s" % (args, r.returncode, r.stdout, r.stderr))
        return r

    def start(self, wait_ready=True):
        self.logf = open(self.log_path, "a")
        self.proc = subprocess.Popen([os.path.join(BUILD, "linlid"), "-c", self.cfg],
                                     stdout=self.logf, stderr=self.logf, cwd=self.dir)
        self.ctrl = wait_for(self._try_ctrl, 60, "linlid's CTRL port")
        if wait_ready:
            self.wait_modems_ready()
        return self

    def _try_ctrl(self):
        if self.proc.poll() is not None:
            raise AssertionError("linlid exited with %s; log:\n%s" % (self.proc.returncode, self.log_tail()))
        try:
            return Ctrl(self.ctrl_port)
        except OSError:
            return None

    def wait_modems_ready(self, names=None, timeout=60):
        names = names or [m.name for m in self.modems]

        def ready():
            st = dict(kv.split("=") for kv in self.ctrl.get("modems").split(",") if kv)
            return all(st.get(n) == "ready" for n in names)
        wait_for(ready, timeout, "modems %s ready" % names, 0.2)

    def send(self, number, text):
        return int(self.ctrl.set("sms-send", "%s %s" % (number, text)))

    def queue(self):
        return dict((k, int(v)) for k, v in (kv.split("=") for kv in self.ctrl.get("queue").split(",")))

    def sql(self, q, args=()):
        if self.db.startswith("postgresql://"):
            return pg_sql(self.db, q, args, self.community)
        c = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=30)
        try:
            return c.execute(q, args).fetchall()
        finally:
            c.close()

    def sql_write(self, q, args=()):
        """Change the database as another process would (SQLite: a second connection with a busy
        timeout; PostgreSQL: psql)."""
        if self.db.startswith("postgresql://"):
            return pg_sql(self.db, q, args, self.community)
        c = sqlite3.connect(self.db, timeout=30)
        try:
            with c:
                return c.execute(q, args).fetchall()
        finally:
            c.close()

    def sql_write_many(self, q, rows):
        """q once for each row of args, in one transaction (SQLite: executemany; PostgreSQL: one psql
        run of all the statements)."""
        if self.db.startswith("postgresql://"):
            text = "BEGIN;\n" + ";\n".join(pg_literal(q, r) for r in rows) + ";\nCOMMIT"
            return pg_sql(self.db, text, (), self.community)
        c = sqlite3.connect(self.db, timeout=30)
        try:
            with c:
                c.executemany(q, rows)
        finally:
            c.close()

    def vty(self, command, password=None):
        """Run one command on the telnet VTY (in enable mode) and return its output; with a VTY
        password configured, log in with password (default: the configured one)."""
        s = socket.create_connection(("127.0.0.1", self.vty_port), timeout=30)
        password = self.vty_password if password is None else password

        def until_prompt():
            buf = b""
            while not (buf.rstrip().endswith(b">") or buf.rstrip().endswith(b"#") or
                       buf.rstrip().endswith(b"Password:")):
                d = s.recv(65536)
                if not d:
                    break
                buf += d
            return buf
        out = until_prompt()
        if out.rstrip().endswith(b"Password:"):
            s.sendall((password or "").encode() + b"\r\n")
            out = until_prompt()
            if not out.rstrip().endswith(b">"):
                s.close()
                return "login refused"
        s.sendall(b"enable\r\n")
        out = until_prompt()
        if out.rstrip().endswith(b"Password:"):
            s.sendall((password or "").encode() + b"\r\n")
            until_prompt()
        # several commands in one session (e.g. configure terminal, gateway, a setting): the output
        # of the last one is returned
        for c in command if isinstance(command, (list, tuple)) else [command]:
            s.sendall(c.encode() + b"\r\n")
            out = until_prompt()
        s.close()
        text = out.decode("utf-8", "replace")
        # drop the echoed command and the trailing prompt
        lines = text.split("\r\n")
        return "\n".join(lines[1:-1])

    def log_tail(self, n=60):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def kill9(self):
        if self.ctrl:
            self.ctrl.close()
            self.ctrl = None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.logf.close()

    def stop(self):
        """SIGTERM and wait for a clean exit; returns linlid's exit status."""
        if self.ctrl:
            self.ctrl.close()
            self.ctrl = None
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("linlid did not stop within 90 s of SIGTERM")
        elif self.proc:
            rc = self.proc.returncode
        if self.proc:
            self.logf.close()
        self.proc = None
        return rc

    def close(self):
        try:
            self.stop()
        finally:
            for m in self.modems:
                m.stop()
            self.closed = True

    def cleanup(self):
        """Remove the temporary folder (kept when LINLI_KEEP is set)."""
        if not os.environ.get("LINLI_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


ALL_GATEWAYS = []


class Test:
    """Minimal check collector: every check prints a line; the script exits 1 on any failure."""

    def __init__(self):
        self.failures = 0

    def check(self, cond, what):
        print("%s %s" % ("ok  " if cond else "FAIL", what))
        sys.stdout.flush()
        if not cond:
            self.failures += 1
        return cond

    def done(self):
        print("%d check(s) failed" % self.failures if self.failures else "all checks passed")
        sys.exit(1 if self.failures else 0)


class SentSms:
    """What the emulated modems sent, each SMS found once: wait(dest, *words) returns the text of
    the first one to dest not yet seen that holds every word."""

    def __init__(self, gw):
        self.gw, self.seen = gw, set()

    def sent(self):
        out = []
        for m in self.gw.modems:
            out += m.sent()
        return out

    def wait(self, dest, *words, timeout=30):
        def find():
            for d, _, text in self.sent():
                if d == dest and (d, text) not in self.seen and all(w in text for w in words):
                    self.seen.add((d, text))
                    return text
            return None
        return wait_for(find, timeout, "an SMS to %s with %s" % (dest, words), 0.2)


def run(main):
    """Run main(t) with a Test; any exception is a failure with its traceback."""
    t = Test()

    def on_term(signo, frame):
        raise AssertionError("stopped by signal %d (time limit?)" % signo)
    signal.signal(signal.SIGTERM, on_term)
    try:
        main(t)
    except Exception:
        import traceback
        traceback.print_exc()
        t.failures += 1
    for gw in ALL_GATEWAYS:
        if t.failures:
            print("---- linlid log (%s), last lines ----" % gw.dir)
            print(gw.log_tail(80))
        if not getattr(gw, "closed", False):
            try:
                gw.close()
            except Exception as e:
                print("cleanup: %s" % e)
        gw.cleanup()
    t.done()
