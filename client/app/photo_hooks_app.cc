// The phone app's PhotoHooks (client/ui/ui_api.h). The page makes the
// upload copy before the core sees the photo (client/ui/assets/app.js,
// photoCopy: drawn on a canvas at the upload size, which also turns it
// upright and leaves the camera's metadata behind), so the core stores it
// as given, with the date and position the page's copy no longer carries
// read from the head of the photo as taken (FormPart::taken_head), as the
// native client reads them from the original (StorePageCopy). The photo as
// taken never reaches the core, so the app keeps no original: the office's
// request for one is declined ("no_original"), not answered with the copy.
// A thumbnail is the one kbo sync fetched of another device's photo, or the
// photo itself (the page draws it at thumbnail size): no image library in
// the app.

#include "client/blob_store.h"
#include "client/photo_fetch.h"
#include "client/photo_record.h"
#include "client/ui/ui_api.h"

namespace kbo::client::ui {

PhotoHooks BuildPhotoHooks() {
  PhotoHooks hooks;
  hooks.store = [](const std::string& blobs_dir, std::string_view bytes,
                   std::string_view name,
                   std::string_view taken_head) -> Result<StoredPhoto> {
    return StorePageCopy(blobs_dir, bytes, name, taken_head,
                         kMaxPhotoUploadBytes);
  };
  hooks.thumbnail = [](const std::string& blobs_dir,
                       std::string_view sha256) -> Result<std::string> {
    if (!IsBlobName(sha256)) {
      return Status::InvalidArgument(
          "a photo is named by 64 lowercase hex digits (its SHA-256)");
    }
    Result<std::string> cached = ReadThumbnail(blobs_dir, sha256);
    if (cached.ok() || cached.status().code() != Code::kNotFound) return cached;
    return BlobStore(blobs_dir).Read(sha256, kMaxPhotoUploadBytes);
  };
  return hooks;
}

}  // namespace kbo::client::ui
