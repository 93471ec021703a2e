#ifndef KBO_SERVER_STORAGE_PHOTO_GALLERY_H_
#define KBO_SERVER_STORAGE_PHOTO_GALLERY_H_

// The console's photo gallery's reads (server/console/photos.cc): live
// photo rows in a user's districts with whether the server holds their
// bytes (table photo, joined to blob).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/enrolment.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server::storage {

struct GalleryPhoto {
  std::string id, subject_type, subject_id, sha256;
  std::string caption, taken_at, district_code;  // "" for NULL
  int64_t width = 0, height = 0, bytes = 0;      // 0 for NULL
  bool received = false;  // the blob is complete on the server
};

// Which photos a page shows. Empty strings: not filtered.
struct GalleryQuery {
  Scope scope;
  std::string subject_type;
  std::string subject_id;
  std::string district;
  int64_t limit = 48;
  int64_t offset = 0;
};

class PhotoGalleryStore {
 public:
  explicit PhotoGalleryStore(Db& db) : db_(db) {}
  // Newest first (taken_at), then by id.
  Result<std::vector<GalleryPhoto>> Page(const GalleryQuery& q);
  // The districts of every live photo, by code.
  Result<std::vector<std::string>> Districts();
  // Whether a live photo row in scope names these bytes.
  Result<bool> NamedInScope(const std::string& sha256, const Scope& scope);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_PHOTO_GALLERY_H_
