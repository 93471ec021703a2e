-- schema/server/0012_conflict_by_row.sql: a row's conflicts, found by the
-- row. Read the SQLite file for why.
CREATE INDEX conflict_by_row ON conflict(entity, row_id);

-- Conflicts of rows that moved before their conflicts followed them: where
-- the row is now.
UPDATE conflict SET district_code = (SELECT r.district_code FROM producer r WHERE r.id = conflict.row_id)
  WHERE entity = 'producer' AND EXISTS (SELECT 1 FROM producer r WHERE r.id = conflict.row_id
    AND r.district_code IS DISTINCT FROM conflict.district_code);
UPDATE conflict SET district_code = (SELECT r.district_code FROM product r WHERE r.id = conflict.row_id)
  WHERE entity = 'product' AND EXISTS (SELECT 1 FROM product r WHERE r.id = conflict.row_id
    AND r.district_code IS DISTINCT FROM conflict.district_code);
UPDATE conflict SET district_code = (SELECT r.district_code FROM workshop r WHERE r.id = conflict.row_id)
  WHERE entity = 'workshop' AND EXISTS (SELECT 1 FROM workshop r WHERE r.id = conflict.row_id
    AND r.district_code IS DISTINCT FROM conflict.district_code);
UPDATE conflict SET district_code = (SELECT r.district_code FROM enrolment r WHERE r.id = conflict.row_id)
  WHERE entity = 'enrolment' AND EXISTS (SELECT 1 FROM enrolment r WHERE r.id = conflict.row_id
    AND r.district_code IS DISTINCT FROM conflict.district_code);
UPDATE conflict SET district_code = (SELECT r.district_code FROM attendance r WHERE r.id = conflict.row_id)
  WHERE entity = 'attendance' AND EXISTS (SELECT 1 FROM attendance r WHERE r.id = conflict.row_id
    AND r.district_code IS DISTINCT FROM conflict.district_code);
UPDATE conflict SET district_code = (SELECT r.district_code FROM visit r WHERE r.id = conflict.row_id)
  WHERE entity = 'visit' AND EXISTS (SELECT 1 FROM visit r WHERE r.id = conflict.row_id
    AND r.district_code IS DISTINCT FROM conflict.district_code);
UPDATE conflict SET district_code = (SELECT r.district_code FROM progress r WHERE r.id = conflict.row_id)
  WHERE entity = 'progress' AND EXISTS (SELECT 1 FROM progress r WHERE r.id = conflict.row_id
    AND r.district_code IS DISTINCT FROM conflict.district_code);
UPDATE conflict SET district_code = (SELECT r.district_code FROM photo r WHERE r.id = conflict.row_id)
  WHERE entity = 'photo' AND EXISTS (SELECT 1 FROM photo r WHERE r.id = conflict.row_id
    AND r.district_code IS DISTINCT FROM conflict.district_code);
UPDATE conflict SET district_code = (SELECT r.district_code FROM contest_score r WHERE r.id = conflict.row_id)
  WHERE entity = 'contest_score' AND EXISTS (SELECT 1 FROM contest_score r WHERE r.id = conflict.row_id
    AND r.district_code IS DISTINCT FROM conflict.district_code);
