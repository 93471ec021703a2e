-- Issue 12 / a whole-row bug found in a walk-through (docs/protocol.md §6):
-- pull_since: where the device's current pull began, the end of its last
-- complete pull. The device holds every cell written up to it; a page sends
-- the cells written after it (not after the page's cursor: a row written
-- before the cursor and again after it was never sent whole). 0 until a
-- pull completes: the next pull's rows come whole.
-- server_since: 1 once the server has answered a pull with X-KBO-Pull-Since.
-- Its first such answer sends this device back to 0 once (rows whole: what
-- it pulled before may lack cells); from then on a page without the header
-- is refused (an old page replayed).
ALTER TABLE sync_state ADD COLUMN pull_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN server_since INTEGER NOT NULL DEFAULT 0;
