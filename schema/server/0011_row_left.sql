-- Rows that left a district (moved to another), by the district they left,
-- with the sequence of the write that moved them out: a pull of a device of
-- that district whose cursor is before it sends the row whole, so the
-- device learns where it went and holds the server's copy, not a stale one
-- it would go on editing (server/pull_service.cc). A row that left the same
-- district twice keeps the later departure.
CREATE TABLE row_left (
  district_code TEXT NOT NULL,
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  left_seq INTEGER NOT NULL,
  PRIMARY KEY (district_code, entity, row_id)
);
CREATE INDEX row_left_by_seq ON row_left(district_code, left_seq);
