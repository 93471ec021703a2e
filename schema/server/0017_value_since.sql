-- server/0017_value_since.sql: a cell whose value has stayed the same since
-- an earlier write (docs/protocol.md "An agreement is not a disagreement").
-- A device's write of the very value a cell holds, made without seeing it
-- (two trainers both marked a participant present offline; a device that
-- imported the office's export), wins by its later stamp and takes a new
-- sequence, but the value did not change: a writer who saw it at the
-- earlier sequence and edits it saw what the cell holds, and is no
-- conflict. `since_seq` is the first sequence the value has held since;
-- the row applies only while the cell's version is still `hlc` (a write of
-- another value makes it stale; nothing deletes it on the hot path).
CREATE TABLE value_since (
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  column_name TEXT NOT NULL,
  since_seq INTEGER NOT NULL,
  hlc TEXT NOT NULL,
  PRIMARY KEY (entity, row_id, column_name)
);
