#ifndef KBO_CLIENT_BLOB_STORE_H_
#define KBO_CLIENT_BLOB_STORE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/image_info.h"
#include "shared/result.h"

namespace kbo::client {

// The largest photo `kbo photo add` accepts by default: 20 MiB, well above a
// phone camera's JPEG (3-8 MiB) and small enough to upload over a rural
// mobile connection in resumable chunks.
inline constexpr size_t kDefaultMaxPhotoBytes = size_t{20} << 20;

// `bytes` for a person: "25.3 MiB", "20 MiB", "512 KiB", "900 bytes".
// One decimal, dropped when it is zero. A file size is rounded up and a limit
// down, so a file just over the limit never reads as equal to it.
std::string HumanSize(uint64_t bytes, bool round_up);

// A photo as stored: its content address, size, and what its headers say.
struct StoredBlob {
  std::string sha256;  // 64 lowercase hex digits
  int64_t bytes = 0;
  ImageInfo info;
};

// True iff `sha256` is 64 lowercase hex digits, the only form BlobStore
// accepts as a blob name (so a name can never step outside the store).
bool IsBlobName(std::string_view sha256);

// The bytes of the photo file at `path`, read whole, for AddPhotoBytes.
// Messages name the file as `path` was given.
//   kNotFound         no file at `path`;
//   kInvalidArgument  a directory or not a regular file, or larger than
//                     `max_bytes` ("photo.jpg is 25.3 MiB; the limit is
//                     20 MiB"; nothing beyond the cap is read);
//   kIOError          it could not be read.
Result<std::string> ReadPhotoFile(const std::string& path,
                                  size_t max_bytes = kDefaultMaxPhotoBytes);

// Content-addressed photos under the client home's blobs/ folder:
//   <dir>/<first 2 hex digits>/<64 hex digits>, mode 0600,
// each written atomically (temp file, fsync, rename), so a crash leaves a
// blob whole or absent. The name is the SHA-256 of the contents, so adding
// the same photo twice stores it once.
// Not thread-safe; separate processes adding the same photo at once both
// succeed and leave one copy.
class BlobStore {
 public:
  // `dir` is the blobs/ folder; it is created on the first add.
  explicit BlobStore(std::string dir);
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  // Copies the JPEG or PNG photo at `path` into the store and returns its
  // hash, size and image info. Messages name the file as `path` was given.
  // Errors as ReadPhotoFile, and kInvalidArgument if it is not a JPEG/PNG
  // image with a width and height ("photo.txt is not a JPEG or PNG image");
  // nothing is written then; kIOError if the store could not be written.
  // If the store already holds the photo, nothing is written (a stored copy
  // found damaged is replaced).
  Result<StoredBlob> AddPhotoFile(const std::string& path,
                                  size_t max_bytes = kDefaultMaxPhotoBytes);

  // As AddPhotoFile, for photo bytes already in memory (e.g. an upload to
  // the local web UI); `display_name` names them in messages.
  Result<StoredBlob> AddPhotoBytes(std::string_view bytes,
                                   std::string_view display_name,
                                   size_t max_bytes = kDefaultMaxPhotoBytes);

  // Where the blob named `sha256` lives (whether or not it exists); empty if
  // `sha256` is not a blob name (see IsBlobName).
  std::string PathFor(std::string_view sha256) const;

  // True iff a blob file named `sha256` exists (its contents unchecked).
  bool Has(std::string_view sha256) const;

  // The contents of blob `sha256`, checked against its name.
  //   kInvalidArgument    `sha256` is not a blob name;
  //   kNotFound           the store does not hold it;
  //   kResourceExhausted  it is larger than `max_bytes`;
  //   kCorruption         the file's contents no longer hash to its name;
  //   kIOError            it could not be read.
  Result<std::string> Read(std::string_view sha256, size_t max_bytes) const;

 private:
  std::string dir_;
};

}  // namespace kbo::client

#endif  // KBO_CLIENT_BLOB_STORE_H_
