// Change set, format 1 (docs/changeset-format.md is the full text).
//
// All integers little-endian (the layout of cereal's
// PortableBinaryOutputArchive with Options::LittleEndian(): the encoder
// writes it directly, the decoder reads it through cereal); "raw" fields are
// copied byte for byte.
//
//   change_set := magic:"KBOC" (4 raw bytes)
//                 endian:u8 (= 0x01; cereal's portable-binary marker)
//                 format:u16 schema:u16 device:uuid seq:u64
//                 prev_hash:byte[32] row_count:u32 row[row_count]
//   row        := entity:name row_id:uuid hlc cell_count:u32 cell[cell_count]
//   hlc        := wall_ms:i64 counter:u32 device:uuid
//   cell       := column:name value base:u64
//   name       := len:u32 bytes        (1..max_name_bytes, [a-z0-9_] only)
//   value      := type:u8 ( 0 null
//                         | 1 int64:i64
//                         | 2 real:f64            (finite)
//                         | 3 text: len:u32 utf8 bytes
//                         | 4 blob: len:u32 bytes (64 lowercase hex) )
//   uuid       := 16 raw bytes
//
// The magic comes before cereal's one-byte endianness marker (the archive
// writes it when it is constructed) so that a change set can be recognised
// by its first four bytes. The decoder accepts only the marker 0x01: a
// big-endian encoding of the same set would be a second byte string for one
// set, and signatures and the hash chain are over the exact bytes.
//
// Decoding treats every byte as hostile (CONVENTIONS §2.4):
//   - the total size is capped before anything else (DecodeLimits::max_bytes);
//   - cereal never loads a std::string or std::vector itself, because it
//     resize()s to whatever the length prefix says; we read the u32 length,
//     check it against its limit and against the bytes that remain (tracked
//     here, not by the stream), and only then read raw bytes with
//     cereal::binary_data;
//   - counts are checked against their limit and against remaining bytes
//     divided by the smallest possible element before any reserve();
//   - so the decoder never allocates more than about the input's own size.
// Anything that is not exactly what EncodeChangeSet produces for some valid
// change set is kCorruption, and no partial result is returned.
//
// The encoder does not validate (it cannot fail): a set that breaks these
// rules (a NaN, an upper-case name, a 65-byte name) still encodes, and the
// decoder refuses the bytes. Sets are built from catalogue-validated rows.

#include "shared/change_set_codec.h"

#include <cmath>
#include <cstring>
#include <ios>
#include <sstream>
#include <streambuf>
#include <type_traits>
#include <utility>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>

#include "shared/signing.h"

namespace kbo {
namespace {

constexpr char kMagic[4] = {'K', 'B', 'O', 'C'};
constexpr uint8_t kLittleEndianMarker = 0x01;
constexpr size_t kHeaderBytes = 4 + 1;  // magic + endian marker

// Smallest encodings, used to bound counts by the bytes that remain:
// a one-byte name, a uuid, an hlc and an empty cell count; and a one-byte
// column name, a null value and a base.
constexpr uint64_t kMinRowBytes = (4 + 1) + 16 + (8 + 4 + 16) + 4;
constexpr uint64_t kMinCellBytes = (4 + 1) + 1 + 8;
// A blob value is the lowercase hex SHA-256 of content, never the content.
constexpr uint32_t kBlobHexBytes = 64;

using InArchive = cereal::PortableBinaryInputArchive;

// ---- encoding ---------------------------------------------------------------

// Writes into a buffer sized beforehand: integers little-endian whatever
// the host, bytes as they are.
class ByteWriter {
 public:
  explicit ByteWriter(char* p) : p_(p) {}
  void Le(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) *p_++ = static_cast<char>(v >> (8 * i));
  }
  void Raw(const void* data, size_t n) {
    if (n > 0) std::memcpy(p_, data, n);
    p_ += n;
  }
  void LengthPrefixed(const std::string& s) {
    Le(static_cast<uint32_t>(s.size()), 4);
    Raw(s.data(), s.size());
  }

