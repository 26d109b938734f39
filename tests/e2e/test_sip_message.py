"""SMS over SIP end to end: a real Kamailio with routes/kamailio.cfg, a real linlid (evapi) and
sipp as the SIP phones and peers, all on loopback.

- A resident's SIP phone (sipp on 127.0.0.4, not an allowed peer) registers with digest auth and
  sends the MESSAGE "报事 楼道灯坏了" (digest again): Kamailio answers 202 once linlid stored it,
  a request is created, and linlid's reply with the reference arrives at the phone's contact (a
  sipp UAS) as a MESSAGE; the outbox row is 'sent' only after the phone's 200. The grid worker
  still gets the dispatch by SMS through the modem.
- A MESSAGE from the trunk (allowed by address) is taken without digest.
- A MESSAGE from a peer that is not allowed (sipp on 127.0.0.2, unknown user): 403; a method
  Kamailio does not serve: 405.
- An INVITE to 6995 from a number the database does not know: 403; while linlid writes in a
  loop (CTRL sms-send), Kamailio's database query behind that answer keeps working (no 503).
- An INVITE to 6995 from a household number goes to linlid's user agent address (a sipp UAS
  there answers 486, which comes back to the caller).
- An SOS alert reaches a relative's registered SIP phone as a MESSAGE; the relative's MESSAGE
  "1" acknowledges the incident.
- With Kamailio stopped, a SIP message stays queued; when Kamailio is back, linlid reconnects
  and it is delivered.
- A group in 'ring-all' mode: Kamailio forks the 6995 INVITE to every other household of the
  caller's group through the trunk (none to the caller's own household).
"""
import base64
import os
import re
import subprocess
import threading

import kamailio
import linli
from sos_util import F1, F2, SOS_TEXT, WATCH

RULES = os.path.join(linli.ROOT, "routes", "sms.rules")
R1 = "+8613800138001"      # 邹丽, 1幢1单元101 (grid W1)
W1 = "+8613900139001"      # 杜军, grid worker of W1
UNKNOWN = "+8613700000009"  # no phone in the community database
PHONE_IP = "127.0.0.4"
OTHER_IP = "127.0.0.2"
PASSWORD = "s3cret-101"

HDR = """Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[$user]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[$to]@[remote_ip]>
Call-ID: [call_id]
Max-Forwards: 70
"""
HEAD = '<?xml version="1.0" encoding="UTF-8" ?>\n<scenario name="%s">\n'


def request(first_line, cseq, extra, body=""):
    """A request of the phone's call ([authentication] in extra answers the last challenge)."""
    return ('  <send retrans="500"><![CDATA[\n%s SIP/2.0\n' % first_line + HDR + "CSeq: %s\n%s" % (cseq, extra) +
            "Content-Length: %s\n\n%s]]></send>\n" % ("[len]" if body else "0", body))


def answer(status):
    """The answer to the request just received."""
    return """  <send><![CDATA[
SIP/2.0 %s
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
""" % status


def set_vars(user, to):
    return '  <nop><action><assignstr assign_to="user" value="%s"/><assignstr assign_to="to" value="%s"/>' \
           '</action></nop>\n' % (user, to)


# A SIP phone registering with its number (401, again with credentials, 200); its contact is
# [key_uas_port] on the same address.
CONTACT = "Contact: <sip:[key_num]@[local_ip]:[key_uas_port]>\nExpires: 300\n"
REGISTER = (set_vars("[key_num]", "[key_num]") +
            request("REGISTER sip:[remote_ip]:[remote_port]", "1 REGISTER", CONTACT) +
            '  <recv response="401" auth="true"/>\n' +
            request("REGISTER sip:[remote_ip]:[remote_port]", "2 REGISTER", CONTACT + "[authentication]\n") +
            '  <recv response="200"/>\n')
