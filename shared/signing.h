#ifndef KBO_SHARED_SIGNING_H_
#define KBO_SHARED_SIGNING_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/change_set.h"
#include "shared/encoding.h"
#include "shared/result.h"

namespace kbo {

// Initializes libsodium once; safe to call from anywhere, any number of times.
// Aborts the process if libsodium cannot initialize (no entropy source).
void InitCrypto();

// SHA-256 (FIPS 180-4), through libcrypto. Thread-safe.
Sha256Digest Sha256(std::string_view bytes);
// SHA-256 of `first` followed by `second`, without joining them.
Sha256Digest Sha256(std::string_view first, std::string_view second);
// The same function through libsodium's portable C: Sha256's fallback, and
// the reference its tests compare against.
Sha256Digest Sha256Portable(std::string_view bytes);
// Lowercase hex of a digest (HexEncode and HexDecode of bytes are in
// shared/encoding.h).
std::string HexEncode(const Sha256Digest& digest);

// Domain-separation prefixes: a signature made for one purpose can never be
// replayed as another.
inline constexpr std::string_view kChangeSetDomain = "kbo/changeset/v1";
inline constexpr std::string_view kRequestDomain = "kbo/request/v1";
inline constexpr std::string_view kReceiptDomain = "kbo/receipt/v1";
inline constexpr std::string_view kPullPageDomain = "kbo/pull/v1";

struct PublicKey {
  std::array<uint8_t, 32> bytes{};
  std::string ToHex() const;
  static Result<PublicKey> FromHex(std::string_view hex);
  friend bool operator==(const PublicKey& a, const PublicKey& b) {
    return a.bytes == b.bytes;
  }
};

using Signature = std::array<uint8_t, 64>;

// An Ed25519 key pair. The secret key is wiped on destruction and never
// leaves the device. Move-only.
class KeyPair {
 public:
  static KeyPair Generate();
  KeyPair(KeyPair&& other) noexcept;
  KeyPair& operator=(KeyPair&& other) noexcept;
  KeyPair(const KeyPair&) = delete;
  KeyPair& operator=(const KeyPair&) = delete;
  ~KeyPair();

  const PublicKey& public_key() const { return public_; }

  // Detached signature over `domain` || 0x00 || `message`.
  Signature Sign(std::string_view domain, std::string_view message) const;

  // Writes the key pair to `path` atomically with mode 0600 (temp file,
  // fsync, rename, fsync of the directory).
  Status SaveToFile(const std::string& path) const;
  // kNotFound if absent; kCorruption if not a key file; kFailedPrecondition
  // if the file is readable by group or others (a leaked key must be
  // noticed; a local file's state, not a server's refusal).
  static Result<KeyPair> LoadFromFile(const std::string& path);

  // The key file's text (secret included: wipe it after use), and back;
  // `what` names the text in messages ("'device.key'"). kCorruption as
  // LoadFromFile.
  std::string ToKeyText() const;
  static Result<KeyPair> FromKeyText(std::string_view text, const std::string& what);

 private:
  KeyPair() = default;
  PublicKey public_;
  std::array<uint8_t, 64> secret_{};
};

// True iff `signature` is `key`'s signature of `domain` || 0x00 || `message`.
bool Verify(const PublicKey& key, std::string_view domain,
            std::string_view message, const Signature& signature);

std::string SignatureToHex(const Signature& s);
Result<Signature> SignatureFromHex(std::string_view hex);

}  // namespace kbo

#endif  // KBO_SHARED_SIGNING_H_
