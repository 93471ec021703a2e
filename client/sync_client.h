#ifndef KBO_CLIENT_SYNC_CLIENT_H_
#define KBO_CLIENT_SYNC_CLIENT_H_

// The client half of sync (DESIGN §6, docs/protocol.md): enrolment, signed
// push with verified receipts, verified pull pages and conflicts, resumable
// photo upload. HTTP goes through HttpTransport only; cpp-httplib is an
// implementation detail of http_transport.cc, the one file of the sync that
// a browser build replaces (client/sync_internal.h lists the files).
//
// What a failed call leaves behind, in every case: nothing local is lost.
// Change sets stay in the outbox until a receipt signed by the pinned server
// key has been verified; a pull page is applied together with its cursor or
// not at all; a photo's upload position is saved after every chunk.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/clock_repair.h"
#include "client/outbox.h"
#include "client/store.h"
#include "shared/protocol.h"
#include "shared/result.h"
#include "shared/signing.h"
#include "shared/uuid.h"

namespace kbo::client {

// ---- Progress ---------------------------------------------------------------

enum class SyncPhase {
  kPush,       // done/total: change sets
  kPull,       // done: row changes applied so far; total: 0 (unknown)
  kConflicts,  // done: conflict records received; total: 0
  kPhotos,     // done/total: photo bytes the server holds / to upload
};
// "push", "pull", "conflicts", "photos".
const char* SyncPhaseName(SyncPhase phase);

// Where a sync is, after each step of a phase (a change set, a pull page, a
// photo chunk). Times are the reader's to keep (rate, time left:
// FormatSyncProgress).
struct SyncProgressReport {
  SyncPhase phase = SyncPhase::kPush;
  // push: change sets confirmed / expected; pull: row changes applied / 0;
  // conflicts: records received / 0; photos: bytes the server holds / to
  // upload.
  uint64_t done = 0;
  uint64_t total = 0;
  // Row changes: push, confirmed by the server / to send in this sync (sets
  // sealed before it and rows still pending); pull, applied / 0 (unknown).
  uint64_t records_done = 0;
  uint64_t records_total = 0;
  // HTTP body bytes on the wire in this sync so far, both ways (as sent:
  // compressed where the bodies are).
  uint64_t wire_bytes = 0;
  // > 0: the server is busy and asked to come back in this many ms; the
  // sync waits, then goes on (RunSyncForUi reports it; the other fields are
  // those of the report before).
  int64_t busy_wait_ms = 0;
};

// Called on the calling thread after each step of a phase. Must not call
// back into the SyncClient.
using SyncProgress = std::function<void(const SyncProgressReport&)>;

// One line for a terminal: the phase, records or bytes done (of the total
// when known), bytes on the wire in the phase, the rate and, when the total
// is known and the rate measured, the time left. `phase_wire_bytes`: the
// report's wire_bytes less those at the phase's first report;
// `phase_seconds`: the time since it.
//   "push: 4,000 of 10,000 records, 142 KiB sent, 3,900 records/s, about 2 s left"
std::string FormatSyncProgress(const SyncProgressReport& report,
                               uint64_t phase_wire_bytes, double phase_seconds);

// How far a phase is, for a bar: what is counted (records; bytes for
// photos) done and in all (0: not known), the fraction done (-1: not
// known), the rate per second and the seconds left (-1: not known; the rate
// needs a second of measuring and something done).
struct SyncProgressEstimate {
  uint64_t done = 0;
  uint64_t total = 0;
  bool in_bytes = false;  // photos
  double fraction = -1;
  double per_s = 0;
  double seconds_left = -1;
};
SyncProgressEstimate EstimateSyncProgress(const SyncProgressReport& report,
                                          double phase_seconds);

// ---- The transport seam -----------------------------------------------------

// One HTTP exchange, as SyncClient builds it (already signed).
struct HttpRequest {
  std::string method;  // "GET", "POST", "PUT"
  std::string path;    // with the query, exactly as signed
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;  // for a body; "" for none
  // The transport stops reading (kResourceExhausted) past this many bytes of
  // response body: nothing from the network is read unbounded.
  size_t max_response_bytes = protocol::kMaxJsonBytes;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The header's value (name in any case), or nullptr.
  const std::string* Header(std::string_view name) const;
};

// Speaks HTTP for SyncClient. The real one is NewHttpTransport (cpp-httplib);
// tests pass their own to play the server in-process.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends `request` to the server at `base_url` ("http[s]://host[:port]").
  // Any HTTP status, 4xx and 5xx included, is a response. Errors:
  //   kUnavailable        the exchange did not complete: connection refused,
  //                       DNS, TLS, timeout, a cut connection. The only
  //                       error SyncClient retries.
  //   kResourceExhausted  the response body exceeds max_response_bytes.
  virtual Result<HttpResponse> Send(const std::string& base_url,
                                    const HttpRequest& request) = 0;
};

