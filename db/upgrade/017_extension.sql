-- Step 17: 延期 asked by SMS (issue 12). The assignee of a request (a grid worker) asks for more
-- working days with a reason; the duty staff approve (批准 <code>, or the console's extend, which
-- applies the extension: rq_extend) or refuse (驳回 <code> <reason>); an ask nobody answers lapses
-- at the request's deadline (at the earliest a while after it was made: timer request X5).
-- At most one ask of a request waits at a time, and its code is unique among the waiting ones.
CREATE TABLE request_extension (
	id		INTEGER PRIMARY KEY,
	request_id	INTEGER NOT NULL REFERENCES request(id) ON DELETE CASCADE,
	asker		TEXT NOT NULL,			-- the number that asked
	days		INTEGER NOT NULL CHECK (days BETWEEN 1 AND 10),
	reason		TEXT NOT NULL,
	code		TEXT NOT NULL,			-- the approval code texted to the staff
	state		TEXT NOT NULL DEFAULT 'asked'
			CHECK (state IN ('asked', 'approved', 'refused', 'expired', 'void')),
	created		INTEGER NOT NULL,
	expires		INTEGER NOT NULL,
	decided_at	INTEGER,
	decided_by	TEXT,				-- a staff number, 'web:NAME', 'staff:USER', 'system'
	decision	TEXT				-- the reason of a refusal
);
CREATE UNIQUE INDEX request_extension_asked ON request_extension(request_id) WHERE state = 'asked';
CREATE UNIQUE INDEX request_extension_code ON request_extension(code) WHERE state = 'asked';
CREATE INDEX request_extension_expires ON request_extension(expires) WHERE state = 'asked';
