-- Step 23 on PostgreSQL (db/upgrade/023_sip_port.sql): address.port INTEGER, so that a SIP peer's
-- port may be any port, 1 to 65535 (0 = any); Kamailio's stock SMALLINT stops at 32767. Kamailio's
-- permissions module reads it as an integer either way.
ALTER TABLE address ALTER COLUMN port TYPE INTEGER;
ALTER TABLE address ADD CONSTRAINT address_port_range CHECK (port BETWEEN 0 AND 65535);
UPDATE linli_schema SET version = 23;
