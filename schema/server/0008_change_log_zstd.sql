-- Issue 12: the change set log keeps each set compressed.
--
-- bytes_zstd = 1: `bytes` is one zstd frame (level 1) whose content is the
-- verbatim signed change set; 0: `bytes` is the set itself (every set
-- logged before this migration). The hash and signature are over the
-- decompressed bytes, as always. A 2,000-mark set is 746 KB as sent and
-- about 70 KB compressed: the log was a third of a loaded server's file and
-- of what each push wrote (docs/decisions.md "The change set log,
-- compressed").
ALTER TABLE change_set_log ADD COLUMN bytes_zstd INTEGER NOT NULL DEFAULT 0;
