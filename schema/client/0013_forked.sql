-- A forked device (docs/protocol.md, "A forked device"): the server holds
-- other change sets under this device's numbers (a phone restored from a
-- backup, or copied to another).
-- forked_seq: the change set the server refused as forked (409
-- sequence_conflict or prev_hash_mismatch); the next `kbo enroll` enrols
-- this device as a new one (client/clock_repair.h, MoveToNewDevice). NULL:
-- not forked; cleared when a push is taken.
-- next_device_id, next_device_key: that new identity (its id, and its key
-- file's text, secret included), made before the server is asked and kept
-- until the new identity's first push is taken: an enrolment tried again
-- (an answer lost, a stop) asks with the same id, which the server answers
-- again for the same token, and a stop between this database's commit and
-- the key file being written is finished by the next start
-- (ClientStore::Open).
ALTER TABLE sync_state ADD COLUMN forked_seq INTEGER;
ALTER TABLE sync_state ADD COLUMN next_device_id TEXT;
ALTER TABLE sync_state ADD COLUMN next_device_key TEXT;
