#include "shared/signing.h"

#include <sys/stat.h>

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/change_set_codec.h"
#include "shared/fs.h"
#include "tests/support/temp_dir.h"

namespace kbo {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// A small but complete change set: one attendance row, three cells.
std::string SmallEncodedSet() {
  ChangeSet cs;
  cs.schema_version = 1;
  cs.device.bytes.fill(0x5a);
  cs.seq = 1;
  RowChange row;
  row.entity = "attendance";
  row.row_id.bytes.fill(0x11);
  row.hlc.wall_ms = 1718000000000;
  row.hlc.device = cs.device;
  row.cells = {{"day", Value::Integer(2), 0},
               {"status", Value::Text("late"), 0},
               {"note", Value::Text("มาสาย"), 0}};
  cs.rows.push_back(row);
  return EncodeChangeSet(cs);
}

TEST_CASE("Signing: SHA-256 matches the FIPS 180-2 test vector", "[signing]") {
  CHECK(HexEncode(Sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(HexEncode(Sha256("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("Signing: SHA-256 matches the FIPS 180-2 two-block and long vectors",
          "[signing]") {
  CHECK(HexEncode(Sha256(
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(HexEncode(Sha256(std::string(1000000, 'a'))) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("Signing: SHA-256 (libcrypto) equals libsodium's for every length",
          "[signing]") {
  // Every length across the one-, two- and three-block boundaries, and a
  // large input, with bytes that change with the length.
  std::string bytes;
  for (size_t n = 0; n <= 300; ++n) {
    CHECK(Sha256(bytes) == Sha256Portable(bytes));
    bytes.push_back(static_cast<char>(n * 131 + 7));
  }
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 2654435761u >> 24);
  CHECK(Sha256(big) == Sha256Portable(big));
}

TEST_CASE("Signing: SHA-256 is safe from many threads at once", "[signing][threads]") {
  const std::string input = "kbo/derived/attendance|" + std::string(90, 'x');
  const Sha256Digest expected = Sha256Portable(input);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (Sha256(input) != expected) ++wrong;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(wrong.load() == 0);
}

TEST_CASE("Signing: hex round trips and refuses what is not hex", "[signing]") {
  const std::string bytes("\x00\x01\x7f\x80\xfe\xff", 6);
  CHECK(HexEncode(bytes) == "00017f80feff");
  Result<std::string> back = HexDecode("00017f80feff");
  REQUIRE(back.ok());
  CHECK(*back == bytes);
  CHECK(HexDecode("00017F80FEFF").ok());  // either case reads
  CHECK(HexDecode("").ok());
  CHECK(HexDecode("abc").status().code() == Code::kInvalidArgument);
  CHECK(HexDecode("zz").status().code() == Code::kInvalidArgument);
  CHECK(HexDecode("0 ").status().code() == Code::kInvalidArgument);
}

TEST_CASE("Signing: a signature verifies with its key, domain and message",
          "[signing]") {
  const KeyPair key = KeyPair::Generate();
  const std::string message = SmallEncodedSet();
  const Signature sig = key.Sign(kChangeSetDomain, message);
  CHECK(Verify(key.public_key(), kChangeSetDomain, message, sig));
  // Ed25519 is deterministic: the same key and bytes, the same signature.
  CHECK(key.Sign(kChangeSetDomain, message) == sig);
}

TEST_CASE(
    "Signing: one flipped bit anywhere in a signed change set fails "
    "verification",
    "[signing][untrusted]") {
  const KeyPair key = KeyPair::Generate();
  const std::string message = SmallEncodedSet();
  const Signature sig = key.Sign(kChangeSetDomain, message);
  for (size_t bit = 0; bit < message.size() * 8; ++bit) {
    std::string flipped = message;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    if (Verify(key.public_key(), kChangeSetDomain, flipped, sig)) {
      FAIL("bit " << bit << " flipped and the signature still verified");
    }
  }
  for (size_t bit = 0; bit < sig.size() * 8; ++bit) {
    Signature bad = sig;
    bad[bit / 8] = static_cast<uint8_t>(bad[bit / 8] ^ (1 << (bit % 8)));
    if (Verify(key.public_key(), kChangeSetDomain, message, bad)) {
      FAIL("signature bit " << bit << " flipped and it still verified");
    }
  }
}

TEST_CASE("Signing: a signature for one domain fails in every other",
          "[signing]") {
  const KeyPair key = KeyPair::Generate();
  const std::string message = SmallEncodedSet();
  const Signature sig = key.Sign(kChangeSetDomain, message);
  for (std::string_view other :
       {kRequestDomain, kReceiptDomain, kPullPageDomain,
        std::string_view("kbo/changeset/v2"), std::string_view("")}) {
    CAPTURE(other);
    CHECK_FALSE(Verify(key.public_key(), other, message, sig));
  }
  // The 0x00 separator: moving bytes between domain and message breaks it.
  const Signature short_sig = key.Sign("kbo/changeset/v", "1" + message);
  CHECK_FALSE(Verify(key.public_key(), kChangeSetDomain, message, short_sig));
}

TEST_CASE("Signing: another device's key does not verify", "[signing]") {
  const KeyPair key = KeyPair::Generate();
  const KeyPair other = KeyPair::Generate();
  CHECK_FALSE(key.public_key() == other.public_key());
  const std::string message = SmallEncodedSet();
  const Signature sig = key.Sign(kChangeSetDomain, message);
  CHECK_FALSE(Verify(other.public_key(), kChangeSetDomain, message, sig));
}

TEST_CASE("Signing: keys and signatures round trip through hex", "[signing]") {
  const KeyPair key = KeyPair::Generate();
  const std::string hex = key.public_key().ToHex();
  CHECK(hex.size() == 64);
  Result<PublicKey> pk = PublicKey::FromHex(hex);
  REQUIRE(pk.ok());
  CHECK(*pk == key.public_key());
  CHECK(PublicKey::FromHex(hex.substr(2)).status().code() ==
        Code::kInvalidArgument);
  CHECK(PublicKey::FromHex(std::string(64, 'x')).status().code() ==
        Code::kInvalidArgument);

  const Signature sig = key.Sign(kRequestDomain, "POST /v1/push");
  const std::string sig_hex = SignatureToHex(sig);
  CHECK(sig_hex.size() == 128);
  Result<Signature> back = SignatureFromHex(sig_hex);
  REQUIRE(back.ok());
  CHECK(*back == sig);
  CHECK(SignatureFromHex(sig_hex + "00").status().code() ==
        Code::kInvalidArgument);
  CHECK(SignatureFromHex("").status().code() == Code::kInvalidArgument);
}

TEST_CASE("Signing: a moved key pair still signs as the original",
          "[signing]") {
  KeyPair a = KeyPair::Generate();
  const PublicKey pk = a.public_key();
  KeyPair b = std::move(a);
  CHECK(Verify(pk, kRequestDomain, "x", b.Sign(kRequestDomain, "x")));
  KeyPair c = KeyPair::Generate();
  c = std::move(b);
  CHECK(c.public_key() == pk);
  CHECK(Verify(pk, kRequestDomain, "x", c.Sign(kRequestDomain, "x")));
}

TEST_CASE("Signing: a key file round trips with mode 0600", "[signing]") {
  testing::TempDir dir;
  const std::string path = dir.File("device.key");
  const KeyPair key = KeyPair::Generate();
  REQUIRE(key.SaveToFile(path).ok());
  CHECK(ModeOf(path) == 0600);
  CHECK_FALSE(FileExists(path + ".tmp"));

  Result<KeyPair> loaded = KeyPair::LoadFromFile(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->public_key() == key.public_key());
  const std::string message = SmallEncodedSet();
  CHECK(Verify(key.public_key(), kChangeSetDomain, message,
               loaded->Sign(kChangeSetDomain, message)));
}

TEST_CASE("Signing: a key file readable by group or others is refused",
          "[signing]") {
  testing::TempDir dir;
  const std::string path = dir.File("device.key");
  REQUIRE(KeyPair::Generate().SaveToFile(path).ok());
  const mode_t mode = GENERATE(mode_t{0644}, mode_t{0640}, mode_t{0604},
                               mode_t{0620}, mode_t{0601});
  CAPTURE(mode);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  Result<KeyPair> r = KeyPair::LoadFromFile(path);
  // Not kPermissionDenied: that is a server's refusal (exit 5).
  CHECK(r.status().code() == Code::kFailedPrecondition);
  CHECK(r.status().message().find(path) != std::string::npos);
  CHECK(r.status().message().find("chmod 600") != std::string::npos);
}

TEST_CASE("Signing: a missing key file is not found", "[signing]") {
  testing::TempDir dir;
  CHECK(KeyPair::LoadFromFile(dir.File("absent.key")).status().code() ==
        Code::kNotFound);
}

TEST_CASE("Signing: a key file that is not a key is corruption", "[signing]") {
  testing::TempDir dir;
  const std::string path = dir.File("device.key");
  const KeyPair key = KeyPair::Generate();
  REQUIRE(key.SaveToFile(path).ok());
  Result<std::string> good = ReadFileBounded(path, 4096);
  REQUIRE(good.ok());
  const std::string pub = key.public_key().ToHex();
  const size_t secret_at = good->find("secret ") + 7;

  const KeyPair other = KeyPair::Generate();
  std::string mismatched = *good;
  mismatched.replace(mismatched.find(pub), 64, other.public_key().ToHex());
  // The secret key's embedded public half, edited to the other key's.
  std::string embedded = *good;
  embedded.replace(secret_at + 64, 64, other.public_key().ToHex());
  std::string bad_seed = *good;
  bad_seed[secret_at] = bad_seed[secret_at] == '0' ? '1' : '0';

  const std::string garbage = GENERATE_COPY(
      std::string(""), std::string("hello\n"), std::string(300, '\xff'),
      good->substr(0, good->size() - 1),  // no final newline
      *good + "\n",                       // trailing text
      good->substr(0, secret_at) + "zz" + good->substr(secret_at + 2),
      good->substr(0, secret_at) + good->substr(secret_at + 2),  // short
      mismatched, embedded, bad_seed, std::string(5000, 'a'));
  CAPTURE(garbage.size());
  REQUIRE(WriteFileAtomically(path, garbage, 0600).ok());
  CHECK(KeyPair::LoadFromFile(path).status().code() == Code::kCorruption);
}

}  // namespace
}  // namespace kbo