REGISTER_XML = HEAD % "linli SIP phone: register" + REGISTER + "</scenario>\n"
# ... and then texting linli [key_text] (407, again with credentials, 202).
TEXT = "Content-Type: text/plain;charset=UTF-8\n"
PHONE_XML = (HEAD % "linli SIP phone: register and text" + REGISTER + set_vars("[key_num]", "linli") +
             request("MESSAGE sip:linli@[remote_ip]:[remote_port]", "3 MESSAGE", TEXT, "[key_text]") +
             '  <recv response="407" auth="true"/>\n' +
             request("MESSAGE sip:linli@[remote_ip]:[remote_port]", "4 MESSAGE", "[authentication]\n" + TEXT,
                     "[key_text]") +
             '  <recv response="202"/>\n</scenario>\n')

# The phone's contact: one MESSAGE in, which must carry a 6-digit reference (check=True); 200 OK.
# With check=False it just takes MESSAGEs and logs whether one was an SOS alert.
def inbox_xml(check):
    regexp, name = ("[0-9]{6}", "REPLY-REF") if check else ("SOS求救", "GOT")
    return (HEAD % "linli SIP phone: messages in" + '  <recv request="MESSAGE">\n    <action>\n'
            '      <ereg regexp="%s" search_in="body" check_it="%s" assign_to="m"/>\n'
            '      <log message="%s [$m]"/>\n    </action>\n  </recv>\n' % (regexp, "true" if check else "false", name)
            + answer("200 OK") + "</scenario>\n")


def one_xml(method, expect, ack=True):
    """Somebody sends one request ([key_from] to [key_to]) and expects the final answer expect; the
    answer to an INVITE is ACKed."""
    xml = (HEAD % "one request, one answer" + set_vars("[key_from]", "[key_to]") +
           request("%s sip:[key_to]@[remote_ip]:[remote_port]" % method, "1 " + method,
                   "Contact: <sip:[key_from]@[local_ip]:[local_port]>\nContent-Type: text/plain\n", "hello") +
           '  <recv response="100" optional="true"/>\n  <recv response="%s"/>\n' % expect)
    if ack:
        xml += """  <send><![CDATA[
ACK sip:[key_to]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[last_From:]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
"""
    return xml + "</scenario>\n"


# linlid's user agent stand-in: answers an INVITE with 486.
BUSY_XML = (HEAD % "busy UA" + '  <recv request="INVITE"/>\n' + answer("486 Busy Here") +
            '  <recv request="ACK"/>\n</scenario>\n')


def db_open_modes(pid, db):
    """The access modes (os.O_RDONLY, os.O_RDWR) with which process pid and its children hold db open."""
    pids = [str(pid)]
    for st in os.listdir("/proc"):
        if st.isdigit():
            try:
                with open("/proc/%s/stat" % st) as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == str(pid):
                        pids.append(st)
            except OSError:
                pass
    modes = set()
    for p in pids:
        try:
            fds = os.listdir("/proc/%s/fd" % p)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (p, fd)) != db:
                    continue
                with open("/proc/%s/fdinfo/%s" % (p, fd)) as f:
                    flags = int([l for l in f if l.startswith("flags:")][0].split()[1], 8)
                modes.add(flags & 3)
            except (OSError, IndexError):
                pass
    return modes


