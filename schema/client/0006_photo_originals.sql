-- Issue 12: photos sized for the link. `kbo photo add` (and the phone UI)
-- keep the photo as it was taken under blobs/originals/ and record, sync and
-- upload a downscaled copy (client/photo_copy.h): the photo row's sha256,
-- bytes, mime, width and height are the copy's. This table says which
-- original each upload copy was made from, so the original can still be
-- found (and later uploaded on request). original_sha256 = upload_sha256
-- when the photo was small enough to go as it was (no copy made; the one
-- file is in blobs/).
CREATE TABLE photo_original (
  upload_sha256 TEXT PRIMARY KEY NOT NULL,
  original_sha256 TEXT NOT NULL,
  original_bytes INTEGER NOT NULL,
  original_mime TEXT NOT NULL,
  original_width INTEGER NOT NULL,
  original_height INTEGER NOT NULL
);