 private:
  char* p_;
};

// ---- decoding ---------------------------------------------------------------

// A read-only streambuf over caller-owned bytes: no copy of a possibly
// multi-megabyte body just to hand it to cereal.
class ViewStreamBuf : public std::streambuf {
 public:
  explicit ViewStreamBuf(std::string_view bytes) {
    // std::streambuf wants char*; nothing here ever writes through it
    // (no put area, and the default pbackfail refuses to modify).
    char* begin = const_cast<char*>(bytes.data());
    setg(begin, begin, begin + bytes.size());
  }
};

// Wraps the cereal archive and does the bookkeeping cereal does not: every
// read first checks that the bytes it needs are there, so a short input is a
// clear kCorruption instead of an exception halfway through a field.
class Reader {
 public:
  Reader(InArchive* ar, size_t offset, size_t remaining)
      : ar_(ar), offset_(offset), remaining_(remaining) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return remaining_; }

  Status Need(uint64_t n, const char* what) const {
    if (n > remaining_) {
      return Status::Corruption(
          std::string(what) + " needs " + std::to_string(n) +
          " bytes at offset " + std::to_string(offset_) + ", only " +
          std::to_string(remaining_) + " left (truncated?)");
    }
    return Status();
  }

  template <typename T>
  Status Read(T* out, const char* what) {
    static_assert(std::is_arithmetic<T>::value, "scalars only");
    if (Status s = Need(sizeof(T), what); !s.ok()) return s;
    (*ar_)(*out);
    Consume(sizeof(T));
    return Status();
  }

  Status ReadRaw(void* data, size_t n, const char* what) {
    if (Status s = Need(n, what); !s.ok()) return s;
    if (n > 0) (*ar_)(cereal::binary_data(static_cast<uint8_t*>(data), n));
    Consume(n);
    return Status();
  }

  // Reads `n` bytes into a fresh string; `n` has already been checked
  // against its limit, and is checked against what remains before the
  // string is sized.
  Status ReadString(uint32_t n, std::string* out, const char* what) {
    if (Status s = Need(n, what); !s.ok()) return s;
    out->assign(n, '\0');
    return ReadRaw(out->data(), n, what);
  }

 private:
  void Consume(size_t n) {
    offset_ += n;
    remaining_ -= n;
  }

  InArchive* ar_;
  size_t offset_;
  size_t remaining_;
};

