-- A row's conflicts, found by the row: they follow it when it moves to
-- another district (server/server_apply.cc, ConflictStore::FollowRow), and
-- a row's page lists them (ConflictStore::OfRow). Without it each was a
-- read of every conflict.
CREATE INDEX conflict_by_row ON conflict(entity, row_id);
