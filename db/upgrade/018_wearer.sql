-- Step 18: talk to the wearer (issue 12). After a contact's 1 in an SOS alert call, linlid calls
-- the watch and bridges the contact to it: a call leg of kind 'wearer'.
--
-- SQLite cannot change a CHECK, so call_leg is rebuilt as in step 7 (create, copy every row, drop,
-- rename, index again; db_open runs the steps with foreign keys off and checks them before the
-- commit).

CREATE TABLE call_leg_new (
	id		INTEGER PRIMARY KEY,
	call_id		INTEGER NOT NULL REFERENCES call(id) ON DELETE CASCADE,
	kind		TEXT NOT NULL
			CHECK (kind IN ('caller', 'neighbour', 'grid_worker', 'staff', 'sos_contact', 'wearer')),
	number		TEXT NOT NULL,
	phone_id	INTEGER REFERENCES phone(id) ON DELETE SET NULL,
	household_id	INTEGER REFERENCES household(id) ON DELETE SET NULL,
	invited_at	INTEGER,
	answered_at	INTEGER,
	joined_at	INTEGER,
	ended_at	INTEGER,
	result		TEXT,
	sip_status	INTEGER
);
INSERT INTO call_leg_new (id, call_id, kind, number, phone_id, household_id, invited_at, answered_at, joined_at,
			  ended_at, result, sip_status)
	SELECT id, call_id, kind, number, phone_id, household_id, invited_at, answered_at, joined_at, ended_at,
	       result, sip_status FROM call_leg;
DROP TABLE call_leg;
ALTER TABLE call_leg_new RENAME TO call_leg;
CREATE INDEX call_leg_call ON call_leg(call_id);
