-- The change set the server refused as forked (409 sequence_conflict or
-- prev_hash_mismatch: it holds another set under this device's number, as
-- after a phone restored from a backup or copied to another). Set, the
-- next `kbo enroll` enrols this device as a new one and sends what the
-- server has not confirmed as that device's change sets
-- (client/clock_repair.h, MoveToNewDevice). NULL: not forked.
ALTER TABLE sync_state ADD COLUMN forked_seq INTEGER;
