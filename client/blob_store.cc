#include "client/blob_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "shared/fs.h"
#include "shared/signing.h"
#include "shared/status.h"

// Layout: <dir>/<aa>/<aabbcc...> where aabbcc... is the lowercase hex SHA-256
// of the contents. The two-digit fan-out keeps any one directory to a few
// hundred entries even with tens of thousands of photos on a phone.

namespace kbo::client {
namespace {

// Blobs are the user's photos: readable by the owner only, like field.db.
constexpr mode_t kBlobMode = 0600;

Status TooLarge(std::string_view name, uint64_t size, size_t max_bytes) {
  return Status::InvalidArgument(
      std::string(name) + " is " + HumanSize(size, /*round_up=*/true) +
      "; the limit is " + HumanSize(max_bytes, /*round_up=*/false));
}

}  // namespace

std::string HumanSize(uint64_t bytes, bool round_up) {
  constexpr uint64_t kKiB = 1024, kMiB = 1024 * 1024;
  if (bytes < kKiB) return std::to_string(bytes) + " bytes";
  const uint64_t unit = bytes < kMiB ? kKiB : kMiB;
  const char* name = bytes < kMiB ? "KiB" : "MiB";
  // Split first: bytes * 10 could overflow for absurd sizes.
  uint64_t whole = bytes / unit;
  uint64_t tenths = ((bytes % unit) * 10 + (round_up ? unit - 1 : 0)) / unit;
  if (tenths == 10) {
    whole += 1;
    tenths = 0;
  }
  char buf[64];
  if (tenths == 0) {
    std::snprintf(buf, sizeof buf, "%llu %s",
                  static_cast<unsigned long long>(whole), name);
  } else {
    std::snprintf(buf, sizeof buf, "%llu.%llu %s",
                  static_cast<unsigned long long>(whole),
                  static_cast<unsigned long long>(tenths), name);
  }
  return buf;
}


bool IsBlobName(std::string_view sha256) {
  if (sha256.size() != 64) return false;
  for (char c : sha256) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

BlobStore::BlobStore(std::string dir) : dir_(std::move(dir)) {}

std::string BlobStore::PathFor(std::string_view sha256) const {
  if (!IsBlobName(sha256)) return "";
  std::string path = dir_;
  path += '/';
  path += sha256.substr(0, 2);
  path += '/';
  path += sha256;
  return path;
}

bool BlobStore::Has(std::string_view sha256) const {
  return IsBlobName(sha256) && FileExists(PathFor(sha256));
}

Result<std::string> BlobStore::Read(std::string_view sha256,
                                    size_t max_bytes) const {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument("not a blob name: \"" + std::string(sha256) +
                                   "\"");
  }
  Result<std::string> bytes = ReadFileBounded(PathFor(sha256), max_bytes);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) {
      return Status::NotFound("blob " + std::string(sha256) +
                              " is not in the store");
    }
    return bytes.status();
  }
  const std::string actual = HexEncode(Sha256(*bytes));
  if (actual != sha256) {
    return Status::Corruption("blob " + std::string(sha256) +
                              " is damaged: its contents hash to " + actual);
  }
  return bytes;
}

Result<std::string> ReadPhotoFile(const std::string& path, size_t max_bytes) {
  // stat first: the size message needs the real size, and a file over the
  // cap is refused without reading any of it.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return Status::NotFound(path + ": no such file");
    }
    return Status::IOError(path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(path + " is a folder, not a photo");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(path + " is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return TooLarge(path, static_cast<uint64_t>(st.st_size), max_bytes);
  }
  Result<std::string> bytes = ReadFileBounded(path, max_bytes);
  if (!bytes.ok()) {
    switch (bytes.status().code()) {
      case Code::kNotFound:  // removed since the stat
        return Status::NotFound(path + ": no such file");
      case Code::kResourceExhausted:  // grew since the stat
        return Status::InvalidArgument(path + " is larger than the limit of " +
                                       HumanSize(max_bytes, false));
      default:
        return bytes.status();
    }
  }
  return bytes;
}

Result<StoredBlob> BlobStore::AddPhotoFile(const std::string& path,
                                           size_t max_bytes) {
  Result<std::string> bytes = ReadPhotoFile(path, max_bytes);
  if (!bytes.ok()) return bytes.status();
  return AddPhotoBytes(*bytes, path, max_bytes);
}

Result<StoredBlob> BlobStore::AddPhotoBytes(std::string_view bytes,
                                            std::string_view display_name,
                                            size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return TooLarge(display_name, bytes.size(), max_bytes);
  }
  Result<ImageInfo> info = ReadImageInfo(bytes);
  if (!info.ok()) {
    return Status::InvalidArgument(std::string(display_name) + " is " +
                                   info.status().message());
  }
  StoredBlob blob;
  blob.sha256 = HexEncode(Sha256(bytes));
  blob.bytes = static_cast<int64_t>(bytes.size());
  blob.info = std::move(*info);
  if (!IsBlobName(blob.sha256)) {
    return Status::Internal("SHA-256 hex is not 64 lowercase digits: " +
                            blob.sha256);
  }

  // Already stored: keep the copy if it is intact (dedupe), replace it if
  // it was damaged.
  if (Has(blob.sha256)) {
    Result<std::string> existing = Read(blob.sha256, bytes.size());
    if (existing.ok()) return blob;
    const Code code = existing.status().code();
    if (code != Code::kCorruption && code != Code::kResourceExhausted) {
      return existing.status();
    }
  }

  if (Status s = EnsureDir(dir_ + "/" + blob.sha256.substr(0, 2)); !s.ok()) {
    return s;
  }
  const std::string path = PathFor(blob.sha256);
  if (Status s = WriteFileAtomically(path, bytes, kBlobMode); !s.ok()) {
    // Another process may have stored the same photo meanwhile; its copy is
    // as good as ours.
    if (Read(blob.sha256, bytes.size()).ok()) return blob;
    return s;
  }
  return blob;
}

}  // namespace kbo::client
