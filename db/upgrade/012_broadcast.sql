-- Step 12: broadcast notices (停水, 停电, 防汛) and opting out of them (issue 12).
-- optout: a number that texted 退订/TD/STOP gets no broadcast (nor any later bulk text) until it
-- texts 订阅/DY; SOS alerts, replies to its own requests and binding texts are never stopped. A
-- number need not be in phone (anyone may opt out).
CREATE TABLE optout (
	number		TEXT PRIMARY KEY,
	created		INTEGER NOT NULL,
	via		TEXT NOT NULL DEFAULT 'sms'	-- 'sms', or who entered it ('staff:NAME')
);

-- A broadcast: who asked (a staff phone by SMS, or linlictl), to whom (scope_kind all | grid |
-- group | role, scope the code or role), the text, when; its life: confirm (waiting for the
-- sender's code) -> scheduled (send_at in the future) -> queued (one sms_out per recipient, prio
-- bulk) -> done (every message final, the sender told the counts); or cancelled, expired.
CREATE TABLE broadcast (
	id		INTEGER PRIMARY KEY,
	sender		TEXT NOT NULL,			-- the staff number, or 'staff:NAME' from linlictl
	scope_kind	TEXT NOT NULL CHECK (scope_kind IN ('all', 'grid', 'group', 'role')),
	scope		TEXT NOT NULL DEFAULT '',
	scope_label	TEXT NOT NULL DEFAULT '',	-- how the sender named it ("第一网格")
	text		TEXT NOT NULL,
	state		TEXT NOT NULL DEFAULT 'confirm'
			CHECK (state IN ('confirm', 'scheduled', 'queued', 'done', 'cancelled', 'expired')),
	code		TEXT,				-- the confirmation code texted to the sender
	created		INTEGER NOT NULL,
	send_at		INTEGER NOT NULL,
	queued_at	INTEGER,
	done_at		INTEGER,
	recipients	INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX broadcast_state ON broadcast(state, send_at);

-- Which outgoing messages belong to a broadcast: its progress is counted from them.
ALTER TABLE sms_out ADD COLUMN broadcast_id INTEGER REFERENCES broadcast(id);
CREATE INDEX sms_out_broadcast ON sms_out(broadcast_id) WHERE broadcast_id IS NOT NULL;
