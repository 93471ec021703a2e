// Change set, format 1 (docs/changeset-format.md is the full text).
//
// All integers little-endian (the layout of cereal's
// PortableBinaryOutputArchive with Options::LittleEndian(); both directions
// go through shared/bytes.h, and tests/shared/change_set_codec_test.cc reads
// the pinned bytes through cereal to keep it so); "raw" fields are copied
// byte for byte.
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
//   - every read goes through ByteReader (shared/bytes.h), which never reads
//     past the end: a u32 length is checked against its limit and against
//     the bytes that remain before a string is made from it (cereal, whose
//     format this is, would resize() to whatever the prefix says);
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

#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "shared/bytes.h"
#include "shared/encoding.h"
#include "shared/signing.h"

namespace kbo {
namespace {

constexpr std::string_view kMagic = "KBOC";
constexpr uint8_t kLittleEndianMarker = 0x01;
constexpr size_t kHeaderBytes = 4 + 1;  // magic + endian marker

// Smallest encodings, used to bound counts by the bytes that remain:
// a one-byte name, a uuid, an hlc and an empty cell count; and a one-byte
// column name, a null value and a base.
constexpr uint64_t kMinRowBytes = (4 + 1) + 16 + (8 + 4 + 16) + 4;
constexpr uint64_t kMinCellBytes = (4 + 1) + 1 + 8;
// A blob value is the lowercase hex SHA-256 of content, never the content.
constexpr uint32_t kBlobHexBytes = 64;

// 1 for the bytes a name may hold, [a-z0-9_]: every name of every row is
// checked through it, one load per byte and no branch.
constexpr std::array<uint8_t, 256> kNameByte = [] {
  std::array<uint8_t, 256> is{};
  for (int c = 'a'; c <= 'z'; ++c) is[static_cast<size_t>(c)] = 1;
  for (int c = '0'; c <= '9'; ++c) is[static_cast<size_t>(c)] = 1;
  is['_'] = 1;
  return is;
}();

Status ReadName(ByteReader& in, const DecodeLimits& limits, const char* what,
                std::string* out) {
  std::string_view name;
  if (!in.Bytes32(&name, limits.max_name_bytes, what)) return in.status();
  if (name.empty()) return Status::Corruption(std::string(what) + " is empty");
  uint8_t all = 1;
  for (char c : name) all &= kNameByte[static_cast<unsigned char>(c)];
  if (all == 0) {
    return Status::Corruption(std::string(what) + " has a byte outside [a-z0-9_]");
  }
  out->assign(name.data(), name.size());
  return Status();
}

Status ReadUuid(ByteReader& in, const char* what, Uuid* out) {
  if (!in.Raw(out->bytes.data(), out->bytes.size(), what)) return in.status();
  return Status();
}

Status ReadValue(ByteReader& in, const DecodeLimits& limits, Value* out) {
  uint8_t type = 0;
  if (!in.U8(&type, "value type")) return in.status();
  switch (type) {
    case static_cast<uint8_t>(Value::Type::kNull):
      *out = Value::Null();
      return Status();
    case static_cast<uint8_t>(Value::Type::kInteger): {
      int64_t v = 0;
      if (!in.I64(&v, "integer value")) return in.status();
      *out = Value::Integer(v);
      return Status();
    }
    case static_cast<uint8_t>(Value::Type::kReal): {
      double v = 0;
      if (!in.F64(&v, "real value")) return in.status();
      // NaN is not equal to itself and inf has no CSV or JSON form: neither
      // can take part in last-writer-wins comparisons or be shown.
      if (!std::isfinite(v)) {
        return Status::Corruption("real value is NaN or infinite");
      }
      *out = Value::Real(v);
      return Status();
    }
    case static_cast<uint8_t>(Value::Type::kText): {
      std::string_view text;
      if (!in.Bytes32(&text, limits.max_text_bytes, "text value")) return in.status();
      if (!IsValidUtf8(text)) {
        return Status::Corruption("text value is not valid UTF-8");
      }
      *out = Value::Text(std::string(text));
      return Status();
    }
    case static_cast<uint8_t>(Value::Type::kBlob): {
      size_t len = 0;
      if (!in.Length32(&len, limits.max_text_bytes, "blob reference")) return in.status();
      if (len != kBlobHexBytes) {
        return Status::Corruption(
            "blob reference is " + std::to_string(len) +
            " bytes; it must be 64 lowercase hex digits (a SHA-256)");
      }
      std::string_view hex;
      if (!in.View(len, &hex, "blob reference")) return in.status();
      if (!IsLowerHex(hex, kBlobHexBytes)) {
        return Status::Corruption(
            "blob reference is not 64 lowercase hex digits");
      }
      *out = Value::Blob(std::string(hex));
      return Status();
    }
    default:
      return Status::Corruption("unknown value type " + std::to_string(type));
  }
}

Status ReadCell(ByteReader& in, const DecodeLimits& limits, CellWrite* out) {
  if (Status s = ReadName(in, limits, "column name", &out->column); !s.ok()) {
    return s;
  }
  if (Status s = ReadValue(in, limits, &out->value); !s.ok()) return s;
  if (!in.U64(&out->base, "base")) return in.status();
  return Status();
}

Status ReadRow(ByteReader& in, const DecodeLimits& limits, RowChange* out) {
  if (Status s = ReadName(in, limits, "entity name", &out->entity); !s.ok()) {
    return s;
  }
  if (Status s = ReadUuid(in, "row id", &out->row_id); !s.ok()) return s;
  if (!in.I64(&out->hlc.wall_ms, "hlc wall_ms")) return in.status();
  // The hlc's text form (the one SQLite compares) has 48 bits of wall time
  // and no sign: outside that range the text order would differ from the
  // Hlc order and replicas could disagree on the winner.
  if (out->hlc.wall_ms < 0 || out->hlc.wall_ms > Hlc::kMaxWallMs) {
    return Status::Corruption("hlc wall_ms " +
                              std::to_string(out->hlc.wall_ms) +
                              " is outside [0, 2^48)");
  }
  if (!in.U32(&out->hlc.counter, "hlc counter")) return in.status();
  if (Status s = ReadUuid(in, "hlc device", &out->hlc.device); !s.ok()) {
    return s;
  }

  uint32_t cell_count = 0;
  if (!in.U32(&cell_count, "cell count")) return in.status();
  if (!in.CheckCount(cell_count, limits.max_cells_per_row, kMinCellBytes, "cell count")) return in.status();
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

Status DecodeBody(ByteReader& in, const DecodeLimits& limits, ChangeSet* cs) {
  if (!in.U16(&cs->format_version, "format version")) return in.status();
  if (cs->format_version != ChangeSet::kFormatVersion) {
    return Status::Corruption("unsupported change set format version " +
                              std::to_string(cs->format_version) +
                              " (this build reads version " +
                              std::to_string(ChangeSet::kFormatVersion) + ")");
  }
  if (!in.U16(&cs->schema_version, "schema version")) return in.status();
  if (Status s = ReadUuid(in, "device id", &cs->device); !s.ok()) return s;
  if (!in.U64(&cs->seq, "sequence number")) return in.status();
  if (!in.Raw(cs->prev_hash.data(), cs->prev_hash.size(), "previous hash")) return in.status();

  uint32_t row_count = 0;
  if (!in.U32(&row_count, "row count")) return in.status();
  if (!in.CheckCount(row_count, limits.max_rows, kMinRowBytes, "row count")) return in.status();
  cs->rows.reserve(row_count);
  for (uint32_t i = 0; i < row_count; ++i) {
    RowChange row;
    if (Status s = ReadRow(in, limits, &row); !s.ok()) {
      return Status::Corruption("row " + std::to_string(i) + ": " +
                                s.message());
    }
    cs->rows.push_back(std::move(row));
  }
  if (!in.End("the last row")) return in.status();
  return Status();
}

}  // namespace

std::string EncodeChangeSet(const ChangeSet& cs) {
  // Byte for byte what the cereal portable archive with
  // Options::LittleEndian() writes (its endian marker, then every integer
  // little-endian and raw bytes as they are), into a string sized first:
  // no stream, no virtual call per field. The codec tests pin the bytes.
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
  std::string out;
  out.reserve(size);
  ByteWriter w(&out);
  w.Raw(kMagic);
  w.U8(kLittleEndianMarker);
  w.U16(cs.format_version);
  w.U16(cs.schema_version);
  w.Raw(cs.device.bytes.data(), cs.device.bytes.size());
  w.U64(cs.seq);
  w.Raw(cs.prev_hash.data(), cs.prev_hash.size());
  w.U32(static_cast<uint32_t>(cs.rows.size()));
  for (const RowChange& row : cs.rows) {
    w.Bytes32(row.entity);
    w.Raw(row.row_id.bytes.data(), row.row_id.bytes.size());
    w.I64(row.hlc.wall_ms);
    w.U32(row.hlc.counter);
    w.Raw(row.hlc.device.bytes.data(), row.hlc.device.bytes.size());
    w.U32(static_cast<uint32_t>(row.cells.size()));
    for (const CellWrite& cell : row.cells) {
      w.Bytes32(cell.column);
      const Value& v = cell.value;
      w.U8(static_cast<uint8_t>(v.type()));
      switch (v.type()) {
        case Value::Type::kNull:
          break;
        case Value::Type::kInteger:
          w.I64(v.integer());
          break;
        case Value::Type::kReal:
          w.F64(v.real());
          break;
        case Value::Type::kText:
        case Value::Type::kBlob:
          w.Bytes32(v.text());
          break;
      }
      w.U64(cell.base);
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
  ByteReader in(bytes);
  if (!in.Expect(kMagic, "a change set")) return in.status();
  uint8_t marker = 0;
  if (!in.U8(&marker, "endian marker")) {
    return Status::Corruption("change set truncated after its magic");
  }
  if (marker != kLittleEndianMarker) {
    return Status::Corruption(
        "change set endian marker is not 0x01 (little-endian)");
  }
  ChangeSet cs;
  if (Status s = DecodeBody(in, limits, &cs); !s.ok()) {
    return Status::Corruption("change set: " + s.message());
  }
  return Result<ChangeSet>(std::move(cs));
}

Sha256Digest HashChangeSetBytes(std::string_view encoded) {
  return Sha256(encoded);
}

}  // namespace kbo
