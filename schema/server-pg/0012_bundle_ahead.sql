-- server-pg/0012_bundle_ahead.sql: as server/0016_bundle_ahead.sql.
ALTER TABLE server_state ADD COLUMN bundle_ahead_ms BIGINT NOT NULL DEFAULT 0;
