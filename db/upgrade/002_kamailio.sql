-- Step 2: what Kamailio reads from this file (it opens it read-only through db_sqlite).
--
-- 1. Kamailio's own `version` table and the auth_db `subscriber` table (table version 7, as in
--    Kamailio 5.x), so SIP phones of staff and residents can register with digest credentials
--    kept beside the community data (auth_db: db_url = "sqlite:///.../linli.db").
-- 2. linli_group_members: for each 联户 group, the numbers of its households' active phones,
--    which is what the 6995 group call rings. Kamailio's sqlops (sql_query) or a dialplan can
--    read it; linlid uses it for the group call too.

CREATE TABLE version (
	id		INTEGER PRIMARY KEY NOT NULL,
	table_name	VARCHAR(32) NOT NULL,
	table_version	INTEGER DEFAULT 0 NOT NULL,
	CONSTRAINT version_table_name_idx UNIQUE (table_name)
);
INSERT INTO version (table_name, table_version) VALUES ('version', 1);

CREATE TABLE subscriber (
	id		INTEGER PRIMARY KEY NOT NULL,
	username	VARCHAR(64) DEFAULT '' NOT NULL,
	domain		VARCHAR(64) DEFAULT '' NOT NULL,
	password	VARCHAR(64) DEFAULT '' NOT NULL,
	ha1		VARCHAR(128) DEFAULT '' NOT NULL,
	ha1b		VARCHAR(128) DEFAULT '' NOT NULL,
	CONSTRAINT subscriber_account_idx UNIQUE (username, domain)
);
CREATE INDEX subscriber_username_idx ON subscriber (username);
INSERT INTO version (table_name, table_version) VALUES ('subscriber', 7);

-- One row per (group, member phone); is_primary = 1 for the household's primary number.
CREATE VIEW linli_group_members AS
	SELECT g.id AS group_id, g.code AS group_code, h.id AS household_id, p.number AS number,
	       p.name AS name, (h.primary_phone_id = p.id) AS is_primary
	FROM grp g
	JOIN household h ON h.grp_id = g.id
	JOIN phone p ON p.household_id = h.id
	WHERE p.state = 'active';
