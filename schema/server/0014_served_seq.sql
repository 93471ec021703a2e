-- The highest pull cursor this server has handed each device (the last
-- page's next cursor), so a server restored from a backup *with* its
-- sequence-high-water file (docs/operations.md says not to; people do)
-- notices a device whose cursor is ahead of anything it remembers serving:
-- it sends the device back to this cursor (pull_restart, docs/protocol.md
-- §6) instead of letting it skip the rows the restored server numbers again.
-- A device enrolled from now on starts at 0 (served nothing yet); one
-- enrolled before is NULL (unknown, never checked) until its next pull
-- records it.
ALTER TABLE device ADD COLUMN served_seq INTEGER;
