-- Step 6: the 6995 group call (gateway/call.c), one row per call and one per leg.
--
-- call: who called (the number as it came, its phone, household and group), when linlid
--   answered, when the first neighbour joined, when it ended and how (end_reason: caller_hangup,
--   no_group, nobody, shutdown, error). state follows the call's osmo_fsm (ringing connected
--   escalating released).
-- call_leg: everyone linlid called for it (kind neighbour, grid_worker or staff) and the caller
--   itself (kind caller); an SOS alert call (gateway/sos.c's second path, caller 'SOS') has one
--   leg of kind sos_contact, result acknowledged when the contact pressed 1: when invited, answered, joined (pressed 1), ended, and the result
--   (joined, no_answer = cancelled after the ring time, no_key = answered but never pressed 1,
--   rejected = a SIP error such as 486, left = hung up after joining, released = ended by linlid
--   when the caller hung up), with the final SIP status of the INVITE.
-- Times are unix seconds; *_ms columns keep milliseconds where set-up time is measured.

CREATE TABLE call (
	id		INTEGER PRIMARY KEY,
	caller		TEXT NOT NULL,			-- as it came in the From header
	caller_phone_id	INTEGER REFERENCES phone(id) ON DELETE SET NULL,
	household_id	INTEGER REFERENCES household(id) ON DELETE SET NULL,
	grp_id		INTEGER REFERENCES grp(id) ON DELETE SET NULL,
	sip_call_id	TEXT,
	state		TEXT NOT NULL DEFAULT 'ringing'
			CHECK (state IN ('ringing', 'connected', 'escalating', 'released')),
	started		INTEGER NOT NULL,
	started_ms	INTEGER NOT NULL DEFAULT 0,	-- the INVITE's arrival, unix milliseconds
	dialed_ms	INTEGER,			-- every neighbour INVITE handed to the stack
	first_join_at	INTEGER,
	ended_at	INTEGER,
	end_reason	TEXT,
	note		TEXT				-- why it ended that way, for people
);
CREATE INDEX call_started ON call(started);

CREATE TABLE call_leg (
	id		INTEGER PRIMARY KEY,
	call_id		INTEGER NOT NULL REFERENCES call(id) ON DELETE CASCADE,
	kind		TEXT NOT NULL CHECK (kind IN ('caller', 'neighbour', 'grid_worker', 'staff', 'sos_contact')),
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
CREATE INDEX call_leg_call ON call_leg(call_id);
