#include "server/fast_hash.h"

#include <openssl/evp.h>

#include "shared/change_set_codec.h"
#include "shared/protocol.h"
#include "shared/signing.h"

namespace kbo::server {
namespace {

constexpr size_t kHexDigestChars = 64;

bool OpenSslSha256(std::string_view bytes, Sha256Digest* out) {
  unsigned int len = 0;
  return EVP_Digest(bytes.data(), bytes.size(), out->data(), &len,
                    EVP_sha256(), nullptr) == 1 &&
         len == out->size();
}

// The message for an empty body, its hash of zero bytes replaced by `hash`.
std::string Splice(std::string message, const Sha256Digest& hash) {
  message.resize(message.size() - kHexDigestChars);
  message += HexEncode(hash);
  return message;
}

// True if OpenSSL's SHA-256 and the splicing give exactly what the shared
// functions give; checked once per process.
bool SelfCheck() {
  std::string sample;
  for (int i = 0; i < 1000; ++i) sample.push_back(static_cast<char>(i * 7));
  Sha256Digest d{};
  for (std::string_view s : {std::string_view(), std::string_view(sample)}) {
    if (!OpenSslSha256(s, &d) || d != Sha256(s) ||
        d != HashChangeSetBytes(s)) {
      return false;
    }
    const std::string empty_req =
        protocol::CanonicalRequest("POST", "/v1/push?x=1", -12345,
                                   "0123456789abcdef0123456789abcdef", "");
    const std::string empty_page =
        protocol::PullPageMessage("dev", 7, 9, true, "");
    if (empty_req.size() < kHexDigestChars ||
        empty_page.size() < kHexDigestChars) {
      return false;
    }
    if (Splice(empty_req, d) !=
            protocol::CanonicalRequest("POST", "/v1/push?x=1", -12345,
                                       "0123456789abcdef0123456789abcdef",
                                       s) ||
        Splice(empty_page, d) !=
            protocol::PullPageMessage("dev", 7, 9, true, s)) {
      return false;
    }
  }
  return true;
}

bool UseFast() {
  static const bool ok = SelfCheck();
  return ok;
}

}  // namespace

Sha256Digest FastSha256(std::string_view bytes) {
  Sha256Digest d{};
  if (UseFast() && OpenSslSha256(bytes, &d)) return d;
  return Sha256(bytes);
}

Sha256Digest FastHashChangeSetBytes(std::string_view encoded) {
  Sha256Digest d{};
  if (UseFast() && OpenSslSha256(encoded, &d)) return d;
  return HashChangeSetBytes(encoded);
}

std::string FastCanonicalRequest(std::string_view method,
                                 std::string_view path_with_query,
                                 int64_t time_ms, std::string_view nonce,
                                 std::string_view body) {
  Sha256Digest d{};
  if (!UseFast() || !OpenSslSha256(body, &d)) {
    return protocol::CanonicalRequest(method, path_with_query, time_ms, nonce,
                                      body);
  }
  return Splice(
      protocol::CanonicalRequest(method, path_with_query, time_ms, nonce, ""),
      d);
}

std::string FastPullPageMessage(std::string_view device_id, uint64_t after,
                                uint64_t next_cursor, bool more,
                                std::string_view body) {
  Sha256Digest d{};
  if (!UseFast() || !OpenSslSha256(body, &d)) {
    return protocol::PullPageMessage(device_id, after, next_cursor, more, body);
  }
  return Splice(
      protocol::PullPageMessage(device_id, after, next_cursor, more, ""), d);
}

}  // namespace kbo::server
