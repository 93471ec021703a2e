#ifndef KBO_CLIENT_OUTBOX_H_
#define KBO_CLIENT_OUTBOX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/store.h"
#include "shared/change_set.h"
#include "shared/protocol.h"
#include "shared/signing.h"

namespace kbo::client {

// A change set as the device signed it, kept verbatim until acknowledged.
struct SealedChangeSet {
  uint64_t seq = 0;
  std::string bytes;      // EncodeChangeSet output
  Signature signature{};  // over kChangeSetDomain and `bytes`
  Sha256Digest hash{};    // SHA-256 of `bytes`: the next set's prev_hash
  uint64_t rows = 0;      // row changes in the set
  bool acked = false;
};

// Turns pending local writes into signed change sets (DESIGN §5): numbered
// 1, 2, 3 ... per device with no gaps, each naming the previous one's hash.
// Not thread-safe; borrows the store.
class Outbox {
 public:
  // Row changes per sealed change set. Default 2,000 (~0.6 MB of
  // attendance), well under the decoder's limits and one HTTP request.
  static constexpr size_t kDefaultMaxRows = 2000;
  // Encoded bytes per set, reckoned from the outbox entries' sizes: half
  // of what a server decodes (8 MiB, shared/change_set_codec.h), so rows
  // with long notes (up to 64 KiB a value) go in several sets, never in
  // one no server would take. A set always holds at least one row change.
  static constexpr size_t kDefaultMaxBytes = size_t{4} << 20;

  explicit Outbox(ClientStore& store) : store_(store) {}
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Seals up to `max_rows` pending row changes (oldest first, about
  // `max_bytes` at most) into the next change set, in one transaction: the
  // sealed bytes, the signature and the outbox entries' link to it commit
  // together. nullopt if nothing pending.
  Result<std::optional<SealedChangeSet>> SealNext(
      size_t max_rows = kDefaultMaxRows, size_t max_bytes = kDefaultMaxBytes);

  // Seals everything pending (in sets as SealNext makes them); returns how
  // many sets.
  Result<size_t> SealAll(size_t max_rows = kDefaultMaxRows,
                         size_t max_bytes = kDefaultMaxBytes);
  // Row changes recorded but not yet sealed into a change set.
  Result<uint64_t> PendingRows();

  // Sealed change sets not yet acknowledged, in sequence order. Without
  // `with_bytes`, each set's bytes are left empty (LoadBytes fills them):
  // a push holds one or two sets in memory, not all of them.
  Result<std::vector<SealedChangeSet>> Unacked(bool with_bytes = true);
  // Every sealed change set from `from_seq` on (for a bundle export, or a
  // server that lost sets).
  Result<std::vector<SealedChangeSet>> SealedFrom(uint64_t from_seq,
                                                  bool with_bytes = true);
  // Reads `set->bytes` (kCorruption if they are missing).
  Status LoadBytes(SealedChangeSet* set);

  // Marks change set `seq` acknowledged, keeping the server's `receipt`.
  // Call only after verifying the receipt's signature. kNotFound if no such
  // set; acknowledging twice is harmless.
  // The rows the server refused (listed in the receipt) are kept in
  // refused_row for a person to fix or delete; given the set's bytes, the
  // earlier refusals of rows this set carried and the server accepted are
  // settled. Each refusal keeps the values the set carried for its row
  // (refused_row.cells, display text). `server_rows` (the receipt's, its
  // signature verified: an encoded ChangeSet of the rows the server holds)
  // puts this device's copy of each refused row it names back to the
  // server's cells (RestoreRow; refused_row.restored = 1), on the first
  // acknowledgement only. One transaction.
  Status Acknowledge(uint64_t seq, std::string_view receipt,
                     const std::vector<protocol::RefusedRow>& refused = {},
                     std::string_view set_bytes = {},
                     std::string_view server_rows = {});

 private:
  Result<std::vector<SealedChangeSet>> Sealed(const std::string& where, int64_t arg,
                                              bool with_bytes);

  ClientStore& store_;
};

// The change set this device sealed under `seq`, decoded. kCorruption when
// its bytes are gone (a set of an earlier identity keeps none) or damaged.
Result<ChangeSet> LoadSealedSet(Db& db, int64_t seq);

}  // namespace kbo::client

#endif  // KBO_CLIENT_OUTBOX_H_
