#ifndef KBO_SHARED_WIRE_H_
#define KBO_SHARED_WIRE_H_

// The sync protocol's JSON messages, each with ONE encoder and ONE parser,
// used by kbo-server (which encodes them), kbo (which parses them) and the
// tests' fake servers and clients (docs/protocol.md names each message's
// section; shared/protocol.h holds the paths, headers, limits and the
// strings that are signed).
//
// Encoders write the bytes the server has always sent (nlohmann's dump:
// object keys in sorted order, no spaces); tests/shared/wire_test.cc pins
// each one with a fixed vector, and checks the parsers against the
// examples in docs/protocol.md.
//
// Parsers take untrusted bytes: every string, list and number is bounded,
// a missing field or one of the wrong type is refused with a Status naming
// the message and the field, and nothing throws. An answer (server -> kbo)
// is refused with kCorruption; a request (kbo -> server) with
// kInvalidArgument, which the server answers 400 invalid_argument as it
// always has.
//
// No aliases: kbo once also read "column" for "column_name", "server_seq"
// for "feed_seq", "next_cursor" for "next", a bare array for a conflicts
// page, a receipt without its "receipt" object, its signature inside it,
// numbers written as strings, and "districts" as one comma-separated
// string. No kbo-server ever sent any of them (its first version already
// sent the forms below), so they are refused now.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/change_set.h"
#include "shared/change_set_codec.h"
#include "shared/protocol.h"
#include "shared/result.h"
#include "shared/signing.h"
#include "shared/uuid.h"

