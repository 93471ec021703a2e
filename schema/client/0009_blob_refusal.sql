-- A walk-through found one photo over the server's blob cap (--as-taken,
-- or --max-mib past 64) stopping every later photo's upload, sync after
-- sync. refused_at, refusal: the server refused this photo's upload for
-- good (413 too_large: what it said). It is kept on this device, not sent
-- again to that server (the other photos go on), and listed by kbo status;
-- a change of server clears it, as it clears upload progress.
ALTER TABLE blob_upload ADD COLUMN refused_at TEXT;
ALTER TABLE blob_upload ADD COLUMN refusal TEXT;
-- The server's reason for the last sync error (e.g. "revoked"), beside its
-- message, so kbo status can say what it means without reading the text.
ALTER TABLE sync_state ADD COLUMN last_error_reason TEXT;