// Timeouts of the real transport. Defaults: connect 10 s, read and write
// 30 s (a rural mobile link stalls; a dead one must not hang `kbo sync`).
struct HttpTimeouts {
  int64_t connect_ms = 10000;
  int64_t read_ms = 30000;
  int64_t write_ms = 30000;
};
// cpp-httplib with keep-alive; one connection per base URL at a time; no
// redirects followed (a signed path must not change). https:// verifies the
// server's certificate against the system's CA store. Not thread-safe.
std::unique_ptr<HttpTransport> NewHttpTransport(const HttpTimeouts& timeouts);

// ---- Options and results ----------------------------------------------------

struct SyncOptions {
  // The server to talk to instead of the enrolled one ("" = the enrolled
  // one). The pinned key still applies, so this only finds the same server
  // at a new address; Sync() saves it as the enrolled URL after a sync that
  // verified.
  std::string server_url;
  HttpTimeouts timeouts;
  // A network error (HttpTransport's kUnavailable) is retried once after
  // each of these delays, so 4 tries in all by default: 0.5 s, 1 s, 2 s.
  // An HTTP answer, 4xx or 5xx, is not retried, except a busy one
  // (busy_patience_ms). Every try is signed anew
  // (fresh time and nonce): a nonce is never sent twice.
  std::vector<int64_t> retry_backoff_ms = {500, 1000, 2000};
  // A server that answers 503 or 429 with Retry-After (busy with other
  // devices' merges; nothing was stored) is asked again after that many
  // seconds (up to a quarter more, at random), until this much waiting in
  // all; then its answer stands. Default 10 minutes: an evening rush of
  // hundreds of devices drains in a few.
  int64_t busy_patience_ms = 10 * 60 * 1000;
  // Told each such wait (ms) before it starts; null: silent.
  std::function<void(int64_t wait_ms)> on_busy;
  // A device clock off by more than the request window (5 minutes) but
  // within the row bound (protocol::kMaxRowAheadMs, an hour), either way:
  // its requests are refused clock_skew, then signed again by the server's
  // time (the server's answer gives it) for the rest of this sync; told the
  // offset (device minus server, ms) once; null: silent. Further off, the
  // refusal stands (the date must be set right: client/clock_repair.h).
  std::function<void(int64_t device_minus_server_ms)> on_clock_off;
  // Row changes per pull page requested. Default protocol::kDefaultPullLimit;
  // at most protocol::kMaxPullLimit.
  int pull_limit = protocol::kDefaultPullLimit;
  // Applied pull pages share a commit while the next page has arrived
  // already (docs/decisions.md, "Pull pages committed together"). Tests set
  // this to group as if it always had, so that what a group keeps when the
  // pull stops does not depend on threads' timing.
  bool pull_group_always = false;
  SyncProgress progress;
  // Sync(): pull everything in scope again from the start (both cursors back
  // to 0 after the push).
  // The merge makes it harmless: what the device holds is not lost.
  bool full_pull = false;
  // Sync(): push and pull only; photos (uploads, originals asked for, other
  // devices' thumbnails, and the checks of what a restored server lost)
  // wait for a sync without it. The phone app's sync when the signal
  // returns: the app's one worker is busy for the whole of a sync, and a
  // photo on a slow link held a trainer's roll-call taps for the length of
  // its upload.
  bool records_only = false;
  // Sleeps between retries; null: std::this_thread::sleep_for. Tests pass a
  // recorder.
  std::function<void(int64_t ms)> sleep_ms;
  // null: NewHttpTransport(timeouts). Not owned; must outlive the client.
  HttpTransport* transport = nullptr;
};

