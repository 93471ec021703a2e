-- schema/server/0009_tombstones_on_deleted.sql: a device's tombstone that
-- arrived for a row already deleted. Read the SQLite file for why.
CREATE TABLE tombstone_on_deleted (
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  hlc TEXT NOT NULL,
  PRIMARY KEY (entity, row_id, hlc)
);
