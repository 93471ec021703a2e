-- Issue 12: originals on request. An original goes to the server only when
-- asked for: by the person (`kbo photo upload-originals`) or by the office
-- (a request the server lists on GET /v1/photos/originals).
-- requested_at: when it was asked for (NULL: not asked; it stays here).
-- announced_at: when the server accepted this device's word that the
-- original belongs to the upload copy (POST /v1/photos/originals); from then
-- on the original is in blob_upload and goes up, resumable, like a photo.
ALTER TABLE photo_original ADD COLUMN requested_at TEXT;
ALTER TABLE photo_original ADD COLUMN announced_at TEXT;
