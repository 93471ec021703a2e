#include "client/outbox_codec.h"

#include <cmath>
#include <cstring>
#include <optional>

namespace kbo::client {
namespace {

constexpr char kMagic[4] = {'K', 'B', 'O', 'X'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kUuidText = 5;  // payload type beside Value::Type's 0..4
constexpr uint8_t kOtherDevice = 1;
// Bounds for a damaged entry: far above anything the store writes (an
// entry holds at most 2,000 rows or about 4 MiB, a row at most 64 cells).
constexpr uint64_t kMaxNames = 4096;
constexpr uint64_t kMaxCells = 64;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

void PutRaw(std::string* out, const void* p, size_t n) {
  out->append(static_cast<const char*>(p), n);
}

// `text` as a uuid if it is one in canonical lowercase form (so that
// Uuid::ToString gives back exactly `text`).
std::optional<Uuid> CanonicalUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  for (char c : text) {
    if (c >= 'A' && c <= 'F') return std::nullopt;
  }
  Result<Uuid> u = Uuid::Parse(text);
  if (!u.ok()) return std::nullopt;
  return *u;
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  size_t remaining() const { return bytes_.size() - pos_; }

  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) return false;
      const uint8_t b = static_cast<uint8_t>(bytes_[pos_++]);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Raw(void* out, size_t n) {
    if (remaining() < n) return false;
    if (n > 0) std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool Bytes(std::string* out) {
    uint64_t n = 0;
    if (!Varint(&n) || n > remaining()) return false;
    out->assign(bytes_.data() + pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }
  bool U8(uint8_t* v) { return Raw(v, 1); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace

uint64_t OutboxEntryWriter::NameIndex(std::string_view name) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return i;
  }
  names_.emplace_back(name);
  return names_.size() - 1;
}

void OutboxEntryWriter::Add(const RowChange& row) {
  PutVarint(&body_, NameIndex(row.entity));
  PutRaw(&body_, row.row_id.bytes.data(), row.row_id.bytes.size());
  const bool other = row.hlc.device != device_;
  body_.push_back(static_cast<char>(other ? kOtherDevice : 0));
  if (other) PutRaw(&body_, row.hlc.device.bytes.data(), row.hlc.device.bytes.size());
  PutVarint(&body_, ZigZag(row.hlc.wall_ms));
  PutVarint(&body_, row.hlc.counter);
  PutVarint(&body_, row.cells.size());
  for (const CellWrite& cell : row.cells) {
    PutVarint(&body_, NameIndex(cell.column));
    const Value& v = cell.value;
    switch (v.type()) {
      case Value::Type::kNull:
        body_.push_back(static_cast<char>(Value::Type::kNull));
        break;
      case Value::Type::kInteger:
        body_.push_back(static_cast<char>(Value::Type::kInteger));
        PutVarint(&body_, ZigZag(v.integer()));
        break;
      case Value::Type::kReal: {
        body_.push_back(static_cast<char>(Value::Type::kReal));
        uint64_t bits;
        const double d = v.real();
        static_assert(sizeof bits == sizeof d, "64-bit doubles");
        std::memcpy(&bits, &d, sizeof bits);
        for (int i = 0; i < 8; ++i) body_.push_back(static_cast<char>(bits >> (8 * i)));
        break;
      }
      case Value::Type::kText:
        if (const std::optional<Uuid> uuid = CanonicalUuid(v.text())) {
          body_.push_back(static_cast<char>(kUuidText));
          PutRaw(&body_, uuid->bytes.data(), uuid->bytes.size());
          break;
        }
        [[fallthrough]];
      case Value::Type::kBlob:
        body_.push_back(static_cast<char>(v.type()));
        PutVarint(&body_, v.text().size());
        PutRaw(&body_, v.text().data(), v.text().size());
        break;
    }
    PutVarint(&body_, cell.base);
  }
  ++rows_;
}

std::string OutboxEntryWriter::Finish() {
  std::string out;
  size_t names_size = 0;
  for (const std::string& n : names_) names_size += n.size() + 2;
  out.reserve(sizeof kMagic + 1 + 16 + 10 + names_size + 10 + body_.size());
  PutRaw(&out, kMagic, sizeof kMagic);
  out.push_back(static_cast<char>(kVersion));
  PutRaw(&out, device_.bytes.data(), device_.bytes.size());
  PutVarint(&out, names_.size());
  for (const std::string& n : names_) {
    PutVarint(&out, n.size());
    out += n;
  }
  PutVarint(&out, rows_);
  out += body_;
  Clear();
  return out;
}

void OutboxEntryWriter::Clear() {
  names_.clear();
  body_.clear();
  rows_ = 0;
}

Result<std::vector<RowChange>> DecodeOutboxEntry(std::string_view bytes) {
  const auto damaged = [](const char* what) {
    return Status::Corruption(std::string("outbox entry is damaged (") + what + ")");
  };
  Reader in(bytes);
  char magic[4];
  uint8_t version = 0;
  if (!in.Raw(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof magic) != 0) {
    return damaged("not an outbox entry");
  }
  if (!in.U8(&version) || version != kVersion) return damaged("unknown version");
  Uuid device;
  if (!in.Raw(device.bytes.data(), device.bytes.size())) return damaged("device");
  uint64_t nnames = 0;
  if (!in.Varint(&nnames) || nnames > kMaxNames || nnames > in.remaining()) {
    return damaged("name count");
  }
  std::vector<std::string> names(static_cast<size_t>(nnames));
  for (std::string& n : names) {
    if (!in.Bytes(&n) || n.empty()) return damaged("name");
  }
  auto name_at = [&names](uint64_t i, std::string* out) {
    if (i >= names.size()) return false;
    *out = names[static_cast<size_t>(i)];
    return true;
  };
  uint64_t nrows = 0;
  // A row takes at least 16 + 5 bytes: the count cannot exceed that bound.
  if (!in.Varint(&nrows) || nrows > in.remaining() / 21) return damaged("row count");
  std::vector<RowChange> rows;
  rows.reserve(static_cast<size_t>(nrows));
  for (uint64_t r = 0; r < nrows; ++r) {
    RowChange row;
    uint64_t entity = 0, wall = 0, counter = 0, ncells = 0;
    uint8_t flags = 0;
    if (!in.Varint(&entity) || !name_at(entity, &row.entity)) return damaged("entity");
    if (!in.Raw(row.row_id.bytes.data(), row.row_id.bytes.size()) || !in.U8(&flags) ||
        (flags & ~kOtherDevice) != 0) {
      return damaged("row header");
    }
    row.hlc.device = device;
    if ((flags & kOtherDevice) != 0 &&
        !in.Raw(row.hlc.device.bytes.data(), row.hlc.device.bytes.size())) {
      return damaged("row device");
    }
    if (!in.Varint(&wall) || !in.Varint(&counter) || counter > UINT32_MAX) {
      return damaged("row clock");
    }
    row.hlc.wall_ms = UnZigZag(wall);
    row.hlc.counter = static_cast<uint32_t>(counter);
    if (!in.Varint(&ncells) || ncells > kMaxCells || ncells * 3 > in.remaining()) {
      return damaged("cell count");
    }
    row.cells.resize(static_cast<size_t>(ncells));
    for (CellWrite& cell : row.cells) {
      uint64_t column = 0;
      uint8_t type = 0;
      if (!in.Varint(&column) || !name_at(column, &cell.column) || !in.U8(&type)) {
        return damaged("cell");
      }
      switch (type) {
        case static_cast<uint8_t>(Value::Type::kNull):
          break;
        case static_cast<uint8_t>(Value::Type::kInteger): {
          uint64_t v = 0;
          if (!in.Varint(&v)) return damaged("integer");
          cell.value = Value::Integer(UnZigZag(v));
          break;
        }
        case static_cast<uint8_t>(Value::Type::kReal): {
          uint8_t b[8];
          if (!in.Raw(b, sizeof b)) return damaged("real");
          uint64_t bits = 0;
          for (int i = 7; i >= 0; --i) bits = bits << 8 | b[i];
          double d;
          std::memcpy(&d, &bits, sizeof d);
          if (!std::isfinite(d)) return damaged("real");  // never stored
          cell.value = Value::Real(d);
          break;
        }
        case static_cast<uint8_t>(Value::Type::kText):
        case static_cast<uint8_t>(Value::Type::kBlob): {
          std::string text;
          if (!in.Bytes(&text)) return damaged("text");
          cell.value = type == static_cast<uint8_t>(Value::Type::kText)
                           ? Value::Text(std::move(text))
                           : Value::Blob(std::move(text));
          break;
        }
        case kUuidText: {
          Uuid u;
          if (!in.Raw(u.bytes.data(), u.bytes.size())) return damaged("uuid");
          cell.value = Value::Text(u.ToString());
          break;
        }
        default:
          return damaged("value type");
      }
      if (!in.Varint(&cell.base)) return damaged("base");
    }
    rows.push_back(std::move(row));
  }
  if (in.remaining() != 0) return damaged("trailing bytes");
  return rows;
}

}  // namespace kbo::client
