-- Issue 12: 1 once the server has said it takes zstd push bodies
-- (Accept-Encoding: zstd on its enrolment, push or pull answer; docs/
-- protocol.md §1 "Compressed bodies"), so the next sync's first push goes
-- compressed. Learned again from every such answer; a 415 to a compressed
-- push sets it back to 0.
ALTER TABLE sync_state ADD COLUMN server_zstd INTEGER NOT NULL DEFAULT 0;
