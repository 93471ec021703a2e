-- Set, with the cursors it lowers, when the server sends this device back
-- (409 pull_restart with "expected": restored from a backup with its
-- sequence-high-water file, so no epoch moved); cleared once the device has
-- asked which of its uploaded photos the server lacks and queued them. Kept
-- in the database so that a sync cut between the two still asks next time
-- (the server does not send the device back twice).
ALTER TABLE sync_state ADD COLUMN photos_recheck INTEGER NOT NULL DEFAULT 0;
