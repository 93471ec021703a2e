#ifndef KBO_SERVER_ENROLMENT_H_
#define KBO_SERVER_ENROLMENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/server_store.h"
#include "shared/change_set.h"
#include "shared/district_scope.h"
#include "shared/result.h"
#include "shared/signing.h"
#include "shared/uuid.h"
#include "shared/wire.h"

namespace kbo::server {

// The roles of DESIGN §1, as written in tokens and on devices.
inline constexpr std::string_view kRoles[] = {"field_officer", "trainer",
                                              "central_office"};
bool IsRole(std::string_view role);

// The districts a device may read and write (shared/district_scope.h).
using Scope = DistrictScope;

// A device as the server knows it (table `device`).
struct DeviceRecord {
  Uuid id;
  PublicKey public_key;
  std::string role;
  Scope scope;
  // For people: "สมชาย · Phrao · Samsung A14", taken from its token when it
  // enrolled (a later token with a label replaces it); may be empty.
  std::string label;
  std::string enrolled_at;
  std::string revoked_at;    // empty unless revoked
  uint64_t last_seq = 0;     // last accepted change set
  Sha256Digest last_hash{};  // its hash; zero before the first
  std::string last_seen_at;  // last authenticated request; may be empty
  std::optional<int64_t> clock_offset_ms;  // device clock - server clock
  // Nonzero (the sequence taken when it was granted districts) until the
  // device next pulls from 0: until then a pull from a cursor is answered
  // pull_restart (PullService).
  uint64_t grant_seq = 0;
  // The highest pull cursor this server has handed the device (a page's
  // next cursor); nullopt before its first pull on a server that records it.
  // A device pulling after it was served by a server since restored from a
  // backup: PullService sends it back here.
  std::optional<uint64_t> served_seq;

  bool revoked() const { return !revoked_at.empty(); }
  // |clock offset| > protocol::kClockFlagMs.
  bool clock_off() const;
};

// Token and device labels: at most this many bytes of UTF-8, no control
// characters (they are shown in pages, terminals and the audit log).
inline constexpr size_t kMaxLabelBytes = 200;
// Trims spaces around `label`; kInvalidArgument if it is not valid UTF-8,
// holds a control character or is longer than kMaxLabelBytes.
Result<std::string> CleanLabel(std::string_view label);

// A token not yet used, expired or cancelled, as the office sees it (the
// token itself is never stored, so never shown again).
struct TokenInfo {
  std::string id;  // the first 12 hex digits of the token's SHA-256
  std::string role;
  Scope scope;
  std::string label;
  std::string created_at;  // ISO 8601 UTC
  std::string expires_at;
  // CancelToken: when it had been cancelled before ("" if this call did);
  // then nothing was written.
  std::string already_cancelled_at;
};
// Hex digits of a token's id (a prefix of its SHA-256), as TokenInfo::id.
inline constexpr size_t kTokenIdHexDigits = 12;
// The id TokenInfo names `token` by.
std::string TokenId(std::string_view token);

// Loads one device. nullopt if unknown; kCorruption if its row is damaged.
Result<std::optional<DeviceRecord>> LoadDevice(Db& db, const Uuid& id);

// POST /v1/enroll, as parsed from its JSON body.
// POST /v1/enroll's body: one parser, wire::ParseEnrollRequest.
using EnrollRequest = wire::EnrollRequest;

struct EnrollReply {
  Uuid device_id;
  std::string role;
  Scope scope;
  Uuid server_id;
  PublicKey server_public_key;
};
// wire::EncodeEnrollReply: {"device_id", "role", "districts": [codes] or
// ["all"], "server_id", "server_public_key" (hex), "protocol": 1}
std::string EnrollReplyJson(const EnrollReply& reply);

// Parses a token lifetime: a positive whole number with a unit, "90s",
// "30m", "24h", "7d"; at most 30 days. kInvalidArgument otherwise.
Result<int64_t> ParseTtl(std::string_view text);

// Enrolment tokens and the device registry (DESIGN §6). Not thread-safe
// (see ServerStore).
class Enrolment {
 public:
  // Tokens live 24 h unless told otherwise.
  static constexpr int64_t kDefaultTtlMs = 24LL * 3600 * 1000;

  explicit Enrolment(ServerStore& store) : store_(store) {}
  Enrolment(const Enrolment&) = delete;
  Enrolment& operator=(const Enrolment&) = delete;

  // CreateToken's checks of its arguments alone (nothing read or written):
  // a command checks them before it opens, or makes, a server.
  static Status CheckTokenRequest(std::string_view role, std::string_view districts,
                                  int64_t ttl_ms, std::string_view label);
  // Makes a one-time token bound to `role` and `districts` ("all" or codes),
  // expiring `ttl_ms` from now, labelled `label` (see CleanLabel; the device
  // that enrols with it takes the label), and returns it (64 hex digits).
  // Only its SHA-256 is stored. kInvalidArgument for an unknown role or
  // district or a bad label.
  Result<std::string> CreateToken(std::string_view role,
                                  std::string_view districts, int64_t ttl_ms,
                                  std::string_view label = {});

  // Tokens not yet used, not expired and not cancelled, newest first.
  Result<std::vector<TokenInfo>> ListTokens();

  // Cancels a token named by its id or a unique prefix of it (at least 6
  // hex digits): from now on it enrols no device (Enroll refuses it like an
  // expired one). Returns the token as it was. kInvalidArgument for a
  // malformed or ambiguous prefix, kNotFound if no token has it,
  // kFailedPrecondition if it was already used (revoke the device instead).
  // Cancelling twice, or an expired token, keeps the first cancellation.
  Result<TokenInfo> CancelToken(std::string_view id_prefix);

  // Redeems a token for a device, in one transaction:
  //   kUnauthenticated: the token is unknown, expired, cancelled or already
  //     used (by another device, or by this device with another key);
  //   kAlreadyExists (reason "device_exists"): the device id is enrolled with
  //     another key, or the key belongs to another device;
  //   kPermissionDenied (reason "revoked"): the device was revoked.
  // Asking again with the same token, device and key after a lost answer
  // returns the same reply (idempotent). A device already enrolled with the
  // same key may redeem a NEW token to change its role and districts.
  // Records the device's clock offset when `clock_ms` is given. The device
  // takes the token's label (unless the token has none).
  Result<EnrollReply> Enroll(const EnrollRequest& request);

  // Every device, in enrolment order.
  Result<std::vector<DeviceRecord>> ListDevices();

  // Revokes a device: from now on every request it signs is refused (403)
  // and bundles it signed are refused. kNotFound if unknown; revoking twice
  // keeps the first time.
  Status Revoke(std::string_view device_id);

  // Sets a device's label (see CleanLabel). kNotFound if unknown,
  // kInvalidArgument for a bad id or label.
  Status SetLabel(std::string_view device_id, std::string_view label);

  // Adds `districts` ("5009,5011" or "all") to a device's scope. Its next
  // pull starts again from 0 (a pull from a cursor is answered 409
  // pull_restart until it does), so the rows of the new districts reach it
  // whole, with every cell's version; pull pages tell it its districts.
  // Granting what it already has changes nothing (`*changed` false, if
  // given). Returns the new scope. kNotFound for an unknown device,
  // kInvalidArgument for an unknown district code, kFailedPrecondition for
  // a revoked device.
  Result<Scope> Grant(std::string_view device_id, std::string_view districts,
                      bool* changed = nullptr);

 private:
  ServerStore& store_;
};

}  // namespace kbo::server

#endif  // KBO_SERVER_ENROLMENT_H_
