-- Step 4: errands (跑腿), volunteer points (积分) and registration by SMS (注册), issue 3.
--
-- Errands are rows of `request` with kind 'errand' (same references, events and privacy as
-- requests). Their states reuse the request states: dispatched (offered to every runner),
-- accepted (taken by the runner now in assignee_phone_id), closed (the runner says it is done),
-- visited (the resident confirmed; rating '确认'), reopened (the resident disputed; rating '有异议',
-- with the duty staff).
--
-- points: the ledger of version 1 gets who wrote each entry (actor: 'system' for an errand credit,
--   'staff:LOGIN' for `linlictl points add`). An entry is never changed: a correction is a new
--   entry (the trigger refuses UPDATE). An errand credits its runner at most once.
-- registration: every 注册 received, with what the person wrote and what became of it. The phone
--   row is made at once (state 'pending' unless it was linked at once); approving sets it active.

ALTER TABLE points ADD COLUMN actor TEXT NOT NULL DEFAULT 'system';
CREATE UNIQUE INDEX points_request ON points(request_id) WHERE request_id IS NOT NULL;
CREATE TRIGGER points_ledger BEFORE UPDATE ON points
BEGIN
	SELECT RAISE(ABORT, 'points is a ledger: add a correcting entry instead of changing one');
END;

-- state: pending (waits for staff), linked (matched an imported household at once), approved,
-- rejected. household_id: the household the address matched (when exactly one did) or the one
-- staff chose on approval.
CREATE TABLE registration (
	id		INTEGER PRIMARY KEY,
	phone_id	INTEGER REFERENCES phone(id) ON DELETE SET NULL,
	number		TEXT NOT NULL,			-- as it registered, kept if the phone goes
	name		TEXT NOT NULL,
	address		TEXT NOT NULL,			-- as written: "3-2-501", "3幢2单元501"
	household_id	INTEGER REFERENCES household(id) ON DELETE SET NULL,
	state		TEXT NOT NULL DEFAULT 'pending'
			CHECK (state IN ('pending', 'linked', 'approved', 'rejected')),
	created		INTEGER NOT NULL,
	decided_at	INTEGER,
	decided_by	TEXT,
	note		TEXT
);
CREATE INDEX registration_state ON registration(state, id);
CREATE INDEX registration_number ON registration(number);

-- The duplicate check of every report (same sender, same text within 10 minutes) and 查询 without
-- a ref look requests up by the reporting number: without this index each report scanned the
-- whole table (bench/request_bench.c).
CREATE INDEX request_reporter_number ON request(reporter, created);
