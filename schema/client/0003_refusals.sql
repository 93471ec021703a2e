-- Issue 9: rows the server refused (listed in its signed receipt), for a
-- person to fix or delete. The refused change set is acknowledged as usual:
-- a refusal never blocks the device's later sets. An entry goes when the
-- row is sent again and accepted, or when a person dismisses it
-- (`kbo refused dismiss`).
CREATE TABLE refused_row (
  seq INTEGER NOT NULL,          -- the change set that carried it
  row_index INTEGER NOT NULL,    -- its position in that set, from 0
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  reason TEXT NOT NULL,          -- the server's stable code
  message TEXT NOT NULL,         -- the server's words
  refused_at TEXT NOT NULL,      -- when the receipt arrived (ISO 8601 UTC)
  PRIMARY KEY (seq, row_index)
);
CREATE INDEX refused_row_by_row ON refused_row(entity, row_id);
