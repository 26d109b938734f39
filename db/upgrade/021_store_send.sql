-- Step 21: store-and-send (issue 10). With `store-and-send on` a modem's message is first stored on
-- its SIM (AT+CMGW), the index committed here, then sent from there (AT+CMSS). After a crash a row
-- still 'sending' with sim_index set is read back on sim_modem (AT+CMGR) rather than queued again:
-- stat "STO UNSENT" is sent now, "STO SENT" has gone out. Cleared once the copy is deleted (AT+CMGD).
ALTER TABLE sms_out ADD COLUMN sim_modem TEXT;
ALTER TABLE sms_out ADD COLUMN sim_index INTEGER;
-- The rows with a copy on a SIM (a few at most): read back, or their copy deleted, at connect.
CREATE INDEX sms_out_sim ON sms_out(sim_modem) WHERE sim_index IS NOT NULL;
