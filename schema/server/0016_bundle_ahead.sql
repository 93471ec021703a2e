-- server/0016_bundle_ahead.sql: the newest stamp (wall ms) of a row a
-- bundle brought more than an hour ahead of the server's clock; 0: none.
-- A pushed row may be stamped up to an hour past it (the devices that pulled
-- such a row stamp theirs after it), never past the clock's day
-- (server/push_service.cc). Only bundle import writes it.
ALTER TABLE server_state ADD COLUMN bundle_ahead_ms INTEGER NOT NULL DEFAULT 0;
