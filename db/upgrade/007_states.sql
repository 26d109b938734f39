-- Step 7: the states of a request and of an SOS incident become CHECK constraints (issue 9).
--
-- request.state: DOMAIN.md's ten states; sos_incident.state: the five of the incident. Which
-- changes between them are allowed is the transition table in db/db_request.c and db/db_sos.c
-- (db_request_transition_ok, db_sos_transition_ok), enforced where db/ writes the state.
--
-- SQLite cannot add a CHECK to a column, so both tables are rebuilt as SQLite describes it
-- ("other kinds of table schema changes"): create the new table, copy every row, drop the old
-- one, rename the new one, and make the indexes again. db_open runs the steps with foreign keys
-- off, so dropping the old table does not cascade into request_event, points, sos_attempt (their
-- REFERENCES name the table, and so refer to the new one once it is renamed), and checks every
-- reference before the step commits. A row in a state outside the list fails the copy: the step
-- is rolled back and the file stays at version 6.

CREATE TABLE request_new (
	id		INTEGER PRIMARY KEY,
	ref		TEXT NOT NULL UNIQUE CHECK (ref GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]'), -- what the resident quotes
	kind		TEXT NOT NULL DEFAULT 'request' CHECK (kind IN ('request', 'errand')),
	reporter_phone_id INTEGER REFERENCES phone(id) ON DELETE SET NULL,
	reporter	TEXT NOT NULL,			-- the number as it reported, kept if the phone goes
	household_id	INTEGER REFERENCES household(id) ON DELETE SET NULL,
	text		TEXT NOT NULL,
	state		TEXT NOT NULL DEFAULT 'received'
			CHECK (state IN ('received', 'dispatched', 'accepted', 'in_progress', 'returned', 'extended',
					 'closed', 'visited', 'reopened', 'merged')),
	flags		INTEGER NOT NULL DEFAULT 0,
	deadline	INTEGER,
	assignee_phone_id INTEGER REFERENCES phone(id) ON DELETE SET NULL,
	rating		TEXT,				-- 满意 / 基本满意 / 不满意
	merged_into	INTEGER REFERENCES request(id) ON DELETE SET NULL,
	created		INTEGER NOT NULL,
	updated		INTEGER NOT NULL
);
INSERT INTO request_new (id, ref, kind, reporter_phone_id, reporter, household_id, text, state, flags, deadline,
			 assignee_phone_id, rating, merged_into, created, updated)
	SELECT id, ref, kind, reporter_phone_id, reporter, household_id, text, state, flags, deadline,
	       assignee_phone_id, rating, merged_into, created, updated FROM request;
DROP TABLE request;
ALTER TABLE request_new RENAME TO request;
CREATE INDEX request_state ON request(state, deadline);
CREATE INDEX request_reporter ON request(reporter_phone_id);
CREATE INDEX request_assignee ON request(assignee_phone_id, state);
CREATE INDEX request_reporter_number ON request(reporter, created);

CREATE TABLE sos_incident_new (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES device(id) ON DELETE RESTRICT,
	state		TEXT NOT NULL DEFAULT 'raised'
			CHECK (state IN ('raised', 'notifying', 'acknowledged', 'resolved', 'false_alarm')),
	step		INTEGER NOT NULL DEFAULT 0,
	created		INTEGER NOT NULL,
	first_alert_at	INTEGER,
	acked_at	INTEGER,
	acked_by	TEXT,
	resolved_at	INTEGER,
	lat		REAL,				-- WGS-84 as the device sent it
	lon		REAL,
	raw		TEXT,				-- the alarm text as received
	next_at		INTEGER,
	round		INTEGER NOT NULL DEFAULT 1,
	kind		TEXT NOT NULL DEFAULT 'sos',
	battery		TEXT NOT NULL DEFAULT '',
	fix		TEXT NOT NULL DEFAULT '',
	alarms		INTEGER NOT NULL DEFAULT 1,
	last_alarm_at	INTEGER,
	first_sent_at	INTEGER,
	note		TEXT
);
INSERT INTO sos_incident_new (id, device_id, state, step, created, first_alert_at, acked_at, acked_by, resolved_at,
			      lat, lon, raw, next_at, round, kind, battery, fix, alarms, last_alarm_at,
			      first_sent_at, note)
	SELECT id, device_id, state, step, created, first_alert_at, acked_at, acked_by, resolved_at, lat, lon, raw,
	       next_at, round, kind, battery, fix, alarms, last_alarm_at, first_sent_at, note FROM sos_incident;
DROP TABLE sos_incident;
ALTER TABLE sos_incident_new RENAME TO sos_incident;
CREATE INDEX sos_incident_device ON sos_incident(device_id, state);
CREATE INDEX sos_incident_state ON sos_incident(state);
CREATE INDEX sos_incident_due ON sos_incident(next_at) WHERE next_at IS NOT NULL;
