-- Step 8: a binding's codes expire (issue 13, hole 7). code_at / unbind_code_at: when the approval
-- code / the unbinding code was texted to the household's primary phone; a code is accepted only
-- within the SOS group's code timer (`timer sos X5`, 600 s) of it. Codes made before this step
-- have no time and are no longer accepted: the contact asks again.
ALTER TABLE binding ADD COLUMN code_at INTEGER;
ALTER TABLE binding ADD COLUMN unbind_code_at INTEGER;
