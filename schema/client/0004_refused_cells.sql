-- Issue 9: a refused row's values as the person typed them (JSON, display
-- text), kept until the refusal is settled or dismissed: a refused edit or
-- delete of a row the server holds is put back to the server's cells when
-- its receipt arrives, so these are the only copy of what was typed.
ALTER TABLE refused_row ADD COLUMN cells TEXT NOT NULL DEFAULT '{}';
-- 1 when the receipt carried the server's row and this device's copy was
-- put back to it (a refused edit or delete of a row the server holds).
ALTER TABLE refused_row ADD COLUMN restored INTEGER NOT NULL DEFAULT 0;
