-- schema/server/0011_row_left.sql: rows that left a district, by the
-- district they left. Read the SQLite file for why.
CREATE TABLE row_left (
  district_code TEXT NOT NULL,
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  left_seq BIGINT NOT NULL,
  PRIMARY KEY (district_code, entity, row_id)
);
CREATE INDEX row_left_by_seq ON row_left(district_code, left_seq);
