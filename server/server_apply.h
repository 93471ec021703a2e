#ifndef KBO_SERVER_SERVER_APPLY_H_
#define KBO_SERVER_SERVER_APPLY_H_

#include <cstdint>

#include "server/enrolment.h"
#include "server/error_detail.h"
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
  uint64_t rows = 0;
  uint64_t conflicts = 0;
};

// Checks every row change of `cs` against `scope` (nullptr: no check, for
// the server's own writes) and then applies it. Must run inside a
// Transaction; on error the caller rolls back and nothing is kept.
//   Scope (before anything is applied): a row's district is the
//   district_code it writes, and, if the server already holds the row, the
//   district it is in now; every one of them must be in `scope`.
//     kInvalidArgument (reason "missing_district"): a row unknown to the
//       server that writes no district_code, or one that writes null;
//     kInvalidArgument: an unknown entity, an invalid district code;
//     kPermissionDenied (reason "out_of_scope"): naming the row and district.
//   Apply: row change i gets server sequence first_seq + i (ApplyRowChange
//   with the conflict check); kInvalidArgument for a value the catalogue
//   refuses. Then row_seq is updated for every row with a winning cell, and
//   each conflict is recorded in `conflict` with both values as display text
//   and their types, both devices and hlcs, the base, both sequences, the
//   winner, the row's district and a fresh feed sequence.
Result<AppliedSet> ApplyAtServer(ServerStore& store, const ChangeSet& cs,
                                 const Scope* scope, ErrorDetail* detail);

// The answer to an accepted change set: the receipt signed by `key`
// (kReceiptDomain over protocol::ReceiptMessage), as the JSON body
//   {"receipt": {...the Receipt's fields...}, "signature": hex}.
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
