#ifndef KBO_SERVER_PHOTO_DOWNLOADS_H_
#define KBO_SERVER_PHOTO_DOWNLOADS_H_

// Photos coming down to devices (docs/protocol.md §8): the checks and file
// reads behind GET /v1/thumbs/<sha256> and GET /v1/originals/<sha256>, free
// of HTTP types (server/http_api.cc calls them). The thumbnail itself is
// server/thumbnails.h's.

#include <cstdint>
#include <string>
#include <string_view>

#include "server/blob_service.h"
#include "server/enrolment.h"
#include "shared/result.h"

namespace kbo::server {

// May `device` download photo `sha256`? Only if a live photo row in its
// districts names it, as for uploads (BlobService::NamedInScope). Call with
// the store mutex held.
//   kInvalidArgument  not a blob name;
//   kNotFound         no such photo in the device's districts (the same
//                     answer as for a photo nobody names).
Status AuthorizePhotoDownload(BlobService& blobs, const DeviceRecord& device,
                              std::string_view sha256);

// One chunk of a complete blob.
struct OriginalChunk {
  std::string bytes;   // at most protocol::kBlobChunkBytes
  uint64_t total = 0;  // the whole blob's size
};

// Reads the chunk of complete blob `sha256` in `blobs_dir` that starts at
// `offset`. Needs no lock: a complete blob's file never changes.
//   kNotFound "not_uploaded"  the server does not hold it whole (yet);
//   kInvalidArgument          `offset` past the end;
//   kIOError                  the file could not be read.
Result<OriginalChunk> ReadOriginalChunk(const std::string& blobs_dir,
                                        std::string_view sha256,
                                        uint64_t offset);

}  // namespace kbo::server

#endif  // KBO_SERVER_PHOTO_DOWNLOADS_H_
