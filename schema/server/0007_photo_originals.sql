-- Issue 12: originals on request (docs/protocol.md §8, "Originals on
-- request"). A device syncs a downscaled upload copy of each photo and
-- keeps the photo as taken; the office may ask for the original.
--
-- photo_original: the device that took a photo (the writer of its photo
-- row's sha256) says which original its upload copy was made from
-- (POST /v1/photos/originals). From then on a blob upload of `sha256` is
-- "named" while a live photo row names `upload_sha256` (the same rule as an
-- upload copy's, in the same districts), and is kept, served to the
-- console and collected like one. One original per upload copy: the copy
-- is made from it, so a second claim of another original is refused.
CREATE TABLE photo_original (
  upload_sha256 TEXT PRIMARY KEY NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  mime TEXT NOT NULL,
  device_id TEXT NOT NULL,
  announced_at TEXT NOT NULL
);
CREATE INDEX photo_original_sha256 ON photo_original(sha256);

-- The office's requests (the console's photo gallery): the original of the
-- upload copy `upload_sha256`, asked of `device_id`, the device that took
-- it. Open while the server does not hold that original whole; the device
-- hears of open requests on its pull pages (X-KBO-Originals-Requested) and
-- lists them with GET /v1/photos/originals.
CREATE TABLE original_request (
  upload_sha256 TEXT PRIMARY KEY NOT NULL,
  device_id TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  requested_by TEXT NOT NULL
);
CREATE INDEX original_request_device ON original_request(device_id);
