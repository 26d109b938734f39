-- Step 20: requests by voice (issue 12). A resident who cannot type calls the voice short code
-- (voice-code); linlid records what they say and files a request with source 'voice'.
--
-- recording: the WAV file of the call (G.711 mu-law, 8 kHz, mono) as linlid wrote it, under its
-- recordings-dir (relative to linlid's working directory unless the setting is absolute), NULL for
-- a request without one; recording_s: its length in whole seconds.
--
-- request.source gains 'voice'. SQLite cannot change a CHECK, so the table is rebuilt as step 7
-- did (db_open runs steps with foreign keys off and checks every reference before the commit):
-- every column the table has after steps 1..19 (schema.sql, 007_states.sql, 010_request_source.sql),
-- in order, then the two new ones; the same indexes (schema.sql, 004_errands.sql, 010).

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
	updated		INTEGER NOT NULL,
	source		TEXT NOT NULL DEFAULT 'sms' CHECK (source IN ('sms', 'open311', 'web', 'voice')),
	service		TEXT,
	lat		REAL,
	lon		REAL,
	address		TEXT,
	recording	TEXT,				-- the WAV file of a request by voice
	recording_s	INTEGER
);
INSERT INTO request_new (id, ref, kind, reporter_phone_id, reporter, household_id, text, state, flags, deadline,
			 assignee_phone_id, rating, merged_into, created, updated, source, service, lat, lon, address)
	SELECT id, ref, kind, reporter_phone_id, reporter, household_id, text, state, flags, deadline,
	       assignee_phone_id, rating, merged_into, created, updated, source, service, lat, lon, address
	FROM request;
DROP TABLE request;
ALTER TABLE request_new RENAME TO request;
CREATE INDEX request_state ON request(state, deadline);
CREATE INDEX request_reporter ON request(reporter_phone_id);
CREATE INDEX request_assignee ON request(assignee_phone_id, state);
CREATE INDEX request_reporter_number ON request(reporter, created);
CREATE INDEX request_created ON request(created);
