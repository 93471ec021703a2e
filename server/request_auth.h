#ifndef KBO_SERVER_REQUEST_AUTH_H_
#define KBO_SERVER_REQUEST_AUTH_H_

#include <cstdint>
#include <string_view>

#include "server/enrolment.h"
#include "server/server_store.h"
#include "shared/result.h"

namespace kbo::server {

// One request as it arrived, with its authentication headers (empty when
// absent). No HTTP types: server/http_api.cc fills it.
struct SignedRequest {
  std::string_view method;           // "GET", "POST", "PUT"
  std::string_view path_with_query;  // the request target exactly as sent
  std::string_view device;           // X-KBO-Device
  std::string_view time;             // X-KBO-Time (unix ms)
  std::string_view nonce;            // X-KBO-Nonce (32 hex digits)
  std::string_view signature;        // X-KBO-Signature (128 hex digits)
  std::string_view body;
  std::string_view clock_adjust = {};  // X-KBO-Clock-Adjust (ms; may be empty)
};

// Verifies the signature a device puts on every /v1 request except enroll
// and health (docs/protocol.md "Signed requests"): Ed25519 by the device's
// enrolled key over protocol::CanonicalRequest with kRequestDomain. Not
// thread-safe (see ServerStore).
class RequestAuth {
 public:
  explicit RequestAuth(ServerStore& store) : store_(store) {}
  RequestAuth(const RequestAuth&) = delete;
  RequestAuth& operator=(const RequestAuth&) = delete;

  // Returns the device that signed `request`. In order:
  //   kUnauthenticated: a header missing or malformed, an unknown device, a
  //     signature that does not verify;
  //   kPermissionDenied (reason "revoked"): the device was revoked;
  //   kUnauthenticated (reason "clock_skew"): X-KBO-Time more than
  //     protocol::kRequestWindowMs from the server's clock (the message tells
  //     the person to fix the device's date and time);
  //   kUnauthenticated (reason "replay"): the nonce was seen before from
  //     this device.
  // Every request whose signature verifies (even one then refused for its
  // clock) records the device's clock offset and last_seen_at; an accepted
  // one records its nonce. Nonces older than two windows are pruned, since
  // the window alone refuses them.
  Result<DeviceRecord> Authenticate(const SignedRequest& request);

 private:
  ServerStore& store_;
  int64_t last_prune_ms_ = 0;
};

}  // namespace kbo::server

#endif  // KBO_SERVER_REQUEST_AUTH_H_
