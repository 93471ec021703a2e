-- schema/server/0008_change_log_zstd.sql: the change set log keeps each set
-- compressed. Read the SQLite file for what the column means.
ALTER TABLE change_set_log ADD COLUMN bytes_zstd BIGINT NOT NULL DEFAULT 0;