bool IsNameByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsLowerHex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
// U+10FFFF. Text is compared and stored byte for byte on every replica, so
// two spellings of one character must not both be accepted.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the 2nd byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (n - i < len) return false;
    const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      const unsigned char ck = static_cast<unsigned char>(s[i + k]);
      if (ck < 0x80 || ck > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

Status ReadName(Reader& in, const DecodeLimits& limits, const char* what,
                std::string* out) {
  uint32_t len = 0;
  if (Status s = in.Read(&len, what); !s.ok()) return s;
  if (len == 0) return Status::Corruption(std::string(what) + " is empty");
  if (len > limits.max_name_bytes) {
    return Status::Corruption(std::string(what) + " is " + std::to_string(len) +
                              " bytes, limit " +
                              std::to_string(limits.max_name_bytes));
  }
  if (Status s = in.ReadString(len, out, what); !s.ok()) return s;
  for (unsigned char c : *out) {
    if (!IsNameByte(c)) {
      return Status::Corruption(std::string(what) +
                                " has a byte outside [a-z0-9_]");
    }
  }
  return Status();
}

Status ReadUuid(Reader& in, const char* what, Uuid* out) {
  return in.ReadRaw(out->bytes.data(), out->bytes.size(), what);
}

Status ReadValue(Reader& in, const DecodeLimits& limits, Value* out) {
  uint8_t type = 0;
  if (Status s = in.Read(&type, "value type"); !s.ok()) return s;
  switch (type) {
    case static_cast<uint8_t>(Value::Type::kNull):
      *out = Value::Null();
      return Status();
    case static_cast<uint8_t>(Value::Type::kInteger): {
      int64_t v = 0;
      if (Status s = in.Read(&v, "integer value"); !s.ok()) return s;
      *out = Value::Integer(v);
      return Status();
    }
    case static_cast<uint8_t>(Value::Type::kReal): {
      double v = 0;
      if (Status s = in.Read(&v, "real value"); !s.ok()) return s;
      // NaN is not equal to itself and inf has no CSV or JSON form: neither
      // can take part in last-writer-wins comparisons or be shown.
      if (!std::isfinite(v)) {
        return Status::Corruption("real value is NaN or infinite");
      }
      *out = Value::Real(v);
      return Status();
    }
    case static_cast<uint8_t>(Value::Type::kText): {
      uint32_t len = 0;
      if (Status s = in.Read(&len, "text length"); !s.ok()) return s;
      if (len > limits.max_text_bytes) {
        return Status::Corruption("text value is " + std::to_string(len) +
                                  " bytes, limit " +
                                  std::to_string(limits.max_text_bytes));
      }
      std::string text;
      if (Status s = in.ReadString(len, &text, "text value"); !s.ok()) {
        return s;
      }
      if (!IsValidUtf8(text)) {
        return Status::Corruption("text value is not valid UTF-8");
      }
      *out = Value::Text(std::move(text));
      return Status();
    }
    case static_cast<uint8_t>(Value::Type::kBlob): {
      uint32_t len = 0;
      if (Status s = in.Read(&len, "blob length"); !s.ok()) return s;
      if (len != kBlobHexBytes || len > limits.max_text_bytes) {
        return Status::Corruption(
            "blob reference is " + std::to_string(len) +
            " bytes; it must be 64 lowercase hex digits (a SHA-256)");
      }
      std::string hex;
      if (Status s = in.ReadString(len, &hex, "blob reference"); !s.ok()) {
        return s;
      }
      for (unsigned char c : hex) {
        if (!IsLowerHex(c)) {
          return Status::Corruption(
              "blob reference is not 64 lowercase hex digits");
        }
      }
      *out = Value::Blob(std::move(hex));
      return Status();
    }
    default:
      return Status::Corruption("unknown value type " + std::to_string(type));
  }
}

Status ReadCell(Reader& in, const DecodeLimits& limits, CellWrite* out) {
  if (Status s = ReadName(in, limits, "column name", &out->column); !s.ok()) {
    return s;
  }
  if (Status s = ReadValue(in, limits, &out->value); !s.ok()) return s;
  return in.Read(&out->base, "base");
}

Status ReadRow(Reader& in, const DecodeLimits& limits, RowChange* out) {
  if (Status s = ReadName(in, limits, "entity name", &out->entity); !s.ok()) {
    return s;
  }
  if (Status s = ReadUuid(in, "row id", &out->row_id); !s.ok()) return s;
  if (Status s = in.Read(&out->hlc.wall_ms, "hlc wall_ms"); !s.ok()) return s;
  // The hlc's text form (the one SQLite compares) has 48 bits of wall time
  // and no sign: outside that range the text order would differ from the
  // Hlc order and replicas could disagree on the winner.
  if (out->hlc.wall_ms < 0 || out->hlc.wall_ms > Hlc::kMaxWallMs) {
    return Status::Corruption("hlc wall_ms " +
                              std::to_string(out->hlc.wall_ms) +
                              " is outside [0, 2^48)");
  }
  if (Status s = in.Read(&out->hlc.counter, "hlc counter"); !s.ok()) return s;
  if (Status s = ReadUuid(in, "hlc device", &out->hlc.device); !s.ok()) {
    return s;
  }

  uint32_t cell_count = 0;
  if (Status s = in.Read(&cell_count, "cell count"); !s.ok()) return s;
  if (cell_count > limits.max_cells_per_row) {
    return Status::Corruption("row has " + std::to_string(cell_count) +
                              " cells, limit " +
                              std::to_string(limits.max_cells_per_row));
  }
  if (cell_count * kMinCellBytes > in.remaining()) {
    return Status::Corruption("cell count " + std::to_string(cell_count) +
                              " exceeds the bytes that remain (" +
                              std::to_string(in.remaining()) + ")");
  }
  out->cells.clear();
  out->cells.reserve(cell_count);
  for (uint32_t i = 0; i < cell_count; ++i) {
    CellWrite cell;
    if (Status s = ReadCell(in, limits, &cell); !s.ok()) {
      return Status::Corruption("cell " + std::to_string(i) + ": " +
                                s.message());
    }
    // One row change carries one value per column: two would share an hlc
    // and device, a tie that last-writer-wins cannot break.
    for (const CellWrite& earlier : out->cells) {
      if (earlier.column == cell.column) {
        return Status::Corruption("column '" + cell.column +
                                  "' written twice in one row change");
      }
    }
    out->cells.push_back(std::move(cell));
  }
  return Status();
}

Status DecodeBody(Reader& in, const DecodeLimits& limits, ChangeSet* cs) {
  if (Status s = in.Read(&cs->format_version, "format version"); !s.ok()) {
    return s;
  }
  if (cs->format_version != ChangeSet::kFormatVersion) {
    return Status::Corruption("unsupported change set format version " +
                              std::to_string(cs->format_version) +
                              " (this build reads version " +
                              std::to_string(ChangeSet::kFormatVersion) + ")");
  }
  if (Status s = in.Read(&cs->schema_version, "schema version"); !s.ok()) {
    return s;
  }
  if (Status s = ReadUuid(in, "device id", &cs->device); !s.ok()) return s;
  if (Status s = in.Read(&cs->seq, "sequence number"); !s.ok()) return s;
  if (Status s = in.ReadRaw(cs->prev_hash.data(), cs->prev_hash.size(),
                            "previous hash");
      !s.ok()) {
    return s;
  }

  uint32_t row_count = 0;
  if (Status s = in.Read(&row_count, "row count"); !s.ok()) return s;
  if (row_count > limits.max_rows) {
    return Status::Corruption("change set has " + std::to_string(row_count) +
                              " rows, limit " +
                              std::to_string(limits.max_rows));
  }
  if (row_count * kMinRowBytes > in.remaining()) {
    return Status::Corruption("row count " + std::to_string(row_count) +
                              " exceeds the bytes that remain (" +
                              std::to_string(in.remaining()) + ")");
  }
  cs->rows.reserve(row_count);
  for (uint32_t i = 0; i < row_count; ++i) {
    RowChange row;
    if (Status s = ReadRow(in, limits, &row); !s.ok()) {
      return Status::Corruption("row " + std::to_string(i) + ": " +
                                s.message());
    }
    cs->rows.push_back(std::move(row));
  }
  if (in.remaining() != 0) {
    return Status::Corruption(std::to_string(in.remaining()) +
                              " trailing bytes after the last row");
  }
  return Status();
}

}  // namespace

