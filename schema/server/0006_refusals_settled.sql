-- Issue 9: a refused row is settled when the same device later sends that
-- row again and the server accepts it, or deletes it (settled_at, and the
-- device's change set that did it). `kbo-server refused list` shows the
-- open ones; the open ones of a device are capped (PushService).
ALTER TABLE refused_row ADD COLUMN settled_at TEXT;
ALTER TABLE refused_row ADD COLUMN settled_seq INTEGER;
CREATE INDEX refused_row_open ON refused_row(device_id, entity, row_id)
  WHERE settled_at IS NULL;
