#include "shared/change_set_codec.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <catch2/catch.hpp>
#include <cereal/archives/portable_binary.hpp>
#include <sstream>

#include "shared/signing.h"

namespace kbo {
namespace {

constexpr char kThaiNote[] = "ขาดเรียนโดยไม่แจ้งล่วงหน้า";
constexpr char kPhotoSha[] =
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

Uuid UuidOf(uint8_t fill) {
  Uuid u;
  u.bytes.fill(fill);
  return u;
}

Hlc HlcOf(int64_t wall_ms, uint32_t counter, const Uuid& device) {
  Hlc h;
  h.wall_ms = wall_ms;
  h.counter = counter;
  h.device = device;
  return h;
}

// A header with no rows; tests add the rows they need.
ChangeSet EmptySet() {
  ChangeSet cs;
  cs.schema_version = 3;
  cs.device = UuidOf(0xd1);
  cs.seq = 7;
  for (size_t i = 0; i < cs.prev_hash.size(); ++i) {
    cs.prev_hash[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  return cs;
}

// One row holding a single cell with `value`.
ChangeSet OneCellSet(Value value) {
  ChangeSet cs = EmptySet();
  RowChange row;
  row.entity = "attendance";
  row.row_id = UuidOf(0x42);
  row.hlc = HlcOf(1718000000000, 3, cs.device);
  row.cells.push_back(CellWrite{"note", std::move(value), 12});
  cs.rows.push_back(std::move(row));
  return cs;
}

// Two rows covering every value type, Thai text included.
ChangeSet SampleChangeSet() {
  ChangeSet cs = EmptySet();
  RowChange attendance;
  attendance.entity = "attendance";
  attendance.row_id = UuidOf(0x10);
  attendance.hlc = HlcOf(1718000000000, 0, cs.device);
  attendance.cells = {
      {"workshop_id", Value::Text("5f0c5a52-3b1e-4d6a-9c1e-0a4b8e2f7d11"), 0},
      {"day", Value::Integer(2), 0},
      {"status", Value::Text("absent"), 41},
      {"note", Value::Text(kThaiNote), 41},
      {"district_code", Value::Text("5001"), 0},
  };
  RowChange visit;
  visit.entity = "visit";
  visit.row_id = UuidOf(0x20);
  visit.hlc = HlcOf(1718000000001, 9, cs.device);
  visit.cells = {
      {"lat", Value::Real(18.7883), 0},
      {"lon", Value::Real(-98.9853), 0},
      {"follow_up", Value::Null(), 0},
      {"photo", Value::Blob(kPhotoSha), std::numeric_limits<uint64_t>::max()},
      {"visits", Value::Integer(std::numeric_limits<int64_t>::min()), 0},
  };
  cs.rows.push_back(std::move(attendance));
  cs.rows.push_back(std::move(visit));
  return cs;
}

// Byte offset of the first row (magic, marker, format, schema, device, seq,
// prev_hash, row_count).
constexpr size_t kFirstRowOffset = 4 + 1 + 2 + 2 + 16 + 8 + 32 + 4;
constexpr size_t kRowCountOffset = kFirstRowOffset - 4;

// Offsets inside OneCellSet(): entity "attendance" (10 bytes), row id, hlc.
constexpr size_t kCellCountOffset = kFirstRowOffset + 4 + 10 + 16 + 28;
constexpr size_t kValueTypeOffset = kCellCountOffset + 4 + 4 + 4;  // "note"
constexpr size_t kValueLengthOffset = kValueTypeOffset + 1;

void PutU32(std::string* bytes, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    (*bytes)[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
}

Code DecodeCode(std::string_view bytes,
                const DecodeLimits& limits = DecodeLimits{}) {
  return DecodeChangeSet(bytes, limits).status().code();
}

TEST_CASE("ChangeSetCodec: every value type survives a round trip", "[codec]") {
  const Value value = GENERATE(
      Value::Null(), Value::Integer(0), Value::Integer(-1),
      Value::Integer(std::numeric_limits<int64_t>::max()),
      Value::Integer(std::numeric_limits<int64_t>::min()), Value::Real(0.0),
      Value::Real(-0.0), Value::Real(0.1), Value::Real(-1e300),
      Value::Real(std::numeric_limits<double>::denorm_min()), Value::Text(""),
      Value::Text("present"), Value::Text(kThaiNote), Value::Blob(kPhotoSha));
  CAPTURE(TypeName(value.type()), value.ToDisplay());
  const ChangeSet cs = OneCellSet(value);
  Result<ChangeSet> back = DecodeChangeSet(EncodeChangeSet(cs));
  REQUIRE(back.ok());
  CHECK(*back == cs);
  CHECK(back->rows[0].cells[0].value.type() == value.type());
}

TEST_CASE("ChangeSetCodec: an empty and a multi-row set round trip",
          "[codec]") {
  const ChangeSet empty = EmptySet();
  Result<ChangeSet> back = DecodeChangeSet(EncodeChangeSet(empty));
  REQUIRE(back.ok());
  CHECK(*back == empty);
  CHECK(EncodeChangeSet(empty).size() == kFirstRowOffset);

  const ChangeSet sample = SampleChangeSet();
  back = DecodeChangeSet(EncodeChangeSet(sample));
  REQUIRE(back.ok());
  CHECK(*back == sample);
  CHECK(CellCount(*back) == 10);
}

TEST_CASE("ChangeSetCodec: Thai text comes back byte for byte", "[codec]") {
  Result<ChangeSet> back =
      DecodeChangeSet(EncodeChangeSet(OneCellSet(Value::Text(kThaiNote))));
  REQUIRE(back.ok());
  CHECK(back->rows[0].cells[0].value.text() == kThaiNote);
  CHECK(back->rows[0].cells[0].value.ToDisplay() == kThaiNote);
}

TEST_CASE("ChangeSetCodec: equal change sets encode to equal bytes",
          "[codec]") {
  CHECK(EncodeChangeSet(SampleChangeSet()) ==
        EncodeChangeSet(SampleChangeSet()));
  ChangeSet other = SampleChangeSet();
  other.rows[1].cells[0].value = Value::Real(18.7884);
  CHECK(EncodeChangeSet(other) != EncodeChangeSet(SampleChangeSet()));
}

TEST_CASE("ChangeSetCodec: the header layout is the documented one",
          "[codec]") {
  const std::string bytes = EncodeChangeSet(EmptySet());
  REQUIRE(bytes.size() == kFirstRowOffset);
  CHECK(bytes.substr(0, 4) == "KBOC");
  CHECK(bytes[4] == '\x01');  // little-endian marker
  CHECK(bytes.substr(5, 2) == std::string("\x01\x00", 2));  // format 1
  CHECK(bytes.substr(7, 2) == std::string("\x03\x00", 2));  // schema 3
  CHECK(bytes.substr(9, 16) == std::string(16, '\xd1'));    // device
  CHECK(bytes.substr(25, 8) ==
        std::string("\x07\x00\x00\x00\x00\x00\x00\x00", 8));  // seq 7
  CHECK(bytes[33] == '\x01');                                 // prev_hash[0]
  CHECK(bytes.substr(kRowCountOffset, 4) == std::string(4, '\0'));
}

TEST_CASE("ChangeSetCodec: the bytes are cereal's portable binary archive",
          "[codec]") {
  // The codec reads and writes through shared/bytes.h, not cereal; this
  // keeps the format what DESIGN §5 says it is: cereal's
  // PortableBinaryInputArchive, given the bytes after the magic, reads the
  // same header and first row back.
  ChangeSet cs = EmptySet();
  RowChange row;
  row.entity = "attendance";
  row.row_id = UuidOf(0xaa);
  row.hlc = HlcOf(0x0190'0000'0000, 9, cs.device);
  row.cells = {{"status", Value::Text("absent"), 0}};
  cs.rows.push_back(row);
  const std::string bytes = EncodeChangeSet(cs);
  std::istringstream stream(bytes.substr(4));
  cereal::PortableBinaryInputArchive ar(stream);  // reads the 0x01 marker
  uint16_t format = 0, schema = 0;
  uint64_t seq = 0;
  uint32_t rows = 0, name_len = 0, counter = 0;
  int64_t wall = 0;
  Uuid device, row_id;
  ar(format, schema);
  ar(cereal::binary_data(device.bytes.data(), device.bytes.size()));
  ar(seq);
  Sha256Digest prev{};
  ar(cereal::binary_data(prev.data(), prev.size()));
  ar(rows, name_len);
  std::string name(name_len, '\0');
  ar(cereal::binary_data(name.data(), name.size()));
  ar(cereal::binary_data(row_id.bytes.data(), row_id.bytes.size()));
  ar(wall, counter);
  CHECK(format == ChangeSet::kFormatVersion);
  CHECK(schema == cs.schema_version);
  CHECK(device == cs.device);
  CHECK(seq == cs.seq);
  CHECK(prev == cs.prev_hash);
  CHECK(rows == 1);
  CHECK(name == "attendance");
  CHECK(row_id == row.row_id);
  CHECK(wall == row.hlc.wall_ms);
  CHECK(counter == 9);
}

TEST_CASE("ChangeSetCodec: one attendance row has a pinned encoding",
          "[codec]") {
  // The worked example of docs/changeset-format.md: if this changes, the
  // format changed, and every stored signature and hash chain with it.
  ChangeSet cs;
  cs.schema_version = 1;
  cs.device = UuidOf(0xdd);
  cs.seq = 1;
  RowChange row;
  row.entity = "attendance";
  row.row_id = UuidOf(0xaa);
  row.hlc = HlcOf(0x0190'0000'0000, 0, cs.device);
  row.cells = {{"status", Value::Text("absent"), 0}};
  cs.rows.push_back(row);
  const std::string bytes = EncodeChangeSet(cs);
  // clang-format off
  CHECK(HexEncode(bytes) ==
        "4b424f4301"                                 // magic, marker
        "0100" "0100"                                // format, schema
        "dddddddddddddddddddddddddddddddd"           // device
        "0100000000000000"                           // seq
        "0000000000000000000000000000000000000000000000000000000000000000"
        "01000000"                                   // row_count
        "0a000000" "617474656e64616e6365"            // "attendance"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"           // row id
        "0000000090010000" "00000000"                // wall_ms, counter
        "dddddddddddddddddddddddddddddddd"           // hlc device
        "01000000"                                   // cell_count
        "06000000" "737461747573"                    // "status"
        "03" "06000000" "616273656e74"               // text "absent"
        "0000000000000000");                         // base
  // clang-format on
  // Header 69 + row 62 (name 14, id 16, hlc 28, count 4) + cell 29.
  CHECK(bytes.size() == 160);
}

TEST_CASE("ChangeSetCodec: a truncated set is corruption, not a crash",
          "[codec][untrusted]") {
  const std::string bytes = EncodeChangeSet(SampleChangeSet());
  for (size_t len = 0; len < bytes.size(); ++len) {
    CAPTURE(len);
    Result<ChangeSet> r = DecodeChangeSet(bytes.substr(0, len));
    CHECK(r.status().code() == Code::kCorruption);
  }
}

TEST_CASE(
    "ChangeSetCodec: random byte flips give an error or a set that "
    "re-encodes to the same bytes",
    "[codec][untrusted]") {
  const std::string bytes = EncodeChangeSet(SampleChangeSet());
  const uint32_t seed = GENERATE(take(4, random(1u, 1000000000u)));
  CAPTURE(seed);  // a failure prints the seed that replays it
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> pos(0, bytes.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> flips(1, 4);
  int decoded = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string mutated = bytes;
    for (int k = flips(rng); k > 0; --k) {
      mutated[pos(rng)] = static_cast<char>(byte(rng));
    }
    Result<ChangeSet> r = DecodeChangeSet(mutated);
    if (r.ok()) {
      ++decoded;
      // Canonical: only one byte string decodes to a given set, so a
      // signature or hash over the bytes covers exactly what was decoded.
      CHECK(EncodeChangeSet(*r) == mutated);
    } else {
      CHECK((r.status().code() == Code::kCorruption));
      CHECK(!r.status().message().empty());
    }
  }
  CHECK(decoded < 1000);
}

TEST_CASE(
    "ChangeSetCodec: a huge length prefix is refused before any "
    "allocation",
    "[codec][untrusted]") {
  const std::string good = EncodeChangeSet(OneCellSet(Value::Text("late")));
  REQUIRE(DecodeChangeSet(good).ok());
  const size_t remaining_after_length = good.size() - kValueLengthOffset - 4;
  const uint32_t length = GENERATE_COPY(
      std::numeric_limits<uint32_t>::max(), uint32_t{1} << 31,
      uint32_t{65537},                                     // over the limit
      static_cast<uint32_t>(remaining_after_length + 1));  // beyond the input
  CAPTURE(length);

  SECTION("in a text value") {
    std::string bytes = good;
    PutU32(&bytes, kValueLengthOffset, length);
    CHECK(DecodeCode(bytes) == Code::kCorruption);
  }
  SECTION("in the entity name") {
    std::string bytes = good;
    PutU32(&bytes, kFirstRowOffset, length);
    CHECK(DecodeCode(bytes) == Code::kCorruption);
  }
}

TEST_CASE(
    "ChangeSetCodec: a huge row or cell count is refused before any "
    "allocation",
    "[codec][untrusted]") {
  const std::string good = EncodeChangeSet(OneCellSet(Value::Integer(1)));
  const uint32_t count =
      GENERATE(std::numeric_limits<uint32_t>::max(), uint32_t{1} << 30,
               uint32_t{50000}, uint32_t{64}, uint32_t{2});
  CAPTURE(count);

  SECTION("row count") {
    std::string bytes = good;
    PutU32(&bytes, kRowCountOffset, count);
    Result<ChangeSet> r = DecodeChangeSet(bytes);
    CHECK(r.status().code() == Code::kCorruption);
  }
  SECTION("cell count") {
    std::string bytes = good;
    PutU32(&bytes, kCellCountOffset, count);
    Result<ChangeSet> r = DecodeChangeSet(bytes);
    CHECK(r.status().code() == Code::kCorruption);
  }
}

TEST_CASE(
    "ChangeSetCodec: counts and lengths beyond the limits are refused "
    "even when the bytes are there",
    "[codec][untrusted]") {
  const ChangeSet sample = SampleChangeSet();  // 2 rows, 5 cells each
  const std::string bytes = EncodeChangeSet(sample);
  DecodeLimits limits;

  limits.max_rows = 1;
  CHECK(DecodeCode(bytes, limits) == Code::kCorruption);
  limits = DecodeLimits{};
  limits.max_cells_per_row = 4;
  CHECK(DecodeCode(bytes, limits) == Code::kCorruption);
  limits = DecodeLimits{};
  limits.max_text_bytes = 40;  // the Thai note is 78 bytes
  CHECK(DecodeCode(bytes, limits) == Code::kCorruption);
  limits = DecodeLimits{};
  limits.max_name_bytes = 12;  // "district_code" is 13
  CHECK(DecodeCode(bytes, limits) == Code::kCorruption);

  limits = DecodeLimits{};
  limits.max_rows = 2;
  limits.max_cells_per_row = 5;
  limits.max_text_bytes = std::strlen(kThaiNote);
  limits.max_name_bytes = 13;
  limits.max_bytes = bytes.size();
  CHECK(DecodeChangeSet(bytes, limits).ok());
}

TEST_CASE("ChangeSetCodec: bytes over max_bytes are refused as too large",
          "[codec][untrusted]") {
  const std::string bytes = EncodeChangeSet(SampleChangeSet());
  DecodeLimits limits;
  limits.max_bytes = bytes.size() - 1;
  CHECK(DecodeCode(bytes, limits) == Code::kResourceExhausted);
  // Checked first: even garbage is "too large" rather than "corrupt".
  CHECK(DecodeCode(std::string(bytes.size(), 'x'), limits) ==
        Code::kResourceExhausted);
  limits.max_bytes = bytes.size();
  CHECK(DecodeChangeSet(bytes, limits).ok());
}

TEST_CASE("ChangeSetCodec: a trailing byte is corruption", "[codec]") {
  const std::string bytes = EncodeChangeSet(SampleChangeSet());
  Result<ChangeSet> r = DecodeChangeSet(bytes + '\0');
  CHECK(r.status().code() == Code::kCorruption);
  CHECK(r.status().message().find("trailing") != std::string::npos);
}

TEST_CASE("ChangeSetCodec: a wrong magic or endian marker is corruption",
          "[codec]") {
  std::string bytes = EncodeChangeSet(SampleChangeSet());
  std::string bad = bytes;
  bad[0] = 'k';
  CHECK(DecodeCode(bad) == Code::kCorruption);
  bad = bytes;
  bad[4] = '\0';  // cereal's big-endian marker: a second encoding, refused
  CHECK(DecodeCode(bad) == Code::kCorruption);
  CHECK(DecodeCode("") == Code::kCorruption);
}

TEST_CASE("ChangeSetCodec: an unknown format version is refused by number",
          "[codec]") {
  ChangeSet cs = SampleChangeSet();
  cs.format_version = 2;
  Result<ChangeSet> r = DecodeChangeSet(EncodeChangeSet(cs));
  CHECK(r.status().code() == Code::kCorruption);
  CHECK(r.status().message().find("format version 2") != std::string::npos);
  cs.format_version = 0;
  CHECK(DecodeCode(EncodeChangeSet(cs)) == Code::kCorruption);
}

TEST_CASE("ChangeSetCodec: an unknown value type is corruption", "[codec]") {
  std::string bytes = EncodeChangeSet(OneCellSet(Value::Null()));
  REQUIRE(bytes[kValueTypeOffset] == '\0');
  for (int type : {5, 6, 0x7f, 0xff}) {
    CAPTURE(type);
    bytes[kValueTypeOffset] = static_cast<char>(type);
    Result<ChangeSet> r = DecodeChangeSet(bytes);
    CHECK(r.status().code() == Code::kCorruption);
    CHECK(r.status().message().find("value type") != std::string::npos);
  }
}

TEST_CASE("ChangeSetCodec: text that is not strict UTF-8 is corruption",
          "[codec]") {
  const std::string bad = GENERATE(
      std::string("\xff"), std::string("\x80"),              // stray bytes
      std::string("\xc0\xaf"), std::string("\xe0\x80\xaf"),  // overlong '/'
      std::string("\xed\xa0\x80"),                           // a surrogate
      std::string("\xf4\x90\x80\x80"),                       // above U+10FFFF
      std::string("\xe0\xb8"),                               // cut-off Thai
      std::string("ok\xe0\xb8\x41"));                        // bad continuation
  CAPTURE(HexEncode(bad));
  CHECK(DecodeCode(EncodeChangeSet(OneCellSet(Value::Text(bad)))) ==
        Code::kCorruption);
}

TEST_CASE("ChangeSetCodec: a blob reference must be 64 lowercase hex digits",
          "[codec]") {
  std::string upper = kPhotoSha;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  const std::string bad = GENERATE_COPY(
      std::string(upper), std::string(kPhotoSha).substr(0, 63),
      std::string(kPhotoSha) + "0", std::string(64, 'g'), std::string(""));
  CAPTURE(bad);
  CHECK(DecodeCode(EncodeChangeSet(OneCellSet(Value::Blob(bad)))) ==
        Code::kCorruption);
}

TEST_CASE("ChangeSetCodec: a NaN or infinite real is corruption", "[codec]") {
  const double bad = GENERATE(std::numeric_limits<double>::quiet_NaN(),
                              std::numeric_limits<double>::infinity(),
                              -std::numeric_limits<double>::infinity());
  CHECK(DecodeCode(EncodeChangeSet(OneCellSet(Value::Real(bad)))) ==
        Code::kCorruption);
}

TEST_CASE("ChangeSetCodec: names are 1..max_name_bytes of [a-z0-9_]",
          "[codec]") {
  const std::string bad =
      GENERATE(std::string(""), std::string("Status"), std::string("day-1"),
               std::string("วัน"), std::string("a b"), std::string(65, 'a'));
  CAPTURE(bad);
  ChangeSet column = OneCellSet(Value::Integer(1));
  column.rows[0].cells[0].column = bad;
  CHECK(DecodeCode(EncodeChangeSet(column)) == Code::kCorruption);
  ChangeSet entity = OneCellSet(Value::Integer(1));
  entity.rows[0].entity = bad;
  CHECK(DecodeCode(EncodeChangeSet(entity)) == Code::kCorruption);

  ChangeSet longest = OneCellSet(Value::Integer(1));
  longest.rows[0].cells[0].column = std::string(64, 'z');
  CHECK(DecodeChangeSet(EncodeChangeSet(longest)).ok());
}

TEST_CASE("ChangeSetCodec: a column written twice in one row is corruption",
          "[codec]") {
  ChangeSet cs = OneCellSet(Value::Integer(1));
  cs.rows[0].cells.push_back(CellWrite{"note", Value::Integer(2), 0});
  CHECK(DecodeCode(EncodeChangeSet(cs)) == Code::kCorruption);
}

TEST_CASE(
    "ChangeSetCodec: an hlc wall time outside the text form's range "
    "is corruption",
    "[codec]") {
  const int64_t bad = GENERATE(int64_t{-1}, Hlc::kMaxWallMs + 1,
                               std::numeric_limits<int64_t>::min());
  ChangeSet cs = OneCellSet(Value::Integer(1));
  cs.rows[0].hlc.wall_ms = bad;
  CHECK(DecodeCode(EncodeChangeSet(cs)) == Code::kCorruption);
  cs.rows[0].hlc.wall_ms = Hlc::kMaxWallMs;
  CHECK(DecodeChangeSet(EncodeChangeSet(cs)).ok());
}

TEST_CASE(
    "ChangeSetCodec: the hash is SHA-256 of the encoded bytes and "
    "chains sets",
    "[codec]") {
  ChangeSet first = SampleChangeSet();
  first.seq = 1;
  first.prev_hash = Sha256Digest{};
  const std::string first_bytes = EncodeChangeSet(first);
  CHECK(HashChangeSetBytes(first_bytes) == Sha256(first_bytes));
  CHECK(HashChangeSetBytes("abc") == Sha256("abc"));

  ChangeSet second = SampleChangeSet();
  second.seq = 2;
  second.prev_hash = HashChangeSetBytes(first_bytes);
  Result<ChangeSet> back = DecodeChangeSet(EncodeChangeSet(second));
  REQUIRE(back.ok());
  CHECK(back->prev_hash == HashChangeSetBytes(first_bytes));
  CHECK(HashChangeSetBytes(EncodeChangeSet(second)) !=
        HashChangeSetBytes(first_bytes));
}

}  // namespace
}  // namespace kbo
