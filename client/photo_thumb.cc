#include "client/photo_thumb.h"

#include <string>
#include <string_view>
#include <utility>

#include "client/blob_store.h"
#include "client/photo_fetch.h"
#include "shared/fs.h"
#include "shared/image.h"

namespace kbo::client {
namespace {

// Blobs a thumbnail is made of: a photo recorded with `kbo photo add
// --max-mib` may exceed the upload cap; 64 MiB is the image module's cap.
constexpr size_t kMaxThumbSourceBytes = size_t{64} << 20;

std::string ParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

}  // namespace

Result<std::string> LocalThumbnail(const std::string& blobs_dir,
                                   std::string_view sha256) {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument(
        "a photo is named by 64 lowercase hex digits (its SHA-256)");
  }
  Result<std::string> cached = ReadThumbnail(blobs_dir, sha256);
  if (cached.ok() || cached.status().code() != Code::kNotFound) return cached;
  BlobStore blobs(blobs_dir);
  Result<std::string> bytes = blobs.Read(sha256, kMaxThumbSourceBytes);
  if (!bytes.ok()) return bytes.status();
  JpegCopyOptions options;
  options.long_edge = kThumbLongEdge;
  options.quality = kThumbQuality;
  options.max_input_bytes = kMaxThumbSourceBytes;
  Result<JpegCopy> copy = MakeJpegCopy(*bytes, options);
  if (!copy.ok()) return copy.status();
  const std::string path = ThumbnailPath(blobs_dir, sha256);
  // The cache is an optimisation: a full disk makes the next request decode
  // again, it does not refuse this one.
  if (EnsureDir(ParentDir(path)).ok()) {
    (void)WriteFileAtomically(path, copy->jpeg, 0600);
  }
  return std::move(copy->jpeg);
}

}  // namespace kbo::client
