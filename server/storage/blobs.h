#ifndef KBO_SERVER_STORAGE_BLOBS_H_
#define KBO_SERVER_STORAGE_BLOBS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server::storage {

// A photo blob's record (table blob); the bytes are files (BlobService).
struct BlobRow {
  uint64_t total = 0;
  uint64_t received = 0;
  bool complete = false;
};

// A complete blob's record for RecordProgress.
struct BlobProgress {
  std::string_view sha256;
  uint64_t total = 0;
  uint64_t received = 0;
  std::string_view now_iso;  // started_at of a new record, updated_at
  bool complete = false;     // complete_at = now_iso, else NULL
  std::string_view uploader; // "" stores NULL
};

// One device's unfinished upload of one blob (table blob_upload).
struct UploadRow {
  uint64_t total = 0;
  uint64_t received = 0;
};

// Blob metadata (table blob: complete blobs), unfinished uploads, one per
// blob and uploader (table blob_upload), with the photo rows that name
// blobs (table photo). Callers hold the transactions.
class Blobs {
 public:
  explicit Blobs(Db& db) : db_(db) {}

  // nullopt if the server has no record of the blob.
  Result<std::optional<BlobRow>> Find(std::string_view sha256);
  Status Delete(std::string_view sha256);
  // Inserts or updates the record of a chunked upload.
  Status RecordProgress(const BlobProgress& p);
  // Inserts or updates the record of a blob received whole at `at`.
  Status RecordWhole(std::string_view sha256, uint64_t bytes, std::string_view at);

  // `uploader`'s unfinished upload of `sha256`; nullopt if none.
  Result<std::optional<UploadRow>> FindUpload(std::string_view sha256,
                                              std::string_view uploader);
  // Inserts or updates it (started_at = now_iso when new, updated_at).
  Status RecordUpload(std::string_view sha256, std::string_view uploader,
                      const UploadRow& row, std::string_view now_iso);
  // Who holds an unfinished upload of `sha256`.
  Result<std::vector<std::string>> UploadersOf(std::string_view sha256);
  // Deletes `uploader`'s unfinished upload of `sha256`, or ("" uploader)
  // every one of `sha256`.
  Status DeleteUpload(std::string_view sha256, std::string_view uploader);

  // Whether a live photo in the districts (all, or `districts`) names it:
  // as its upload copy, or as the original its device announced. With
  // `or_left` also a live photo that left one of them (row_left: moved with
  // its subject before its file came): what a device may upload, not read.
  Result<bool> NamedIn(std::string_view sha256, bool all_districts,
                       const std::vector<std::string>& districts,
                       bool or_left = false);
  // Whether a live photo row names `sha256` with `bytes` as its size, or
  // only rows that give no size name it, or an announced original does
  // with that size: the only totals an upload of it may begin with.
  Result<bool> SizeNamed(std::string_view sha256, uint64_t bytes);
  // Bytes `uploader` holds in unfinished uploads other than `except_sha256`.
  Result<uint64_t> PartialBytesOf(std::string_view uploader,
                                  std::string_view except_sha256);
  // Deletes `uploader`'s unfinished upload of `sha256` if it is still what
  // StalePartials lists, checked in the deleting statement; false if not
  // (a chunk came, its row came back).
  Result<bool> DeleteStaleUpload(std::string_view sha256, std::string_view uploader,
                                 std::string_view cutoff_iso);
  // Unfinished uploads last written before `cutoff_iso`, or of a blob no
  // live photo row (nor announced original) names: (sha256, uploader).
  Result<std::vector<std::pair<std::string, std::string>>> StalePartials(
      std::string_view cutoff_iso);

  // In one call: blobs named again lose their unnamed_since; complete blobs
  // no live photo names get unnamed_since = now_iso (if not set).
  Status MarkUnnamed(std::string_view now_iso);
  // Complete blobs unnamed since before `cutoff_iso`: (sha256, bytes), by
  // sha256.
  Result<std::vector<std::pair<std::string, int64_t>>> UnnamedBefore(
      std::string_view cutoff_iso);
  // Deletes the record if it is still unnamed since before `cutoff_iso`;
  // false if it was named again meanwhile.
  Result<bool> DeleteIfUnnamed(std::string_view sha256, std::string_view cutoff_iso);

  // Every blob held as received whole, by sha256.
  Result<std::vector<std::string>> Complete();
  // Forgets blob `sha256` (as if never received): its file is gone.
  Status Forget(std::string_view sha256);

  // Blobs live photos in the districts name that the server lacks whole,
  // by sha256, at most `limit`.
  Result<std::vector<std::string>> MissingIn(bool all_districts,
                                             const std::vector<std::string>& districts,
                                             size_t limit);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_BLOBS_H_
