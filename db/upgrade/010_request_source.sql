-- Step 10: where a request came from, for the staff console and Open311 GeoReport v2 (issue 11).
--
-- source: 'sms' (a resident's 报事, every request before this step), 'open311' (POST
-- requests.json of another system, e.g. the district's 12345 platform) or 'web' (the staff page).
-- service: the Open311 service_code it was filed under (NULL: the general 报事, "request").
-- lat, lon: WGS-84 as the submitter gave them; address: its address_string, as given (the
-- household's address, when the request has one, comes from the household).
ALTER TABLE request ADD COLUMN source TEXT NOT NULL DEFAULT 'sms' CHECK (source IN ('sms', 'open311', 'web'));
ALTER TABLE request ADD COLUMN service TEXT;
ALTER TABLE request ADD COLUMN lat REAL;
ALTER TABLE request ADD COLUMN lon REAL;
ALTER TABLE request ADD COLUMN address TEXT;
-- Open311's GET requests.json lists by date; the console lists newest first (the primary key).
CREATE INDEX request_created ON request(created);
