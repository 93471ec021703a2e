#ifndef KBO_SHARED_SECRETS_H_
#define KBO_SHARED_SECRETS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/result.h"

namespace kbo {

// Passwords and random tokens for the office console (libsodium).

// A password as libsodium's crypto_pwhash_str keeps it: Argon2id with a
// random salt and the "interactive" limits (64 MiB, about 0.1 s), all in
// the returned text. kResourceExhausted if the memory cannot be had.
Result<std::string> HashPassword(std::string_view password);
// True if `password` matches `hash` (a HashPassword result). False for a
// malformed hash. Takes as long as hashing does, so a missing user can be
// answered in the same time (see DummyVerifyPassword).
bool VerifyPassword(std::string_view hash, std::string_view password);
// Spends the time of one VerifyPassword (for a login that does not exist).
void DummyVerifyPassword(std::string_view password);

// `bytes` random bytes from libsodium's CSPRNG, as lowercase hex.
std::string RandomHex(size_t bytes);
// A uniform random number in [0, upper) from the same CSPRNG; 0 if upper
// is 0.
uint32_t RandomBelow(uint32_t upper);

// Compares in time that depends only on the lengths.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// A MAC of `message` under `key` (keyed BLAKE2b, libsodium's generichash;
// `key` of 16 to 64 bytes, longer keys use their first 64): `bytes` (16 to
// 64) bytes as lowercase hex.
std::string KeyedHashHex(std::string_view key, std::string_view message,
                         size_t bytes = 16);

}  // namespace kbo

#endif  // KBO_SHARED_SECRETS_H_
