-- Queued uploads are matched to their photo rows by the picture's hash
-- (client/store.h, kBlobUploadWanted: a picture whose every row is deleted
-- is not sent), on every status a phone asks for: an index, not a scan of
-- every photo per queued picture.
CREATE INDEX photo_by_sha256 ON photo(sha256);
