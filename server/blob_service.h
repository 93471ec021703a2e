#ifndef KBO_SERVER_BLOB_SERVICE_H_
#define KBO_SERVER_BLOB_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/enrolment.h"
#include "server/server_store.h"
#include "shared/protocol.h"
#include "shared/result.h"
#include "shared/wire.h"

namespace kbo::server {

// True iff `sha256` is exactly 64 lowercase hex digits: the only blob names
// the server accepts, so a name can never step outside blobs/.
bool IsBlobName(std::string_view sha256);

// What the server holds of one blob.
// What the server holds of a blob: the protocol's message (shared/wire.h).
using BlobState = wire::BlobState;

// Photo blobs: content-addressed, uploaded in resumable chunks, verified on
// completion, deduplicated (DESIGN §6). Files live in the data directory's
// blobs/ (complete, named by SHA-256) and blobs/partial/ (in progress, one
// upload per blob and device: one device's upload of a photo is never
// another's to spoil, with a false size or other bytes). Not
// thread-safe (see ServerStore).
class BlobService {
 public:
  // Largest blob accepted. A completed upload is hashed in memory (shared/
  // has no streaming SHA-256), so this bounds memory too. 64 MiB: far above
  // a phone photo (the client refuses photos over 20 MiB by default).
  static constexpr uint64_t kDefaultMaxBlobBytes = protocol::kMaxBlobBytes;

  // What one device may hold in unfinished uploads at once (the bytes the
  // server has of them): four whole maximum-size photos.
  static constexpr uint64_t kDefaultMaxPartialBytesPerDevice = uint64_t{256} << 20;
  // An unfinished upload with no chunk for this long is discarded; the
  // device starts it again from 0 (it still has the photo).
  static constexpr int64_t kDefaultPartialTtlMs = int64_t{7} * 24 * 3600 * 1000;
  // A complete blob no live photo row names is kept this long after the
  // server first sees it so (the office may restore a deleted photo
  // meanwhile), then collected.
  static constexpr int64_t kDefaultUnnamedRetentionMs =
      int64_t{30} * 24 * 3600 * 1000;

  explicit BlobService(ServerStore& store,
                       uint64_t max_blob_bytes = kDefaultMaxBlobBytes)
      : store_(store), max_blob_bytes_(max_blob_bytes) {}

  // Photos are refused while the data folder's disk would keep less than
  // this free (503 "disk_full", the device keeps the photo and tries again
  // later): an enrolled device adding photo rows could otherwise fill the
  // disk at network speed, and then no record could be written either.
  // 0: no check (a full disk fails the write itself, ENOSPC).
  static constexpr uint64_t kDefaultMinFreeBytes = uint64_t{512} << 20;
  void set_min_free_bytes(uint64_t n) { min_free_bytes_ = n; }
  void set_max_partial_bytes_per_device(uint64_t n) { max_partial_bytes_ = n; }
  void set_partial_ttl_ms(int64_t ms) { partial_ttl_ms_ = ms; }
  void set_unnamed_retention_ms(int64_t ms) { unnamed_retention_ms_ = ms; }

  // A device may upload, and ask about, only a blob that a live photo row in
  // its districts names (DESIGN §6; issue 9, D5): push the photo's row
  // first, or in the same sync. False also for a blob no row names.
  Result<bool> NamedInScope(const DeviceRecord& device, std::string_view sha256);
  // What `device` may upload and ask about: NamedInScope, or a photo (or
  // its original) that left one of its districts before its file came
  // (Blobs::NamedIn's or_left).
  Result<bool> MayUpload(const DeviceRecord& device, std::string_view sha256);

  // PutChunk for `device`: kPermissionDenied ("blob_not_named") unless
  // NamedInScope; kResourceExhausted ("partial_cap") if the chunk would take
  // the device's unfinished uploads over their cap. Reaps expired partial
  // uploads first (at most once a minute), and collects unnamed complete
  // blobs past their retention (CollectUnnamed, at most once an hour).
  Result<BlobState> PutChunkFor(const DeviceRecord& device,
                                std::string_view sha256, uint64_t offset,
                                uint64_t total, std::string_view chunk_sha256,
                                std::string_view chunk);
  // GET /v1/blobs/<sha256>: State for `device` (short of complete, what it
  // holds of its own upload); kNotFound, the same answer as for a blob
  // nobody names, unless NamedInScope.
  Result<BlobState> StateFor(const DeviceRecord& device, std::string_view sha256);

  // Discards unfinished uploads idle for longer than the TTL, or of a photo
  // whose every row was deleted (file and record); returns how many.
  Result<size_t> ReapPartials();

  // Complete blobs no live photo row names (every naming row deleted, or
  // none ever): each is marked with the time the server first sees it so
  // (unmarked again once a live row names it, e.g. a restored photo), and
  // collected (record, file and cached thumbnail) once marked longer than
  // the retention, re-checked in the deleting transaction. Runs with the
  // partial reaper (PutChunkFor), at most once an hour; logs one line
  // naming what it collected. Returns the collected blobs' names.
  Result<std::vector<std::string>> CollectUnnamed();
  // Blob files in the folder that the database does not hold as complete
  // (a server.db restored from a backup older than its blobs/ folder): each
  // is recorded whole with its size, so the console shows the photo as
  // received and no device is asked for it again: each one whose bytes
  // hash to its name (one that does not, cut short or damaged, is moved
  // aside to NAME.damaged and logged; the device that took it sends it
  // again).
  // `kbo-server serve` runs it at start; logs one line when it adopted any.
  // Returns how many.
  Result<size_t> AdoptFiles();
  BlobService(const BlobService&) = delete;
  BlobService& operator=(const BlobService&) = delete;

