#ifndef KBO_SHARED_BYTES_H_
#define KBO_SHARED_BYTES_H_

// The byte layer under every hand-written binary codec: the change set
// (shared/change_set_codec), the outbox entry (client/outbox_codec), the cell
// versions of a replica row (shared/replica/apply) and the bundle file
// (client/bundle, server/bundle_import). One writer (with SpanByteWriter,
// the same bytes into memory sized beforehand, for per-row encoders) and one
// bounded reader, so that "every length prefix is checked against the bytes
// that remain before anything is allocated" (CONVENTIONS §2.4) is written
// once.
//
// Integers are little-endian whatever the host. Varints are LEB128 (seven
// bits a byte, low group first, high bit set on every byte but the last).
//
// ByteReader never reads past the end of its view. Every failure is
// kCorruption naming what was being read (`what`, a short noun such as
// "row count") and the offset; the output is then unspecified, never partly
// allocated: a length or count is checked against its cap and against the
// bytes left before the caller sizes anything by it. Reads return bool and
// the reader keeps the first failure (status()), so the success path builds
// no Status; everything on it is inline and non-virtual: the change-set
// decoder runs it once per field on the sync hot path (tools/bench).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "shared/status.h"

namespace kbo {

// Appends to a caller-owned string. Reserve first when the size is known
// (the encoders do): then no append reallocates.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  // The low `bytes` bytes of `v`, little-endian.
  void Le(uint64_t v, int bytes) {
    char buf[8];
    for (int i = 0; i < bytes; ++i) buf[i] = static_cast<char>(v >> (8 * i));
    out_->append(buf, static_cast<size_t>(bytes));
  }
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void I64(int64_t v) { Le(static_cast<uint64_t>(v), 8); }
  // The IEEE-754 bits of `v`, little-endian (-0.0 and 0.0 differ).
  void F64(double v) {
    uint64_t bits;
    static_assert(sizeof bits == sizeof v, "64-bit doubles");
    std::memcpy(&bits, &v, sizeof bits);
    Le(bits, 8);
  }
  void Varint(uint64_t v) {
    char buf[10];
    int n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_->append(buf, static_cast<size_t>(n));
  }
  void Raw(const void* data, size_t n) {
    out_->append(static_cast<const char*>(data), n);
  }
  void Raw(std::string_view s) { out_->append(s.data(), s.size()); }
  // len:u32le bytes. The caller keeps `s` under 4 GiB (every codec caps
  // what it writes far below that).
  void Bytes32(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Raw(s);
  }
  void Bytes8(std::string_view s) {
    U8(static_cast<uint8_t>(s.size()));
    Raw(s);
  }
  void BytesVarint(std::string_view s) {
    Varint(s.size());
    Raw(s);
  }

  size_t size() const { return out_->size(); }

 private:
  std::string* out_;
};

// The most bytes a Varint takes (a 64-bit value, seven bits a byte).
constexpr size_t kMaxVarintBytes = 10;

// Writes the same bytes as ByteWriter into memory the caller has already
// sized: for the encoders that run once per row of a batch, where an append
// per field (a call and a capacity check each) cost more than the encoding.
// The caller sizes the memory for the most the fields can take (a string
// resized to that bound, then cut back to end()).
class SpanByteWriter {
 public:
  explicit SpanByteWriter(char* at) : p_(at) {}

  void Le(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) *p_++ = static_cast<char>(v >> (8 * i));
  }
  void U8(uint8_t v) { *p_++ = static_cast<char>(v); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void I64(int64_t v) { Le(static_cast<uint64_t>(v), 8); }
  void F64(double v) {
    uint64_t bits;
    static_assert(sizeof bits == sizeof v, "64-bit doubles");
    std::memcpy(&bits, &v, sizeof bits);
    Le(bits, 8);
  }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void Raw(const void* data, size_t n) {
    if (n == 0) return;  // `data` may be null then
    std::memcpy(p_, data, n);
    p_ += n;
  }
  void Raw(std::string_view s) { Raw(s.data(), s.size()); }
  void Bytes8(std::string_view s) {
    U8(static_cast<uint8_t>(s.size()));
    Raw(s);
  }
  void BytesVarint(std::string_view s) {
    Varint(s.size());
    Raw(s);
  }

  // One past the last byte written.
  char* end() const { return p_; }

 private:
  char* p_;
};

// Zigzag: small negative numbers as small varints (-1 -> 1, 1 -> 2).
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

class ByteReader {
 public:
  // `base` is the offset of `bytes` in a larger whole, for messages only.
  explicit ByteReader(std::string_view bytes, size_t base = 0)
      : bytes_(bytes), base_(base) {}

  size_t remaining() const { return bytes_.size() - pos_; }
  bool empty() const { return pos_ == bytes_.size(); }
  // Offset of the next byte, counted from the start of the whole.
  size_t offset() const { return base_ + pos_; }

  // Every read below returns false on failure and records why; status()
  // is then that kCorruption (the first one: after a failure every read
  // fails). OK while nothing has failed. No Status is built on success.
  const Status& status() const { return error_; }
  bool ok() const { return error_.ok(); }
  // Records a failure found by the caller (a value out of its range), with
  // the offset; returns false.
  bool Fail(const std::string& why);

