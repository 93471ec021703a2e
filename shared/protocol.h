#ifndef KBO_SHARED_PROTOCOL_H_
#define KBO_SHARED_PROTOCOL_H_

// The sync protocol's vocabulary, shared by kbo (client/sync_client.cc) and
// kbo-server (server/http_api.cc). docs/protocol.md is the full text.
//
// Protocol versions:
//   1  (0.1.0) enrolment, signed requests, push with signed receipts, signed
//      pull pages, conflicts, resumable blob upload, bundles.
//      Added within 1 (an older server answers 404, which kbo takes as "no
//      thumbnails here" and goes on): GET /v1/thumbs/<sha256> and
//      GET /v1/originals/<sha256>?offset=O, photos coming down to devices.
//      Added within 1 (issue 12, docs/protocol.md §1 "Compressed bodies"):
//      zstd bodies. A server that takes them says so with
//      `Accept-Encoding: zstd` on its enrolment, push and pull answers
//      (RFC 7694); a device that heard it sends push bodies with
//      `Content-Encoding: zstd`. A device asks for compressed
//      pull pages with `Accept-Encoding: zstd`. Neither side sends zstd to a
//      peer that did not say it takes it, so older devices and servers are
//      unaffected.
//      Added within 1 (issue 12, docs/protocol.md §8 "Originals on
//      request"): POST and GET /v1/photos/originals, and the pull page hint
//      X-KBO-Originals-Requested. An older server answers 404, which kbo
//      takes as "originals cannot go to this server yet" and keeps them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "shared/change_set.h"
#include "shared/result.h"
#include "shared/signing.h"

