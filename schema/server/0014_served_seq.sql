-- For each device, a sequence number no cursor it holds is past, from this
-- database's point of view (server/pull_service.h): the database's last
-- sequence when it served the device a pull or conflict page that needed it
-- raised. A server restored from a backup *with* its sequence-high-water
-- file (docs/operations.md says not to; a data folder copied back whole does
-- it) numbers rows again from the backup's sequence; a device whose cursor
-- is past this is sent back here (409 pull_restart), from where it misses
-- nothing. Devices enrolled before hold no cursor past the last sequence
-- now; devices enrolled later start at 0.
ALTER TABLE device ADD COLUMN served_seq INTEGER;
UPDATE device SET served_seq = (SELECT next_seq - 1 FROM server_state WHERE singleton = 1);