struct EnrollResult {
  Uuid device_id;
  std::string server_url;         // normalized: scheme://host[:port]
  std::string role;               // field_officer | trainer | central_office
  std::string districts;          // "5011,5009" or "all"
  std::string server_public_key;  // hex; pinned
  bool server_changed = false;  // enrolled with another server (or key) before
  // Set when the device had forked (restored from a backup, copied) and so
  // enrolled as a new device: its old id, and the row changes not yet
  // confirmed that now go as the new device's.
  std::optional<Uuid> forked_from;
  uint64_t moved_rows = 0;
  // The old id was revoked by the server (forked_from is set too): the
  // office gave this phone a new token, and it enrolled as a new device.
  bool was_revoked = false;
  // The device had never enrolled, and the server held its key for another
  // device (field.db lost, device.key kept): it enrolled with a new key
  // (forked_from is set too).
  bool key_was_taken = false;
  // Enrolled again with the same server for fewer districts: the rows of
  // the districts it no longer has that the server holds, removed here
  // (the server keeps them; a photo whose original is only here stays).
  uint64_t rows_left = 0;
};

// What one Sync() (or a phase of it) did.
struct SyncSummary {
  uint64_t pushed_sets = 0;  // change sets acknowledged by a receipt
  uint64_t pushed_rows = 0;  // their row changes (the receipts' count)
  uint64_t sent_rows = 0;    // the row changes those sets carried (applied,
                             // refused or needing nothing)
  uint64_t blobs_held_back = 0;  // photos the server would not take: no
                                 // photo row of theirs in its districts
  uint64_t blobs_refused = 0;    // photos it refused for good (larger than
                                 // it takes): kept here, not sent again
  uint64_t refused_rows = 0; // row changes the server refused (kept there,
                             // listed by `kbo refused`)
  // Row changes the server keeps until a row it does not hold arrives
  // (protocol::kWaitsForRowReason: restored from a backup, the row's writer
  // has not sent it again yet), then applies as sent.
  uint64_t waiting_rows = 0;
  // Row changes sent that the server neither applied nor refused: deletes of
  // rows it never held (a row it refused, then dismissed here), which need
  // nothing there.
  uint64_t needless_deletes = 0;
  // Row changes received in the pull pages applied, but for this device's
  // own writes coming back unchanged (they are not news here).
  uint64_t pulled_rows = 0;
  uint64_t pull_pages = 0;
  // Rows this device held that moved to a district outside its own: removed
  // from it (the server keeps them; docs/protocol.md §6).
  uint64_t rows_left_districts = 0;
  uint64_t conflicts = 0;       // conflict records received (new or updated)
  uint64_t new_conflicts = 0;   // of those, open ones this device had not
                                // held: the ones `kbo sync` announces
  uint64_t blobs_uploaded = 0;  // photos sent that the server now holds whole
  uint64_t blob_bytes = 0;      // photo bytes sent
  // Of the photos uploaded whole, the bytes the server already held from an
  // earlier sync cut short (not sent again, not in blob_bytes).
  uint64_t blob_bytes_before = 0;
  // Photos the server already held whole when asked (another device or a
  // bundle brought them): nothing sent.
  uint64_t blobs_already_held = 0;
  uint64_t bytes_sent = 0;      // HTTP request bodies
  uint64_t bytes_received = 0;  // HTTP response bodies
  // Confirmed change sets sent again because the server no longer held
  // them (restored from a backup); also counted in pushed_sets.
  uint64_t resent_sets = 0;
  // The server was restored from a backup taken after this device's earlier
  // pulls (with its sequence-high-water file): it sent this device back to
  // the last cursor it remembered handing it, and what it holds from there
  // was pulled again (docs/protocol.md §6).
  bool server_rewound = false;
  // This device's clock minus the server's (ms), when it was off by more
  // than the request window and the sync went by the server's (on_clock_off);
  // 0 otherwise.
  int64_t clock_off_ms = 0;
  // Thumbnails of other devices' photos received (client/photo_fetch.h).
  uint64_t thumbnails_fetched = 0;
  // Originals of photos (as taken) the server now holds whole, of those
  // asked for (SendOriginals), and their bytes sent (not in blob_bytes).
  uint64_t originals_uploaded = 0;
  uint64_t original_bytes = 0;
  // Originals asked for that the server already held whole (a photo sent
  // as taken is its own original).
  uint64_t originals_already_held = 0;
  // Originals asked for that cannot go: the server would not take them
  // (the photo deleted or changed there, taken on another device, an older
  // server), or they are not on this device. Kept, and not tried again
  // until asked again (SyncClient::original_refusals says why).
  uint64_t originals_held_back = 0;
  // The server refused a change set because this device's clock had run
  // ahead, and its clock is right again: unsent row changes given a new
  // hlc (client/clock_repair.h), and the newest wall time they had carried.
  uint64_t redated_rows = 0;
  int64_t clock_ahead_until_ms = 0;
  // Times recorded from that clock that are still after now (a visit's
  // visited_at, say): values are never moved, so the person is told.
  std::vector<FutureValue> future_values;
};
// One line for a person: "pushed 2 change sets (1,204 changes), pulled 310
// changes, 1 conflict, uploaded 1 photo (2.4 MiB)".
std::string DescribeSummary(const SyncSummary& summary);

