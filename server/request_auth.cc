#include "server/request_auth.h"

#include <string>

#include "server/storage/devices.h"
#include "shared/protocol.h"
#include "shared/signing.h"

namespace kbo::server {
namespace {

// Pruning more often than this buys nothing: the window is minutes long.
constexpr int64_t kPruneEveryMs = 60 * 1000;

bool IsHexDigits(std::string_view s) {
  for (char c : s) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

// Decimal int64, optionally negative; no spaces, no '+'. At most 18 digits,
// so the value can neither overflow nor wrap (a year 30000 time still fits).
bool ParseMillis(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
    if (s.empty()) return false;
  }
  if (s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = negative ? -v : v;
  return true;
}

// An offset in words, rounded to the nearest unit (a clock 3 days ahead
// less a few milliseconds of latency is "3 days", not "2 days").
std::string Minutes(int64_t ms) {
  const int64_t abs_ms = ms < 0 ? -ms : ms;
  auto rounded = [abs_ms](int64_t unit) { return (abs_ms + unit / 2) / unit; };
  if (abs_ms < 120 * 1000) return std::to_string(rounded(1000)) + " seconds";
  if (abs_ms < 2LL * 3600 * 1000) return std::to_string(rounded(60000)) + " minutes";
  if (abs_ms < 48LL * 3600 * 1000) return std::to_string(rounded(3600 * 1000)) + " hours";
  return std::to_string(rounded(24LL * 3600 * 1000)) + " days";
}

// One answer for an unknown device and for a signature that does not
// verify, so a stranger cannot learn which device ids are enrolled.
Status NotVerified() {
  return Status::Unauthenticated(
      "the request could not be verified: this device is not enrolled on "
      "this server, or its signature does not match its enrolled key");
}

// A key no device holds: an unknown device's request is checked against it,
// so that both refusals above also take the same time.
const PublicKey& NobodysKey() {
  static const PublicKey key = KeyPair::Generate().public_key();
  return key;
}

}  // namespace

Result<DeviceRecord> RequestAuth::Authenticate(const SignedRequest& request) {
  const auto missing = [](const char* header) {
    return Status::Unauthenticated(std::string("the request has no valid ") +
                                   header +
                                   " header; is this device enrolled?");
  };
  Result<Uuid> device_id = Uuid::Parse(request.device);
  if (request.device.empty() || !device_id.ok()) {
    return missing(protocol::kDeviceHeader);
  }
  int64_t time_ms = 0;
  if (!ParseMillis(request.time, &time_ms))
    return missing(protocol::kTimeHeader);
  if (request.nonce.size() != 32 || !IsHexDigits(request.nonce)) {
    return missing(protocol::kNonceHeader);
  }
  Result<Signature> signature = SignatureFromHex(request.signature);
  if (!signature.ok()) return missing(protocol::kSignatureHeader);

  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  Result<std::optional<DeviceRecord>> loaded = LoadDevice(db, *device_id);
  if (!loaded.ok()) return loaded.status();
  const std::string canonical =
      protocol::CanonicalRequest(request.method, request.path_with_query,
                                 time_ms, request.nonce, request.body);
  if (!loaded->has_value()) {
    (void)Verify(NobodysKey(), kRequestDomain, canonical, *signature);
    return NotVerified();
  }
  DeviceRecord device = std::move(**loaded);
  if (!Verify(device.public_key, kRequestDomain, canonical, *signature)) {
    return NotVerified();
  }
  if (device.revoked()) {
    return Status::PermissionDenied("device " + device.id.ToString() +
                                    " was revoked on " + device.revoked_at +
                                    "; ask the central office")
        .WithReason("revoked");
  }

  const int64_t now = store_.NowMillis();
  const int64_t offset = time_ms - now;
  // The device's own clock, for the office to see: a device that signs by
  // the server's clock (its own minutes off) says by how much it moved it.
  // Unsigned, bounded, and read for nothing else.
  int64_t adjust = 0;
  if (int64_t said = 0; !request.clock_adjust.empty() &&
                        ParseMillis(request.clock_adjust, &said) &&
                        said <= protocol::kMaxRowAheadMs &&
                        said >= -protocol::kMaxRowAheadMs) {
    adjust = said;
  }
  const int64_t own_offset = offset - adjust;
  if (Status s = storage::Devices(db).NoteSeen(device.id.ToString(), own_offset,
                                               FormatIsoUtc(now));
      !s.ok()) {
    return s;
  }
  device.clock_offset_ms = own_offset;
  device.last_seen_at = FormatIsoUtc(now);
  if (offset > protocol::kRequestWindowMs ||
      offset < -protocol::kRequestWindowMs) {
    // Keep the offset for `device list`: it is why this device cannot sync.
    if (Status s = txn.Commit(); !s.ok()) return s;
    return Status::Unauthenticated("this device's clock is " + Minutes(offset) +
                                   (offset > 0 ? " ahead of" : " behind") +
                                   " the server's; set the device's date, time "
                                   "and time zone correctly "
                                   "(automatic time is best) and sync again")
        .WithReason("clock_skew")
        .With(field::kServerMs, now);
  }

  storage::Nonces nonces(db);
  {
    Result<bool> fresh = nonces.Insert(device.id.ToString(), request.nonce, now);
    if (!fresh.ok()) return fresh.status();
    if (!*fresh) {
      return Status::Unauthenticated(
                 "this request was already received once (a replayed "
                 "nonce); nothing was done")
          .WithReason("replay");
    }
  }
  if (now - last_prune_ms_ >= kPruneEveryMs || now < last_prune_ms_) {
    if (Status s = nonces.PruneBefore(now - 2 * protocol::kRequestWindowMs);
        !s.ok()) {
      return s;
    }
    last_prune_ms_ = now;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return device;
}

}  // namespace kbo::server
