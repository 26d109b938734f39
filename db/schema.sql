-- linli community database, version 1: the whole model.
-- db_open runs this file on an empty database, then every db/upgrade/NNN_*.sql step in order;
-- PRAGMA user_version records the version. Never edit this file once released: add a step.
--
-- Times are unix seconds (INTEGER). Numbers are E.164 with a leading '+' (db_number_norm).
-- Deleting a container (community, grid, group, household) is refused while it still holds
-- something (RESTRICT): people are moved, not lost. Links to a person or device that goes away
-- become NULL where history must stay (requests, incidents, attempts), and vanish with it
-- where they mean nothing without it (bindings, points).

-- ---- the community ----

CREATE TABLE community (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	created		INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);

-- 网格: a grid of buildings with its grid worker (网格员).
CREATE TABLE grid (
	id		INTEGER PRIMARY KEY,
	community_id	INTEGER NOT NULL REFERENCES community(id) ON DELETE RESTRICT,
	code		TEXT NOT NULL UNIQUE,
	name		TEXT NOT NULL,
	worker_phone_id	INTEGER REFERENCES phone(id) ON DELETE SET NULL,
	created		INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
CREATE INDEX grid_community ON grid(community_id);

-- 联户: a group of about ten neighbouring households ("grp": GROUP is an SQL keyword).
CREATE TABLE grp (
	id		INTEGER PRIMARY KEY,
	grid_id		INTEGER NOT NULL REFERENCES grid(id) ON DELETE RESTRICT,
	code		TEXT NOT NULL UNIQUE,
	name		TEXT NOT NULL,
	created		INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
CREATE INDEX grp_grid ON grp(grid_id);

-- A household: an address (3幢2单元501 = building 3, unit 2, room 501) and its primary number.
CREATE TABLE household (
	id		INTEGER PRIMARY KEY,
	grp_id		INTEGER NOT NULL REFERENCES grp(id) ON DELETE RESTRICT,
	code		TEXT NOT NULL UNIQUE,
	building	TEXT NOT NULL,
	unit		TEXT NOT NULL DEFAULT '',
	room		TEXT NOT NULL,
	primary_phone_id INTEGER REFERENCES phone(id) ON DELETE SET NULL,
	created		INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
CREATE INDEX household_grp ON household(grp_id);

-- Every number linli knows. state 'pending' is a registration (注册) awaiting confirmation.
CREATE TABLE phone (
	id		INTEGER PRIMARY KEY,
	number		TEXT NOT NULL UNIQUE,
	name		TEXT NOT NULL DEFAULT '',
	role		TEXT NOT NULL DEFAULT 'resident'
			CHECK (role IN ('resident', 'grid_worker', 'staff', 'runner')),
	lang		TEXT NOT NULL DEFAULT 'zh-CN' CHECK (lang IN ('zh-CN', 'en')),
	household_id	INTEGER REFERENCES household(id) ON DELETE SET NULL,
	state		TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'pending')),
	created		INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
CREATE INDEX phone_household ON phone(household_id);

-- ---- SOS watches (电子保姆) ----

CREATE TABLE device (
	id		INTEGER PRIMARY KEY,
	number		TEXT NOT NULL UNIQUE,		-- the watch's SIM
	imei		TEXT,
	household_id	INTEGER REFERENCES household(id) ON DELETE SET NULL,
	person		TEXT NOT NULL DEFAULT '',	-- who wears it
	dialect		TEXT,				-- alarm text family (see corpus/watch-alerts.tsv)
	created		INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
CREATE INDEX device_household ON device(household_id);

-- Who is alerted for a watch, in escalation order (step 1 first).
CREATE TABLE binding (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,
	phone_id	INTEGER NOT NULL REFERENCES phone(id) ON DELETE CASCADE,
	step		INTEGER NOT NULL DEFAULT 1,
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'removed')),
	code		TEXT,				-- approval code texted to the contact
	created		INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
	approved_at	INTEGER,
	approved_by	TEXT,				-- number or staff login
	UNIQUE (device_id, phone_id)
);
CREATE INDEX binding_phone ON binding(phone_id);

-- ---- requests (报事) and errands (跑腿) ----

-- state: received dispatched accepted in_progress returned extended closed visited reopened
-- merged (DOMAIN.md); flags: bits for overdue, reminded, escalated, urgent (gateway/).
CREATE TABLE request (
	id		INTEGER PRIMARY KEY,
	ref		TEXT NOT NULL UNIQUE CHECK (ref GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]'), -- what the resident quotes
	kind		TEXT NOT NULL DEFAULT 'request' CHECK (kind IN ('request', 'errand')),
	reporter_phone_id INTEGER REFERENCES phone(id) ON DELETE SET NULL,
	reporter	TEXT NOT NULL,			-- the number as it reported, kept if the phone goes
	household_id	INTEGER REFERENCES household(id) ON DELETE SET NULL,
	text		TEXT NOT NULL,
	state		TEXT NOT NULL DEFAULT 'received',
	flags		INTEGER NOT NULL DEFAULT 0,
	deadline	INTEGER,
	assignee_phone_id INTEGER REFERENCES phone(id) ON DELETE SET NULL,
	rating		TEXT,				-- 满意 / 基本满意 / 不满意
	merged_into	INTEGER REFERENCES request(id) ON DELETE SET NULL,
	created		INTEGER NOT NULL,
	updated		INTEGER NOT NULL
);
CREATE INDEX request_state ON request(state, deadline);
CREATE INDEX request_reporter ON request(reporter_phone_id);
CREATE INDEX request_assignee ON request(assignee_phone_id, state);

CREATE TABLE request_event (
	id		INTEGER PRIMARY KEY,
	request_id	INTEGER NOT NULL REFERENCES request(id) ON DELETE CASCADE,
	actor		TEXT NOT NULL,			-- number, staff login or 'system'
	at		INTEGER NOT NULL,
	from_state	TEXT,
	to_state	TEXT NOT NULL,
	note		TEXT
);
CREATE INDEX request_event_request ON request_event(request_id, at);

-- Points ledger: the balance is the sum of delta.
CREATE TABLE points (
	id		INTEGER PRIMARY KEY,
	phone_id	INTEGER NOT NULL REFERENCES phone(id) ON DELETE CASCADE,
	delta		INTEGER NOT NULL,
	reason		TEXT NOT NULL,
	request_id	INTEGER REFERENCES request(id) ON DELETE SET NULL,
	at		INTEGER NOT NULL
);
CREATE INDEX points_phone ON points(phone_id, at);

-- ---- the SMS queues ----

CREATE TABLE sms_in (
	id		INTEGER PRIMARY KEY,
	channel		TEXT NOT NULL DEFAULT 'gsm' CHECK (channel IN ('gsm', 'sip')),
	modem		TEXT,
	sender		TEXT NOT NULL,
	text		TEXT NOT NULL,
	raw		TEXT,
	smsc_ts		INTEGER NOT NULL DEFAULT 0,
	recv_ts		INTEGER NOT NULL,
	flags		INTEGER NOT NULL DEFAULT 0,	-- enum db_sms_in_flags
	dedup		TEXT NOT NULL UNIQUE,
	state		TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'done')),
	note		TEXT
);
CREATE INDEX sms_in_state ON sms_in(state, id);