  // PUT /v1/blobs/<sha256>?offset=O&total=T with `chunk` as the body and
  // `chunk_sha256` (hex) from X-KBO-Chunk-Sha256. Checks, in order, with
  // nothing written on a refusal:
  //   kInvalidArgument: `sha256` not a blob name; total 0, or not the total
  //     this uploader began with (at offset 0 it begins again);
  //   kResourceExhausted: chunk over protocol::kBlobChunkBytes, total over
  //     the maximum blob size;
  //   already complete: returns the state (complete, nothing written);
  //   kInvalidArgument ("bad_chunk"): the chunk's SHA-256 is not
  //     `chunk_sha256`, or it runs past `total`;
  //   kSequenceGap ("offset_mismatch", field "received"): `offset` is not
  //     the number of bytes the server holds of this uploader's upload.
  // The chunk is written at `offset` and fsynced before the held count
  // advances, so a crash never claims bytes it does not have. When the held
  // bytes reach `total` the whole blob is hashed: equal to `sha256` -> moved
  // to blobs/<sha256>, complete, and every other uploader's upload of it
  // ends; otherwise this uploader's upload is discarded and kCorruption
  // ("hash_mismatch") is returned (upload again from 0).
  Result<BlobState> PutChunk(std::string_view sha256, uint64_t offset,
                             uint64_t total, std::string_view chunk_sha256,
                             std::string_view chunk);

  // A whole blob at once (bundle import): the same checks and result as one
  // chunk covering everything, without the chunk size limit.
  Result<BlobState> PutWhole(std::string_view sha256, std::string_view bytes);

  // Whether the server holds the blob whole (zeros if not).
  // kInvalidArgument if `sha256` is not a blob name.
  Result<BlobState> State(std::string_view sha256);
  // State, but short of complete, what `uploader` ("server" or a device
  // id) holds of its own upload.
  Result<BlobState> StateOf(std::string_view sha256, std::string_view uploader);

  // GET /v1/blobs/missing: the blobs named by live photo rows in the
  // device's districts that the server does not hold complete, sorted, at
  // most `limit`.
  Result<std::vector<std::string>> Missing(
      const DeviceRecord& device, size_t limit = protocol::kMissingBlobsListed);

  // POST /v1/photos/originals (docs/protocol.md §8, "Originals on
  // request"): `device` says which original the upload copy of photo row
  // n.photo_id was made from, or (n.declined) that it keeps none. Checks, in
  // order, with nothing written on a refusal:
  //   kResourceExhausted ("too_large"): the original is over the maximum
  //     blob size;
  //   kNotFound: no live photo row n.photo_id in the device's districts
  //     (the same answer as for a photo that does not exist);
  //   kPermissionDenied ("not_taken_here"): another device wrote the row's
  //     picture (its sha256 cell): only the device that took a photo knows
  //     its original;
  //   a decline closes the office's request for that row: nullopt;
  //   kFailedPrecondition ("photo_changed"): the row names another upload
  //     copy now;
  //   kAlreadyExists ("original_differs"): a different original was
  //     announced for this row and copy before.
  // Then records it for the row (the same notice again changes nothing),
  // after which a blob upload of the original is named (NamedInScope)
  // while the row lives and names that copy, and returns what the server
  // holds of the original.
  Result<std::optional<BlobState>> AnnounceOriginal(const DeviceRecord& device,
                                                    const wire::OriginalNotice& notice);

  // GET /v1/photos/originals: the photo rows whose originals the office
  // asked `device` for (it took them), the server does not hold whole and
  // the device has not declined, oldest request first, at most `limit`.
  Result<std::vector<std::string>> RequestedOriginals(
      const DeviceRecord& device, size_t limit = protocol::kMissingBlobsListed);

  // Where a complete blob lives.
  std::string PathFor(std::string_view sha256) const;
  // Where `uploader`'s unfinished upload of it lives ("server" or a device
  // id): blobs/partial/<sha256>.<uploader>.
  std::string PartialPath(std::string_view sha256, std::string_view uploader) const;

  // Removes files in blobs/partial/ that no unfinished upload names and
  // nothing wrote in the last hour; returns how many. AdoptFiles runs it.
  size_t SweepPartialFiles();

 private:
  // uploader_, or "server" for the server's own (PutChunk without a device).
  std::string UploaderKey() const;
  // Every unfinished upload of `sha256` ends (it is held whole): their
  // records deleted, their files added to `files` for the caller to remove
  // once that committed.
  Status EndUploads(std::string_view sha256, std::vector<std::string>* files);
  // The size caps of one chunk of a blob of `total` bytes.
  Status CheckCaps(uint64_t total, size_t chunk_bytes) const;
  // Room on the blobs' disk for `bytes` more, keeping min_free_bytes_ free.
  Status CheckDiskRoom(uint64_t bytes);
  Result<BlobState> Write(std::string_view sha256, uint64_t offset,
                          uint64_t total, std::string_view chunk);

  ServerStore& store_;
  uint64_t max_blob_bytes_;
  uint64_t max_partial_bytes_ = kDefaultMaxPartialBytesPerDevice;
  uint64_t min_free_bytes_ = kDefaultMinFreeBytes;
  int64_t last_disk_full_log_ms_ = -1;
  int64_t partial_ttl_ms_ = kDefaultPartialTtlMs;
  int64_t unnamed_retention_ms_ = kDefaultUnnamedRetentionMs;
  int64_t last_reap_ms_ = 0;
  int64_t last_collect_ms_ = 0;
  std::string uploader_;  // the device of the chunk being written, if any
};

}  // namespace kbo::server

#endif  // KBO_SERVER_BLOB_SERVICE_H_
