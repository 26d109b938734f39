-- Step 9: the staff console (issue 11): its tokens, and the send API's delivery callbacks.
--
-- A token is shown once, when `linlictl token create` makes it; only its SHA-256 (hex) is kept.
-- It belongs to an active phone of the database; its role is the console's (readonly < staff <
-- operator), not the phone's role column (a grid worker may be an operator of the box).
-- Revoking keeps the row, for the record, and ends the page sessions opened with it.
CREATE TABLE staff_token (
	id		INTEGER PRIMARY KEY,
	token_hash	TEXT NOT NULL UNIQUE,
	phone_id	INTEGER NOT NULL REFERENCES phone(id) ON DELETE CASCADE,
	role		TEXT NOT NULL CHECK (role IN ('readonly', 'staff', 'operator')),
	label		TEXT NOT NULL DEFAULT '',
	created_at	INTEGER NOT NULL,
	revoked_at	INTEGER,
	last_used_at	INTEGER
);
CREATE INDEX staff_token_phone ON staff_token(phone_id);

-- The send API's delivery callbacks (POST /api/v1/sms with callback_url): the URL the sender
-- gave, the last event it was told of ('sent', then 'delivered' or 'failed'), and when to try
-- again after a callback that failed. Each try is a row of sms_callback.
ALTER TABLE sms_out ADD COLUMN callback_url TEXT;
ALTER TABLE sms_out ADD COLUMN callback_told TEXT;
ALTER TABLE sms_out ADD COLUMN callback_next INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sms_out ADD COLUMN callback_tries INTEGER NOT NULL DEFAULT 0;
-- only the messages whose sender has not heard the end yet
CREATE INDEX sms_out_callback ON sms_out(callback_next)
	WHERE callback_url IS NOT NULL AND coalesce(callback_told, '') NOT IN ('delivered', 'failed');

CREATE TABLE sms_callback (
	id		INTEGER PRIMARY KEY,
	sms_out_id	INTEGER NOT NULL REFERENCES sms_out(id) ON DELETE CASCADE,
	at		INTEGER NOT NULL,
	event		TEXT NOT NULL CHECK (event IN ('sent', 'delivered', 'failed')),
	http_status	INTEGER,			-- NULL: no answer (refused, timed out)
	error		TEXT
);
CREATE INDEX sms_callback_msg ON sms_callback(sms_out_id, at);
