-- Step 15: numbers whose messages are stored but not routed (issue 12, flood and abuse limits).
-- 'blocked': put there by staff (linlictl sender block), until they unblock it; 'parked': sent
-- more than flood-limit allows, until `until` (the window) or until staff release it;
-- 'released': staff released it at `created`, and the flood limit leaves it alone for a window. A watch,
-- a staff phone and a grid worker are never parked (the router checks), nor can they be blocked
-- by accident: linlictl refuses it.
CREATE TABLE sender_block (
	number		TEXT PRIMARY KEY,
	kind		TEXT NOT NULL CHECK (kind IN ('blocked', 'parked', 'released')),
	reason		TEXT NOT NULL DEFAULT '',
	by		TEXT NOT NULL DEFAULT '',
	created		INTEGER NOT NULL,
	until		INTEGER			-- NULL: until released
);
