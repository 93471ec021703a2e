-- The order in which this device's photo uploads were confirmed whole
-- (1, 2, ...): a pull asks the server whether it still holds the newest
-- (X-KBO-Last-Upload). done_at is the device's clock, which a clock set
-- back can put out of order. NULL for uploads confirmed before this.
ALTER TABLE blob_upload ADD COLUMN done_seq INTEGER;
