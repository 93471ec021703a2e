-- schema/server/0012_conflict_by_row.sql: a row's conflicts, found by the
-- row. Read the SQLite file for why.
CREATE INDEX conflict_by_row ON conflict(entity, row_id);
