#ifndef KBO_SERVER_SERVER_APPLY_H_
#define KBO_SERVER_SERVER_APPLY_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "server/enrolment.h"
#include "server/server_store.h"
#include "shared/change_set.h"
#include "shared/protocol.h"
#include "shared/result.h"
#include "shared/signing.h"

namespace kbo::server {

// Merges change sets into the server's replica. Internal to server/: the
// push service (device writes) and conflict resolution (the server's own
// writes) both come through here, so every accepted write is numbered,
// indexed for pull and checked for conflicts the same way.

struct AppliedSet {
  uint64_t first_seq = 0;  // server sequence of row change 0 (0 if no rows)
  uint64_t last_seq = 0;   // of the last row change (0 if no rows)
  uint64_t rows = 0;       // row changes applied
  uint64_t conflicts = 0;
  // Row changes not applied, each with its reason (device writes only).
  std::vector<protocol::RefusedRow> refused;
  // Of those, the ones kept waiting for a row the server does not hold
  // (reason waits_for_row): row change index -> (entity, row id).
  std::map<uint64_t, std::pair<std::string, std::string>> waits;
  // Row changes neither applied nor refused: deletes of rows the server
  // never held that the device had refused (nothing to delete).
  std::vector<uint64_t> skipped;
  // Some cell named a base this server never handed out (restored whole
  // from a backup): taken as 0, and logged once per set.
  bool bases_past_sequence = false;
};

using WaitsFor = std::map<uint64_t, std::pair<std::string, std::string>>;

// Checks each row change of `cs` in order against the replica as the set's
// earlier changes left it, applies it if `device` may write it, and lists it
// in `refused` otherwise: one bad row never blocks the rest of the set or
// the device's later sets (DESIGN §6). `device` nullptr: the server's own
// write (a conflict resolution), checked for integrity only, and any refusal
// fails the whole call. Must run inside a Transaction.
//   A row change is refused (reason) when:
//     unknown_entity / invalid_value: the entity or a value is not one the
//       catalogue knows or accepts (also a column written twice);
//     clock_behind: its hlc's wall time is before 2020;
//     role: the device's role may not create / edit / delete that entity
//       (shared/roles.h);
//     missing_column: a new row without its district_code or another
//       required column, or an edit that empties a required column;
//     out_of_scope: the district it writes, the district it is in, or the
//       district of a row it references is outside the device's districts;
//     waits_for_row: an edit of a row the device received from the server
//       (a cell with a base) that the server does not hold, where it cannot
//       stand alone as a new row (the server lost it: a restore); a
//       reference it sets names a row the server does not hold (nor an
//       earlier change of the set created); or a later change of a row whose
//       earlier change in the set waits. Listed in `waits` with the row it
//       waits for; ApplyWaiting applies it when that row arrives;
//     wrong_district: its district is not its district parent's
//       (shared/roles.h DistrictParentColumn);
//     derived_id: an attendance or contest score whose id is not the one
//       its natural key gives;
//     follows_refused: an earlier change to the same row in the set was
//       refused.
//   Applied row change i gets server sequence first_seq + i (refused ones
//   leave gaps). Then row_seq is updated for every row with a winning cell,
//   a row that changed district is noted in row_moved (pulls send it whole)
//   and in row_left under the district it left (its devices' pulls send it
//   whole too),
//   and each conflict is recorded in `conflict` with both values as display
//   text and their types, both devices and hlcs, the base, both sequences,
//   the winner, the row's district and a fresh feed sequence.
// `texts_decoded`: the set came out of DecodeChangeSet, so its texts are
// valid UTF-8 already and are not checked for it again (ValidateDecodedCell;
// the same answers).
Result<AppliedSet> ApplyAtServer(ServerStore& store, const ChangeSet& cs,
                                 const DeviceRecord* device,
                                 bool texts_decoded = false);

// Keeps each refused row change of device `device_id`'s change set `seq`
// for the office (table refused_row: reason, message, the row's cells as
// JSON; the set itself is verbatim in change_set_log). Inside the accepting
// transaction.
Status RecordRefusals(Db& db, std::string_view device_id, uint64_t seq,
                      const ChangeSet& cs,
                      const std::vector<protocol::RefusedRow>& refused,
                      std::string_view now_iso, const WaitsFor* waits = nullptr);

// After change set `cs` was applied (what it refused, and the indices it
// skipped: AppliedSet) and logged:
// every refusal kept waiting (waits_for_row) for a row the set brought is
// applied now, as its device sent it, checked and merged like any row
// change, and settled; one refused again keeps its new reason (waiting for
// another row, or not). Rows those bring are waited for in turn (a few
// rounds). Inside the accepting transaction.
Status ApplyWaiting(ServerStore& store, const ChangeSet& cs,
                    const std::vector<protocol::RefusedRow>& refused,
                    const std::vector<uint64_t>& skipped, std::string_view now_iso);

// Settles the open refusals (refused_row.settled_at IS NULL) of device
// `device_id`'s earlier sets for every row that change set `seq` carries and
// did not refuse (`refused`): sent again and accepted, or deleted (a
// tombstone of a row the server never held included). settled_at = now,
// settled_seq = seq. Inside the accepting transaction.
Status SettleRefusals(Db& db, std::string_view device_id, uint64_t seq,
                      const ChangeSet& cs,
                      const std::vector<protocol::RefusedRow>& refused,
                      std::string_view now_iso);

// The answer to an accepted change set: the receipt signed by `key`, as
// shared/wire.h encodes it (wire::SignReceipt, wire::EncodeReceiptAnswer).
std::string SignedReceiptJson(const KeyPair& key,
                              const protocol::Receipt& receipt);

// Appends an accepted change set to the append-only change_set_log: its
// verbatim bytes and signature, hash and the answer given (`response_json`).
// Inside the accepting transaction.
Status AppendToLog(Db& db, const protocol::Receipt& receipt,
                   const Sha256Digest& hash, std::string_view bytes,
                   const Signature& signature, std::string_view response_json);

}  // namespace kbo::server

#endif  // KBO_SERVER_SERVER_APPLY_H_
