-- Step 11: an SOS incident's history (issue 11, the staff console): every change of its state
-- with who made it (the contact's number for an SMS reply or a pressed 1, "web:NAME (NUMBER)"
-- for staff in the console, "linlictl") and the note they gave. from_state is NULL on the raising.
CREATE TABLE sos_event (
	id		INTEGER PRIMARY KEY,
	incident_id	INTEGER NOT NULL REFERENCES sos_incident(id) ON DELETE CASCADE,
	at		INTEGER NOT NULL,
	actor		TEXT NOT NULL,
	from_state	TEXT,
	to_state	TEXT NOT NULL,
	note		TEXT
);
CREATE INDEX sos_event_incident ON sos_event(incident_id, id);
-- the alarms of an incident are the watch's messages while it was open
CREATE INDEX sms_in_sender ON sms_in(sender, recv_ts);
