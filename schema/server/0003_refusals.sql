-- Issue 9: a refused row no longer blocks its device, and a row that moves
-- into a device's districts reaches it whole.

-- Row changes the server did not apply, one per refused row change of an
-- accepted change set (its verbatim bytes are in change_set_log). Kept for
-- the office; never deleted by the server.
CREATE TABLE refused_row (
  device_id TEXT NOT NULL,
  seq INTEGER NOT NULL,          -- the device's change set
  row_index INTEGER NOT NULL,    -- the row change's position in it, from 0
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  reason TEXT NOT NULL,          -- stable code (docs/protocol.md)
  message TEXT NOT NULL,
  cells TEXT NOT NULL,           -- the row change's cells as JSON (display text)
  refused_at TEXT NOT NULL,
  PRIMARY KEY (device_id, seq, row_index)
);
CREATE INDEX refused_row_by_time ON refused_row(refused_at);

-- Rows that changed district, with the sequence of the write that moved
-- them: a pull whose cursor is before it sends the row whole (every cell
-- with its version), since a device of the new district may never have had
-- it.
CREATE TABLE row_moved (
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  moved_seq INTEGER NOT NULL,
  PRIMARY KEY (entity, row_id)
);

-- A blob may be uploaded only when a photo row in the device's districts
-- names it: found by hash.
CREATE INDEX photo_by_sha256 ON photo(sha256);

-- Partial uploads belong to the device that sent their last chunk, so each
-- device's partial bytes are capped, and an upload left idle expires and is
-- reaped (BlobService).
ALTER TABLE blob ADD COLUMN uploader TEXT;
ALTER TABLE blob ADD COLUMN updated_at TEXT;
CREATE INDEX blob_partial ON blob(uploader) WHERE complete_at IS NULL;

-- A device granted more districts (kbo-server device grant) must receive
-- their rows whole, older ones too: a pull whose cursor is from before the
-- grant (a sequence taken when it was made) is answered 409 pull_restart,
-- and the device pulls again from 0.
ALTER TABLE device ADD COLUMN grant_seq INTEGER NOT NULL DEFAULT 0;
