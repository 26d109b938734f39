-- Step 3: SOS incidents that survive a restart and follow the clock linlid is given.
--
-- sos_incident: when the next escalation step is due (next_at, NULL when none), which round of
--   the escalation ladder is running, what the alarm said (kind, battery, fix), how many alarms
--   attached to it, and when the first alert was accepted by a modem (first_sent_at;
--   first_alert_at, from version 1, is when it was queued).
--   Time to first alert = first_sent_at - created; time to acknowledgement = acked_at - created.
-- sos_attempt: what the attempt was (kind), whether it carried the location, and a note once a
--   failed delivery was sent again (result). Its delivery state is the one of its sms_out row.
-- binding: unbind_code while an unbinding asked by SMS waits for the household's confirmation.
-- device: when `linlictl watch program` queued its commands, and the watch's answer.
-- device_notice: the rate limit of low-battery / position notices (one per device and kind).
-- setting: values linlid shares with linlictl (community-number).

ALTER TABLE sos_incident ADD COLUMN next_at INTEGER;
ALTER TABLE sos_incident ADD COLUMN round INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sos_incident ADD COLUMN kind TEXT NOT NULL DEFAULT 'sos';
ALTER TABLE sos_incident ADD COLUMN battery TEXT NOT NULL DEFAULT '';
ALTER TABLE sos_incident ADD COLUMN fix TEXT NOT NULL DEFAULT '';
ALTER TABLE sos_incident ADD COLUMN alarms INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sos_incident ADD COLUMN last_alarm_at INTEGER;
ALTER TABLE sos_incident ADD COLUMN first_sent_at INTEGER;
ALTER TABLE sos_incident ADD COLUMN note TEXT;
CREATE INDEX sos_incident_due ON sos_incident(next_at) WHERE next_at IS NOT NULL;

ALTER TABLE sos_attempt ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert';	-- alert update ack_notice ack_reply stop resend
ALTER TABLE sos_attempt ADD COLUMN location INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sos_attempt_number ON sos_attempt(number, incident_id);

ALTER TABLE binding ADD COLUMN unbind_code TEXT;
ALTER TABLE binding ADD COLUMN unbind_by TEXT;

ALTER TABLE device ADD COLUMN programmed_at INTEGER;
ALTER TABLE device ADD COLUMN program_reply TEXT;

CREATE TABLE device_notice (
	device_id	INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,
	kind		TEXT NOT NULL,
	last_at		INTEGER NOT NULL,
	PRIMARY KEY (device_id, kind)
) WITHOUT ROWID;

CREATE TABLE setting (
	name		TEXT PRIMARY KEY,
	value		TEXT NOT NULL
) WITHOUT ROWID;
