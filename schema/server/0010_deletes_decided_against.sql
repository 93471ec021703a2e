-- A device's delete the office decided against: the hlc it was written
-- with, once a resolution kept an edit of the row it deleted or the row was
-- restored (server/conflicts.cc, BringBackTakenWith). A row deleted by two
-- writers (its stamps in tombstone_on_deleted) comes back with a cascade
-- only when every delete it carries is listed here: the second decision
-- brings back what the first one had to leave.
CREATE TABLE delete_decided_against (
  hlc TEXT PRIMARY KEY,
  entity TEXT NOT NULL,   -- the row whose delete it was
  row_id TEXT NOT NULL,
  decided_at TEXT NOT NULL
);