class Sipp:
    def __init__(self, workdir, name, xml, args, wait=True, timeout=60, calls=1):
        self.name = name
        path = os.path.join(workdir, name + ".xml")
        with open(path, "w") as f:
            f.write(xml)
        self.out = os.path.join(workdir, name + ".out")
        self.f = open(self.out, "w")
        cmd = ["sipp", "-sf", path, "-m", str(calls), "-timeout", "%ds" % timeout, "-timeout_error", "-nostdin",
               "-trace_err", "-trace_logs", "-error_file", os.path.join(workdir, name + ".err"),
               "-log_file", os.path.join(workdir, name + ".log")] + args
        self.proc = subprocess.Popen(cmd, stdout=self.f, stderr=subprocess.STDOUT, cwd=workdir)
        self.workdir = workdir
        if wait:
            self.wait(timeout + 10)

    def wait(self, timeout=70):
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.rc = -9
        self.f.close()
        return self.rc

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def errors(self):
        text = ""
        for suffix in (".err", ".out"):
            try:
                with open(os.path.join(self.workdir, self.name + suffix), errors="replace") as f:
                    text += f.read()[-3000:]
            except OSError:
                pass
        return text

    def logged(self):
        try:
            with open(os.path.join(self.workdir, self.name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def main(t):
    evapi_port = linli.free_port()
    ua_port = kamailio.free_udp_port()
    gw = linli.Gateway(nmodems=1, extra_gateway_cfg="rules-file %s\nhelp-interval 0\nevapi 127.0.0.1 %d\n"
                       "retry-backoff 1 2\nmax-attempts 60" % (RULES, evapi_port))
    k = None
    sipps = []

    def sipp(name, xml, args, **kw):
        s = Sipp(gw.dir, name, xml, args, **kw)
        sipps.append(s)
        return s

    try:
        k = kamailio.start(gw.db, evapi_port=evapi_port, trunks=["127.0.0.1"],
                           ua_peers=["127.0.0.1:%d" % ua_port], linli_ua="127.0.0.1:%d" % ua_port,
                           subscribers={R1: PASSWORD}, workdir=gw.dir)
        gw.start()
        linli.wait_for(lambda: "connected to Kamailio's evapi" in gw.log_tail(400), 30, "linlid on evapi", 0.2)
        target = "127.0.0.1:%d" % k.port
        t.check("connected" in gw.vty("show sip"), "show sip: %s" % gw.vty("show sip"))
        if gw.db.startswith("postgresql://"):
            # PostgreSQL (issue 14): Kamailio's db_postgres connections to the same database
            n = gw.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND pid <> pg_backend_pid()")[0][0]
            t.check(n >= 2, "Kamailio and linlid are connected to the same PostgreSQL database (%d sessions)" % n)
        else:
            modes = db_open_modes(k.proc.pid, os.path.realpath(gw.db))
            t.check(modes == {os.O_RDONLY}, "Kamailio holds the community database read-only (modes %s)" % modes)

        # ---- 报事 from the resident's SIP phone; the reply comes back as a MESSAGE ----
        uas_port = kamailio.free_udp_port(PHONE_IP)
        uas = sipp("phone_uas", inbox_xml(True), ["-i", PHONE_IP, "-p", str(uas_port)], wait=False)
        phone = sipp("phone", PHONE_XML, [target, "-i", PHONE_IP, "-p", str(kamailio.free_udp_port(PHONE_IP)),
                                          "-key", "key_num", R1, "-au", R1, "-ap", PASSWORD, "-key", "key_uas_port",
                                          str(uas_port), "-key", "key_text", "报事 楼道灯坏了"])
        t.check(phone.rc == 0, "the phone registered with digest auth and its MESSAGE got 202 (sipp rc %s)%s" %
                (phone.rc, "" if phone.rc == 0 else "\n" + phone.errors()))
        rows = gw.sql("SELECT channel, sender, text, state FROM sms_in WHERE channel = 'sip'")
        t.check(rows == [("sip", R1, "报事 楼道灯坏了", "done")], "stored in the inbox as channel sip and routed: %s"
                % rows)
        reqs = gw.sql("SELECT ref, reporter, text FROM request")
        t.check(len(reqs) == 1 and reqs[0][1] == R1 and "楼道灯坏了" in reqs[0][2], "a request was created: %s" % reqs)
        uas.wait(40)
        t.check(uas.rc == 0, "the reply arrived at the phone as a MESSAGE with a 6-digit reference (sipp rc %s)%s"
                % (uas.rc, "" if uas.rc == 0 else "\n" + uas.errors()))
        m = re.search(r"REPLY-REF (\d{6})", uas.logged())
        t.check(m is not None and reqs and m.group(1) == reqs[0][0], "the reference in the reply is the request's "
                "(%s, %s)" % (m.group(1) if m else None, reqs[0][0] if reqs else None))
        out = linli.wait_for(lambda: gw.sql("SELECT channel, state, refs FROM sms_out WHERE dest = ? AND "
                                            "channel = 'sip' AND state = 'sent'", (R1,)), 20, "the reply marked sent")
        t.check(out == [("sip", "sent", "sip 200")], "the reply is 'sent' after the phone's 200: %s" % out)
        w1 = linli.wait_for(lambda: [x for x in gw.modems[0].sent() if x[0] == W1], 30, "the dispatch SMS")
        t.check(reqs and reqs[0][0] in w1[0][2], "the grid worker got the dispatch by SMS through the modem")

        # ---- a peer that is not allowed ----
        other = sipp("other", one_xml("MESSAGE", 403, ack=False), [target, "-i", OTHER_IP, "-p", str(kamailio.free_udp_port(OTHER_IP)),
                                                "-key", "key_from", "+8613500000001",
                                                "-key", "key_to", "linli"])
        t.check(other.rc == 0, "a MESSAGE from 127.0.0.2 (not allowed, no account) gets 403%s" %
                ("" if other.rc == 0 else "\n" + other.errors()))
        trunk_msg = sipp("trunk_msg", one_xml("MESSAGE", 202, ack=False),
                         [target, "-i", "127.0.0.1", "-p", str(kamailio.free_udp_port()), "-key", "key_from",
                          "13700000009", "-key", "key_to", "linli"])
        t.check(trunk_msg.rc == 0, "a MESSAGE from the trunk (allowed by address, no digest) gets 202%s" %
                ("" if trunk_msg.rc == 0 else "\n" + trunk_msg.errors()))
        rows = gw.sql("SELECT sender, text, raw LIKE '%(trunk, 127.0.0.1:%' FROM sms_in WHERE sender = ?", (UNKNOWN,))
        t.check(rows == [(UNKNOWN, "hello", 1)], "stored with the sender's number normalised: %s" % rows)
        code = kamailio.send_request(k.port, "MESSAGE", "linli", "13700000008", "报事 楼道灯坏了".encode("gbk"),
                                    "text/plain;charset=GBK")
        rows = gw.sql("SELECT text, flags, raw FROM sms_in WHERE sender = '+8613700000008'")
        t.check(code == 202 and len(rows) == 1 and rows[0][0] == "" and rows[0][1] & 2 and
                "base64: " + base64.b64encode("报事 楼道灯坏了".encode("gbk")).decode() in rows[0][2],
                "a MESSAGE body that is not UTF-8 (GBK) is stored flagged, its bytes kept in base64 (%s, %s)" %
                (code, rows))
        sub = sipp("subscribe", one_xml("SUBSCRIBE", 405, ack=False),
                   [target, "-i", "127.0.0.1", "-p", str(kamailio.free_udp_port()), "-key", "key_from", R1,
                    "-key", "key_to", "linli"])
        t.check(sub.rc == 0, "a method Kamailio does not serve (SUBSCRIBE) gets 405%s" %
                ("" if sub.rc == 0 else "\n" + sub.errors()))

        # ---- 6995 from an unknown number: 403, while linlid writes in a loop ----
        stop = threading.Event()
        writes = [0]

        def writer():
            ctrl = linli.Ctrl(gw.ctrl_port)
            try:
                while not stop.is_set():
                    ctrl.set("sms-send", "%s 测试写入 %d" % (W1, writes[0]))
                    writes[0] += 1
            finally:
                ctrl.close()
        th = threading.Thread(target=writer)
        th.start()
        try:
            unknown = sipp("unknown", one_xml("INVITE", 403), [target, "-i", "127.0.0.1", "-p", str(kamailio.free_udp_port()),
                                                     "-key", "key_from", UNKNOWN,
                                                     "-key", "key_to", "6995", "-r", "10"], calls=30)
        finally:
            stop.set()
            th.join()
        t.check(unknown.rc == 0 and writes[0] > 30, "30 INVITEs to 6995 from an unknown number: each 403 from the "
                "database query while linlid wrote %d times%s" % (writes[0], "" if unknown.rc == 0 else
                                                                  "\n" + unknown.errors()))

        # ---- 6995 from a household: to linlid's user agent ----
        busy = sipp("ua", BUSY_XML, ["-i", "127.0.0.1", "-p", str(ua_port)], wait=False)
        caller = sipp("caller", one_xml("INVITE", 486), [target, "-i", "127.0.0.1", "-p", str(kamailio.free_udp_port()),
                                          "-key", "key_from", "13800138001",
                                          "-key", "key_to", "6995"])
        busy.wait(20)
        t.check(caller.rc == 0 and busy.rc == 0, "6995 from a household number went to linlid's UA address "
                "(its 486 came back)%s" % ("" if caller.rc == 0 else "\n" + caller.errors() + busy.errors()))

        # ---- Kamailio down: the message stays queued; back: delivered ----
        k.stop()
        linli.wait_for(lambda: "lost Kamailio's evapi" in gw.log_tail(400), 30, "linlid noticing", 0.2)
        gw.ctrl.set("sms-send", "%s %s" % (W1, "占位"))  # the modem path still works meanwhile
        gw.sql("SELECT 1")
        gw.linlictl("sip", "channel", R1, "sip")
        qid = gw.send(R1, "SIP 测试 queued while Kamailio is down")
        row = gw.sql("SELECT channel, state FROM sms_out WHERE id = ?", (qid,))
        t.check(row == [("sip", "queued")], "a message to a SIP number stays queued while Kamailio is down: %s" % row)
        t.check("retrying" in gw.vty("show sip") or "connecting" in gw.vty("show sip"),
                "show sip tells Kamailio is unreachable: %s" % gw.vty("show sip"))
        uas2_port = kamailio.free_udp_port(PHONE_IP)
        trunk = kamailio.FakeTrunk()
        k = kamailio.start(gw.db, port=k.port, evapi_port=evapi_port, trunks=["127.0.0.1"],
                           subscribers={R1: PASSWORD}, workdir=gw.dir, trunk="127.0.0.1:%d" % trunk.port)
        linli.wait_for(lambda: gw.log_tail(400).count("connected to Kamailio's evapi") >= 2, 60,
                       "linlid reconnecting", 0.2)
        uas2 = sipp("phone_uas2", inbox_xml(False),
                    ["-i", PHONE_IP, "-p", str(uas2_port)], wait=False)
        reg = sipp("phone_reg", REGISTER_XML, [target, "-i", PHONE_IP, "-p", str(kamailio.free_udp_port(PHONE_IP)),
                                     "-key", "key_num", R1, "-au", R1, "-ap", PASSWORD, "-key", "key_uas_port", str(uas2_port)])
        t.check(reg.rc == 0, "the phone registered again%s" % ("" if reg.rc == 0 else "\n" + reg.errors()))
        uas2.wait(60)
        t.check(uas2.rc == 0, "after the reconnect the queued message reached the phone%s" %
                ("" if uas2.rc == 0 else "\n" + uas2.errors()))
        st = linli.wait_for(lambda: gw.sql("SELECT state FROM sms_out WHERE id = ? AND state = 'sent'", (qid,)), 30,
                            "the queued message sent")
        t.check(st == [("sent",)], "and it is marked sent")

        # ---- a group in 'ring-all' mode: Kamailio forks 6995 to every other household ----
        gw.sql_write("UPDATE grp SET call_mode = 'ring-all' WHERE id = (SELECT h.grp_id FROM household h "
                     "JOIN phone p ON p.household_id = h.id WHERE p.number = ?)", (R1,))
        others = sorted(n for (n,) in gw.sql(
            "SELECT m.number FROM linli_group_members m JOIN linli_caller c ON c.number = ? "
            "WHERE m.group_id = c.group_id AND m.household_id <> c.household_id", (R1,)))
        # the resident's own phone is registered again (previous step): it must not ring
        ring = sipp("ringall", one_xml("INVITE", 486), [target, "-i", "127.0.0.1", "-p",
                                                         str(kamailio.free_udp_port()), "-key", "key_from", R1,
                                                         "-key", "key_to", "6995"])
        trunk.stop()
        t.check(ring.rc == 0 and len(others) >= 8 and sorted(trunk.invited) == others,
                "ring-all: one INVITE to each of the %d other households' numbers through the trunk, none to "
                "the caller's household (%s)%s" % (len(others), sorted(trunk.invited),
                                                   "" if ring.rc == 0 else "\n" + ring.errors()))

        # ---- an SOS alert reaches a relative's SIP phone; the relative acknowledges by MESSAGE ----
        gw.linlictl("device", "add", WATCH, "--household", "1-1-101", "--person", "邹丽", "--dialect", "tk")
        for num in (F1, F2):
            gw.linlictl("bind", "add", WATCH, num, "--step", "1")
            gw.linlictl("bind", "approve", WATCH, num)
        gw.linlictl("sip", "account", F1, "pw-f1")
        gw.linlictl("sip", "channel", F1, "sip")
        f1_ip = "127.0.0.5"
        f1_uas_port = kamailio.free_udp_port(f1_ip)
        f1_inbox = sipp("f1_inbox", inbox_xml(False), ["-i", f1_ip, "-p", str(f1_uas_port)], wait=False, calls=2)
        reg = sipp("f1_reg", REGISTER_XML, [target, "-i", f1_ip, "-p", str(kamailio.free_udp_port(f1_ip)),
                                     "-key", "key_num", F1, "-au", F1, "-ap", "pw-f1", "-key", "key_uas_port",
                                     str(f1_uas_port)])
        t.check(reg.rc == 0, "the relative's SIP phone registered%s" % ("" if reg.rc == 0 else "\n" + reg.errors()))
        gw.modems[0].deliver(WATCH, SOS_TEXT)
        alert = linli.wait_for(lambda: gw.sql("SELECT channel, text FROM sms_out WHERE dest = ? AND state = 'sent'",
                                              (F1,)), 60, "the SOS alert to the SIP phone sent")
        t.check(alert[0][0] == "sip" and "SOS求救" in alert[0][1], "the SOS alert went to the relative's SIP phone "
                "and was answered 200: %s" % (alert,))
        t.check(gw.sql("SELECT channel FROM sms_out WHERE dest = ?", (F2,)) == [("gsm",)],
                "the other relative got it by SMS")
        ack = sipp("f1_ack", PHONE_XML, [target, "-i", f1_ip, "-p", str(kamailio.free_udp_port(f1_ip)),
                                          "-key", "key_num", F1, "-au", F1, "-ap", "pw-f1", "-key", "key_uas_port",
                                          str(f1_uas_port), "-key", "key_text", "1"])
        t.check(ack.rc == 0, "the relative's MESSAGE \"1\" got 202%s" % ("" if ack.rc == 0 else "\n" + ack.errors()))
        row = gw.sql("SELECT state, acked_by FROM sos_incident")
        t.check(row == [("acknowledged", F1)], "the incident is acknowledged by the SIP phone's number: %s" % row)
        f1_inbox.wait(40)
        t.check(f1_inbox.rc == 0 and "GOT SOS求救" in f1_inbox.logged(), "the phone got the alert and the answer "
                "to its acknowledgement as MESSAGEs%s" % ("" if f1_inbox.rc == 0 else "\n" + f1_inbox.errors()))

        t.check(gw.stop() == 0, "linlid stopped cleanly")
    finally:
        for s in sipps:
            s.stop()
        if k:
            if t.failures:
                print("---- kamailio log, last lines ----")
                print(k.log_tail(60))
            k.stop()


if __name__ == "__main__":
    linli.run(main)
