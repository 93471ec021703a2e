// The native client's PhotoHooks (client/ui/ui_api.h): libvips makes the
// upload copy (client/photo_copy.h) and the thumbnails
// (client/photo_thumb.h).

#include "client/photo_copy.h"
#include "client/photo_thumb.h"
#include "client/ui/ui_api.h"

namespace kbo::client::ui {

PhotoHooks BuildPhotoHooks() {
  PhotoHooks hooks;
  // The photo as taken is what `bytes` are here: its EXIF is read from it.
  hooks.store = [](const std::string& blobs_dir, std::string_view bytes,
                   std::string_view name, std::string_view /*taken_head*/) {
    UploadCopyOptions options;
    options.max_bytes = kMaxPhotoUploadBytes;
    return StorePhoto(blobs_dir, bytes, name, options);
  };
  hooks.thumbnail = [](const std::string& blobs_dir, std::string_view sha256) {
    return LocalThumbnail(blobs_dir, sha256);
  };
  return hooks;
}

}  // namespace kbo::client::ui
