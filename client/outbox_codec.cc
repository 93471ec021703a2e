#include "client/outbox_codec.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "shared/bytes.h"
#include "shared/change_set_codec.h"
#include "shared/encoding.h"

namespace kbo::client {
namespace {

constexpr std::string_view kMagic = "KBOX";
constexpr uint8_t kVersion = 1;
constexpr uint8_t kUuidText = 5;  // payload type beside Value::Type's 0..4
constexpr uint8_t kOtherDevice = 1;
// Bounds for a damaged entry: far above anything the store writes (an
// entry holds at most 2,000 rows or about 4 MiB, a row at most 64 cells).
constexpr uint64_t kMaxNames = 4096;
constexpr uint64_t kMaxCells = 64;
// Names and values as the wire's limits (DecodeLimits): nothing longer can
// be sealed into a change set anyway.
constexpr uint64_t kMaxNameBytes = DecodeLimits{}.max_name_bytes;
constexpr uint64_t kMaxTextBytes = DecodeLimits{}.max_text_bytes;
// Smallest row: entity index, id, flags, wall, counter, cell count.
constexpr uint64_t kMinRowBytes = 1 + 16 + 1 + 1 + 1 + 1;
// Smallest cell: column index, type, base.
constexpr uint64_t kMinCellBytes = 3;

// Whether `text` is a uuid in canonical lowercase form (so that
// Uuid::ToString gives back exactly `text`), and if so its bytes in `out`.
// Every reference of every row passes here: no Result, no message built
// for the texts that are not one.
bool CanonicalUuid(std::string_view text, Uuid* out) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return false;
  }
  size_t at = 0;
  for (size_t i = 0; i < 36; i += 2) {
    if (i == 8 || i == 13 || i == 18 || i == 23) ++i;  // the four dashes
    const uint8_t hi = kLowerHexValue[static_cast<uint8_t>(text[i])];
    const uint8_t lo = kLowerHexValue[static_cast<uint8_t>(text[i + 1])];
    if (hi > 15 || lo > 15) return false;
    out->bytes[at++] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

uint64_t OutboxEntryWriter::NameIndex(std::string_view name) {
  // The rows of one action name the same entity and columns in the same
  // order, so the name after the last one found is nearly always the next.
  if (next_name_ < names_.size() && names_[next_name_] == name) return next_name_++;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) {
      next_name_ = i + 1;
      return i;
    }
  }
  names_.emplace_back(name);
  next_name_ = names_.size();
  return names_.size() - 1;
}

void OutboxEntryWriter::Add(const RowChange& row) {
  // Room for the most the row can take, written without an append per
  // field, then cut back: entity, id, flags, device, wall_ms, counter, cell
  // count, and per cell its column, type, largest payload and base.
  size_t bound = kMaxVarintBytes + 16 + 1 + 16 + 3 * kMaxVarintBytes;
  for (const CellWrite& cell : row.cells) {
    bound += 2 * kMaxVarintBytes + 1 +
             std::max<size_t>(16, kMaxVarintBytes + cell.value.text().size());
  }
  char* const start = Reserve(bound);
  SpanByteWriter w(start);
  w.Varint(NameIndex(row.entity));
  w.Raw(row.row_id.bytes.data(), row.row_id.bytes.size());
  const bool other = row.hlc.device != device_;
  w.U8(other ? kOtherDevice : 0);
  if (other) w.Raw(row.hlc.device.bytes.data(), row.hlc.device.bytes.size());
  w.Varint(ZigZag(row.hlc.wall_ms));
  w.Varint(row.hlc.counter);
  w.Varint(row.cells.size());
  for (const CellWrite& cell : row.cells) {
    w.Varint(NameIndex(cell.column));
    const Value& v = cell.value;
    switch (v.type()) {
      case Value::Type::kNull:
        w.U8(static_cast<uint8_t>(Value::Type::kNull));
        break;
      case Value::Type::kInteger:
        w.U8(static_cast<uint8_t>(Value::Type::kInteger));
        w.Varint(ZigZag(v.integer()));
        break;
      case Value::Type::kReal:
        w.U8(static_cast<uint8_t>(Value::Type::kReal));
        w.F64(v.real());
        break;
      case Value::Type::kText:
        if (Uuid uuid; CanonicalUuid(v.text(), &uuid)) {
          w.U8(kUuidText);
          w.Raw(uuid.bytes.data(), uuid.bytes.size());
          break;
        }
        [[fallthrough]];
      case Value::Type::kBlob:
        w.U8(static_cast<uint8_t>(v.type()));
        w.BytesVarint(v.text());
        break;
    }
    w.Varint(cell.base);
  }
  body_size_ += static_cast<size_t>(w.end() - start);
  ++rows_;
}

char* OutboxEntryWriter::Reserve(size_t n) {
  if (body_capacity_ - body_size_ < n) {
    const size_t capacity = std::max({body_size_ + n, 2 * body_capacity_, size_t{4096}});
    std::unique_ptr<char[]> grown(new char[capacity]);
    if (body_size_ > 0) std::memcpy(grown.get(), body_.get(), body_size_);
    body_ = std::move(grown);
    body_capacity_ = capacity;
  }
  return body_.get() + body_size_;
}

std::string OutboxEntryWriter::Finish() {
  std::string out;
  size_t names_size = 0;
  for (const std::string& n : names_) names_size += n.size() + 2;
  out.reserve(kMagic.size() + 1 + 16 + 10 + names_size + 10 + body_size_);
  ByteWriter w(&out);
  w.Raw(kMagic);
  w.U8(kVersion);
  w.Raw(device_.bytes.data(), device_.bytes.size());
  w.Varint(names_.size());
  for (const std::string& n : names_) w.BytesVarint(n);
  w.Varint(rows_);
  if (body_size_ > 0) w.Raw(body_.get(), body_size_);
  Clear();
  return out;
}