// The size of a photo's next upload chunk: what the link moved, at the rate
// the last chunk of at least kMinUploadChunkBytes went (bytes/s; 0: not
// measured yet this sync, kFirstUploadChunkBytes), in a third of the read
// timeout and at most 10 s, so that on EDGE a chunk arrives whole before
// the device stops waiting for its answer (the server answers a chunk only
// once it holds all of it). Within [kMinUploadChunkBytes,
// protocol::kBlobChunkBytes], whole 16 KiB. The first chunk is small
// enough for GPRS (64 KiB at 3 kB/s: 22 s).
inline constexpr size_t kFirstUploadChunkBytes = size_t{64} << 10;
inline constexpr size_t kMinUploadChunkBytes = size_t{64} << 10;
size_t UploadChunkBytes(uint64_t rate_bytes_per_s, int64_t read_timeout_ms);

// ---- Pieces of the protocol, exposed for tests and tools --------------------

// "http[s]://host[:port]" with the scheme and host lower-cased and a trailing
// "/" dropped. kInvalidArgument for another scheme, a missing host, a bad
// port, or a path (the request signature covers the path the server sees,
// so a server behind a path prefix is not supported).
Result<std::string> NormalizeServerUrl(std::string_view url);

// How long to wait before asking again after `response` (ms, with up to a
// quarter more at random): set for a 503 or 429 whose Retry-After is whole
// seconds (clamped to 1..protocol::kMaxRetryAfterS); nullopt otherwise.
std::optional<int64_t> RetryAfterMs(const HttpResponse& response);

// 32 lowercase hex digits from the CSPRNG: the X-KBO-Nonce of one request.
std::string NewNonce();

// The four authentication headers (X-KBO-Device, -Time, -Nonce, -Signature)
// of a request: `key` signs protocol::CanonicalRequest(method,
// path_with_query, time_ms, nonce, body) under kRequestDomain.
std::vector<std::pair<std::string, std::string>> SignRequest(
    const KeyPair& key, const Uuid& device, std::string_view method,
    std::string_view path_with_query, std::string_view body, int64_t time_ms,
    std::string_view nonce);

// Parses a push answer (wire::ParseReceiptAnswer; docs/protocol.md §5), and
// accepts it only if the signature verifies with `server_key` over
// protocol::ReceiptMessage under kReceiptDomain AND it names `device`, `seq`
// and hex(`hash`) — the change set that was sent, and, when it carries the
// server's rows, its rows_signature verifies too. kUnauthenticated otherwise
// (also for a body that does not parse); `receipt` is set only on success.
Status VerifyReceipt(const PublicKey& server_key, const Uuid& device,
                     uint64_t seq, const Sha256Digest& hash,
                     std::string_view json, protocol::Receipt* receipt);

