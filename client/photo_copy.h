#ifndef KBO_CLIENT_PHOTO_COPY_H_
#define KBO_CLIENT_PHOTO_COPY_H_

// Photos sized for the link (issue 12, deliverable 2; docs/decisions.md,
// "Photos sized for the link"). When a photo is recorded (`kbo photo add`,
// the phone UI), the device keeps the file as it was taken and records an
// upload copy: downscaled to a long edge (default 1600 px), JPEG at a
// quality (default 80), turned upright by its EXIF orientation, with every
// piece of metadata stripped. The photo row names the copy (its sha256,
// bytes, mime, width, height) and the copy is what syncs; the date and the
// position stay in the row (taken_at, lat, lon, read from the ORIGINAL's
// EXIF by client/image_info.h), not in the file.
//
// Files:
//   blobs/<aa>/<sha256>             the upload copy (client/blob_store.h)
//   blobs/originals/<aa>/<sha256>   the original, as given
// and the client table photo_original maps the one to the other
// (ClientStore::RecordPhoto).

#include <cstddef>
#include <string>
#include <string_view>

#include "client/blob_store.h"
#include "client/photo_record.h"
#include "shared/result.h"

namespace kbo::client {

inline constexpr int kDefaultUploadLongEdge = 1600;
inline constexpr int kMinUploadLongEdge = 320;
inline constexpr int kMaxUploadLongEdge = 8192;
inline constexpr int kDefaultUploadQuality = 80;
inline constexpr int kMinUploadQuality = 30;
inline constexpr int kMaxUploadQuality = 95;

struct UploadCopyOptions {
  // Pixels, kMinUploadLongEdge..kMaxUploadLongEdge.
  int long_edge = kDefaultUploadLongEdge;
  // JPEG quality, kMinUploadQuality..kMaxUploadQuality.
  int quality = kDefaultUploadQuality;
  // The largest original accepted.
  size_t max_bytes = kDefaultMaxPhotoBytes;
  // No upload copy: the photo syncs as it was taken, metadata and all (a
  // document whose every detail matters; `kbo photo add --as-taken`). Only
  // its headers are read, as before upload copies existed.
  bool as_taken = false;
};

// Checks the photo `bytes`, makes its upload copy, and stores both (each
// file atomically, the copy and the original decoded and encoded in memory
// before anything is written). `display_name` names the photo in messages.
//   kInvalidArgument  over options.max_bytes, not a JPEG or PNG image
//                     ("photo.txt is not a JPEG or PNG image"), an image
//                     libvips cannot decode ("photo.jpg does not decode as
//                     a picture: ..."), or more pixels than a photo has;
//                     nothing is written then;
//   kIOError          the store could not be written;
//   kInternal         libvips did not start.
// If the copy is written and then the original is not, the copy stays
// unreferenced in blobs/ (harmless: content-addressed; adding the photo
// again reuses it).
Result<StoredPhoto> StorePhoto(const std::string& blobs_dir,
                               std::string_view bytes,
                               std::string_view display_name,
                               const UploadCopyOptions& options);

}  // namespace kbo::client

#endif  // KBO_CLIENT_PHOTO_COPY_H_
