#ifndef KBO_CLIENT_CLOCK_REPAIR_H_
#define KBO_CLIENT_CLOCK_REPAIR_H_

// Re-dating what a device recorded while its clock ran ahead (issue 9; the
// rule is in docs/protocol.md, "A device clock that ran ahead").
//
// The server refuses a whole change set with reason clock_ahead when a row's
// hlc is more than 24 h past its own clock. The device's hybrid clock is
// monotonic and persisted, so once the person sets the date right the clock
// still stamps in the future, and the sealed sets would be refused forever.
// When the server refuses with clock_ahead and this device's wall clock now
// agrees with the server's (within kClockAgreementMs), SyncClient calls
// RedateFutureChanges and pushes again.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/store.h"
#include "shared/hlc.h"
#include "shared/signing.h"
#include "shared/result.h"

namespace kbo::client {

// How close this device's wall clock must be to the server's before its
// future-dated changes are re-dated: 10 minutes. Farther apart, the date is
// still wrong and nothing is touched.
inline constexpr int64_t kClockAgreementMs = 10 * 60 * 1000;

// A time a person recorded (a visit's visited_at, say) that is still after
// the clock once it is right: it came from the clock that was ahead, and
// only the person knows when it really was. Re-dating gives the change a
// new hlc; it never changes a value, so these are listed for the person to
// correct (kbo edit).
struct FutureValue {
  std::string entity;
  Uuid row_id;
  std::string column;
  std::string value;  // ISO 8601 UTC, as recorded
};

struct RedateResult {
  uint64_t unsealed_sets = 0;  // unacknowledged change sets opened again
  uint64_t redated_rows = 0;   // pending row changes given a new hlc
  uint64_t cells_updated = 0;  // cell versions that still carried an old hlc
  int64_t ahead_until_ms = 0;  // the newest wall time re-dated (0: none)
  Hlc clock;                   // the clock's state afterwards
  // Date-time values of the re-dated row changes still after the clock
  // (by more than kClockAgreementMs), one per row and column, the latest
  // written; in row-change order.
  std::vector<FutureValue> future_values;
};

// In ONE transaction (all or nothing):
//  1. opens again every unacknowledged change set from `from_seq` on (the
//     server refused `from_seq`, so it holds none of them; they must form
//     the tail of the chain: kFailedPrecondition if a later set is
//     acknowledged or `from_seq` is) and returns their row changes to
//     pending; `from_seq` 0 opens none;
//  2. gives every pending row change of this device dated after `base` a
//     new hlc from a clock reset to `base`, in the order of the old hlcs,
//     where `base` is the newest of: the wall clock now, every hlc this
//     device must stay after (cell versions other than the ones re-dated,
//     the last change set it keeps sealed, pending rows it keeps);
//  3. rewrites the cell versions that still carry an old hlc (the values are
//     untouched), and sets the persisted clock to the newest hlc it issued
//     (or `base`).
// Row values, row order and everything the server holds are unchanged (a
// time value still in the future is listed in future_values, not moved). If
// no hlc would change, nothing is written (redated_rows = 0): a repeated
// call is a no-op. kCorruption (nothing written) if the sealed sets and the
// outbox disagree.
Result<RedateResult> RedateFutureChanges(ClientStore& store, uint64_t from_seq);

// What MoveToNewDevice did.
struct MoveResult {
  uint64_t unsealed_sets = 0;  // unacknowledged change sets opened again
  uint64_t dropped_sets = 0;   // acknowledged sets of the old identity forgotten
  uint64_t moved_rows = 0;     // pending row changes now stamped by the new device
  uint64_t cells_updated = 0;  // cell versions that carried their old hlc
  Hlc clock;                   // the clock's state for the new identity
};

// After a fork (the server holds other change sets under this device's
// numbers: a phone restored from a backup, or copied to another), this
// device's work the server has not confirmed goes as a NEW device's change
// sets 1, 2, 3 ... (docs/protocol.md, "A forked device"). Inside the
// caller's transaction, which also enrols the new identity:
//  1. opens again every unacknowledged change set (their rows pending);
//  2. forgets the acknowledged ones (the server holds them; they were the
//     old identity's numbers, which the new identity starts again);
//  3. every pending row change stamped by the old device is stamped by
//     `device` with the same wall time and counter (its order among other
//     devices' changes kept), the outbox and the cell versions alike;
//  4. sets the device row to `device` and `key`'s public key, the clock to
//     the old one's time under `device`, and clears the fork mark.
// Values and everything the server holds are unchanged. The caller commits,
// then puts the key file in place and calls ClientStore::AdoptIdentity.
Result<MoveResult> MoveToNewDevice(ClientStore& store, const Uuid& device,
                                   const KeyPair& key);

// The server's clock from a refusal: the JSON body's "server_ms", else an
// HTTP Date header (RFC 7231 IMF-fixdate). nullopt if neither is there.
std::optional<int64_t> ServerClockOf(const std::string& json_body,
                                     const std::string* date_header);

// "2026-12-05 09:30 UTC" for a message to a person.
std::string ClockText(int64_t unix_ms);

}  // namespace kbo::client

#endif  // KBO_CLIENT_CLOCK_REPAIR_H_
