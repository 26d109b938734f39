"""The staff console's page in a real browser (Debian's chromium, headless, driven over the
DevTools pipe by tests/e2e/cdp.py) against a real linlid, libgammu and modemsim: log in with a
token; a resident's 报事 SMS appears in the work list; assign and close it in the page and the
resident's SMS leaves through modemsim; a watch's SOS appears at the top within a few seconds
with who was alerted, the map link and the alarm cue, is acknowledged on a contact's behalf and
resolved in the page; a pending binding is approved; English; a wearer's name that is HTML stays
text. Screenshots of each step go to BUILD/test-logs/screenshots/."""
import json
import os
import re
import time

import linli
from cdp import Browser
from console_util import gateway, token, wait_http
from sos_util import F1, F2, PENDING, SOS_TEXT, STAFF, WATCH, texts_to, wait_texts

SHOTS = os.path.join(linli.BUILD, "test-logs", "screenshots")
R2 = "+8613800138002"        # 吕永福, 1幢1单元102 (grid W1)
W3 = "+8613900139003"        # another grid worker
WATCH2 = "+8613912340002"    # a watch whose wearer's name is HTML
NEWCOMER, NEWCOMER2 = "+8613700000077", "+8613700000078"
EVIL = '<img src=x onerror="window.pwned=1">王<b>强</b>'


def js(v):
    return json.dumps(v, ensure_ascii=False)