// Checks a pull page answer before anything of it is decoded: the
// X-KBO-Next-Cursor and X-KBO-More headers are well formed and
// X-KBO-Signature verifies with `server_key` over
// protocol::PullPageMessage(device, after, next, more, body) under
// kPullPageDomain (kUnauthenticated otherwise); then that the cursor does not
// go back, and moves when more = 1 (kCorruption otherwise: a loop).
// `since`: what the pull asked with (?since=S). A page that answers it
// (X-KBO-Pull-Since, which must then be S) is verified with it in the
// message; one without it (an older server) as before.
// `departures` (if given) is set when the page marks departures
// (kDeparturesHeader): its signature then covers the districts it names.
Status VerifyPullPage(const PublicKey& server_key, const Uuid& device,
                      uint64_t after, const HttpResponse& page,
                      uint64_t* next_cursor, bool* more,
                      std::optional<uint64_t> since = std::nullopt,
                      bool* departures = nullptr);

// The same for a conflicts answer: protocol::ConflictsMessage(device, after,
// body) under kPullPageDomain. kUnauthenticated if it does not verify.
Status VerifyConflicts(const PublicKey& server_key, const Uuid& device,
                       uint64_t after, const HttpResponse& answer);

// ---- The client -------------------------------------------------------------

// Talks to kbo-server for one ClientStore. Every request except enrolment
// carries the device's signature (SignRequest), with the time taken from the
// store's wall clock. Not thread-safe; borrows the store, which must outlive
// it.
class SyncClient {
 public:
  explicit SyncClient(ClientStore& store, SyncOptions options = SyncOptions{});
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  // POST /v1/enroll {token, device_id, public_key, clock_ms}. On 200 stores
  // the server URL, its public key (pinned from now on), the role, the
  // districts and the time in the device row, in one transaction, and resets
  // the pull and conflict cursors (a new scope may cover older rows; a pull
  // is idempotent). With another server (URL or key) than before it also
  // forgets that server's conflict records and photo upload progress; change
  // sets are kept and pushed to the new server from the sequence it asks for.
  // Errors, with nothing written:
  //   kInvalidArgument    `server_url` is not a server URL; empty token;
  //   kFailedPrecondition enrolled with another server and changes or photos
  //                       are still waiting to go there (unless `force`);
  //   kUnavailable        the server cannot be reached;
  //   kUnauthenticated, kPermissionDenied, kInvalidArgument ... the server
  //                       refused (its message included; refused_by_server());
  //   kCorruption         the answer is not an enrolment answer.
  Result<EnrollResult> Enroll(const std::string& server_url,
                              const std::string& token, bool force = false);

  // Push, then pull (rows and conflicts), then photos. On success records
  // sync_state.last_sync_at and clears last_error; on failure records
  // last_error (the message) and stops at the failing phase, keeping what
  // the earlier phases did. kFailedPrecondition if the device is not
  // enrolled. Errors of the phases below.
  Result<SyncSummary> Sync();
  // What the last Sync() did, also when it failed part-way (the change sets
  // confirmed and the conflicts found before the signal dropped, say).
  const SyncSummary& last_summary() const { return last_summary_; }

  // Seals everything pending, then pushes each unacknowledged change set in
  // sequence order, marking each acknowledged only after its receipt
  // verifies (VerifyReceipt). A 409 sequence_gap naming an expected sequence
  // is followed (forward: the server already holds the earlier sets; back:
  // the server lost sets, which are pushed again from the outbox's copies).
  //   kUnauthenticated    a receipt that does not verify (nothing more is
  //                       acknowledged), or the server refused the signature;
  //   kFailedPrecondition the server holds another change set under one of
  //                       our sequence numbers (a forked device: contact the
  //                       office); nothing local changed;
  //   kSequenceGap        the server expects a change set this device no
  //                       longer has, or keeps asking for another one;
  //   others as for every request (below).
  Status Push(SyncSummary* summary);

