#ifndef KBO_SHARED_UUID_H_
#define KBO_SHARED_UUID_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/result.h"

namespace kbo {

// A 128-bit id, made on the device that creates the row. Text form is the
// canonical lowercase 8-4-4-4-12.
struct Uuid {
  std::array<uint8_t, 16> bytes{};

  // Random version 4 (libsodium's CSPRNG).
  static Uuid Random();
  // Name-based: RFC 9562 version 8 over SHA-256(namespace || name). Used for
  // natural keys (attendance, contest score) so that two devices recording
  // the same thing offline address the same row.
  static Uuid Derived(const Uuid& name_space, std::string_view name);
  // Parses the canonical form (case-insensitive). kInvalidArgument otherwise.
  static Result<Uuid> Parse(std::string_view text);

  std::string ToString() const;
  // The same 36 characters in a caller's buffer (no allocation; no
  // terminator).
  void FormatTo(char (&out)[36]) const;
  bool IsNil() const;

  friend bool operator==(const Uuid& a, const Uuid& b) {
    return a.bytes == b.bytes;
  }
  friend bool operator!=(const Uuid& a, const Uuid& b) { return !(a == b); }
  friend bool operator<(const Uuid& a, const Uuid& b) {
    return a.bytes < b.bytes;
  }
};

}  // namespace kbo

#endif  // KBO_SHARED_UUID_H_
