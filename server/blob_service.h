#ifndef KBO_SERVER_BLOB_SERVICE_H_
#define KBO_SERVER_BLOB_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/enrolment.h"
#include "server/error_detail.h"
#include "server/server_store.h"
#include "shared/result.h"

namespace kbo::server {

// True iff `sha256` is exactly 64 lowercase hex digits: the only blob names
// the server accepts, so a name can never step outside blobs/.
bool IsBlobName(std::string_view sha256);

// What the server holds of one blob.
struct BlobState {
  std::string sha256;
  uint64_t received = 0;  // bytes held (== total once complete)
  uint64_t total = 0;     // 0 if the server has never heard of it
  bool complete = false;
};

// Photo blobs: content-addressed, uploaded in resumable chunks, verified on
// completion, deduplicated (DESIGN §6). Files live in the data directory's
// blobs/ (complete, named by SHA-256) and blobs/partial/ (in progress). Not
// thread-safe (see ServerStore).
class BlobService {
 public:
  // Largest blob accepted. A completed upload is hashed in memory (shared/
  // has no streaming SHA-256), so this bounds memory too. 64 MiB: far above
  // a phone photo (the client refuses photos over 20 MiB by default).
  static constexpr uint64_t kDefaultMaxBlobBytes = uint64_t{64} << 20;

  explicit BlobService(ServerStore& store,
                       uint64_t max_blob_bytes = kDefaultMaxBlobBytes)
      : store_(store), max_blob_bytes_(max_blob_bytes) {}
  BlobService(const BlobService&) = delete;
  BlobService& operator=(const BlobService&) = delete;

  // PUT /v1/blobs/<sha256>?offset=O&total=T with `chunk` as the body and
  // `chunk_sha256` (hex) from X-KBO-Chunk-Sha256. Checks, in order, with
  // nothing written on a refusal:
  //   kInvalidArgument: `sha256` not a blob name; total 0 or not the total
  //     given before;
  //   kResourceExhausted: chunk over protocol::kBlobChunkBytes, total over
  //     the maximum blob size;
  //   already complete: returns the state (complete, nothing written);
  //   kInvalidArgument ("bad_chunk"): the chunk's SHA-256 is not
  //     `chunk_sha256`, or it runs past `total`;
  //   kSequenceGap ("offset_mismatch", detail->received): `offset` is not
  //     the number of bytes the server holds.
  // The chunk is written at `offset` and fsynced before the held count
  // advances, so a crash never claims bytes it does not have. When the held
  // bytes reach `total` the whole blob is hashed: equal to `sha256` -> moved
  // to blobs/<sha256>, complete; otherwise the partial upload is discarded
  // and kCorruption ("hash_mismatch") is returned (upload again from 0).
  Result<BlobState> PutChunk(std::string_view sha256, uint64_t offset,
                             uint64_t total, std::string_view chunk_sha256,
                             std::string_view chunk, ErrorDetail* detail);

  // A whole blob at once (bundle import): the same checks and result as one
  // chunk covering everything, without the chunk size limit.
  Result<BlobState> PutWhole(std::string_view sha256, std::string_view bytes,
                             ErrorDetail* detail);

  // GET /v1/blobs/<sha256>: what the server holds (zeros if nothing).
  // kInvalidArgument if `sha256` is not a blob name.
  Result<BlobState> State(std::string_view sha256);

  // GET /v1/blobs/missing: the blobs named by live photo rows in the
  // device's districts that the server does not hold complete, sorted, at
  // most `limit`.
  Result<std::vector<std::string>> Missing(const DeviceRecord& device,
                                           size_t limit = 1000);

  // Where a complete blob lives.
  std::string PathFor(std::string_view sha256) const;

 private:
  Result<BlobState> Write(std::string_view sha256, uint64_t offset,
                          uint64_t total, std::string_view chunk,
                          ErrorDetail* detail);

  ServerStore& store_;
  uint64_t max_blob_bytes_;
};

}  // namespace kbo::server

#endif  // KBO_SERVER_BLOB_SERVICE_H_