-- Parts of concatenated messages. Parts of one message share part_group (the id of the group's
-- first part); msg_id is set once the message is assembled. Parts are kept afterwards so that a
-- part delivered again is recognised by its dedup key.
CREATE TABLE sms_in_part (
	id		INTEGER PRIMARY KEY,
	modem		TEXT,
	sender		TEXT NOT NULL,
	ref		INTEGER NOT NULL,
	total		INTEGER NOT NULL CHECK (total BETWEEN 1 AND 255),
	seq		INTEGER NOT NULL CHECK (seq BETWEEN 1 AND total),
	text		TEXT NOT NULL,
	raw		TEXT,
	smsc_ts		INTEGER NOT NULL DEFAULT 0,
	recv_ts		INTEGER NOT NULL,
	flags		INTEGER NOT NULL DEFAULT 0,
	dedup		TEXT NOT NULL UNIQUE,
	part_group	INTEGER,
	msg_id		INTEGER REFERENCES sms_in(id) ON DELETE CASCADE,
	UNIQUE (part_group, seq)
);
-- Groups still waiting for parts: found by (sender, ref, total), expired by age.
CREATE INDEX sms_in_part_open ON sms_in_part(sender, ref, total, part_group, seq) WHERE msg_id IS NULL;
CREATE INDEX sms_in_part_pending ON sms_in_part(part_group, recv_ts) WHERE msg_id IS NULL;
CREATE INDEX sms_in_part_msg ON sms_in_part(msg_id);

