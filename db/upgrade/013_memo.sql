-- Step 13: the staff inbox (留言, issue 12). A known resident's text that matches no keyword is
-- handed to the household's grid worker (or the duty staff) as a memo; whoever it went to answers
-- with 回复 <id> <text>, and the resident gets the answer.
CREATE TABLE memo (
	id		INTEGER PRIMARY KEY,
	sender		TEXT NOT NULL,			-- the resident's number
	household_id	INTEGER REFERENCES household(id) ON DELETE SET NULL,
	to_number	TEXT NOT NULL DEFAULT '',	-- the grid worker's number, '' for the duty staff
	text		TEXT NOT NULL,
	created		INTEGER NOT NULL,
	replied_at	INTEGER,
	replied_by	TEXT,
	reply		TEXT
);
CREATE INDEX memo_sender ON memo(sender, created);
