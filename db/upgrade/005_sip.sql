-- Step 5: the SIP side (issue 5). What Kamailio (routes/kamailio.cfg) reads, read-only, through
-- db_sqlite, and how linlid tells a SIP number from a GSM one.
--
-- 1. address: Kamailio's permissions table (table version 6): peers allowed by source address.
--    grp 1 = SIP trunks (their calls and MESSAGEs reach linlid and registered phones only);
--    grp 2 = linlid's own user agent (it may also call out through the trunk). port 0 = any.
--    Kamailio loads it when it starts.
-- 2. phone.channel: 'gsm' (default) or 'sip'. A 'sip' number gets every message linlid sends it
--    (replies, SOS alerts, dispatches) as a SIP MESSAGE through Kamailio instead of an SMS through
--    a modem; Kamailio delivers it to the number's registered SIP phone (registrar lookup), or to
--    the trunk when none is registered. Numbers are E.164 ("+8613800138001"), and a SIP phone
--    registers with that number as its user name (subscriber.username).
-- 3. grp.call_mode: how a call to the group short code (6995) is handled for the caller's group:
--    'mixer' sends it to linlid's own user agent (everyone who answers joins one call);
--    'ring-all' lets Kamailio fork it to every other household of the group, first answer wins.
-- 4. linli_caller: for each active phone with a household, its group and the group's call mode:
--    what Kamailio's sqlops asks when an INVITE to the short code arrives.

CREATE TABLE address (
	id		INTEGER PRIMARY KEY NOT NULL,
	grp		INTEGER DEFAULT 1 NOT NULL,
	ip_addr		VARCHAR(50) NOT NULL,
	mask		INTEGER DEFAULT 32 NOT NULL,
	port		SMALLINT DEFAULT 0 NOT NULL,
	tag		VARCHAR(64)
);
INSERT INTO version (table_name, table_version) VALUES ('address', 6);

ALTER TABLE phone ADD COLUMN channel TEXT NOT NULL DEFAULT 'gsm' CHECK (channel IN ('gsm', 'sip'));

ALTER TABLE grp ADD COLUMN call_mode TEXT NOT NULL DEFAULT 'mixer' CHECK (call_mode IN ('mixer', 'ring-all'));

CREATE VIEW linli_caller AS
	SELECT p.number AS number, p.id AS phone_id, h.id AS household_id, g.id AS group_id,
	       g.code AS group_code, g.call_mode AS call_mode
	FROM phone p
	JOIN household h ON h.id = p.household_id
	JOIN grp g ON g.id = h.grp_id
	WHERE p.state = 'active';
