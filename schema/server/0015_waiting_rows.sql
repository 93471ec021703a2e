-- Row changes kept waiting for a row the server does not hold (docs/protocol.md
-- §5 "Waiting for a row"): an edit of a row the device received from the
-- server (its cells carry a base) that this server no longer holds (restored
-- from a backup: the row's writer sends it again), or a row that references
-- one it does not hold yet. Refused until then (reason waits_for_row), and
-- applied, as sent, in the transaction that brings the row.
ALTER TABLE refused_row ADD COLUMN waits_entity TEXT;
ALTER TABLE refused_row ADD COLUMN waits_row_id TEXT;
-- The server sequence it took when it was applied (row history).
ALTER TABLE refused_row ADD COLUMN applied_seq INTEGER;
CREATE INDEX refused_row_waiting ON refused_row(waits_row_id)
  WHERE settled_at IS NULL AND waits_row_id IS NOT NULL;
