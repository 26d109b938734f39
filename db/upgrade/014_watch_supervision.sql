-- Step 14: supervision of the bound watches (issue 12). A watch with an approved contact that has
-- sent nothing (no alarm, position, battery report, call or any text) for watch-silent-hours is
-- an open supervision: its first contacts and the grid worker are told once; the next message
-- from the watch closes it and they are told it is back. An unreachable watch is the silent way
-- an SOS fails.
CREATE TABLE device_supervision (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,
	kind		TEXT NOT NULL DEFAULT 'silent' CHECK (kind IN ('silent')),
	last_seen_at	INTEGER NOT NULL,		-- the watch's last message (or its creation)
	opened_at	INTEGER NOT NULL,
	told		INTEGER NOT NULL DEFAULT 0,	-- how many were texted
	closed_at	INTEGER
);
CREATE UNIQUE INDEX device_supervision_open ON device_supervision(device_id, kind) WHERE closed_at IS NULL;
