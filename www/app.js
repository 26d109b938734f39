/* The staff console's page (docs/console-api.md): log in with a token, the SOS board polled every
 * 2 s, requests as a work list, approvals, modems and queues; a street office's token (a district
 * on PostgreSQL) gets the district's read-only view instead: each community's counts and requests. Plain browser JavaScript, nothing
 * fetched from elsewhere. Every text from the API goes in with textContent, never as HTML. The
 * CSRF token of the session is kept in memory only (a reload asks for the token again). */
"use strict";

(function () {
	const I18N = {
		title: ["邻里 社区值班台", "linli staff console"],
		title_district: ["邻里 街道总览", "linli district overview"],
		switch_lang: ["English", "中文"],
		logout: ["退出", "Log out"],
		login_title: ["值班登录", "Staff log-in"],
		token: ["令牌", "Token"],
		login: ["登录", "Log in"],
		login_failed: ["登录失败：", "Log-in failed: "],
		sos_board: ["求救警报", "SOS alarms"],
		sos_none: ["暂无未处理的求救", "No open SOS alarm"],
		sos_open: ["个求救未处理", " open SOS alarm(s)"],
		sos_unacked: ["无人响应！", "NOBODY has responded!"],
		acked_by: ["已响应：", "Acknowledged by "],
		at: ["于", " at "],
		raised: ["报警时间", "Raised"],
		first_alert: ["首条通知", "First alert"],
		alerts_sent: ["已发通知", "Alerts sent"],
		alarms: ["报警次数", "Alarms"],
		battery: ["电量", "Battery"],
		map: ["查看地图", "Map"],
		no_position: ["无定位", "No position"],
		step: ["级", "Step"],
		who: ["联系人", "Contact"],
		channel: ["方式", "Channel"],
		state: ["状态", "State"],
		queued: ["排队", "Queued"],
		sent: ["发出", "Sent"],
		delivered: ["送达", "Delivered"],
		note_ph: ["备注（可选）", "Note (optional)"],
		ack_self: ["本人确认", "Myself"],
		ack_for: ["代为确认：", "On behalf of: "],
		ack: ["确认响应", "Acknowledge"],
		resolve: ["已处理", "Resolve"],
		false_alarm: ["误报", "False alarm"],
		ch_sms: ["短信", "SMS"],
		ch_call: ["电话", "Call"],
		requests: ["报事看板", "Requests"],
		all_open: ["全部", "All"],
		grid: ["网格", "Grid"],
		overdue: ["超时", "Overdue"],
		refresh: ["刷新", "Refresh"],
		reporter: ["报事人", "Reporter"],
		assignee: ["承办人", "Assignee"],
		deadline: ["期限", "Deadline"],
		assign: ["指派", "Assign"],
		assign_ph: ["承办人手机号", "Assignee's number"],
		add_note: ["备注", "Note"],
		extend: ["延期", "Extend"],
		days: ["天", "days"],
		reason_ph: ["理由", "Reason"],
		close: ["办结", "Close"],
		result_ph: ["办理结果", "Result"],
		no_requests: ["没有报事", "No requests"],
		recording: ["语音报事录音", "Voice recording"],
		approvals: ["待审批", "Waiting for approval"],
		bindings_pending: ["手表绑定", "Watch bindings"],
		registrations_pending: ["住户注册", "Registrations"],
		approve: ["批准", "Approve"],
		reject: ["拒绝", "Reject"],
		nothing_waiting: ["无", "None"],
		watch: ["手表", "Watch"],
		modems: ["短信猫与队列", "Modems and queues"],
		modem: ["短信猫", "Modem"],
		signal: ["信号", "Signal"],
		network: ["网络", "Network"],
		sim: ["SIM存储", "SIM"],
		failed: ["失败", "Failed"],
		queue: ["队列", "Queue"],
		depth: ["待发", "Waiting"],
		oldest: ["最久(秒)", "Oldest (s)"],
		sending: ["发送中", "Sending"],
		failed_24h: ["24小时失败", "Failed in 24 h"],
		st_received: ["已受理", "Received"],
		st_dispatched: ["已派单", "Dispatched"],
		st_accepted: ["已接单", "Accepted"],
		st_in_progress: ["处理中", "In progress"],
		st_returned: ["已退回", "Returned"],
		st_extended: ["已延期", "Extended"],
		st_reopened: ["重新打开", "Reopened"],
		st_closed: ["已办结", "Closed"],
		st_visited: ["已回访", "Visited"],
		st_merged: ["已合并", "Merged"],
		inc_raised: ["已报警", "Raised"],
		inc_notifying: ["通知中", "Notifying"],
		inc_acknowledged: ["已响应", "Acknowledged"],
		error: ["错误：", "Error: "],
		district_title: ["街道总览", "District overview"],
		district_requests: ["各社区报事", "Requests of the communities"],
		district_readonly: ["只读：办理由各社区值班人员在本社区值班台进行。",
			"Read-only: each community's own staff act on its requests, on its own console."],
		all_communities: ["全部社区", "All communities"],
		community: ["社区", "Community"],
		requests_total: ["报事总数", "Requests"],
		open_only: ["未结", "Open"],
		created: ["报事时间", "Reported"],
		street_office: ["街道", "District"],
	};
	let lang = localStorage.getItem("linli.lang") === "en" ? 1 : 0;
	const t = (k) => (I18N[k] ? I18N[k][lang] : k);

	let csrf = null;
	let timers = [];
	let audio = null;
	let firstSos = true;
	const seen = new Set();
	const cards = new Map(); /* incident id -> its card's parts */
	const cache = {}; /* the last answer of each list, to re-render on a language switch */

	const $ = (id) => document.getElementById(id);

	/* An element with attributes and children (strings become text nodes: never HTML). */
	function el(tag, attrs, ...kids) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (v === undefined || v === null || v === false) continue;
			if (k === "class") e.className = v;
			else if (k === "text") e.textContent = v;
			else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
			else e.setAttribute(k, v === true ? "" : String(v));
		}
		for (const c of kids.flat()) {
			if (c === null || c === undefined || c === false) continue;
			e.append(c instanceof Node ? c : document.createTextNode(String(c)));
		}
		return e;
	}

	/* "2026-12-02T10:15:00+08:00" -> "10:15:00" (the box's local time) */
	const hms = (iso) => (iso ? String(iso).slice(11, 19) : "-");
	const dt = (iso) => (iso ? String(iso).slice(5, 16).replace("T", " ") : "-");

	async function api(method, path, body) {
		const h = {};
		if (body !== undefined) h["Content-Type"] = "application/json";
		if (method !== "GET" && csrf) h["X-CSRF-Token"] = csrf;
		let r;
		try {
			r = await fetch(path, {
				method,
				headers: h,
				credentials: "same-origin",
				body: body === undefined ? undefined : JSON.stringify(body),
			});
		} catch (e) {
			return { status: 0, data: null, error: String(e) };
		}
		let data = null;
		const ct = r.headers.get("Content-Type") || "";
		if (ct.includes("json")) {
			try {
				data = await r.json();
			} catch (e) {
				data = null;
			}
		}
		const error = r.ok ? null : (data && data.error && data.error.message) || r.status + " " + r.statusText;
		if (r.status === 401 && csrf) showLogin(t("login_failed") + error);
		return { status: r.status, data, error };
	}

	function showError(id, res) {
		$(id).textContent = res && res.error ? t("error") + res.error : "";
	}

	function applyI18n() {
		document.documentElement.lang = lang ? "en" : "zh-CN";
		for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
		for (const e of document.querySelectorAll("[data-i18n-ph]")) e.placeholder = t(e.dataset.i18nPh);
		document.title = t($("title").dataset.i18n);
	}

	/* ---- log-in ---- */

	function showLogin(msg) {
		csrf = null;
		timers.forEach(clearInterval);
		timers = [];
		cards.clear();
		seen.clear();
		firstSos = true;
		$("sos-list").replaceChildren();
		$("app").hidden = true;
		$("district-view").hidden = true;
		$("title").dataset.i18n = "title";
		applyI18n();
		$("ds-table").replaceChildren();
		$("dr-list").replaceChildren();
		cache.district = cache.districtRequests = cache.districtKey = null;
		$("logout").hidden = true;
		$("who").textContent = "";
		$("login-view").hidden = false;
		$("login-error").textContent = msg || "";
	}

	async function login(ev) {
		ev.preventDefault();
		/* the beep needs an audio context made during a click */
		try {
			audio = audio || new (window.AudioContext || window.webkitAudioContext)();
		} catch (e) {
			audio = null;
		}
		const res = await api("POST", "/api/v1/login", { token: $("token").value.trim() });
		if (res.status !== 200 || !res.data || !res.data.csrf) {
			$("login-error").textContent = t("login_failed") + (res.error || res.status);
			return;
		}
		csrf = res.data.csrf;
		$("token").value = "";
		const s = res.data.staff || {};
		$("login-view").hidden = true;
		$("logout").hidden = false;
		if (s.district) {
			/* a street office: the district's view, over the communities of its token */
			$("who").textContent = (s.name || "") + " (" + t("street_office") + ": " + s.district.split(",").join(", ") + ")";
			$("dr-community").replaceChildren($("dr-community").options[0],
				...s.district.split(",").map((c) => el("option", { value: c, text: c })));
			$("district-view").hidden = false;
			$("title").dataset.i18n = "title_district";
			applyI18n();
			loadDistrict();
			timers.push(setInterval(loadDistrict, 10000));
			return;
		}
		$("who").textContent = (s.name || s.number || "") + " (" + (s.role || "") + ")";
		$("app").hidden = false;
		pollSos();
		loadRequests();
		loadApprovals();
		loadHealth();
		timers.push(setInterval(pollSos, 2000));
		timers.push(setInterval(loadRequests, 10000));
		timers.push(setInterval(loadApprovals, 10000));
		timers.push(setInterval(loadHealth, 10000));
	}

	async function logout() {
		await api("POST", "/api/v1/logout");
		showLogin();
	}

	/* ---- SOS ---- */

	function beep() {
		/* counted, so the browser test can tell the sound was asked for */
		window.linliBeeps = (window.linliBeeps || 0) + 1;
		if (!audio) return;
		try {
			if (audio.state === "suspended") audio.resume();
			for (let i = 0; i < 3; i++) {
				const o = audio.createOscillator(), g = audio.createGain();
				const at = audio.currentTime + i * 0.35;
				o.type = "square";
				o.frequency.value = 880;
				g.gain.setValueAtTime(0.15, at);
				g.gain.setValueAtTime(0, at + 0.2);
				o.connect(g).connect(audio.destination);
				o.start(at);
				o.stop(at + 0.22);
			}
		} catch (e) {
			/* no sound: the visual cue stays */
		}
	}

	let sosBusy = false;
	async function pollSos() {
		/* one poll at a time: a slow answer must not let two renderings race */
		if (sosBusy) return;
		sosBusy = true;
		try {
			await pollSosOnce();
		} finally {
			sosBusy = false;
		}
	}

	async function pollSosOnce() {
		const res = await api("GET", "/api/v1/incidents?state=open");
		if (res.status !== 200) {
			showError("sos-error", res);
			return;
		}
		const full = await Promise.all(res.data.incidents.map((i) => api("GET", "/api/v1/incidents/" + i.id)));
		const list = full.filter((r) => r.status === 200).map((r) => r.data);
		showError("sos-error", full.find((r) => r.status !== 200));
		cache.sos = list;
		renderSos(list);
	}

	function renderSos(list) {
		const board = $("sos");
		const ids = new Set(list.map((i) => i.id));
		let fresh = false;
		for (const [id, c] of cards)
			if (!ids.has(id)) {
				c.root.remove();
				cards.delete(id);
			}
		for (const inc of list) {
			let c = cards.get(inc.id);
			if (!c) {
				c = makeCard(inc);
				cards.set(inc.id, c);
				$("sos-list").prepend(c.root);
				if (!seen.has(inc.id) && !firstSos) {
					fresh = true;
					c.root.classList.add("new");
				}
			}
			seen.add(inc.id);
			fillCard(c, inc);
		}
		firstSos = false;
		const unacked = list.filter((i) => i.state !== "acknowledged").length;
		board.classList.toggle("alarm", list.length > 0);
		$("sos-status").textContent = list.length
			? (lang ? list.length + t("sos_open") : list.length + " " + t("sos_open")) +
			  (unacked ? " — " + t("sos_unacked") : "")
			: t("sos_none");
		document.title = (unacked ? "【SOS " + unacked + "】" : "") + t("title");
		if (fresh) {
			board.classList.remove("flash");
			void board.offsetWidth; /* restart the animation */
			board.classList.add("flash");
			beep();
			window.scrollTo(0, 0);
		}
	}

	function makeCard(inc) {
		const c = {};
		c.title = el("div", { class: "title" });
		c.meta = el("div", { class: "meta" });
		c.table = el("table", { class: "attempts" });
		c.select = el("select", { class: "behalf" });
		c.note = el("input", { class: "note", maxlength: 200 });
		c.ackBtn = el("button", { type: "button", class: "danger ack", onclick: () => act(inc.id, "ack", c) });
		c.resolveBtn = el("button", { type: "button", class: "resolve", onclick: () => act(inc.id, "resolve", c) });
		c.falseBtn = el("button", { type: "button", class: "false-alarm", onclick: () => act(inc.id, "false-alarm", c) });
		c.actions = el("div", { class: "actions" }, c.select, c.note, c.ackBtn,
			       el("div", { class: "row" }, c.resolveBtn, " ", c.falseBtn));
		c.root = el("article", { class: "incident", "data-id": inc.id }, el("div", {}, c.title, c.meta), c.actions,
			    el("div", {}, c.table));
		c.contacts = "";
		return c;
	}

	function fillCard(c, inc) {
		c.root.classList.toggle("acknowledged", inc.state === "acknowledged");
		const who = inc.wearer || inc.watch;
		c.title.replaceChildren(el("span", { class: "kind", text: inc.kind_label || inc.kind }), who + " ",
					el("span", { class: "muted", text: inc.address || "" }));
		const map = inc.map_url && /^https:\/\//.test(inc.map_url)
			? el("a", { href: inc.map_url, target: "_blank", rel: "noopener noreferrer", class: "map", text: t("map") })
			: el("span", { class: "muted", text: t("no_position") });
		const ack = inc.acked_at
			? el("span", { class: "acked", text: t("acked_by") + (inc.acked_by_name ? inc.acked_by_name + " " : "") +
				       (inc.acked_by || "") + t("at") + hms(inc.acked_at) })
			: el("span", { class: "unacked", text: t("sos_unacked") });
		c.meta.replaceChildren(
			el("span", { text: t("watch") + " " + inc.watch }),
			el("span", { text: t("raised") + " " + hms(inc.raised_at) }),
			el("span", { text: t("first_alert") + " " + hms(inc.first_sent_at || inc.first_alert_at) }),
			el("span", { text: t("alerts_sent") + " " + inc.alerts_sent }),
			el("span", { text: t("alarms") + " " + inc.alarm_count }),
			inc.battery ? el("span", { text: t("battery") + " " + inc.battery }) : null,
			map, " ", ack);
		const rows = (inc.attempts || []).filter((a) => a.kind === "alert" || a.kind === "resend" || a.kind === "call");
		c.table.replaceChildren(el("tbody", {},
			el("tr", {}, ["step", "who", "channel", "state", "queued", "sent", "delivered"].map((k) =>
				el("th", { text: k === "step" ? t("step") : t(k) }))),
			rows.map((a) => el("tr", {},
				el("td", { text: a.step >= 100 ? ["网格员", "Grid", "值班", "Staff", "邻居", "Neighbours"][(a.step - 100) * 2 + lang] || a.step : a.step }),
				el("td", { text: (a.name ? a.name + " " : "") + a.number }),
				el("td", { text: a.channel === "call" ? t("ch_call") : t("ch_sms") }),
				el("td", { class: "state-" + a.state, text: a.state + (a.error ? " (" + a.error + ")" : "") }),
				el("td", { text: hms(a.queued_at) }), el("td", { text: hms(a.sent_at) }),
				el("td", { text: hms(a.delivered_at) })))));
		/* who may acknowledge: those alerted (the API checks it again) */
		const nums = [...new Map(rows.map((a) => [a.number, a.name])).entries()];
		const key = JSON.stringify(nums) + lang;
		if (key !== c.contacts) {
			const keep = c.select.value;
			c.select.replaceChildren(el("option", { value: "", text: t("ack_self") }),
				...nums.map(([n, name]) => el("option", { value: n, text: t("ack_for") + (name ? name + " " : "") + n })));
			if ([...c.select.options].some((o) => o.value === keep)) c.select.value = keep;
			c.contacts = key;
		}
		const open = inc.state === "raised" || inc.state === "notifying";
		c.select.hidden = !open;
		c.ackBtn.hidden = !open;
		c.note.placeholder = t("note_ph");
		c.ackBtn.textContent = t("ack");
		c.resolveBtn.textContent = t("resolve");
		c.falseBtn.textContent = t("false_alarm");
	}

	async function act(id, what, c) {
		const body = {};
		if (c.note.value.trim()) body.note = c.note.value.trim();
		if (what === "ack" && c.select.value) body.on_behalf_of = c.select.value;
		const res = await api("POST", "/api/v1/incidents/" + id + "/" + what, body);
		showError("sos-error", res);
		if (res.status === 200) c.note.value = "";
		pollSos();
	}

	/* ---- requests ---- */

	async function loadRequests(ev) {
		if (ev) ev.preventDefault();
		const q = new URLSearchParams();
		if ($("rq-state").value) q.set("state", $("rq-state").value);
		if ($("rq-grid").value.trim()) q.set("grid", $("rq-grid").value.trim());
		if ($("rq-overdue").checked) q.set("overdue", "1");
		const res = await api("GET", "/api/v1/requests" + (q.toString() ? "?" + q : ""));
		showError("rq-error", res);
		if (res.status !== 200) {
			cache.requests = null;
			$("rq-list").replaceChildren();
			return;
		}
		const key = JSON.stringify(res.data.requests) + lang;
		if (!ev && key === cache.requestsKey) return; /* unchanged: keep what is being typed */
		cache.requestsKey = key;
		cache.requests = res.data.requests;
		renderRequests(res.data.requests);
	}

	function renderRequests(list) {
		if (!list) return;
		$("rq-list").replaceChildren(...(list.length ? list.map(requestCard) : [el("p", { class: "muted", text: t("no_requests") })]));
	}

	function requestCard(r) {
		const closed = r.state === "closed" || r.state === "visited" || r.state === "merged";
		const input = (cls, ph, extra) => el("input", Object.assign({ class: cls, placeholder: ph }, extra || {}));
		const assignIn = input("assign-number", t("assign_ph"), { value: r.assignee || "" });
		const noteIn = input("note-text", t("add_note"));
		const daysIn = input("days", t("days"), { type: "number", min: 1, max: 30, value: 2 });
		const reasonIn = input("extend-reason", t("reason_ph"));
		const resultIn = input("close-result", t("result_ph"));
		const go = (what, body) => async () => {
			const res = await api("POST", "/api/v1/requests/" + encodeURIComponent(r.ref) + "/" + what, body());
			showError("rq-error", res);
			if (res.status === 200) loadRequests({ preventDefault() {} });
		};
		return el("article", { class: "request" + (r.overdue ? " overdue" : ""), "data-ref": r.ref },
			el("div", {}, el("span", { class: "ref", text: r.ref }),
				el("span", { class: "state", text: I18N["st_" + r.state] ? t("st_" + r.state) : r.state_label || r.state }), " ",
				r.overdue ? el("span", { class: "overdue-tag", text: t("overdue") }) : null),
			el("div", { class: "text", text: r.text }),
			/* a request by voice: the recording, fetched by the browser with the session cookie */
			r.recording ? el("div", { class: "recording" }, el("span", { class: "muted", text: t("recording") + " " + r.recording.seconds + "s " }),
				el("audio", { controls: true, preload: "none", src: r.recording.url })) : null,
			el("div", { class: "muted", text: t("reporter") + " " + (r.reporter || "-") + (r.household ? " · " + r.household : "") +
				(r.grid ? " · " + r.grid : "") }),
			el("div", { class: "muted", text: t("assignee") + " " + (r.assignee ? (r.assignee_name ? r.assignee_name + " " : "") + r.assignee : "-") + " · " +
				t("deadline") + " " + (r.deadline ? String(r.deadline).slice(0, 10) : "-") }),
			closed ? null : [
				el("div", { class: "row" }, assignIn, el("button", { type: "button", class: "assign", text: t("assign"),
					onclick: go("assign", () => ({ number: assignIn.value.trim() })) })),
				el("div", { class: "row" }, noteIn, el("button", { type: "button", class: "note", text: t("add_note"),
					onclick: go("note", () => ({ note: noteIn.value.trim() })) })),
				el("div", { class: "row" }, daysIn, reasonIn, el("button", { type: "button", class: "extend", text: t("extend"),
					onclick: go("extend", () => ({ days: Number(daysIn.value), reason: reasonIn.value.trim() })) })),
				el("div", { class: "row" }, resultIn, el("button", { type: "button", class: "primary close", text: t("close"),
					onclick: go("close", () => ({ result: resultIn.value.trim() })) })),
			]);
	}

	/* ---- approvals ---- */

	async function loadApprovals(force) {
		const [b, r] = await Promise.all([api("GET", "/api/v1/bindings?state=pending"),
			api("GET", "/api/v1/registrations?state=pending")]);
		showError("bind-error", b);
		showError("reg-error", r);
		const key = JSON.stringify([b.data, r.data]) + lang;
		if (force !== true && key === cache.approvalsKey) return;
		cache.approvalsKey = key;
		cache.bindings = b.status === 200 ? b.data.bindings : [];
		cache.registrations = r.status === 200 ? r.data.registrations : [];
		renderApprovals();
	}

	function renderApprovals() {
		const none = () => el("p", { class: "muted", text: t("nothing_waiting") });
		const after = async (res, errId) => {
			showError(errId, res);
			loadApprovals(true);
		};
		$("bind-list").replaceChildren(...((cache.bindings || []).length ? cache.bindings.map((b) =>
			el("div", { class: "item binding", "data-id": b.id },
				el("span", { text: t("watch") + " " + b.watch + " → " + (b.name ? b.name + " " : "") + b.phone +
					" (" + t("step") + " " + b.step + ")" }),
				el("span", { class: "btns" },
					el("button", { type: "button", class: "primary approve", text: t("approve"),
						onclick: async () => after(await api("POST", "/api/v1/bindings/" + b.id + "/approve"), "bind-error") }),
					el("button", { type: "button", class: "reject", text: t("reject"),
						onclick: async () => after(await api("DELETE", "/api/v1/bindings/" + b.id), "bind-error") })))) : [none()]));
		const reason = el("input", { class: "reject-reason", placeholder: t("reason_ph") });
		$("reg-list").replaceChildren(...((cache.registrations || []).length ? [reason].concat(cache.registrations.map((g) =>
			el("div", { class: "item registration", "data-number": g.number },
				el("span", { text: (g.name || "") + " " + g.number + " " + (g.address || "") +
					(g.household_match ? " → " + g.household_match : "") }),
				el("span", { class: "btns" },
					el("button", { type: "button", class: "primary approve", text: t("approve"),
						onclick: async () => after(await api("POST", "/api/v1/registrations/" + encodeURIComponent(g.number) + "/approve", {}), "reg-error") }),
					el("button", { type: "button", class: "reject", text: t("reject"),
						onclick: async () => after(await api("POST", "/api/v1/registrations/" + encodeURIComponent(g.number) + "/reject",
							{ reason: reason.value.trim() || "-" }), "reg-error") }))))) : [none()]));
	}

	/* ---- modems and queues ---- */

	async function loadHealth() {
		const [m, q] = await Promise.all([api("GET", "/api/v1/modems"), api("GET", "/api/v1/queues")]);
		showError("health-error", m.status !== 200 ? m : q);
		cache.modems = m.status === 200 ? m.data.modems : null;
		cache.queues = q.status === 200 ? q.data : null;
		renderHealth();
	}

	function renderHealth() {
		const ms = cache.modems || [];
		$("modem-list").replaceChildren(el("table", { class: "health" },
			el("tr", {}, ["modem", "state", "signal", "network", "sim", "sent", "failed"].map((k) => el("th", { text: t(k) }))),
			ms.map((m) => el("tr", { "data-modem": m.name },
				el("td", { text: m.name }),
				el("td", { class: m.state === "ready" ? "" : "bad", text: m.state + (m.state !== "ready" && m.reason ? " (" + m.reason + ")" : "") }),
				el("td", { text: m.signal_pct + "%" }),
				el("td", { class: m.registered ? "" : "bad", text: m.network || (m.registered ? "+" : "-") }),
				el("td", { text: m.sim_used + "/" + m.sim_size }),
				el("td", { text: m.sent }),
				el("td", { class: m.failed ? "bad" : "", text: m.failed })))));
		const q = cache.queues;
		$("queue-list").replaceChildren(q ? el("table", { class: "health" },
			el("tr", {}, ["queue", "depth", "oldest"].map((k) => el("th", { text: t(k) }))),
			q.queues.map((x) => el("tr", {}, el("td", { text: x.prio }), el("td", { text: x.depth }),
				el("td", { class: x.oldest_age_s > 60 ? "bad" : "", text: x.oldest_age_s }))),
			el("tr", {}, el("td", { text: t("sending") }), el("td", { text: q.sending }), el("td", {})),
			el("tr", {}, el("td", { text: t("failed_24h") }), el("td", { class: q.failed_24h ? "bad" : "", text: q.failed_24h }),
				el("td", {}))) : "");
	}

	/* ---- a street office's district ---- */

	async function loadDistrict(ev) {
		if (ev) ev.preventDefault();
		const q = new URLSearchParams();
		if ($("dr-community").value) q.set("community", $("dr-community").value);
		if ($("dr-state").value) q.set("state", $("dr-state").value);
		const [sum, rq] = await Promise.all([api("GET", "/api/v1/district/summary"),
			api("GET", "/api/v1/district/requests" + (q.toString() ? "?" + q : ""))]);
		showError("ds-error", sum);
		showError("dr-error", rq);
		if (!csrf) return; /* logged out meanwhile */
		const key = JSON.stringify([sum.data, rq.data]) + lang;
		if (!ev && key === cache.districtKey) return;
		cache.districtKey = key;
		cache.district = sum.status === 200 ? sum.data.communities : [];
		cache.districtRequests = rq.status === 200 ? rq.data.requests : [];
		renderDistrict();
	}

	function renderDistrict() {
		const pick = (c) => () => {
			$("dr-community").value = c;
			loadDistrict({ preventDefault() {} });
		};
		$("ds-table").replaceChildren(
			el("tr", {}, ["community", "requests_total", "open_only", "overdue"].map((k) => el("th", { text: t(k) }))),
			...(cache.district || []).map((c) => el("tr", { "data-community": c.community, class: "pick", onclick: pick(c.community) },
				el("td", { text: c.community }), el("td", { text: c.requests }), el("td", { text: c.open }),
				el("td", { class: c.overdue ? "bad" : "", text: c.overdue }))));
		const list = cache.districtRequests || [];
		$("dr-list").replaceChildren(...(list.length ? list.map((r) =>
			el("article", { class: "request" + (r.overdue ? " overdue" : ""), "data-community": r.community, "data-ref": r.ref },
				el("div", {}, el("span", { class: "community", text: r.community }), " ",
					el("span", { class: "ref", text: r.ref }),
					el("span", { class: "state", text: I18N["st_" + r.state] ? t("st_" + r.state) : r.state }), " ",
					r.overdue ? el("span", { class: "overdue-tag", text: t("overdue") }) : null),
				el("div", { class: "text", text: r.text }),
				el("div", { class: "muted", text: (r.grid ? t("grid") + " " + r.grid + " · " : "") + t("created") + " " + dt(r.created) +
					" · " + t("deadline") + " " + (r.deadline ? String(r.deadline).slice(0, 10) : "-") }))) :
			[el("p", { class: "muted", text: t("no_requests") })]));
	}

	/* ---- start ---- */

	function switchLang() {
		lang = 1 - lang;
		localStorage.setItem("linli.lang", lang ? "en" : "zh");
		applyI18n();
		if (cache.sos) renderSos(cache.sos);
		renderRequests(cache.requests);
		cache.requestsKey = null;
		renderApprovals();
		renderHealth();
		if (cache.district) renderDistrict();
	}

	document.addEventListener("DOMContentLoaded", () => {
		applyI18n();
		$("login-form").addEventListener("submit", login);
		$("logout").addEventListener("click", logout);
		$("lang").addEventListener("click", switchLang);
		$("rq-filter").addEventListener("submit", loadRequests);
		$("dr-filter").addEventListener("submit", loadDistrict);
		$("token").focus();
	});
})();
