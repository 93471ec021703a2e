#include "shared/secrets.h"

#include <sodium.h>

#include <algorithm>
#include <mutex>
#include <string>

#include "shared/encoding.h"
#include "shared/signing.h"

namespace kbo {
namespace {

void InitSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no CSPRNG: nothing is safe
  });
}

}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  InitSodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Status::ResourceExhausted(
        "not enough memory to hash the password (Argon2id needs 64 MiB)");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  InitSodium();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  char stored[crypto_pwhash_STRBYTES] = {};
  hash.copy(stored, hash.size());
  return crypto_pwhash_str_verify(stored, password.data(), password.size()) ==
         0;
}

void DummyVerifyPassword(std::string_view password) {
  static const std::string kDummy = [] {
    Result<std::string> h = HashPassword("not a password anyone has");
    return h.ok() ? *h : std::string();
  }();
  (void)VerifyPassword(kDummy, password);
}

std::string RandomHex(size_t bytes) {
  InitSodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return HexEncode(raw);
}

uint32_t RandomBelow(uint32_t upper) {
  InitSodium();
  return upper == 0 ? 0 : randombytes_uniform(upper);
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::string KeyedHashHex(std::string_view key, std::string_view message,
                         size_t bytes) {
  bytes = std::clamp<size_t>(bytes, crypto_generichash_BYTES_MIN,
                             crypto_generichash_BYTES_MAX);
  unsigned char out[crypto_generichash_BYTES_MAX];
  crypto_generichash(out, bytes, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size(), reinterpret_cast<const unsigned char*>(key.data()),
                     std::min<size_t>(key.size(), crypto_generichash_KEYBYTES_MAX));
  return HexEncode(std::string_view(reinterpret_cast<const char*>(out), bytes));
}

}  // namespace kbo
