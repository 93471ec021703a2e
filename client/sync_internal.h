#ifndef KBO_CLIENT_SYNC_INTERNAL_H_
#define KBO_CLIENT_SYNC_INTERNAL_H_
// What the client's sync files share (client/sync_client.cc, sync_push.cc,
// sync_pull.cc, sync_photos.cc, sync_verify.cc, sync_progress.cc): bounds on
// what is read from the network and small helpers. Not for other code: the
// sync's interface is client/sync_client.h.
//
// The files of the client's sync, one concern each (docs/architecture.md):
//   sync_client.h        the interface: SyncClient, the transport seam
//                        (HttpTransport), options, progress, summary
//   http_transport.cc    the native transport (cpp-httplib): the one file
//                        that differs between the native and browser builds
//   sync_verify.cc       signing requests, verifying receipts, pull pages
//                        and conflict lists against the pinned server key
//   sync_state.h/.cc     the sync's own state in the store (cursors, the
//                        confirmed sequence, conflict records)
//   sync_client.cc       enrolment, one call with retries and back-off, the
//                        order of the phases
//   sync_push.cc         push: seal, send, verify receipts, follow gaps
//   sync_pull.cc         pull: pages and the conflict feed
//   sync_photos.cc       photo upload, resumable
//   sync_progress.cc     progress and summary lines for people
#include <cstddef>
#include <cstdint>
#include <future>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "client/sync_client.h"
#include "shared/protocol.h"
#include "shared/sqlite/db.h"
#include "shared/status.h"
#include "shared/uuid.h"
#include "shared/wire.h"

namespace kbo::client {

inline constexpr size_t kMaxPageBytes = protocol::kMaxPushBytes;
inline constexpr size_t kMaxConflictsBytes = size_t{4} << 20;
// A receipt lists every refused row of its set (a few hundred bytes each):
// a whole set of 2,000 refused rows fits well within 4 MiB.
inline constexpr size_t kMaxReceiptBytes = size_t{4} << 20;
// A missing-blobs list: at most wire::kMaxMissingBlobs names of 64 hex
// digits, quoted, with commas.
inline constexpr size_t kMaxMissingBytes = wire::kMaxMissingBlobs * 67 + 64;
// A list of originals asked for: at most wire::kMaxMissingBlobs uuids,
// quoted, with commas.
inline constexpr size_t kMaxRequestedBytes = wire::kMaxMissingBlobs * 39 + 64;
// A server that keeps redirecting the push (sequence_gap) or the upload
// (offset_mismatch) is broken; stop rather than loop.
inline constexpr int kMaxRedirects = 3;
// Photo chunks in a row whose answer did not come and that gained nothing
// (the server held no more when asked): then the upload stops, everything
// kept, for the next sync.
inline constexpr int kMaxLostAnswers = 3;
// Conflict list pages per sync: a guard against a server whose feed never
// ends. (Pull pages need none: each must move the cursor, VerifyPullPage.)
inline constexpr int kMaxConflictPages = 1000;

// Whether `response` is the network's sign-in page in the server's place (a
// 2xx text/html answer, 511 Network Authentication Required, or a redirect
// to another host than `base_url`'s: how most hotspots send a phone to
// their page), never the server's answer to a sync request. A redirect to
// the same host (http to https in front of the server) is not one.
bool LooksLikeSignInPage(const HttpResponse& response, std::string_view base_url);

inline constexpr const char* kRetryLater = " — everything is kept; try again later";

// How the sync overlaps a network exchange with local work (sealing the
// next change set, applying a pull page): on a second thread natively; in
// turn, on the one thread, in the WebAssembly build (no threads there: the
// app runs in one worker).
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
inline constexpr std::launch kOverlap = std::launch::deferred;
#else
inline constexpr std::launch kOverlap = std::launch::async;
#endif

// Lower-cased ASCII.
std::string Lower(std::string_view s);
// Strict unsigned decimal (no sign, no spaces, no overflow).
bool ParseU64(std::string_view text, uint64_t* out);
// "2.4 MiB".
std::string MiB(uint64_t bytes);
// "1 photo", "3 photos".
std::string Count(uint64_t n, std::string_view one, std::string_view many);
// What a refusal says (shared/error_body.h: code, reason, message,
// fields); a body that does not parse says only its HTTP status.
Status ServerError(const HttpResponse& r);
// The Code of a refusal: the server's, except that only "sequence_gap" is a
// gap this device fills by sending what it holds; another 409 reason is a
// state it resolves otherwise.
Code CodeForServerError(const Status& said);
// The server's "expected" or "received" (shared/status.h, field::), if a
// number from 0 up.
bool ServerNumber(const Status& said, std::string_view name, uint64_t* out);
// True if the answer says the server takes zstd bodies (RFC 7694).
bool SaysZstd(const HttpResponse& answer);
// At most 60 bytes of a header value for a message: printable ASCII kept,
// anything else shown as '?'.
std::string ShownHeader(std::string_view text);

// Removes `rows` (entity, id) that leave this device's districts (a pull's
// departure markers, or districts an enrolment took away): deleted here, the
// server keeps them; what this device typed into one and had not had taken
// stays in the outbox and then in refused_row, as any refused edit. A photo
// whose original (as taken on this device, `self`) is only here is kept and
// taken out of `rows`. `removed` (if given) grows by the rows removed.
Status RemoveRowsLeaving(Db& db, const Uuid& self,
                         std::set<std::pair<std::string, Uuid>>* rows, uint64_t* removed);

// What SyncClient knows of its enrolment for one sync.
struct SyncClient::Enrolment {
  std::string server_url;  // where to talk to this time
  std::string enrolled_url;
  PublicKey server_key;
};

}  // namespace kbo::client

#endif  // KBO_CLIENT_SYNC_INTERNAL_H_
