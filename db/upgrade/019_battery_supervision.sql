-- Step 19: a watch whose last report said its battery is low is under supervision too (issue 12):
-- device_supervision gains the kind 'battery' beside 'silent'. Its step-1 contacts and the grid
-- worker are told once when it opens, and again when a report shows the battery good.
--
-- SQLite cannot change a CHECK: the table is rebuilt as in step 7.

CREATE TABLE device_supervision_new (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,
	kind		TEXT NOT NULL DEFAULT 'silent' CHECK (kind IN ('silent', 'battery')),
	last_seen_at	INTEGER NOT NULL,		-- the watch's last message (or its creation)
	opened_at	INTEGER NOT NULL,
	told		INTEGER NOT NULL DEFAULT 0,	-- how many were texted
	closed_at	INTEGER
);
INSERT INTO device_supervision_new (id, device_id, kind, last_seen_at, opened_at, told, closed_at)
	SELECT id, device_id, kind, last_seen_at, opened_at, told, closed_at FROM device_supervision;
DROP TABLE device_supervision;
ALTER TABLE device_supervision_new RENAME TO device_supervision;
CREATE UNIQUE INDEX device_supervision_open ON device_supervision(device_id, kind) WHERE closed_at IS NULL;