  // OK iff `n` bytes remain.
  bool Need(uint64_t n, const char* what) {
    return ok() && n <= remaining() ? true : Truncated(n, what);
  }

  // A little-endian unsigned or signed integer of sizeof(T) bytes.
  template <typename T>
  bool Le(T* out, const char* what) {
    static_assert(std::is_integral<T>::value, "integers only");
    if (!ok() || sizeof(T) > remaining()) return Truncated(sizeof(T), what);
    using U = std::make_unsigned_t<T>;
    U v = 0;
    const char* p = bytes_.data() + pos_;
    for (size_t i = sizeof(T); i-- > 0;) {
      v = static_cast<U>((static_cast<uint64_t>(v) << 8) |
                         static_cast<uint8_t>(p[i]));
    }
    *out = static_cast<T>(v);
    pos_ += sizeof(T);
    return true;
  }
  bool U8(uint8_t* out, const char* what) { return Le(out, what); }
  bool U16(uint16_t* out, const char* what) { return Le(out, what); }
  bool U32(uint32_t* out, const char* what) { return Le(out, what); }
  bool U64(uint64_t* out, const char* what) { return Le(out, what); }
  bool I64(int64_t* out, const char* what) { return Le(out, what); }
  bool F64(double* out, const char* what) {
    uint64_t bits = 0;
    if (!Le(&bits, what)) return false;
    std::memcpy(out, &bits, sizeof bits);
    return true;
  }

  // A LEB128 varint of at most 10 bytes whose value fits in 64 bits.
  // Truncated, longer or overflowing fails.
  bool Varint(uint64_t* out, const char* what) {
    if (!ok()) return false;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ == bytes_.size()) return Truncated(1, what);
      const uint8_t b = static_cast<uint8_t>(bytes_[pos_++]);
      // The tenth byte carries bit 63 only.
      if (shift == 63 && b > 1) return BadVarint(what);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return BadVarint(what);
  }

  // Copies `n` bytes.
  bool Raw(void* out, size_t n, const char* what) {
    if (!ok() || n > remaining()) return Truncated(n, what);
    if (n > 0) std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  // The next `n` bytes without a copy (valid while the input is).
  bool View(size_t n, std::string_view* out, const char* what) {
    if (!ok() || n > remaining()) return Truncated(n, what);
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // The next bytes must be `literal` (a magic); `what` names the thing
  // expected ("a change set").
  bool Expect(std::string_view literal, const char* what);

  // Length prefixes: read, then checked against `cap` ("<what> is N
  // bytes, limit CAP") and against the bytes left, so the caller may size
  // a buffer by the result.
  bool Length8(size_t* len, uint64_t cap, const char* what) {
    uint8_t n = 0;
    return LengthPrefix(&n, what) && CheckLength(n, cap, len, what);
  }
  bool Length32(size_t* len, uint64_t cap, const char* what) {
    uint32_t n = 0;
    return LengthPrefix(&n, what) && CheckLength(n, cap, len, what);
  }
  bool LengthVarint(size_t* len, uint64_t cap, const char* what) {
    uint64_t n = 0;
    return Varint(&n, what) && CheckLength(n, cap, len, what);
  }

  // A length prefix and its bytes, as a view (no copy).
  bool Bytes8(std::string_view* out, uint64_t cap, const char* what) {
    size_t n = 0;
    return Length8(&n, cap, what) && View(n, out, what);
  }
  bool Bytes32(std::string_view* out, uint64_t cap, const char* what) {
    size_t n = 0;
    return Length32(&n, cap, what) && View(n, out, what);
  }
  bool BytesVarint(std::string_view* out, uint64_t cap, const char* what) {
    size_t n = 0;
    return LengthVarint(&n, cap, what) && View(n, out, what);
  }

  // A count of elements about to be reserved: at most `cap`, and at most
  // what the bytes left can hold when each element takes at least
  // `min_bytes_each` (> 0) bytes.
  bool CheckCount(uint64_t count, uint64_t cap, uint64_t min_bytes_each,
                  const char* what) {
    if (ok() && count <= cap && count <= remaining() / min_bytes_each) {
      return true;
    }
    return BadCount(count, cap, what);
  }

  // OK iff every byte was read.
  bool End(const char* what) {
    if (ok() && empty()) return true;
    return Trailing(what);
  }

 private:
  template <typename T>
  bool LengthPrefix(T* n, const char* what) {
    if (!ok() || sizeof(T) > remaining()) {
      return Truncated(sizeof(T), what, " length");
    }
    return Le(n, what);
  }
  bool CheckLength(uint64_t n, uint64_t cap, size_t* len, const char* what) {
    if (n <= cap && n <= remaining()) {
      *len = static_cast<size_t>(n);
      return true;
    }
    return BadLength(n, cap, what);
  }
  // The failures, out of line (shared/bytes.cc): each records its Status
  // unless one is recorded already, and returns false.
  bool Truncated(uint64_t n, const char* what, const char* suffix = "");
  bool BadVarint(const char* what);
  bool BadLength(uint64_t n, uint64_t cap, const char* what);
  bool BadCount(uint64_t count, uint64_t cap, const char* what);
  bool Trailing(const char* what);

  std::string_view bytes_;
  size_t base_;
  size_t pos_ = 0;
  Status error_;
};

}  // namespace kbo

#endif  // KBO_SHARED_BYTES_H_
