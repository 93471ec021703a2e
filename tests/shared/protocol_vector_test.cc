// The signed request's canonical string and signature, pinned by the fixed
// test vector printed in docs/protocol.md §3. A change to
// protocol::CanonicalRequest, to the request domain or to how a device key
// signs breaks this test, and so does an edit of the vector in the docs: a
// third-party client written from docs/protocol.md signs exactly what kbo
// signs and kbo-server verifies.
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "shared/protocol.h"
#include "shared/signing.h"
#include "tests/support/temp_dir.h"

namespace kbo {
namespace {

// The vector, as docs/protocol.md gives it.
constexpr const char* kSeedHex =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char* kPublicKeyHex =
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
constexpr const char* kMethod = "PUT";
constexpr const char* kPath =
    "/v1/blobs/545669552eaa890afd9cffed77d8a5daa78c94966a831d210250d52624cdcd8f"
    "?offset=0&total=9";
constexpr int64_t kTimeMs = 1710036000000;
constexpr const char* kNonce = "000102030405060708090a0b0c0d0e0f";
constexpr const char* kBody = "KBO Field";
constexpr const char* kCanonical =
    "PUT\n"
    "/v1/blobs/545669552eaa890afd9cffed77d8a5daa78c94966a831d210250d52624cdcd8f"
    "?offset=0&total=9\n"
    "1710036000000\n"
    "000102030405060708090a0b0c0d0e0f\n"
    "545669552eaa890afd9cffed77d8a5daa78c94966a831d210250d52624cdcd8f";
constexpr const char* kSignatureHex =
    "4fe5a6b5f3847dd1b1cbf1de40f06f122a9f379ce277ff7f409675b80be9dca9"
    "132d8e5383118014d2a574f48fd8cd2f17ca0f425b36cf21d83becd121fe5d09";

std::string ReadProtocolDoc() {
  std::ifstream in(std::string(KBO_SOURCE_DIR) + "/docs/protocol.md");
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The device key made from the vector's seed, loaded the way kbo loads its
// own (a key file: "public <hex>", "secret <seed hex><public hex>").
KeyPair VectorKey(const testing::TempDir& dir) {
  const std::string path = dir.File("device.key");
  {
    std::ofstream out(path);
    out << "kbo-device-key v1\npublic " << kPublicKeyHex << "\nsecret "
        << kSeedHex << kPublicKeyHex << "\n";
  }
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  auto key = KeyPair::LoadFromFile(path);
  REQUIRE(key.ok());
  return std::move(key).value();
}

TEST_CASE("Protocol vector: the canonical request is byte for byte the docs'",
          "[protocol][signing]") {
  CHECK(protocol::CanonicalRequest(kMethod, kPath, kTimeMs, kNonce, kBody) ==
        kCanonical);
  CHECK(HexEncode(Sha256(kBody)) ==
        "545669552eaa890afd9cffed77d8a5daa78c94966a831d210250d52624cdcd8f");
}

TEST_CASE("Protocol vector: the seed's key signs the docs' signature",
          "[protocol][signing]") {
  testing::TempDir dir;
  const KeyPair key = VectorKey(dir);
  CHECK(key.public_key().ToHex() == kPublicKeyHex);
  const std::string canonical =
      protocol::CanonicalRequest(kMethod, kPath, kTimeMs, kNonce, kBody);
  // Ed25519 is deterministic: the same key and message give one signature.
  CHECK(SignatureToHex(key.Sign(kRequestDomain, canonical)) == kSignatureHex);

  auto signature = SignatureFromHex(kSignatureHex);
  REQUIRE(signature.ok());
  CHECK(Verify(key.public_key(), kRequestDomain, canonical, *signature));
  // One byte of the body, the time or the query changed: refused.
  CHECK_FALSE(Verify(key.public_key(), kRequestDomain,
                     protocol::CanonicalRequest(kMethod, kPath, kTimeMs, kNonce,
                                                "KBO field"),
                     *signature));
  CHECK_FALSE(Verify(key.public_key(), kRequestDomain,
                     protocol::CanonicalRequest(kMethod, kPath, kTimeMs + 1,
                                                kNonce, kBody),
                     *signature));
  CHECK_FALSE(Verify(key.public_key(), kRequestDomain,
                     protocol::CanonicalRequest(
                         kMethod,
                         "/v1/blobs/545669552eaa890afd9cffed77d8a5daa78c94966a8"
                         "31d210250d52624cdcd8f?total=9&offset=0",
                         kTimeMs, kNonce, kBody),
                     *signature));
  // Not valid for another purpose either.
  CHECK_FALSE(Verify(key.public_key(), kChangeSetDomain, canonical, *signature));
}

TEST_CASE("Protocol vector: docs/protocol.md prints the vector this test checks",
          "[protocol][signing]") {
  const std::string doc = ReadProtocolDoc();
  // The canonical request as a fenced block of its own, exactly.
  CHECK(doc.find(std::string("```\n") + kCanonical + "\n```") !=
        std::string::npos);
  for (const char* text : {kSeedHex, kPublicKeyHex, kNonce, kSignatureHex}) {
    INFO(text);
    CHECK(doc.find(std::string("`") + text + "`") != std::string::npos);
  }
  CHECK(doc.find("`1710036000000`") != std::string::npos);
  CHECK(doc.find("`KBO Field`") != std::string::npos);
  CHECK(doc.find(std::string("`") + kPath + "`") != std::string::npos);
}

}  // namespace
}  // namespace kbo