-- Outbox. prio: 0 SOS, 1 staff, 2 reply, 3 bulk (enum db_prio). 'modem' is the modem of the
-- current (or last successful) attempt, 'last_modem' the one of the previous failed attempt.
CREATE TABLE sms_out (
	id		INTEGER PRIMARY KEY,
	dest		TEXT NOT NULL,
	channel		TEXT NOT NULL DEFAULT 'gsm' CHECK (channel IN ('gsm', 'sip')),
	text		TEXT NOT NULL,
	prio		INTEGER NOT NULL DEFAULT 2,
	state		TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
	attempts	INTEGER NOT NULL DEFAULT 0,
	next_try	INTEGER NOT NULL DEFAULT 0,	-- due when next_try <= now
	modem		TEXT,
	last_modem	TEXT,
	refs		TEXT,				-- message references of the parts: "12,13"
	parts		INTEGER,
	error		TEXT,
	created		INTEGER NOT NULL,
	sent_at		INTEGER,
	delivery	TEXT NOT NULL DEFAULT 'none' CHECK (delivery IN ('none', 'pending', 'delivered', 'failed')),
	delivered_at	INTEGER,
	report_status	INTEGER
);
-- The claim walks this in (prio, id) order inside state 'queued'; next_try is in the index so
-- rows not yet due are skipped without touching the table. Also serves the counts per state.
CREATE INDEX sms_out_queue ON sms_out(state, channel, prio, id, next_try);
-- Status reports look for the newest sent message of a modem.
CREATE INDEX sms_out_sent ON sms_out(modem, sent_at) WHERE state = 'sent';

-- ---- SOS incidents ----

-- state: raised notifying acknowledged resolved false_alarm (the osmo_fsm in gateway/).
CREATE TABLE sos_incident (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES device(id) ON DELETE RESTRICT,
	state		TEXT NOT NULL DEFAULT 'raised',
	step		INTEGER NOT NULL DEFAULT 0,
	created		INTEGER NOT NULL,
	first_alert_at	INTEGER,
	acked_at	INTEGER,
	acked_by	TEXT,
	resolved_at	INTEGER,
	lat		REAL,				-- WGS-84 as the device sent it
	lon		REAL,
	raw		TEXT				-- the alarm text as received
);
CREATE INDEX sos_incident_device ON sos_incident(device_id, state);
CREATE INDEX sos_incident_state ON sos_incident(state);

CREATE TABLE sos_attempt (
	id		INTEGER PRIMARY KEY,
	incident_id	INTEGER NOT NULL REFERENCES sos_incident(id) ON DELETE CASCADE,
	phone_id	INTEGER REFERENCES phone(id) ON DELETE SET NULL,
	number		TEXT NOT NULL,			-- as alerted, kept if the phone goes
	step		INTEGER NOT NULL,
	channel		TEXT NOT NULL,			-- 'sms', 'call' or 'sip'
	sms_out_id	INTEGER REFERENCES sms_out(id) ON DELETE SET NULL,
	at		INTEGER NOT NULL,
	result		TEXT
);
CREATE INDEX sos_attempt_incident ON sos_attempt(incident_id, at);

-- ---- calendar and counters ----

-- Days that differ from the Monday..Friday rule: 'off' (public holiday) or 'workday'
-- (调休, a weekend made a working day). date is 'YYYY-MM-DD'.
CREATE TABLE holiday (
	date		TEXT PRIMARY KEY CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	kind		TEXT NOT NULL CHECK (kind IN ('off', 'workday')),
	name		TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE stat (
	name		TEXT PRIMARY KEY,
	value		INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

PRAGMA user_version = 1;
