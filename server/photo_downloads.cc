#include "server/photo_downloads.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "shared/protocol.h"

namespace kbo::server {

Status AuthorizePhotoDownload(BlobService& blobs, const DeviceRecord& device,
                              std::string_view sha256) {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument(
        "a photo is named by its SHA-256: 64 lowercase hex digits");
  }
  Result<bool> named = blobs.NamedInScope(device, sha256);
  if (!named.ok()) return named.status();
  if (!*named) {
    return Status::NotFound("no photo in this device's districts names " +
                            std::string(sha256));
  }
  return Status();
}

Result<OriginalChunk> ReadOriginalChunk(const std::string& blobs_dir,
                                        std::string_view sha256,
                                        uint64_t offset) {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument(
        "a photo is named by its SHA-256: 64 lowercase hex digits");
  }
  const std::string path = blobs_dir + "/" + std::string(sha256);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Status::NotFound("the photo has not been uploaded yet")
          .WithReason("not_uploaded");
    }
    return Status::IOError("open '" + path + "': " + std::strerror(errno));
  }
  OriginalChunk chunk;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return Status::IOError("stat '" + path + "': " + std::strerror(e));
  }
  chunk.total = static_cast<uint64_t>(st.st_size);
  if (offset > chunk.total) {
    ::close(fd);
    return Status::InvalidArgument("offset " + std::to_string(offset) +
                                   " is past the photo's " +
                                   std::to_string(chunk.total) + " bytes");
  }
  const size_t want = static_cast<size_t>(
      std::min<uint64_t>(protocol::kBlobChunkBytes, chunk.total - offset));
  chunk.bytes.resize(want);
  size_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(fd, chunk.bytes.data() + got, want - got,
                              static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      return Status::IOError("read '" + path + "': " +
                             (n == 0 ? "short file" : std::strerror(e)));
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  return chunk;
}

}  // namespace kbo::server
