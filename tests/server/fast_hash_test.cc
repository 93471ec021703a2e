#include "server/fast_hash.h"

#include <random>

#include <catch2/catch.hpp>

#include "shared/change_set_codec.h"
#include "shared/protocol.h"
#include "shared/signing.h"

namespace kbo::server {
namespace {

// The server hashes with OpenSSL for speed; what it computes must be exactly
// what shared/ (libsodium) computes, or signatures and receipts would not
// verify on devices.
TEST_CASE("FastHash: equals the shared SHA-256 and protocol strings for any input",
          "[server][hash]") {
  std::mt19937 rng(11);
  for (size_t size : {size_t{0}, size_t{1}, size_t{55}, size_t{56}, size_t{64},
                      size_t{1000}, size_t{1} << 20}) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    CAPTURE(size);
    CHECK(FastSha256(bytes) == Sha256(bytes));
    CHECK(FastHashChangeSetBytes(bytes) == HashChangeSetBytes(bytes));
    CHECK(FastCanonicalRequest("POST", "/v1/push", 1767225600123, "00ff", bytes) ==
          protocol::CanonicalRequest("POST", "/v1/push", 1767225600123, "00ff", bytes));
    CHECK(FastPullPageMessage("dev", 7, 42, true, bytes) ==
          protocol::PullPageMessage("dev", 7, 42, true, bytes));
  }
}

}  // namespace
}  // namespace kbo::server