def main(t):
    os.makedirs(SHOTS, exist_ok=True)
    gw = gateway(nmodems=2)
    gw.linlictl("device", "add", WATCH2, "--household", "1-1-102", "--person", EVIL, "--dialect", "generic")
    gw.linlictl("bind", "add", WATCH2, F1, "--step", "1")
    gw.linlictl("bind", "approve", WATCH2, F1)
    gw.start()
    wait_http(gw)
    tok = token(gw, STAFF[0])
    # two residents asked to register by SMS before the page is opened
    for num, text in ((NEWCOMER, "注册 张三 1-1-101"), (NEWCOMER2, "注册 李四 8-8-808")):
        gw.modems[0].deliver(num, text)
        wait_texts(gw, num, "待社区审核", 1, 30)
    b = Browser(gw.dir)
    shot = lambda name: print("screenshot %s" % b.screenshot(os.path.join(SHOTS, "console_%s.png" % name)))
    try:
        # ---- log in ----
        b.navigate(gw.base + "/")
        t.check(b.eval("document.title") == "邻里 社区值班台" and not b.eval("document.getElementById('login-view').hidden"),
                "the page is served, in Chinese, asking for the token")
        shot("1_login")
        b.eval("document.getElementById('token').value = 'wrong'; document.getElementById('login-btn').click(); 1")
        err = b.wait("document.getElementById('login-error').textContent", 10, "the log-in error")
        t.check("登录失败" in err and not b.eval("!document.getElementById('app').hidden"),
                "a wrong token is refused in the page: %s" % err)
        b.eval("document.getElementById('token').value = %s; document.getElementById('login-btn').click(); 1" % js(tok))
        b.wait("!document.getElementById('app').hidden", 10, "logged in")
        who = b.eval("document.getElementById('who').textContent")
        t.check("王敏" in who and "staff" in who, "logged in as the staff member: %s" % who)
        b.wait("document.querySelectorAll('#modem-list tr[data-modem]').length == 2", 15, "the modems shown")
        t.check("ready" in b.eval("document.getElementById('modem-list').textContent"), "modem health shown")
        t.check(b.eval("document.getElementById('sos-status').textContent") == "暂无未处理的求救", "no SOS yet")
        cookie = b.eval("document.cookie")
        t.check("linli_session" not in cookie, "the session cookie is HttpOnly (not in document.cookie)")

        # ---- a pending binding approved ----
        b.wait("document.querySelector('#bind-list .binding')", 15, "the pending binding listed")
        item = b.eval("document.querySelector('#bind-list .binding').textContent")
        t.check(PENDING in item and WATCH in item, "the pending binding: %s" % item)
        shot("2_start")
        b.eval("document.querySelector('#bind-list .binding .approve').click(); 1")
        b.wait("!document.querySelector('#bind-list .binding')", 15, "the binding left the list")
        t.check(gw.sql("SELECT b.state, b.approved_by FROM binding b JOIN phone p ON p.id = b.phone_id"
                       " WHERE p.number = ?", (PENDING,))[0][0] == "approved", "approved in the database")
        wait_texts(gw, PENDING, "绑定成功", 1, 30)
        t.check(True, "the contact is told by SMS")

        # ---- registrations: one approved, one rejected with a reason ----
        reg = "document.querySelector('#reg-list .registration[data-number=\"%s\"]')"
        b.wait(reg % NEWCOMER2, 15, "the registrations listed")
        t.check("张三" in b.eval((reg % NEWCOMER) + ".textContent"), "the pending registration with its name")
        b.eval((reg % NEWCOMER) + ".querySelector('.approve').click(); 1")
        wait_texts(gw, NEWCOMER, "注册已通过", 1, 30)
        b.wait("!" + (reg % NEWCOMER), 15, "the approved registration left the list")
        b.eval("document.querySelector('#reg-list .reject-reason').value = '地址不在本社区'; %s.querySelector('.reject').click(); 1"
               % (reg % NEWCOMER2))
        b.wait("!" + (reg % NEWCOMER2), 15, "the rejected registration left the list")
        t.check(gw.sql("SELECT state FROM registration WHERE number = ? ORDER BY id DESC", (NEWCOMER,))[0][0] ==
                "approved" and gw.sql("SELECT state FROM registration WHERE number = ? ORDER BY id DESC",
                                      (NEWCOMER2,))[0][0] == "rejected",
                "approved and rejected in the page, in the database")

        # ---- a resident's request in the work list ----
        gw.modems[0].deliver(R2, "#我要报事 3幢电梯坏了，困了老人")
        ref = re.search(r"单号(\d{6})", wait_texts(gw, R2, "已受理", 1, 30)[0]).group(1)
        b.eval("document.querySelector('#rq-filter button').click(); 1")
        card = "document.querySelector('#rq-list .request[data-ref=\"%s\"]')" % ref
        b.wait(card, 15, "request %s in the list" % ref)
        t.check("3幢电梯坏了" in b.eval(card + ".textContent"), "the request's text in the list")
        shot("3_request")
        b.eval(card + ".querySelector('.assign-number').value = %s; %s.querySelector('button.assign').click(); 1"
               % (js(W3), card))
        wait_texts(gw, W3, ref, 1, 30)
        t.check(gw.sql("SELECT p.number FROM request r JOIN phone p ON p.id = r.assignee_phone_id WHERE ref = ?",
                       (ref,))[0][0] == W3, "assigned in the page: %s got the dispatch SMS" % W3)
        b.wait(card + " && " + card + ".textContent.includes('%s'.slice(3))" % W3, 15, "the new assignee shown")
        b.eval(card + ".querySelector('.note-text').value = '已联系物业'; %s.querySelector('button.note').click(); 1"
               % card)
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM request_event e JOIN request r ON r.id = e.request_id"
                                      " WHERE r.ref = ? AND e.note LIKE '%已联系物业%'", (ref,))[0][0], 15,
                       "the note in the history")
        b.eval(card + ".querySelector('.extend-reason').value = '等配件'; %s.querySelector('button.extend').click(); 1"
               % card)
        b.wait(card + " && " + card + ".querySelector('.state').textContent.includes('延期')", 15, "extended")
        t.check(gw.sql("SELECT state FROM request WHERE ref = ?", (ref,))[0][0] == "extended",
                "a note and 延期 in the page reach the database")
        b.eval(card + ".querySelector('.close-result').value = '已修好电梯'; %s.querySelector('button.close').click(); 1"
               % card)
        res = wait_texts(gw, R2, "已修好电梯", 1, 30)[0]
        t.check(ref in res, "closed in the page: the resident's SMS left through modemsim: %s" % res)
        t.check(gw.sql("SELECT state FROM request WHERE ref = ?", (ref,))[0][0] == "closed", "closed in the database")

        # ---- an SOS appears at the top within a few seconds ----
        t0 = time.time()
        gw.modems[1].deliver(WATCH, SOS_TEXT)
        card = "document.querySelector('#sos-list .incident')"
        b.wait(card, 15, "the SOS on the board")
        dt = time.time() - t0
        t.check(dt < 6, "the SOS is on the board %.1f s after the watch's SMS reached the modem" % dt)
        t.check(b.eval("document.getElementById('sos').classList.contains('alarm')") and
                b.eval("document.getElementById('sos').classList.contains('flash')") and
                b.eval(card + ".classList.contains('new')"), "the board turns red and flashes (the visual cue)")
        t.check(b.eval("window.linliBeeps") == 1 and b.eval("document.title").startswith("【SOS 1】"),
                "the beep is asked for once (WebAudio) and the tab's title says SOS")
        t.check(b.eval("document.getElementById('sos').getBoundingClientRect().top") < 60,
                "the board is at the top of the page")
        b.wait(card + ".querySelectorAll('table tr').length >= 3", 15, "the alerted contacts")
        text = b.eval(card + ".textContent")
        t.check("邹丽" in text and "1幢1单元101" in text and F1 in text and F2 in text and "短信" in text,
                "who, where, who was alerted and by which channel: %s" % text[:200])
        href = b.eval(card + ".querySelector('a.map').href")
        t.check(href.startswith("https://uri.amap.com/marker?position=114.051331,22.566923"), "the map link: %s" % href)
        t.check("无人响应" in text, "nobody has acknowledged yet, said loudly")
        shot("4_sos")

        # a second watch whose wearer's name is HTML: it stays text
        gw.modems[0].deliver(WATCH2, "SOS help")
        b.wait("document.querySelectorAll('#sos-list .incident').length == 2", 15, "the second SOS")
        first = "document.querySelector('#sos-list .incident')"
        t.check(EVIL in b.eval(first + ".textContent") and not b.eval(first + ".querySelector('img, b')") and
                not b.eval("window.pwned"), "the wearer's HTML name is shown as text, never run")
        b.eval(first + ".querySelector('.false-alarm').click(); 1")
        b.wait("document.querySelectorAll('#sos-list .incident').length == 1", 15, "the false alarm left the board")

        # acknowledge on behalf of F1 in the page, then resolve
        b.eval(card + ".querySelector('select.behalf').value = %s; %s.querySelector('.note').value = '电话联系上女儿';"
               " %s.querySelector('.ack').click(); 1" % (js(F1), card, card))
        b.wait(card + " && " + card + ".textContent.includes('已响应')", 15, "acknowledged on the board")
        wait_texts(gw, F2, "已响应", 1, 30)
        t.check(F1 in texts_to(gw, F2, "已响应")[0], "acknowledged in the page on F1's behalf: F2 is told by SMS")
        row = gw.sql("SELECT state, acked_by FROM sos_incident WHERE device_id = (SELECT id FROM device WHERE number = ?)",
                     (WATCH,))[0]
        t.check(row == ("acknowledged", F1), "in the database: %s" % (row,))
        shot("5_acknowledged")
        b.eval(card + ".querySelector('.resolve').click(); 1")
        b.wait("!document.querySelector('#sos-list .incident')", 15, "the board empty again")
        t.check(b.eval("document.getElementById('sos-status').textContent") == "暂无未处理的求救" and
                not b.eval("document.getElementById('sos').classList.contains('alarm')"), "the board calm again")
        ev = gw.sql("SELECT actor, to_state, coalesce(note, '') FROM sos_event WHERE incident_id = (SELECT max(id)"
                    " FROM sos_incident WHERE device_id = (SELECT id FROM device WHERE number = ?)) ORDER BY id", (WATCH,))
        t.check([e[1] for e in ev] == ["raised", "acknowledged", "resolved"] and ev[1][0].startswith("web:王敏") and
                "电话联系上女儿" in ev[1][2], "the history names the staff member and the note: %s" % ev)

        # ---- English ----
        b.eval("document.getElementById('lang').click(); 1")
        t.check(b.eval("document.querySelector('#sos-head h2').textContent") == "SOS alarms" and
                b.eval("document.getElementById('sos-status').textContent") == "No open SOS alarm",
                "the English switch")
        shot("6_english")
        w = b.eval("document.documentElement.scrollWidth")
        t.check(w <= 1366, "fits a 1366 px wide screen (%d)" % w)
        errs = b.events("Runtime.exceptionThrown")
        t.check(not errs, "no JavaScript error in the page (%s)" % errs[:1])
    finally:
        try:
            shot("last")
        except Exception as e:
            print("no last screenshot: %s" % e)
        b.close()
    gw.close()


linli.run(main)
