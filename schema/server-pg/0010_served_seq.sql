-- server/0014_served_seq.sql: a sequence no cursor a device holds is past.
ALTER TABLE device ADD COLUMN served_seq BIGINT;
UPDATE device SET served_seq = (SELECT next_seq - 1 FROM server_state WHERE singleton = 1);
