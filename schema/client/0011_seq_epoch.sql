-- A photo uploaded after the server's last backup is lost with blobs/ when
-- the server is restored, even when none of this device's change sets were
-- (they all went before the backup): the device would never send it again.
-- server_seq_epoch: the server's sequence epoch (X-KBO-Seq-Epoch on the
-- last pull page; it grows by one with each restore) this device last
-- checked its uploads against. When a pull says another, the device asks
-- which of its uploaded photos the server lacks and sends them again.
ALTER TABLE sync_state ADD COLUMN server_seq_epoch INTEGER NOT NULL DEFAULT 0;