namespace kbo::protocol {

inline constexpr int kVersion = 1;

// Paths.
inline constexpr std::string_view kEnrollPath = "/v1/enroll";
inline constexpr std::string_view kPushPath = "/v1/push";
inline constexpr std::string_view kPullPath = "/v1/pull";           // ?after=N&limit=M
inline constexpr std::string_view kConflictsPath = "/v1/conflicts"; // ?after=N
inline constexpr std::string_view kBlobsMissingPath = "/v1/blobs/missing";
// The server lists at most this many missing blobs: a list this long may
// have left some out.
inline constexpr size_t kMissingBlobsListed = 1000;
inline constexpr std::string_view kBlobPathPrefix = "/v1/blobs/";   // + sha256 hex
inline constexpr std::string_view kHealthPath = "/v1/health";
// Photos coming down to devices (docs/protocol.md §8): a photo's thumbnail
// (JPEG), and its original in chunks of kBlobChunkBytes from ?offset=O.
inline constexpr std::string_view kThumbPathPrefix = "/v1/thumbs/";   // + sha256 hex
inline constexpr std::string_view kOriginalPathPrefix = "/v1/originals/";  // + sha256 hex
// Originals on request (docs/protocol.md §8): POST says which original an
// upload copy was made from; GET lists the originals the office asked this
// device for.
inline constexpr std::string_view kOriginalsPath = "/v1/photos/originals";
// On pull pages: how many originals the office has asked this device for
// and does not hold whole yet ("0" or absent: none). A hint, not signed: a
// forged one costs one GET of the (signed-request, scoped) list.
inline constexpr const char* kOriginalsRequestedHeader = "X-KBO-Originals-Requested";
// On pull page requests: the newest photo this device uploaded that the
// server confirmed whole (64 hex digits). On the last page the server
// answers in kLastUploadHeldHeader whether it holds it whole now: "1" or
// "0"; absent when the device may not ask about it (as GET /v1/blobs/<sha>:
// no photo of its districts names it) or from an older server. "0" means a restore lost it (a data folder restored whole, its
// sequence-high-water with it, after the photo came and before the device
// pulled again: no cursor or epoch shows that), and the device asks which
// of its photos the server lacks and sends them again. Hints, not signed:
// a forged one costs one GET of the (signed-request, scoped) list and one
// photo sent again.
inline constexpr const char* kLastUploadHeader = "X-KBO-Last-Upload";
inline constexpr const char* kLastUploadHeldHeader = "X-KBO-Last-Upload-Held";
// On an original's chunk: the whole blob's size in bytes.
inline constexpr const char* kBlobTotalHeader = "X-KBO-Blob-Total";
// The largest thumbnail a device accepts (the server's are 15-40 KB).
inline constexpr size_t kMaxThumbBytes = size_t{512} << 10;
// Several thumbnails in one round trip (docs/protocol.md §8, "Thumbnails
// in one request"): POST names up to kThumbsPerRequest photos; the answer
// carries them in order until kThumbsAnswerBytes are filled (the first
// always), the rest marked "later".
inline constexpr std::string_view kThumbsPath = "/v1/thumbs";
inline constexpr size_t kThumbsPerRequest = 32;
inline constexpr size_t kThumbsAnswerBytes = size_t{256} << 10;
inline constexpr const char* kThumbsMime = "application/vnd.kbo.thumbs";

// Request authentication headers (every /v1 request except enroll, health).
inline constexpr const char* kDeviceHeader = "X-KBO-Device";
inline constexpr const char* kTimeHeader = "X-KBO-Time";        // unix ms
inline constexpr const char* kNonceHeader = "X-KBO-Nonce";      // 32 hex
inline constexpr const char* kSignatureHeader = "X-KBO-Signature";  // 128 hex
// The ms a device added to its own clock to sign a request by the server's
// (a clock minutes off: docs/protocol.md "Signed requests"); read only for
// the clock offset the office sees, never to accept a request.
inline constexpr const char* kClockAdjustHeader = "X-KBO-Clock-Adjust";
// Pull page headers (signed with the page: see PullPageMessage).
inline constexpr const char* kNextCursorHeader = "X-KBO-Next-Cursor";
inline constexpr const char* kMoreHeader = "X-KBO-More";        // "1" or "0"
// On a pull page asked for with ?since=S: S, the cells' floor the page was
// built with (docs/protocol.md §6); signed with the page. Absent from an
// older server's page (it sends the cells after `after`).
inline constexpr const char* kPullSinceHeader = "X-KBO-Pull-Since";
// On a pull page asked for with ?left=1 by a server that marks departures
// (docs/protocol.md §6, "A row that left"): "1", and the page's signature
// then covers its kDeviceDistrictsHeader too, by which the client tells a
// departure marker from a row of its own districts.
inline constexpr const char* kDeparturesHeader = "X-KBO-Departures";
// On a pull page: the last change set of this device the server holds. A
// hint, not signed: a device that has more confirmed sends them again (the
// server checks them as any push), so a forged value costs only traffic.
inline constexpr const char* kDeviceLastSeqHeader = "X-KBO-Device-Last-Seq";
// On the last pull page: the server's sequence epoch, next_seq / 2^32, which
// grows by one each time the server starts on a database restored from a
// backup (its sequences jump ahead by 2^32; docs/operations.md). Absent
// while 0, and from an older server. A device that sees it change asks
// which of its uploaded photos the server lacks (the restore may have lost
// them with blobs/) and sends those again. A hint, not signed: a forged
// one costs one GET of the (signed-request, scoped) list.
inline constexpr const char* kSeqEpochHeader = "X-KBO-Seq-Epoch";
inline constexpr unsigned kSeqEpochShift = 32;
// On pull pages: the device's districts as the server holds them now ("all"
// or "5009,5011"), so a device granted more (kbo-server device grant)
// records in them too. Advisory: the server checks every row it receives.
inline constexpr const char* kDeviceDistrictsHeader = "X-KBO-Device-Districts";
// Compressed bodies (shared/compression.h). Standard HTTP header names; the
// only coding is "zstd" (compression::kZstd).
inline constexpr const char* kContentEncodingHeader = "Content-Encoding";
inline constexpr const char* kAcceptEncodingHeader = "Accept-Encoding";
// Blob chunk header: SHA-256 hex of the chunk's bytes.
inline constexpr const char* kChunkHashHeader = "X-KBO-Chunk-Sha256";

// Limits (server-enforced; the client stays within them).
// A request's clock may differ from the server's by at most this. 5 minutes.
inline constexpr int64_t kRequestWindowMs = 5 * 60 * 1000;
// A row pushed over the network may be stamped at most this far past the
// server's clock: one hour (clock_ahead; the device re-dates and pushes
// again, docs/protocol.md "A device clock that ran ahead"). Every hlc
// observes the rows it pulls, so a phone whose date was wrong while it
// recorded (a time zone set to UTC is 7 hours) would otherwise move every
// device's clock as far ahead, and its old edits would beat later ones. A
// bundle, which cannot be re-dated once written, is held to the clock's own
// bound (HybridClock::kDefaultMaxSkewMs, 24 hours); the hour then counts
// from the newest stamp such a bundle brought, which the devices that pull
// it stamp after (docs/protocol.md, "A bundle stamped ahead").
inline constexpr int64_t kMaxRowAheadMs = 60 * 60 * 1000;
// Push body (signature + change set). 16 MiB. A zstd push body is held to
// it twice: as sent, and decompressed.
inline constexpr size_t kMaxPushBytes = size_t{16} << 20;
// One blob chunk. 1 MiB: small enough to resume cheaply on a rural link.
inline constexpr size_t kBlobChunkBytes = size_t{1} << 20;
// The largest photo a server takes (413 too_large past it): a device refuses
// to record a photo sent as taken that is larger, and sets aside one the
// server refused (an older device's).
inline constexpr uint64_t kMaxBlobBytes = uint64_t{64} << 20;
// Any other request body (JSON). 64 KiB.
inline constexpr size_t kMaxJsonBytes = 64 << 10;
// Row changes per pull page: default and cap.
inline constexpr int kDefaultPullLimit = 2000;
inline constexpr int kMaxPullLimit = 5000;
// A device whose clock is off by more than this is flagged in `device list`.
inline constexpr int64_t kClockFlagMs = 10 * 60 * 1000;

// Back-pressure. A write that waited this long for the writer (other
// devices' merges ahead of it) is refused with 503, reason kbo::kBusyReason (shared/status.h), a
// Retry-After header and field::kRetryAfterS; nothing was stored. Well under
// the client's 30 s read timeout, so the device hears "busy", not silence.
inline constexpr int64_t kDefaultMaxWriteWaitMs = 15 * 1000;
// The longest wait a server asks for, and the longest a client honours.
inline constexpr int64_t kMaxRetryAfterS = 120;

// The string a device signs (domain kRequestDomain) for one request:
//   METHOD "\n" PATH_WITH_QUERY "\n" TIME_MS "\n" NONCE "\n" hex(SHA-256(body))
std::string CanonicalRequest(std::string_view method, std::string_view path_with_query,
                             int64_t time_ms, std::string_view nonce,
                             std::string_view body);

// A push body: the device's detached signature (64 bytes) followed by the
// encoded change set, so the server keeps exactly what was signed.
std::string EncodePushBody(const Signature& signature, std::string_view change_set);
// kCorruption if shorter than a signature.
Status DecodePushBody(std::string_view body, Signature* signature,
                      std::string_view* change_set);

// The receipt the server signs (domain kReceiptDomain) for an accepted
// change set; the client verifies it with the pinned server key before it
// marks the change set acknowledged.
// A row change of an accepted change set that the server did not apply
// (DESIGN §6): the rest of the set was applied, this one is kept verbatim in
// the server's log for the office and shown on the device for a person to
// fix or delete. It never blocks the device's later sets.
// RefusedRow::reason of a row change the server keeps until a row it does
// not hold arrives (a restored server meeting the row again; a reference to
// a row not sent yet), then applies as sent (docs/protocol.md §5).
inline constexpr const char* kWaitsForRowReason = "waits_for_row";
// A request whose body ended before its Content-Length (the connection cut,
// or half-closed by the network, while it was sent): 400 with this reason;
// nothing of it was used. Not a refusal: the device sends it again.
inline constexpr const char* kIncompleteBodyReason = "incomplete_body";

struct RefusedRow {
  uint64_t index = 0;      // position of the row change in the set, from 0
  std::string entity;
  std::string row_id;
  std::string reason;      // stable code: out_of_scope, role, missing_column,
                           // unknown_reference, derived_id, invalid_value,
                           // clock_behind, follows_refused, ...
  std::string message;     // for a person
};

struct Receipt {
  std::string device_id;
  uint64_t seq = 0;
  std::string hash;          // hex SHA-256 of the change set bytes
  uint64_t first_server_seq = 0;
  uint64_t last_server_seq = 0;
  uint64_t rows = 0;
  uint64_t conflicts = 0;
  std::string received_at;   // ISO 8601 UTC
  std::vector<RefusedRow> refused;  // in index order; `rows` counts the rest
  // Issue 9: the rows the server holds of the refused edits and deletes (in
  // the device's districts), whole, as an encoded ChangeSet like a pull page
  // (device nil, seq 0, each cell's base its server sequence): the device
  // puts its copy back to them. Raw bytes; hex in the JSON ("server_rows"),
  // signed by "rows_signature" over ReceiptRowsMessage. Empty: none.
  std::string server_rows;
};
// Whether each refusal of `refused` (a receipt's, for set `cs`) was made good
// in the same set: a later row change of the same row was accepted and
// writes every column the refused one wrote (a device sends a refused row
// whole with its fix, and a person may save twice before a sync: the first
// save still wrong, the second right). Such a refusal settles with the set
// on both sides; one whose columns were not all written again stays open,
// so nothing typed is lost. Same order as `refused`.
std::vector<bool> RefusalsMadeGoodInSet(const ChangeSet& cs,
                                        const std::vector<RefusedRow>& refused);

// Caps the server_rows of one receipt (encoded bytes): a client reads a push
// answer up to 4 MiB. Rows beyond it are left out (docs/protocol.md).
inline constexpr size_t kMaxReceiptServerRowsBytes = size_t{1} << 20;
// "kbo-receipt-v1\n" device "\n" seq "\n" hash "\n" first "\n" last "\n"
// rows "\n" conflicts "\n" received_at, then for each refused row
//   "\nrefused " index " " hex(SHA-256(len ":" entity len ":" row_id
//                                     len ":" reason len ":" message))
// (nothing more when none was refused: a receipt without refusals reads as
// it always has).
std::string ReceiptMessage(const Receipt& r);
// What "rows_signature" signs (domain kReceiptDomain) when server_rows is not
// empty: "kbo-receipt-rows-v1\n" ReceiptMessage(r) "\n"
// hex(SHA-256(server_rows)). A second signature, so that the receipt's own
// signature (and so every older client, which ignores the new fields) is
// unchanged; its first line is never a ReceiptMessage's.
std::string ReceiptRowsMessage(const Receipt& r);

// The message the server signs (domain kPullPageDomain) for one pull page:
//   device "\n" after "\n" next_cursor "\n" more(0|1) "\n" hex(SHA-256(body))
// and, when the device asked with `since` (kPullSinceHeader), "\n" "since "
// since after it, so a page built for one `since` cannot stand in for
// another. In a pull page (an encoded ChangeSet with device = nil, seq = 0),
// each cell's `base` carries the server sequence of that cell's current
// value. A page that marks departures (kDeparturesHeader) ends with "\n"
// "districts " and the device's districts as kDeviceDistrictsHeader says
// them (`districts`).
std::string PullPageMessage(std::string_view device_id, uint64_t after,
                            uint64_t next_cursor, bool more, std::string_view body,
                            std::optional<uint64_t> since = std::nullopt,
                            std::optional<std::string_view> districts = std::nullopt);

// The same for the JSON conflicts list (domain kPullPageDomain):
//   device "\n" "conflicts" "\n" after "\n" hex(SHA-256(body))
std::string ConflictsMessage(std::string_view device_id, uint64_t after,
                             std::string_view body);

// A bundle file (kbo bundle export / kbo-server bundle import):
//   "KBOBUNDLE1\n" then records: kind:u8 len:u32le bytes[len]
//   kind 1 = push body (signature + change set), kind 2 = blob (64 hex
//   sha256 + bytes). Records are independent; import applies each through
//   the same checks as a push, idempotently.
inline constexpr std::string_view kBundleMagic = "KBOBUNDLE1\n";

}  // namespace kbo::protocol

#endif  // KBO_SHARED_PROTOCOL_H_
