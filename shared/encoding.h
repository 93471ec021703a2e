#ifndef KBO_SHARED_ENCODING_H_
#define KBO_SHARED_ENCODING_H_

// The text checks and conversions every layer needs, written once: strict
// UTF-8, hex, decimal integers (docs/architecture.md, "The byte layer").
// Pure functions; nothing here allocates except the strings returned.

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "shared/result.h"
#include "shared/status.h"

namespace kbo {

// ---- UTF-8 -----------------------------------------------------------------

// Offset of the first byte that does not start a valid UTF-8 sequence
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF, no
// sequence cut short), or text.size() if all of it is valid. Text is
// compared and stored byte for byte on every replica, so two spellings of
// one character must never both be accepted.
size_t FirstInvalidUtf8(std::string_view text);

// True iff `text` is valid UTF-8 (FirstInvalidUtf8 finds nothing).
bool IsValidUtf8(std::string_view text);

// The longest start of `text` of at most `max_bytes` that does not cut a
// UTF-8 character (a Thai letter is 3 bytes): `text` itself if it fits.
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);

// The columns `text` (valid UTF-8) takes on a terminal: one per character,
// none for a Thai vowel or tone mark written above or below the letter
// before it (U+0E31, U+0E34-U+0E3A, U+0E47-U+0E4E), so that Thai names line
// up in a table as they are seen.
size_t TerminalColumns(std::string_view text);

// `text` cut to at most `columns` terminal columns, whole characters, with
// "…" in the last column when it was cut.
std::string FitColumns(std::string_view text, size_t columns);

// ---- text from forms and addresses ------------------------------------------

// "\r\n" as "\n": a textarea's text as a browser sends it, as stored.
std::string CrlfToLf(std::string_view text);

// A form or query value decoded: '+' as a space, %XX as its byte; a '%'
// not followed by two hex digits stays as it is.
std::string PercentDecode(std::string_view text);

// ---- hex -------------------------------------------------------------------

// Lowercase hex of `bytes`, two digits a byte.
std::string HexEncode(std::string_view bytes);
// Writes 2 * n lowercase hex digits at `out` (no terminator).
void HexEncodeTo(const void* data, size_t n, char* out);

// The value of one hex digit (either case): 0..15, or -1.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
// The value of each lowercase hex digit, 16 for every other byte: one load
// per character for the checks that run on every id of every row.
inline constexpr std::array<uint8_t, 256> kLowerHexValue = [] {
  std::array<uint8_t, 256> value{};
  for (uint8_t& v : value) v = 16;
  for (int c = '0'; c <= '9'; ++c) {
    value[static_cast<size_t>(c)] = static_cast<uint8_t>(c - '0');
  }
  for (int c = 'a'; c <= 'f'; ++c) {
    value[static_cast<size_t>(c)] = static_cast<uint8_t>(c - 'a' + 10);
  }
  return value;
}();
inline bool IsLowerHexDigit(char c) {
  return kLowerHexValue[static_cast<uint8_t>(c)] < 16;
}

// True iff `text` is lowercase hex digits only, and exactly `digits` of
// them when `digits` is not 0 (the canonical forms here are lowercase:
// SHA-256 names of blobs, uuids, hlcs). False for an empty string.
bool IsLowerHex(std::string_view text, size_t digits = 0);

// The bytes `hex` spells (either case). kInvalidArgument for an odd number
// of digits or a byte that is not a hex digit.
Result<std::string> HexDecode(std::string_view hex);
// Decodes exactly n bytes (2 * n digits, either case) into `out`.
// kInvalidArgument naming `what` ("public key must be 64 hex digits, got
// 63", "... has a non-hex digit"); `out` is then unspecified.
Status HexDecodeTo(std::string_view hex, void* out, size_t n,
                   const char* what);

// 1 to 16 lowercase hex digits as a number (the fields of an hlc's text
// form, where uppercase would break the text order). False otherwise.
bool ParseHexU64(std::string_view hex, uint64_t* out);

// ---- ASCII -----------------------------------------------------------------

// True iff `a` and `b` are equal with ASCII letters compared without case
// (HTTP header names and tokens); other bytes compare exactly.
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);

// ---- decimal integers ------------------------------------------------------

// All of `text` as a decimal integer in [min, max]: an optional '-' (and
// only if min < 0), then one or more ASCII digits; no '+', no spaces, no
// other byte, no empty string. Leading zeros are accepted ("007" is 7).
// Overflow is checked exactly (INT64_MIN parses). nullopt for anything else.
std::optional<int64_t> ParseInt64(
    std::string_view text,
    int64_t min = std::numeric_limits<int64_t>::min(),
    int64_t max = std::numeric_limits<int64_t>::max());

// The same for unsigned numbers: digits only, no sign, in [0, max].
std::optional<uint64_t> ParseUint64(
    std::string_view text,
    uint64_t max = std::numeric_limits<uint64_t>::max());

}  // namespace kbo

#endif  // KBO_SHARED_ENCODING_H_
