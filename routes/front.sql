-- linli: the district's front Kamailio (routes/front.cfg) reads these tables, in the schema
-- "district" of the district's PostgreSQL database (issue 14). Its own schema: every community is
-- a schema linli_CODE, and no community code can make the name "district".
--
--   psql postgresql://USER@HOST/DB -v ON_ERROR_STOP=1 -f routes/front.sql
--
-- Safe to run again: it creates only what is missing. Kamailio's stock tables keep their
-- Kamailio 5.6 layout (permissions' address, version 6; dispatcher, version 4).
--
-- - address: who may send requests to the front: grp 1 = trunks (the carrier's SIP side), grp 2 =
--   the community boxes' Kamailios (their in-dialog requests, BYE of a call a box ends);
-- - dispatcher: each community's boxes as one set (setid), the box's Kamailio as destination; with
--   two boxes for a community (active/standby), the higher priority is tried first; the front asks
--   each box with OPTIONS every few seconds, and a box answers 200 only while its linlid holds the
--   community (kamailio.cfg with -A HEALTH_LINLI);
-- - linli_number: the district's public numbers, as the trunk sends them in the Request-URI: which
--   set (community) takes it, and the user it becomes at the box: 'linli' (SMS over SIP), the
--   group call's short code ('6995') or the voice line ('6996').
CREATE SCHEMA IF NOT EXISTS district;
SET search_path = district;

CREATE TABLE IF NOT EXISTS version (
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT version_table_name_idx UNIQUE (table_name)
);

CREATE TABLE IF NOT EXISTS address (
    id SERIAL PRIMARY KEY NOT NULL,
    grp INTEGER DEFAULT 1 NOT NULL,
    ip_addr VARCHAR(50) NOT NULL,
    mask INTEGER DEFAULT 32 NOT NULL,
    port INTEGER DEFAULT 0 NOT NULL CHECK (port BETWEEN 0 AND 65535), -- the stock SMALLINT stops at 32767
    tag VARCHAR(64)
);
INSERT INTO version (table_name, table_version) VALUES ('address', 6) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS dispatcher (
    id SERIAL PRIMARY KEY NOT NULL,
    setid INTEGER DEFAULT 0 NOT NULL,
    destination VARCHAR(192) DEFAULT '' NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    priority INTEGER DEFAULT 0 NOT NULL,
    attrs VARCHAR(128) DEFAULT '' NOT NULL,
    description VARCHAR(64) DEFAULT '' NOT NULL
);
INSERT INTO version (table_name, table_version) VALUES ('dispatcher', 4) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS linli_number (
    number TEXT PRIMARY KEY CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
    setid INTEGER NOT NULL CHECK (setid > 0),
    target TEXT NOT NULL CHECK (target ~ '^[a-z0-9]{1,32}$'),
    community TEXT NOT NULL CHECK (community ~ '^[a-z0-9_]{1,32}$')
);
