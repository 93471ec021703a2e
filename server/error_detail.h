#ifndef KBO_SERVER_ERROR_DETAIL_H_
#define KBO_SERVER_ERROR_DETAIL_H_

#include <cstdint>
#include <optional>
#include <string>

namespace kbo::server {

// What a service adds to a refused request beyond its Status, so a client can
// act on it. Services fill it (when given a non-null pointer) only on the
// error paths that need it; server/http_api.cc turns it into the JSON body
//   {"error": reason or CodeName(code), "message": ..., "expected": N, ...}
// and picks the HTTP status from the Status code (docs/protocol.md).
struct ErrorDetail {
  // A stable machine-readable reason more precise than CodeName(code), e.g.
  // "replay", "revoked", "sequence_conflict", "offset_mismatch". Empty: use
  // CodeName(code).
  std::string reason;
  // sequence_gap: the change set sequence the server expects next.
  std::optional<uint64_t> expected;
  // offset_mismatch: the bytes of the blob the server holds.
  std::optional<uint64_t> received;
  // clock_ahead, clock_skew: the server's clock (Unix ms), so a device can
  // tell whether its own clock is still wrong (client/clock_repair.h).
  std::optional<int64_t> server_ms;
};

// Sets `detail->reason` if `detail` is non-null; returns `status` unchanged.
// For one-line refusals: return Refuse(detail, "replay", Status::...(...));
template <typename S>
S Refuse(ErrorDetail* detail, const char* reason, S status) {
  if (detail != nullptr) detail->reason = reason;
  return status;
}

}  // namespace kbo::server

#endif  // KBO_SERVER_ERROR_DETAIL_H_
