-- server/0014_served_seq.sql: the highest pull cursor handed each device.
ALTER TABLE device ADD COLUMN served_seq BIGINT;
