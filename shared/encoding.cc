#include "shared/encoding.h"

#include <cstring>

namespace kbo {

// ---- UTF-8 -----------------------------------------------------------------

// Strict per RFC 3629 / Unicode Table 3-7.
size_t FirstInvalidUtf8(std::string_view text) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    if (b0 < 0x80) {
      ++i;
      // ASCII runs (English notes, codes) eight bytes at a time.
      while (n - i >= 8) {
        uint64_t word;
        std::memcpy(&word, text.data() + i, sizeof word);
        if ((word & 0x8080808080808080ULL) != 0) break;
        i += 8;
      }
      continue;
    }
    size_t len = 0;
    uint8_t lo = 0x80;  // allowed range of the second byte
    uint8_t hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 == 0xE0) {
      len = 3;
      lo = 0xA0;  // below: overlong
    } else if (b0 == 0xED) {
      len = 3;
      hi = 0x9F;  // above: surrogates U+D800..U+DFFF
    } else if (b0 >= 0xE1 && b0 <= 0xEF) {
      len = 3;
    } else if (b0 == 0xF0) {
      len = 4;
      lo = 0x90;  // below: overlong
    } else if (b0 >= 0xF1 && b0 <= 0xF3) {
      len = 4;
    } else if (b0 == 0xF4) {
      len = 4;
      hi = 0x8F;  // above: > U+10FFFF
    } else {
      return i;  // 0x80..0xC1 (continuation or overlong lead), 0xF5..0xFF
    }
    if (n - i < len) return i;
    const auto b1 = static_cast<uint8_t>(text[i + 1]);
    if (b1 < lo || b1 > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      const auto b = static_cast<uint8_t>(text[i + k]);
      if (b < 0x80 || b > 0xBF) return i;
    }
    i += len;
  }
  return n;
}

bool IsValidUtf8(std::string_view text) {
  return FirstInvalidUtf8(text) == text.size();
}

std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

namespace {

// Columns of the character at text[i] (its lead byte), and its length.
size_t CharColumns(std::string_view text, size_t i, size_t* length) {
  const auto b = static_cast<unsigned char>(text[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : 4;
  if (i + n > text.size()) n = text.size() - i;
  *length = n;
  if (n == 3 && b == 0xE0 && static_cast<unsigned char>(text[i + 1]) == 0xB8) {
    // U+0E00-U+0E3F: U+0E31 and U+0E34-U+0E3A are marks above or below.
    const auto c = static_cast<unsigned char>(text[i + 2]);
    if (c == 0xB1 || (c >= 0xB4 && c <= 0xBA)) return 0;
  }
  if (n == 3 && b == 0xE0 && static_cast<unsigned char>(text[i + 1]) == 0xB9) {
    // U+0E40-U+0E7F: U+0E47-U+0E4E are marks above.
    const auto c = static_cast<unsigned char>(text[i + 2]);
    if (c >= 0x87 && c <= 0x8E) return 0;
  }
  return 1;
}

}  // namespace

size_t TerminalColumns(std::string_view text) {
  size_t columns = 0;
  for (size_t i = 0, n = 0; i < text.size(); i += n) columns += CharColumns(text, i, &n);
  return columns;
}

std::string FitColumns(std::string_view text, size_t columns) {
  if (TerminalColumns(text) <= columns) return std::string(text);
  if (columns == 0) return std::string();
  std::string out;
  size_t used = 0;
  for (size_t i = 0, n = 0; i < text.size(); i += n) {
    const size_t c = CharColumns(text, i, &n);
    if (used + c > columns - 1) break;
    out.append(text.substr(i, n));
    used += c;
  }
  return out + "\u2026";
}

std::string CrlfToLf(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() &&
               HexDigitValue(text[i + 1]) >= 0 && HexDigitValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexDigitValue(text[i + 1]) * 16 + HexDigitValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// ---- hex -------------------------------------------------------------------

void HexEncodeTo(const void* data, size_t n, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    *out++ = kHex[p[i] >> 4];
    *out++ = kHex[p[i] & 0x0f];
  }
}

std::string HexEncode(std::string_view bytes) {
  std::string out(bytes.size() * 2, '\0');
  HexEncodeTo(bytes.data(), bytes.size(), out.data());
  return out;
}

bool IsLowerHex(std::string_view text, size_t digits) {
  if (text.empty() || (digits != 0 && text.size() != digits)) return false;
  for (char c : text) {
    if (!IsLowerHexDigit(c)) return false;
  }
  return true;
}

Status HexDecodeTo(std::string_view hex, void* out, size_t n,
                   const char* what) {
  if (hex.size() / 2 != n || hex.size() % 2 != 0) {
    return Status::InvalidArgument(std::string(what) + " must be " +
                                   std::to_string(2 * n) + " hex digits, got " +
                                   std::to_string(hex.size()));
  }
  auto* p = static_cast<uint8_t*>(out);
  for (size_t i = 0; i < n; ++i) {
    const int hi = HexDigitValue(hex[2 * i]);
    const int lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument(std::string(what) +
                                     " has a non-hex digit");
    }
    p[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Status();
}

Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Status::InvalidArgument("hex text has an odd number of digits (" +
                                   std::to_string(hex.size()) + ")");
  }
  std::string out(hex.size() / 2, '\0');
  if (Status s = HexDecodeTo(hex, out.data(), out.size(), "hex text");
      !s.ok()) {
    return s;
  }
  return Result<std::string>(std::move(out));
}

bool ParseHexU64(std::string_view hex, uint64_t* out) {
  if (hex.empty() || hex.size() > 16) return false;
  uint64_t v = 0;
  for (char c : hex) {
    if (!IsLowerHexDigit(c)) return false;
    v = v << 4 | static_cast<uint64_t>(HexDigitValue(c));
  }
  *out = v;
  return true;
}

// ---- ASCII -----------------------------------------------------------------

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// ---- decimal integers ------------------------------------------------------

std::optional<uint64_t> ParseUint64(std::string_view text, uint64_t max) {
  if (text.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;  // v * 10 + d > max
    v = v * 10 + d;
  }
  return v;
}

std::optional<int64_t> ParseInt64(std::string_view text, int64_t min,
                                  int64_t max) {
  if (min > max) return std::nullopt;
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) {
    if (min >= 0) return std::nullopt;
    text.remove_prefix(1);
    // The magnitude of min, computed without overflowing on INT64_MIN.
    const uint64_t limit =
        max < 0 ? static_cast<uint64_t>(-(max + 1)) + 1 : 0;  // |max| if < 0
    const uint64_t bound = static_cast<uint64_t>(-(min + 1)) + 1;  // |min|
    std::optional<uint64_t> m = ParseUint64(text, bound);
    if (!m || *m < limit) return std::nullopt;
    if (*m == 0) return 0 >= min && 0 <= max ? std::optional<int64_t>(0)
                                             : std::nullopt;
    return static_cast<int64_t>(-static_cast<int64_t>(*m - 1) - 1);
  }
  if (max < 0) return std::nullopt;
  std::optional<uint64_t> m = ParseUint64(text, static_cast<uint64_t>(max));
  if (!m || static_cast<int64_t>(*m) < min) return std::nullopt;
  return static_cast<int64_t>(*m);
}

}  // namespace kbo