std::string EncodeChangeSet(const ChangeSet& cs) {
  // Written directly, byte for byte what the cereal portable archive with
  // Options::LittleEndian() writes (its endian marker, then every integer
  // little-endian and raw bytes as they are): the same bytes without a
  // stream and a virtual call per field. The decoder still reads through
  // cereal, and the codec tests pin the bytes.
  size_t size = kHeaderBytes + 2 + 2 + 16 + 8 + 32 + 4;
  for (const RowChange& row : cs.rows) {
    size += 4 + row.entity.size() + 16 + 8 + 4 + 16 + 4;
    for (const CellWrite& cell : row.cells) {
      size += 4 + cell.column.size() + 1 + 8;
      switch (cell.value.type()) {
        case Value::Type::kNull: break;
        case Value::Type::kInteger:
        case Value::Type::kReal: size += 8; break;
        case Value::Type::kText:
        case Value::Type::kBlob: size += 4 + cell.value.text().size(); break;
      }
    }
  }
  std::string out(size, '\0');
  ByteWriter w(out.data());
  w.Raw(kMagic, sizeof kMagic);
  w.Le(kLittleEndianMarker, 1);
  w.Le(cs.format_version, 2);
  w.Le(cs.schema_version, 2);
  w.Raw(cs.device.bytes.data(), cs.device.bytes.size());
  w.Le(cs.seq, 8);
  w.Raw(cs.prev_hash.data(), cs.prev_hash.size());
  w.Le(static_cast<uint32_t>(cs.rows.size()), 4);
  for (const RowChange& row : cs.rows) {
    w.LengthPrefixed(row.entity);
    w.Raw(row.row_id.bytes.data(), row.row_id.bytes.size());
    w.Le(static_cast<uint64_t>(row.hlc.wall_ms), 8);
    w.Le(row.hlc.counter, 4);
    w.Raw(row.hlc.device.bytes.data(), row.hlc.device.bytes.size());
    w.Le(static_cast<uint32_t>(row.cells.size()), 4);
    for (const CellWrite& cell : row.cells) {
      w.LengthPrefixed(cell.column);
      const Value& v = cell.value;
      w.Le(static_cast<uint8_t>(v.type()), 1);
      switch (v.type()) {
        case Value::Type::kNull:
          break;
        case Value::Type::kInteger:
          w.Le(static_cast<uint64_t>(v.integer()), 8);
          break;
        case Value::Type::kReal: {
          uint64_t bits;
          const double d = v.real();
          static_assert(sizeof bits == sizeof d, "64-bit doubles");
          std::memcpy(&bits, &d, sizeof bits);
          w.Le(bits, 8);
          break;
        }
        case Value::Type::kText:
        case Value::Type::kBlob:
          w.LengthPrefixed(v.text());
          break;
      }
      w.Le(cell.base, 8);
    }
  }
  return out;
}

