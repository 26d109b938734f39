-- Step 9: the staff console's tokens (issue 11). A token is shown once, when `linlictl token
-- create` makes it; only its SHA-256 (hex) is kept. It belongs to an active phone of the
-- database; its role is the console's (readonly < staff < operator), not the phone's role
-- column (a grid worker may be an operator of the box). Revoking keeps the row, for the record,
-- and ends the page sessions opened with it.
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
