-- Step 16: locate on demand (定位, issue 12). An approved contact asks; the watch is sent its
-- dialect's locate command; the position it answers with (within `timer sos X7`) goes to the
-- contacts who asked, and only to them.
CREATE TABLE sos_locate (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,
	number		TEXT NOT NULL,			-- the contact who asked
	created		INTEGER NOT NULL,
	answered_at	INTEGER
);
CREATE INDEX sos_locate_open ON sos_locate(device_id, created) WHERE answered_at IS NULL;
