-- server/0018_device_successor.sql: the identity a device moved to (a
-- revoked phone given a new token, a phone restored from a backup: kbo
-- enrols it anew, docs/protocol.md §4 "predecessor"), proved by the old
-- key's signature at that enrolment. The originals of photos the old
-- identity took are asked of, and taken from, its successor.
ALTER TABLE device ADD COLUMN successor_id TEXT;
