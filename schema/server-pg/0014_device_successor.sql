-- server-pg/0014_device_successor.sql: as server/0018_device_successor.sql.
ALTER TABLE device ADD COLUMN successor_id TEXT;