  // Pulls pages after sync_state.pull_cursor while the server says there is
  // more. Each page is verified (VerifyPullPage) before it is decoded
  // (bounded), every row's hlc is checked against the clock's skew bound,
  // and then the page, the new cursor and the clock state commit in ONE
  // transaction. Then the conflict feed after conflict_cursor: verified,
  // upserted into the conflict table with the new cursor in one transaction.
  //   kUnauthenticated    a page or conflict list whose signature fails;
  //   kCorruption         a page that does not decode or apply;
  //   kFailedPrecondition a row dated more than 24 h past this device's
  //                       clock (its clock is wrong): nothing of that page
  //                       is applied.
  Status Pull(SyncSummary* summary);

  // Uploads every photo in blob_upload that is not done: asks the server how
  // much it holds (GET /v1/blobs/<sha>), then PUTs the rest in chunks of
  // protocol::kBlobChunkBytes, saving uploaded_bytes after each chunk (the
  // resume point of the next try) and done_at once the server holds it
  // whole. A 409 offset_mismatch resumes from the server's position.
  //   kIOError            a photo missing or damaged in blobs/ (the others
  //                       are still uploaded; the error names it).
  Status UploadBlobs(SyncSummary* summary);
  // The server lost change sets it had confirmed (restored from a backup),
  // so it may have lost photos this device uploaded too: those it lists as
  // missing (GET /v1/blobs/missing) are queued again, or, when it cannot
  // list them all, every uploaded photo is (UploadBlobs then asks each
  // one's state: nothing the server holds is sent again).
  Status RecheckUploads();

  // Sends the originals asked for (docs/protocol.md §8, "Originals on
  // request"): first, if the last pull said the office asked for some, it
  // lists them (GET /v1/photos/originals) and marks them asked for here;
  // then, for each original asked for (by the office or by `kbo photo
  // upload-originals`) and not yet announced, it tells the server which
  // photo's upload copy it belongs to (POST /v1/photos/originals) and
  // uploads it like a photo (resumable; once announced it is in
  // blob_upload, so an upload cut short goes on with the next sync's
  // UploadBlobs). Refusals of one original (the photo deleted or changed
  // on the server, taken elsewhere, a server without originals) keep it
  // here, counted in originals_held_back and not tried again until asked
  // again, and the others go on; so does an original missing or damaged on
  // this device (the office is told it is missing). Asked by the office for
  // a photo of which it keeps no original, it says so (a decline).
  Status SendOriginals(SyncSummary* summary);
  // Why the server refused each original held back by the last
  // SendOriginals ("photo 1b4e28ba...: <the server's message>").
  const std::vector<std::string>& original_refusals() const {
    return original_refusals_;
  }

  // True iff the last failed call failed because the server refused a
  // request (an HTTP 4xx). `kbo` exits 5 for these (DESIGN §7).
  bool refused_by_server() const { return refused_; }

  // Push, Pull and UploadBlobs add what they did to `summary` (may be null).
  //
  // Errors of every request:
  //   kUnavailable  "cannot reach <url>: <why> — everything is kept; try
  //                 again later" after the retries, or an HTTP 5xx;
  //   4xx           the server's JSON "error" mapped to a code
  //                 (unauthenticated, out_of_scope/permission_denied,
  //                 sequence_gap, sequence_conflict -> kFailedPrecondition,
  //                 invalid_argument, not_found, too_large ...), the
  //                 server's "message" included.

