-- server/0015_waiting_rows.sql: row changes waiting for a row the server
-- does not hold.
ALTER TABLE refused_row ADD COLUMN waits_entity TEXT;
ALTER TABLE refused_row ADD COLUMN waits_row_id TEXT;
-- The server sequence it took when it was applied (row history).
ALTER TABLE refused_row ADD COLUMN applied_seq BIGINT;
CREATE INDEX refused_row_waiting ON refused_row(waits_row_id)
  WHERE settled_at IS NULL AND waits_row_id IS NOT NULL;