Result<ChangeSet> DecodeChangeSet(std::string_view bytes,
                                  const DecodeLimits& limits) {
  // Cap first: nothing below runs on an oversized body.
  if (bytes.size() > limits.max_bytes) {
    return Status::ResourceExhausted(
        "change set is " + std::to_string(bytes.size()) + " bytes, limit " +
        std::to_string(limits.max_bytes));
  }
  if (bytes.size() < sizeof kMagic ||
      std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return Status::Corruption("not a change set (no \"KBOC\" magic)");
  }
  if (bytes.size() < kHeaderBytes) {
    return Status::Corruption("change set truncated after its magic");
  }
  if (static_cast<uint8_t>(bytes[4]) != kLittleEndianMarker) {
    return Status::Corruption(
        "change set endian marker is not 0x01 (little-endian)");
  }

  ChangeSet cs;
  try {
    ViewStreamBuf buf(bytes.substr(sizeof kMagic));
    std::istream stream(&buf);
    // Default options: load into this host's byte order. The constructor
    // reads the marker checked above.
    InArchive ar(stream, InArchive::Options::Default());
    Reader in(&ar, kHeaderBytes, bytes.size() - kHeaderBytes);
    if (Status s = DecodeBody(in, limits, &cs); !s.ok()) {
      return Status::Corruption("change set: " + s.message());
    }
  } catch (const cereal::Exception& e) {
    // Not expected (every read is bounds-checked first); kept so that a
    // cereal surprise is a rejected change set, never a crash.
    return Status::Corruption(std::string("change set: ") + e.what());
  }
  return Result<ChangeSet>(std::move(cs));
}

Sha256Digest HashChangeSetBytes(std::string_view encoded) {
  return Sha256(encoded);
}

}  // namespace kbo