namespace kbo::wire {

// Bounds on what a parser accepts (each answer is also read through a
// capped receiver: client/sync_client.cc).
// A uuid, hash, hlc, time, code, role or name.
inline constexpr size_t kMaxShortText = 256;
// A message for a person (a refused row's).
inline constexpr size_t kMaxMessageText = 16 << 10;
// A value's display text in a conflict record, or a resolution's reason
// (a text or blob value is at most 64 KiB; a blob shows as hex).
inline constexpr size_t kMaxValueText = 256 << 10;
// Refused rows in one receipt (a change set holds at most 50,000 rows).
inline constexpr size_t kMaxRefusedRows = 100000;
// Conflict records in one page (the server sends at most kMaxPullLimit).
inline constexpr size_t kMaxConflictsPerPage = 20000;
// Districts in an enrolment answer; blobs in a /v1/blobs/missing answer
// (the server lists at most 1000).
inline constexpr size_t kMaxDistricts = 1000;
inline constexpr size_t kMaxMissingBlobs = 10000;

// ---- Enrolment (docs/protocol.md §4) -------------------------------------

// POST /v1/enroll
//   {"clock_ms":1710036000000,"device_id":"<uuid>","public_key":"<64 hex>",
//    "token":"<64 hex>",
//    "predecessor":{"device_id":"<uuid>","signature":"<128 hex>"}}
//                                      (clock_ms and predecessor optional)
// The identity a device leaves for this one (revoked, or forked from a
// backup: MoveToNewDevice), proved by its key's signature over
// SuccessorMessage: the server lets this one send what that one took
// (the originals of its photos).
struct EnrollPredecessor {
  Uuid device_id;
  Signature signature{};
};
struct EnrollRequest {
  std::string token;  // 64 hex digits, as printed by `token create`
  Uuid device_id;
  PublicKey public_key;
  std::optional<int64_t> clock_ms;  // the device's clock when it asked
  std::optional<EnrollPredecessor> predecessor;
};
// What a predecessor signs (domain kSuccessorDomain):
//   old device id "\n" new device id "\n" new public key (64 hex)
inline constexpr std::string_view kSuccessorDomain = "kbo/successor/v1";
std::string SuccessorMessage(const Uuid& old_device, const Uuid& new_device,
                             const PublicKey& new_key);
// kInvalidArgument if the token is not UTF-8 text (a person typed it).
Result<std::string> EncodeEnrollRequest(const EnrollRequest& r);
// kInvalidArgument naming the field that is missing or malformed: the token
// must be 64 hex digits, device_id a uuid other than nil, public_key 64 hex.
Result<EnrollRequest> ParseEnrollRequest(std::string_view json_text);

// 200 {"device_id":"<uuid>","districts":["5011","5009"] | ["all"],
//      "protocol":1,"role":"trainer","server_id":"<uuid>",
//      "server_public_key":"<64 hex>"}
struct EnrollReply {
  Uuid device_id;
  std::string role;
  std::vector<std::string> districts;  // {"all"}, or district codes
  Uuid server_id;
  PublicKey server_public_key;
  int64_t protocol = protocol::kVersion;
};
std::string EncodeEnrollReply(const EnrollReply& r);
// kCorruption naming the field: all six are required, role and districts
// not empty (the parser does not judge district codes: kbo does).
Result<EnrollReply> ParseEnrollReply(std::string_view json_text);

// ---- Push receipt (docs/protocol.md §5) ----------------------------------

// 200 {"receipt":{"conflicts":0,"device_id":"<uuid>",
//                 "first_server_seq":1201,"hash":"<64 hex>",
//                 "last_server_seq":1300,"received_at":"...",
//                 "refused":[{"entity","index","message","reason","row_id"}],
//                 "rows":99,"seq":7,"server_rows":"<hex>"},
//      "rows_signature":"<128 hex>","signature":"<128 hex>"}
// "refused" only when a row was refused; "server_rows" and
// "rows_signature" only when Receipt::server_rows is not empty.
struct ReceiptAnswer {
  protocol::Receipt receipt;
  Signature signature{};                   // over ReceiptMessage
  std::optional<Signature> rows_signature; // over ReceiptRowsMessage
};
// The server's answer to an accepted change set, signed with its key
// (kReceiptDomain): `rows_signature` iff receipt.server_rows is not empty.
ReceiptAnswer SignReceipt(const KeyPair& server_key, protocol::Receipt receipt);
// Invalid UTF-8 in a refused row's text is replaced (U+FFFD), never thrown.
std::string EncodeReceiptAnswer(const ReceiptAnswer& a);
// kCorruption naming the field. Checks shape and bounds only (server_rows at
// most kMaxReceiptServerRowsBytes, and signed when present): the caller
// verifies the signatures with the key it pinned.
Result<ReceiptAnswer> ParseReceiptAnswer(std::string_view json_text);

// ---- Pull page body (docs/protocol.md §6) --------------------------------

// A pull page's body, and a receipt's server_rows: an encoded ChangeSet
// with device nil and seq 0, each cell's base the server sequence of its
// value.
std::string EncodePullPage(uint16_t schema_version, std::vector<RowChange> rows);
// DecodeChangeSet's limits, then kCorruption if the device is not nil or
// the seq not 0 (it would be a device's change set, not the server's rows).
Result<ChangeSet> DecodePullPage(std::string_view bytes,
                                 const DecodeLimits& limits);

// ---- Conflict record and the conflicts feed (docs/protocol.md §7) ------

// One record, keys as the server's conflict table. Text that the record
// may hold as null is optional here (nullopt <-> null).
struct ConflictRecord {
  std::string id;
  std::string entity;
  std::string row_id;
  std::string column_name;
  std::optional<std::string> district_code;
  std::optional<std::string> current_value;  // display text; null for null
  std::string current_type;  // null, integer, real, text, blob
  std::string current_device;
  std::string current_hlc;
  std::string current_time;  // ISO 8601 of current_hlc; "" if it has none
  uint64_t current_seq = 0;
  std::optional<std::string> incoming_value;
  std::string incoming_type;
  std::string incoming_device;
  std::string incoming_hlc;
  std::string incoming_time;
  uint64_t incoming_base = 0;
  uint64_t incoming_seq = 0;
  std::string winner;  // "current" or "incoming"
  std::string detected_at;
  bool resolved = false;
  // Set once resolved (null while open).
  std::optional<std::string> resolved_at;
  std::optional<std::string> resolved_value;
  std::optional<uint64_t> resolution_seq;
  std::optional<std::string> resolved_by;        // "cli" or "user:LOGIN"
  std::optional<std::string> resolution_reason;
  uint64_t feed_seq = 0;
};
// One object (also the console's /conflicts/<id>?api=1 and `kbo-server
// conflicts list --json`). Invalid UTF-8 is replaced, never thrown.
std::string EncodeConflict(const ConflictRecord& c);
// kCorruption naming the field. id, entity, row_id, column_name and
// feed_seq are required; the rest (a record of an older server has no
// resolved_by or resolution_reason) may be absent, and when present must
// be of their type (text fields: a string, or null where it may be null).
Result<ConflictRecord> ParseConflict(std::string_view json_text);

// GET /v1/conflicts: {"conflicts":[record,...],"next":N,"more":false}
struct ConflictsPage {
  std::vector<ConflictRecord> conflicts;
  uint64_t next = 0;  // the largest feed_seq in it; `after` if none
  bool more = false;
};
std::string EncodeConflictsPage(const ConflictsPage& page);
// kCorruption naming the field (a record's as "conflicts[i].field").
Result<ConflictsPage> ParseConflictsPage(std::string_view json_text);

// ---- Blob state (docs/protocol.md §8) ------------------------------------

// GET /v1/blobs/<sha256> and PUT's 200:
//   {"complete":false,"received":R,"sha256":"<64 hex>","total":T}
struct BlobState {
  std::string sha256;
  uint64_t received = 0;  // bytes held (== total once complete)
  uint64_t total = 0;     // 0 if the server has never heard of it
  bool complete = false;
};
std::string EncodeBlobState(const BlobState& s);
// kCorruption naming the field; all four required, received <= total.
Result<BlobState> ParseBlobState(std::string_view json_text);

// GET /v1/blobs/missing: {"missing":["<sha256>",...]}
std::string EncodeMissingBlobs(const std::vector<std::string>& sha256s);
// kCorruption naming the field; each entry 64 lowercase hex digits.
Result<std::vector<std::string>> ParseMissingBlobs(std::string_view json_text);

// ---- Originals on request (docs/protocol.md §8) ---------------------------

// POST /v1/photos/originals: the device that took photo row `photo_id`
// says which original its upload copy was made from,
//   {"bytes":B,"mime":"image/jpeg","photo_id":"<uuid>",
//    "sha256":"<64 hex>","upload_sha256":"<64 hex>"}
// 200: the original's BlobState (what the server holds of it);
// or that it keeps none (the office asked for one it cannot send),
//   {"declined":"no_original","photo_id":"<uuid>"}
// 200: {"declined":true}.
struct OriginalNotice {
  Uuid photo_id;              // a photo row this device took
  std::string upload_sha256;  // the copy's sha256 (the row's sha256)
  std::string sha256;         // the original's
  uint64_t bytes = 0;         // the original's size, 1 to kMaxOriginalBytes
  std::string mime;           // the original's: image/jpeg or image/png
  // Set instead of the four above: why there is no original to send
  // (kDeclineReasons).
  std::string declined;
};
// A photo row's bytes are at most 2 GiB (the catalogue's photo.bytes).
inline constexpr uint64_t kMaxOriginalBytes = uint64_t{2} << 30;
// "no_original": this device keeps no original of the photo (recorded
// before originals were kept, in the phone app of an older version, or on
// another device); "missing": it should, but the file is gone.
inline constexpr const char* kDeclineReasons[] = {"no_original", "missing"};
std::string EncodeOriginalNotice(const OriginalNotice& n);
// kInvalidArgument naming the field: a uuid; then either hashes of 64
// lowercase hex digits, bytes from 1 to kMaxOriginalBytes, mime image/jpeg
// or image/png, or one of kDeclineReasons and none of those.
Result<OriginalNotice> ParseOriginalNotice(std::string_view json_text);

// GET /v1/photos/originals: the photo rows whose originals the office asked
// this device for, and the server does not hold whole yet.
//   {"requested":["<photo uuid>",...]}
std::string EncodeOriginalRequests(const std::vector<Uuid>& photo_ids);
// kCorruption naming the field; each entry a uuid, at most
// kMaxMissingBlobs of them.
Result<std::vector<Uuid>> ParseOriginalRequests(std::string_view json_text);

// ---- Thumbnails in one request (docs/protocol.md §8) ----------------------

// POST /v1/thumbs (signed): {"sha256":["<64 hex>",...]}, 1 to
// protocol::kThumbsPerRequest distinct photos.
std::string EncodeThumbsRequest(const std::vector<std::string>& sha256s);
// kInvalidArgument naming the field (the server's parse of a device's body).
Result<std::vector<std::string>> ParseThumbsRequest(std::string_view json_text);

// The answer (200, protocol::kThumbsMime): the magic "KBOTHUMB1", then one
// entry per photo asked for, in the order asked: a state byte, and for
// kThumb a 32-bit little-endian length (at most protocol::kMaxThumbBytes)
// and the JPEG's bytes.
enum class ThumbState : uint8_t {
  kThumb = 0,        // the thumbnail follows
  kNone = 1,         // the server will never have one (corrupt, too large)
  kNotUploaded = 2,  // the photo has not reached the server yet
  kNotHere = 3,      // no photo in this device's districts names it
  kLater = 4,        // not in this answer (its bytes were full): ask again
};
struct ThumbAnswer {
  ThumbState state = ThumbState::kLater;
  std::string jpeg;  // kThumb only
};
std::string EncodeThumbs(const std::vector<ThumbAnswer>& answers);
// kCorruption naming what is wrong: not `count` entries, an unknown state,
// a length over the cap or past the end, bytes left over.
Result<std::vector<ThumbAnswer>> ParseThumbs(std::string_view bytes, size_t count);

}  // namespace kbo::wire

#endif  // KBO_SHARED_WIRE_H_
