-- server-pg/0013_value_since.sql: as server/0017_value_since.sql.
CREATE TABLE value_since (
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  column_name TEXT NOT NULL,
  since_seq BIGINT NOT NULL,
  hlc TEXT NOT NULL,
  PRIMARY KEY (entity, row_id, column_name)
);
