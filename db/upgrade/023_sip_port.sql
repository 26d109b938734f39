-- Step 23: a SIP peer's port may be any port, 1 to 65535 (0 = any). Kamailio's stock schema has
-- address.port SMALLINT, which on PostgreSQL stops at 32767: a peer on a higher port (linlid's user
-- agent, a box behind the district's front on an ephemeral port) could not be stored there;
-- db/pg/023_sip_port.sql widens it. SQLite's SMALLINT is an INTEGER column that holds any port, so
-- on SQLite this step changes nothing: it is here to keep both engines on the same numbered versions.
SELECT 1;
