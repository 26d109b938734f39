-- Step 22: store-and-send for messages of several parts (issue 10). Each part's copy on a SIM is a
-- row here, all of a message's parts committed before any is sent from there (AT+CMSS); after a
-- crash a row still 'sending' with copies is read back part by part (AT+CMGR), so no part goes out
-- twice. A copy is forgotten once deleted from the SIM (AT+CMGD). The copies step 21 kept on
-- sms_out (one part: sim_modem, sim_index) move here.
CREATE TABLE sms_out_copy (
	modem		TEXT NOT NULL,		-- the modem (its configured name) whose SIM holds it
	sim_index	INTEGER NOT NULL CHECK (sim_index > 0),
	out_id		INTEGER NOT NULL REFERENCES sms_out(id) ON DELETE CASCADE,
	part		INTEGER NOT NULL CHECK (part >= 1),
	PRIMARY KEY (modem, sim_index)
);
CREATE INDEX sms_out_copy_out ON sms_out_copy(out_id, part);
INSERT INTO sms_out_copy (modem, sim_index, out_id, part)
	SELECT sim_modem, sim_index, id, 1 FROM sms_out WHERE sim_index > 0 AND sim_modem IS NOT NULL;
DROP INDEX sms_out_sim;
ALTER TABLE sms_out DROP COLUMN sim_index;
ALTER TABLE sms_out DROP COLUMN sim_modem;
