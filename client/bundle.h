#ifndef KBO_CLIENT_BUNDLE_H_
#define KBO_CLIENT_BUNDLE_H_

// Sync without a network (DESIGN §6, issue #4 point 8): `kbo bundle export`
// writes the change sets the server has not confirmed, and optionally the
// photos it does not hold, to one file that travels on a USB stick or a
// messaging app; `kbo-server bundle import FILE` puts each record through
// the same checks as a push, idempotently. Nothing is marked as confirmed by
// an export: the next `kbo sync` gets the server's receipts (a re-push of a
// change set the server holds is answered with its receipt again).
//
// File format (shared/protocol.h, kBundleMagic):
//   bundle := "KBOBUNDLE1\n" record*
//   record := kind:u8 len:u32le bytes[len]
//   kind 1  push body: signature[64] || change set bytes (EncodePushBody)
//   kind 2  photo:     sha256 as 64 lowercase hex || the photo's bytes
// Change sets come first, in sequence order; then photos.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/store.h"
#include "shared/result.h"

namespace kbo::client {

inline constexpr uint8_t kBundleChangeSet = 1;
inline constexpr uint8_t kBundlePhoto = 2;

struct BundleSummary {
  uint64_t change_sets = 0;
  uint64_t first_seq = 0;  // 0 if no change sets
  uint64_t last_seq = 0;
  uint64_t rows = 0;  // row changes in them
  uint64_t photos = 0;
  uint64_t photo_bytes = 0;
  uint64_t file_bytes = 0;  // the whole bundle
};

// Seals everything pending (Outbox::SealAll), then writes every sealed change
// set not yet acknowledged and, if `include_photos`, every photo not yet
// uploaded (blob_upload.done_at NULL) to `path`, atomically (temp file,
// fsync, rename; mode 0600: it holds the records). It is written as it is
// built: one photo in memory at a time, whatever the bundle's size.
// Errors, with no file written (sealing may already have happened, which
// changes nothing a person can see):
//   kIOError  a photo missing or damaged in blobs/ (named), or the file
//             cannot be written;
//   others    from the store.
// `from_seq` > 0: every sealed change set from that number on, those the
// server confirmed too (a server restored from a backup older than them
// lost them; the office's import names the number it expects), and with
// `include_photos` every photo those sets name that this device holds,
// sent before or not.
Result<BundleSummary> ExportBundle(ClientStore& store, const std::string& path,
                                   bool include_photos, uint64_t from_seq = 0);

// Appends one record (kind, then the u32 length of a || b, then a and b) to
// `out`. kResourceExhausted if a and b together exceed 4 GiB.
Status AppendBundleRecord(std::string* out, uint8_t kind, std::string_view a,
                          std::string_view b = {});

// One record of a bundle.
struct BundleRecord {
  uint8_t kind = 0;
  std::string bytes;
};

// Splits a bundle into its records (for tests and tools; the server has its
// own reader). kCorruption for a wrong magic, an unknown kind, or a length
// beyond the bytes that remain.
Result<std::vector<BundleRecord>> ParseBundle(std::string_view bundle);

}  // namespace kbo::client

#endif  // KBO_CLIENT_BUNDLE_H_
