#ifndef KBO_CLIENT_PHOTO_RECORD_H_
#define KBO_CLIENT_PHOTO_RECORD_H_

// What a recorded photo is, in both builds of the client (no image
// library): the files it is kept as and the photo row's cells. The native
// client makes the upload copy with libvips (client/photo_copy.h); the
// phone app's page makes it with a canvas before the core sees it, and the
// core stores it as given (StorePhotoAsGiven).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "client/blob_store.h"
#include "client/store.h"
#include "shared/result.h"

namespace kbo::client {

struct StoredPhoto {
  // What the photo row names and what syncs, in blobs/. info holds the
  // copy's mime, width and height, and the ORIGINAL's taken_at, lat, lon.
  StoredBlob upload;
  // The photo as given: in blobs/originals/, or, when `copied` is false,
  // the very same file as `upload` (in blobs/ only).
  StoredBlob original;
  bool copied = false;
  // False when `original` is not the photo as taken but a copy made before
  // the core saw it (the phone app's page): the device holds no original,
  // so nothing is noted (OriginalRecord) and a request for it is declined
  // ("no_original") instead of being answered with the copy.
  bool original_kept = true;
};

// blobs/originals/ of the home whose blobs/ folder is `blobs_dir`.
std::string OriginalsDir(const std::string& blobs_dir);

// The bytes of a blob queued for upload (blob_upload): an upload copy in
// blobs/, or an original asked for (SyncClient::SendOriginals), which stays
// in blobs/originals/. Errors as BlobStore::Read; kNotFound if in neither.
Result<std::string> ReadQueuedBlob(const std::string& blobs_dir,
                                   std::string_view sha256, size_t max_bytes);

// Stores `bytes` as they are (only their headers are read: a JPEG or PNG
// image of at most `max_bytes`); the photo syncs as given. Errors as
// BlobStore::AddPhotoBytes: kInvalidArgument (too large, not a JPEG or PNG
// image; nothing written), kIOError.
Result<StoredPhoto> StorePhotoAsGiven(const std::string& blobs_dir,
                                      std::string_view bytes,
                                      std::string_view display_name,
                                      size_t max_bytes);

// The phone app's photo: `bytes` is the page's upload copy (drawn on a
// canvas at the upload size, upright, without the camera's metadata), and
// `taken_head` the head of the photo as taken, from which its date and
// position are read (only the headers; a head that does not parse adds
// nothing). With a head, the photo as taken stayed on the page: the result
// keeps no original (original_kept false). Without one (a picture the page
// could not draw, passed on as it was), the bytes are the original. Errors
// as StorePhotoAsGiven.
Result<StoredPhoto> StorePageCopy(const std::string& blobs_dir,
                                  std::string_view bytes,
                                  std::string_view display_name,
                                  std::string_view taken_head,
                                  size_t max_bytes);

// The photo row's cells for `photo`: sha256, bytes, mime, width, height of
// the upload copy; taken_at, lat, lon when the original's EXIF had them.
void SetPhotoCells(const StoredPhoto& photo, RowValues* row);

// What ClientStore::RecordPhoto remembers about the original; nothing when
// the device keeps none (original_kept false).
std::optional<ClientStore::PhotoOriginal> OriginalRecord(const StoredPhoto& photo);

}  // namespace kbo::client

#endif  // KBO_CLIENT_PHOTO_RECORD_H_