 private:
  // Push, starting with the sealed sets from `resend_from` (confirmed or
  // not: a server that lost them) instead of the unconfirmed ones, if > 0.
  Status PushFrom(SyncSummary* summary, uint64_t resend_from);
  // A clock_ahead refusal of change set `seq`: if this device's clock now
  // agrees with the server's, re-dates what is unsent and pushes again
  // (once); otherwise a refusal naming both clocks, nothing changed.
  Status RedateAndPushAgain(const HttpResponse& refusal, uint64_t seq,
                            SyncSummary* summary);
  struct Enrolment;
  Result<Enrolment> LoadEnrolment();
  using Headers = std::vector<std::pair<std::string, std::string>>;
  void Sleep(int64_t ms) const;
  // Sends a request with `extra_headers`, signed unless `sign` is false,
  // with the retry policy of SyncOptions.
  // A network failure is tried again (options_.retry_backoff_ms) unless
  // `retry` is false: then it is returned at once (a photo chunk, whose
  // caller asks the server what arrived before sending anything again).
  Result<HttpResponse> Call(std::string_view method, std::string path,
                            std::string body, std::string_view content_type,
                            size_t max_response_bytes,
                            Headers extra_headers = {}, bool sign = true,
                            bool retry = true);
  // The Status for a non-2xx answer to `what` ("the push of change set 3").
  Status Refusal(const HttpResponse& response, std::string_view what);
  Status PullConflicts(const Enrolment& e, SyncSummary* summary);
  // One photo. `local` is set if the failure is this device's copy.
  // `known_held`: what the server has just said it holds of it (listed as
  // missing: 0; an original's notice: its state), so its state is not
  // asked for first.
  Status UploadOne(const std::string& sha256, uint64_t total, uint64_t uploaded,
                   std::optional<uint64_t> known_held, SyncSummary* summary,
                   bool* local);
  // Tells the server this device keeps no original of `photo` (reason
  // "no_original" or "missing"), closing the office's request.
  Status DeclineOriginal(const Uuid& photo, const char* reason);
  Status RecordSyncError(const Status& error);
  // Keeps what a 200 answer says of the codings the server takes
  // (Accept-Encoding: zstd, RFC 7694) in server_zstd_ and sync_state.
  Status NoteEncodings(const HttpResponse& answer);
  Status SetServerZstd(bool takes_zstd);
  void Progress(SyncPhase phase, uint64_t done, uint64_t total,
                uint64_t records_done = 0, uint64_t records_total = 0);

  ClientStore& store_;
  SyncOptions options_;
  std::unique_ptr<HttpTransport> own_transport_;
  HttpTransport* transport_ = nullptr;
  std::string base_url_;             // of the call in progress
  SyncSummary* counters_ = nullptr;  // bytes_sent / bytes_received
  // From the last pull: the server's last change set of this device
  // (X-KBO-Device-Last-Seq).
  std::optional<uint64_t> server_device_seq_;
  // X-KBO-Seq-Epoch of this sync's last pull page (0 when absent: epoch 0,
  // or an older server), nullopt until a pull completes.
  std::optional<uint64_t> server_seq_epoch_;
  SyncSummary last_summary_;
  // The server takes zstd push bodies (sync_state.server_zstd; docs/
  // protocol.md §1 "Compressed bodies"): loaded with the enrolment, kept by
  // NoteEncodings.
  bool server_zstd_ = false;
  bool refused_ = false;
  // Added to this device's clock when requests are signed (on_clock_off).
  int64_t request_clock_offset_ms_ = 0;
  bool request_clock_adjusted_ = false;
  bool redating_ = false;  // inside RedateAndPushAgain
  uint64_t photo_total_ = 0;
  uint64_t photo_done_ = 0;
  // Bytes/s the last photo chunk went up at (0: none yet this sync).
  uint64_t upload_rate_ = 0;
  // The largest photo chunk this sync sends: half the last one whose
  // answer did not come (a link that drops what takes too long drops a
  // chunk that size again, however fast the smaller ones after it went,
  // whose rate would send the next at full size). Each sync begins at the
  // protocol's chunk size: the signal may be better where it is run.
  size_t upload_ceiling_ = protocol::kBlobChunkBytes;
  // The last pull page said the office asked for originals of this
  // device's photos (X-KBO-Originals-Requested).
  bool originals_requested_ = false;
  // The newest photo this device uploaded whole (sent on pull requests as
  // X-KBO-Last-Upload), and whether the last pull page said the server no
  // longer holds it (X-KBO-Last-Upload-Held: 0).
  std::string last_upload_;
  bool last_upload_lost_ = false;
  std::vector<std::string> original_refusals_;
};

// The web UI's sync button (client/ui): Sync() with the default options and
// no progress. `summary` is what it did: all of it on success; on failure
// what it did before the failure (the change sets confirmed, the conflicts
// found), with the returned Status carrying the message to show.
// kFailedPrecondition if the device is not enrolled.
// `records_only`: as SyncOptions::records_only.
Status RunSyncForUi(ClientStore& store, SyncSummary* summary,
                    const SyncProgress& progress = nullptr, bool records_only = false);

}  // namespace kbo::client

#endif  // KBO_CLIENT_SYNC_CLIENT_H_
