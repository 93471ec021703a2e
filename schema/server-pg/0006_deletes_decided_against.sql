-- schema/server/0010_deletes_decided_against.sql: a device's delete the
-- office decided against. Read the SQLite file for why.
CREATE TABLE delete_decided_against (
  hlc TEXT PRIMARY KEY,
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  decided_at TEXT NOT NULL
);