void OutboxEntryWriter::Clear() {
  names_.clear();
  next_name_ = 0;
  body_size_ = 0;  // the buffer stays for the next entry, as a string's would
  rows_ = 0;
}

namespace {

Status DecodeRows(ByteReader& in, std::vector<RowChange>* rows) {
  if (!in.Expect(kMagic, "an outbox entry")) return in.status();
  uint8_t version = 0;
  if (!in.U8(&version, "version")) return in.status();
  if (version != kVersion) {
    return Status::Corruption("unknown version " + std::to_string(version));
  }
  Uuid device;
  if (!in.Raw(device.bytes.data(), device.bytes.size(), "device")) return in.status();
  uint64_t nnames = 0;
  if (!in.Varint(&nnames, "name count")) return in.status();
  if (!in.CheckCount(nnames, kMaxNames, 2, "name count")) return in.status();
  std::vector<std::string_view> names(static_cast<size_t>(nnames));
  for (std::string_view& n : names) {
    if (!in.BytesVarint(&n, kMaxNameBytes, "name")) return in.status();
    if (n.empty()) return Status::Corruption("an empty name");
  }
  auto name_at = [&](const char* what, std::string* out) {
    uint64_t i = 0;
    if (!in.Varint(&i, what)) return false;
    if (i >= names.size()) {
      return in.Fail(std::string(what) + " " + std::to_string(i) +
                     " is not one of the " + std::to_string(names.size()) +
                     " names");
    }
    out->assign(names[static_cast<size_t>(i)]);
    return true;
  };
  uint64_t nrows = 0;
  if (!in.Varint(&nrows, "row count")) return in.status();
  if (!in.CheckCount(nrows, UINT64_MAX, kMinRowBytes, "row count")) return in.status();
  rows->reserve(static_cast<size_t>(nrows));
  for (uint64_t r = 0; r < nrows; ++r) {
    RowChange row;
    uint8_t flags = 0;
    uint64_t wall = 0, counter = 0, ncells = 0;
    if (!name_at("entity", &row.entity)) return in.status();
    if (!in.Raw(row.row_id.bytes.data(), row.row_id.bytes.size(), "row id")) return in.status();
    if (!in.U8(&flags, "row flags")) return in.status();
    if ((flags & ~kOtherDevice) != 0) {
      return Status::Corruption("unknown row flags " + std::to_string(flags));
    }
    row.hlc.device = device;
    if ((flags & kOtherDevice) != 0) {
      if (!in.Raw(row.hlc.device.bytes.data(), row.hlc.device.bytes.size(), "row device")) return in.status();
    }
    if (!in.Varint(&wall, "row wall_ms")) return in.status();
    if (!in.Varint(&counter, "row counter")) return in.status();
    if (counter > UINT32_MAX) return Status::Corruption("row counter over 32 bits");
    row.hlc.wall_ms = UnZigZag(wall);
    row.hlc.counter = static_cast<uint32_t>(counter);
    if (!in.Varint(&ncells, "cell count")) return in.status();
    if (!in.CheckCount(ncells, kMaxCells, kMinCellBytes, "cell count")) return in.status();
    row.cells.resize(static_cast<size_t>(ncells));
    for (CellWrite& cell : row.cells) {
      uint8_t type = 0;
      if (!name_at("column", &cell.column)) return in.status();
      if (!in.U8(&type, "value type")) return in.status();
      switch (type) {
        case static_cast<uint8_t>(Value::Type::kNull):
          break;
        case static_cast<uint8_t>(Value::Type::kInteger): {
          uint64_t v = 0;
          if (!in.Varint(&v, "integer")) return in.status();
          cell.value = Value::Integer(UnZigZag(v));
          break;
        }
        case static_cast<uint8_t>(Value::Type::kReal): {
          double d = 0;
          if (!in.F64(&d, "real")) return in.status();
          // Never stored: NaN and inf are refused before they are written.
          if (!std::isfinite(d)) return Status::Corruption("a NaN or infinite real");
          cell.value = Value::Real(d);
          break;
        }
        case static_cast<uint8_t>(Value::Type::kText):
        case static_cast<uint8_t>(Value::Type::kBlob): {
          std::string_view text;
          if (!in.BytesVarint(&text, kMaxTextBytes, "text")) return in.status();
          cell.value = type == static_cast<uint8_t>(Value::Type::kText)
                           ? Value::Text(std::string(text))
                           : Value::Blob(std::string(text));
          break;
        }
        case kUuidText: {
          Uuid u;
          if (!in.Raw(u.bytes.data(), u.bytes.size(), "uuid")) return in.status();
          cell.value = Value::Text(u.ToString());
          break;
        }
        default:
          return Status::Corruption("unknown value type " + std::to_string(type));
      }
      if (!in.Varint(&cell.base, "base")) return in.status();
    }
    rows->push_back(std::move(row));
  }
  if (!in.End("the last row")) return in.status();
  return Status();
}

}  // namespace

Result<std::vector<RowChange>> DecodeOutboxEntry(std::string_view bytes) {
  ByteReader in(bytes);
  std::vector<RowChange> rows;
  if (Status s = DecodeRows(in, &rows); !s.ok()) {
    return Status::Corruption("outbox entry is damaged (" + s.message() + ")");
  }
  return rows;
}

}  // namespace kbo::client
