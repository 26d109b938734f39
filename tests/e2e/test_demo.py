"""The demo as a newcomer meets it (issue 15): scripts/demo.sh (what `make run` starts: the sample
community, an emulated modem, Kamailio, linlid and the emulated neighbours), then scripts/text.sh,
scripts/sos.sh and scripts/call.sh in another terminal, checked by what they print. Everything on loopback,
on free ports, in a temporary folder (LINLI_VAR), so a developer's own `make run` is not
disturbed; the demo is stopped with SIGTERM to the script, whose trap stops what it started."""
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import kamailio
import linli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WATCH = "+8613912340001"
FAMILY = ["+8613700000001", "+8613700000002"]
JOINERS = ["+8613800138002", "+8613800138003"]


def main(t):
    var = tempfile.mkdtemp(prefix="linli-demo-")
    env = dict(os.environ, BUILD=linli.BUILD, LINLI_VAR=var, SIP_PORT=str(kamailio.free_udp_port()),
               EVAPI_PORT=str(linli.free_port()), UA_PORT=str(kamailio.free_udp_port()),
               VTY_PORT=str(linli.free_port()), CTRL_PORT=str(linli.free_port()), HTTP_PORT=str(linli.free_port()))
    out_path = os.path.join(var, "demo.out")
    out = open(out_path, "w")
    demo = subprocess.Popen(["sh", "scripts/demo.sh"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def text():
        with open(out_path, errors="replace") as f:
            return f.read()
    try:
        linli.wait_for(lambda: "ready: connected" in text() or demo.poll() is not None, 90, "the demo's modem ready")
        t.check(demo.poll() is None, "scripts/demo.sh runs")
        t.check("sh scripts/sos.sh" in text() and "sh scripts/call.sh" in text(),
                "its banner tells the newcomer about scripts/sos.sh and scripts/call.sh")
        nb_log = os.path.join(var, "demo", "neighbours.log")
        linli.wait_for(lambda: os.path.exists(nb_log) and open(nb_log).read().count("registered") == 8, 30,
                       "the eight emulated neighbours registered with Kamailio")

        # ---- the staff console's page is served, its API wants a token ----
        base = "http://127.0.0.1:%s" % env["HTTP_PORT"]
        with urllib.request.urlopen(base + "/", timeout=10) as r:
            page = r.read().decode()
        t.check("邻里" in page and "app.js" in page, "the demo serves the staff console's page")
        try:
            urllib.request.urlopen(base + "/api/v1/modems", timeout=10)
            code = 200
        except urllib.error.HTTPError as e:
            code = e.code
        t.check(code == 401, "and its API wants a token (%s)" % code)

        # ---- scripts/text.sh: the reply to that number, then what else went out ----
        tx = subprocess.run(["sh", "scripts/text.sh", "+8613800138001", "报事", "3楼楼道灯坏了"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
        lines = tx.stdout.splitlines()
        t.check(tx.returncode == 0 and len(lines) >= 3 and lines[1].startswith("reply to +8613800138001: 已受理"),
                "text.sh prints the resident's own reply first: %r" % tx.stdout[-400:])
        t.check(any(line.startswith("also sent to +8613900139001: ") for line in lines[2:]),
                "and then the dispatch to the grid worker, marked as such")

        # ---- scripts/sos.sh: the alerts to both contacts, the acknowledgement ----
        sos = subprocess.run(["sh", "scripts/sos.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
        so = sos.stdout + sos.stderr
        t.check(sos.returncode == 0, "scripts/sos.sh exits 0" + ("" if sos.returncode == 0 else " (%s)" % so[-800:]))
        for f in FAMILY:
            t.check(re.search(r"-> %s: 【SOS求救】邹丽 .*位置:https://uri\.amap\.com/" % re.escape(f), so) is not None,
                    "sos.sh shows the SOS alert with its map link going to %s" % f)
        t.check("%s acknowledges" % FAMILY[0] in so and "-> %s: 【已响应】" % FAMILY[1] in so,
                "sos.sh shows the acknowledgement and the other contact told")
        t.check(re.search(r"acknowledged .* by %s" % re.escape(FAMILY[0]), so) is not None,
                "sos.sh prints the incident, acknowledged by the contact")

        # ---- scripts/call.sh: 6995 through Kamailio, two neighbours join ----
        call = subprocess.run(["sh", "scripts/call.sh", "16"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
        co = call.stdout + call.stderr
        t.check(call.returncode == 0, "scripts/call.sh exits 0" + ("" if call.returncode == 0 else " (%s)" % co[-800:]))
        ok = "joined: 2 (%s)" % ", ".join(JOINERS) in co
        t.check(ok, "call.sh: the two answering neighbours joined" + ("" if ok else " (%s)" % co[-600:]))
        t.check(re.search(r"\+8613800138004\s+neighbour\s+no_key", co) is not None,
                "call.sh: the neighbour who answered without pressing 1 is released (no_key)")
        t.check(len(re.findall(r"neighbour\s+(cancelled|no_answer)", co)) == 5,
                "call.sh: the five who never answered were cancelled")
        nb = open(nb_log).read()
        t.check(all("%s: answered and pressed 1" % n in nb for n in JOINERS), "the neighbours' log tells who pressed 1")
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)
            try:
                rc = demo.wait(30)
            except subprocess.TimeoutExpired:
                demo.kill()
                rc = demo.wait()
            t.check(rc == 0, "the demo stops on SIGTERM (exit %s)" % rc)
        out.close()
        time.sleep(0.5)
        left = subprocess.run(["pgrep", "-f", var], capture_output=True, text=True).stdout.split()
        t.check(not left, "nothing the demo started is left running (%s)" % left)
        for pid in left:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        if t.failures:
            print("---- demo output ----\n" + text()[-3000:])
            nbp = os.path.join(var, "demo", "neighbours.log")
            if os.path.exists(nbp):
                print("---- neighbours ----\n" + open(nbp).read()[-2000:])
        elif not os.environ.get("LINLI_KEEP"):
            subprocess.run(["rm", "-rf", var])


linli.run(main)
