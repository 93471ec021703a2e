#ifndef KBO_SERVER_BUNDLE_IMPORT_H_
#define KBO_SERVER_BUNDLE_IMPORT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "server/server_store.h"
#include "shared/result.h"

namespace kbo::server {

// What importing one bundle did (`kbo-server bundle import FILE`).
struct BundleSummary {
  size_t change_sets_applied = 0;
  size_t change_sets_repeated = 0;  // applied before (idempotent)
  size_t change_sets_refused = 0;
  size_t blobs_stored = 0;
  size_t blobs_present = 0;  // the server already had them
  size_t blobs_refused = 0;
  // Of the applied change sets, those of the revoked device the operator
  // accepted (ImportBundle's accept_revoked).
  size_t change_sets_from_revoked = 0;
  // One line per refused record: "record 3 (change set 7 of device D): ...".
  std::vector<std::string> refusals;
  // Rows the server refused inside applied change sets (kept for the office,
  // refused list), one line each: "record 3 (change set 7 of device D):
  // producer ID: after_revocation: ...".
  std::vector<std::string> row_refusals;
  // Set when the file stops making sense part-way (a truncated record, an
  // unknown kind): records before it were imported, nothing after.
  Status framing;
  // Set when this server failed part-way (its disk full, its database
  // busy or failing), which is not the record's fault: records before it
  // were imported, nothing after; the same file imports again afterwards.
  Status stopped;

  bool all_ok() const {
    return framing.ok() && stopped.ok() && change_sets_refused == 0 &&
           blobs_refused == 0;
  }
};

// Imports a bundle file (format: shared/protocol.h kBundleMagic, and
// docs/protocol.md "Bundles"): each kind-1 record goes through exactly the
// checks of POST /v1/push (PushService::PushFromBundle: authenticated by the
// change set signature of an enrolled, unrevoked device), each kind-2 record
// is a whole blob checked against its name (BlobService::PutWhole). Every
// record is its own transaction: a refused or damaged record leaves nothing
// of itself behind, and importing a bundle twice changes nothing the second
// time. Records are read one at a time with their lengths checked before
// reading, so memory stays bounded by the largest record allowed.
//   kNotFound: no such file; kInvalidArgument: not a bundle (bad magic).
// Refused records and framing damage are reported in the summary.
// With `accept_revoked`, that revoked device's change sets are applied too
// (PushService::PushFromBundle): the office has looked at the device's
// bundle and vouches for it (a device revoked by mistake, or an officer who
// left with records not yet sent). Any other revoked device's sets are
// still refused.
Result<BundleSummary> ImportBundle(ServerStore& store, const std::string& path,
                                   const Uuid* accept_revoked = nullptr);

}  // namespace kbo::server

#endif  // KBO_SERVER_BUNDLE_IMPORT_H_
