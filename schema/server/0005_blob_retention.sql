-- Complete photo blobs no live photo row names are collected after a
-- retention (server/blob_service.h, CollectUnnamed): unnamed_since is when
-- the server first saw the blob unnamed (ISO 8601 UTC), NULL while a live
-- photo row names it. Photo rows keep no deletion time of their own, so
-- the retention runs from this first sighting, never from earlier.
ALTER TABLE blob ADD COLUMN unnamed_since TEXT;
CREATE INDEX blob_unnamed ON blob(unnamed_since) WHERE unnamed_since IS NOT NULL;
