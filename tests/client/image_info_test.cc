#include "client/image_info.h"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/value.h"

namespace kbo::client {
namespace {

// ------------------------------------------------------------ builders

// Appends integers in one byte order.
class Writer {
 public:
  explicit Writer(bool big_endian) : big_endian_(big_endian) {}
  void U16(uint16_t v) {
    if (big_endian_) {
      Byte(v >> 8);
      Byte(v);
    } else {
      Byte(v);
      Byte(v >> 8);
    }
  }
  void U32(uint32_t v) {
    if (big_endian_) {
      U16(static_cast<uint16_t>(v >> 16));
      U16(static_cast<uint16_t>(v));
    } else {
      U16(static_cast<uint16_t>(v));
      U16(static_cast<uint16_t>(v >> 16));
    }
  }
  void Bytes(std::string_view b) { out_.append(b); }
  const std::string& str() const { return out_; }
  size_t size() const { return out_.size(); }

 private:
  void Byte(unsigned v) { out_.push_back(static_cast<char>(v & 0xFF)); }
  bool big_endian_;
  std::string out_;
};

// One IFD entry. `value` holds count * size(type) bytes already in the
// TIFF's byte order; with `raw`, the entry's count and value/offset field
// are written exactly as given and no value bytes are laid out.
struct Tag {
  uint16_t tag = 0;
  uint16_t type = 0;
  uint32_t count = 0;
  std::string value;
  bool raw = false;
  uint32_t raw_field = 0;
};

Tag Ascii(uint16_t tag, std::string_view text) {
  std::string v(text);
  v.push_back('\0');
  return Tag{tag, 2, static_cast<uint32_t>(v.size()), v};
}

Tag Rationals(bool big_endian, uint16_t tag,
              std::vector<std::pair<uint32_t, uint32_t>> parts) {
  Writer w(big_endian);
  for (const auto& [num, den] : parts) {
    w.U32(num);
    w.U32(den);
  }
  return Tag{tag, 5, static_cast<uint32_t>(parts.size()), w.str()};
}

Tag Raw(uint16_t tag, uint16_t type, uint32_t count, uint32_t field) {
  return Tag{tag, type, count, "", true, field};
}

size_t IfdSize(const std::vector<Tag>& tags) {
  return 2 + 12 * tags.size() + 4;
}

// TIFF data of an EXIF block: header, IFD0, then the Exif IFD and the GPS
// IFD (each only if it has tags; IFD0 gets the pointers to them), then the
// values too large to sit inline.
std::string BuildTiff(bool big_endian, std::vector<Tag> ifd0,
                      const std::vector<Tag>& exif,
                      const std::vector<Tag>& gps) {
  const size_t pointers = (exif.empty() ? 0 : 1) + (gps.empty() ? 0 : 1);
  const size_t ifd0_at = 8;
  const size_t exif_at = ifd0_at + 2 + 12 * (ifd0.size() + pointers) + 4;
  const size_t gps_at = exif_at + (exif.empty() ? 0 : IfdSize(exif));
  size_t data_at = gps_at + (gps.empty() ? 0 : IfdSize(gps));
  if (!exif.empty()) {
    Writer v(big_endian);
    v.U32(static_cast<uint32_t>(exif_at));
    ifd0.push_back(Tag{0x8769, 4, 1, v.str()});
  }
  if (!gps.empty()) {
    Writer v(big_endian);
    v.U32(static_cast<uint32_t>(gps_at));
    ifd0.push_back(Tag{0x8825, 4, 1, v.str()});
  }

  Writer out(big_endian);
  out.Bytes(big_endian ? "MM" : "II");
  out.U16(42);
  out.U32(static_cast<uint32_t>(ifd0_at));
  std::string data;
  const std::vector<Tag>* const ifds[] = {&ifd0, &exif, &gps};
  for (const std::vector<Tag>* ifd : ifds) {
    if (ifd->empty()) continue;
    out.U16(static_cast<uint16_t>(ifd->size()));
    for (const Tag& t : *ifd) {
      out.U16(t.tag);
      out.U16(t.type);
      out.U32(t.count);
      if (t.raw) {
        out.U32(t.raw_field);
      } else if (t.value.size() <= 4) {
        std::string inline_value = t.value;
        inline_value.resize(4, '\0');
        out.Bytes(inline_value);
      } else {
        out.U32(static_cast<uint32_t>(data_at + data.size()));
        data += t.value;
        if (data.size() % 2 != 0) data.push_back('\0');  // word alignment
      }
    }
    out.U32(0);  // no next IFD
  }
  REQUIRE(out.size() == data_at);
  out.Bytes(data);
  return out.str();
}

std::string Segment(uint8_t marker, std::string_view payload) {
  Writer w(/*big_endian=*/true);
  w.Bytes(std::string{'\xFF', static_cast<char>(marker)});
  w.U16(static_cast<uint16_t>(payload.size() + 2));
  w.Bytes(payload);
  return w.str();
}

std::string FramePayload(uint16_t width, uint16_t height) {
  Writer w(/*big_endian=*/true);
  w.Bytes("\x08");  // precision
  w.U16(height);
  w.U16(width);
  w.Bytes(std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10));
  return w.str();
}

struct Jpeg {
  std::string bytes;
  size_t frame_end = 0;  // the image has a size iff it holds this many bytes
};

// SOI, [APP1 Exif], DQT, DHT (placed before the frame header, and holding
// bytes that would read as 7x9 if DHT were taken for SOF), SOFn, SOS,
// entropy-coded bytes, EOI.
Jpeg BuildJpeg(std::string_view tiff, uint16_t width = 640,
               uint16_t height = 480, uint8_t sof = 0xC0) {
  Jpeg j;
  j.bytes = "\xFF\xD8";
  j.bytes += Segment(0xE0, std::string("JFIF\0\x01\x02\0\0\x01\0\x01\0\0", 14));
  if (!tiff.empty()) {
    j.bytes += Segment(0xE1, std::string("Exif\0\0", 6) + std::string(tiff));
  }
  j.bytes += Segment(0xDB, std::string(65, '\x01'));
  j.bytes += Segment(0xC4, std::string("\x10\x00\x07\x00\x09\x01\x01", 7));
  j.bytes += Segment(sof, FramePayload(width, height));
  j.frame_end = j.bytes.size();
  j.bytes += Segment(
      0xDA, std::string("\x03\x01\x00\x02\x11\x03\x11\x00\x3F\x00", 10));
  j.bytes += std::string("\x12\x34\xFF\x00\x56\xFF\xD0\x78", 8);
  j.bytes += "\xFF\xD9";
  return j;
}

// Phrao district, Chiang Mai: 19°22'0.12" N, 99°12'0" E.
std::vector<Tag> PhraoGps(bool big_endian) {
  return {Ascii(0x0001, "N"),
          Rationals(big_endian, 0x0002, {{19, 1}, {22, 1}, {12, 100}}),
          Ascii(0x0003, "E"),
          Rationals(big_endian, 0x0004, {{99, 1}, {12, 1}, {0, 1}})};
}

std::string SampleTiff(bool big_endian) {
  return BuildTiff(big_endian,
                   {Ascii(0x010F, "KBO Field test camera"),
                    Ascii(0x0132, "2024:03:20 09:00:00")},
                   {Ascii(0x9003, "2024:03:15 14:30:00")},
                   PhraoGps(big_endian));
}

// A copy in a heap block of exactly its size, so that any read past the end
// is a heap-buffer-overflow under ASan (a substring of a larger string would
// hide it).
Result<ImageInfo> ReadExact(std::string_view bytes) {
  std::vector<char> copy(bytes.begin(), bytes.end());
  copy.shrink_to_fit();
  return ReadImageInfo(std::string_view(copy.data(), copy.size()));
}

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// A complete 1x1 RGBA PNG (IHDR, IDAT, IEND, all CRCs valid).
const std::string kOnePixelPng = FromHex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da636460f85f0f0002870180eb47ba92"
    "0000000049454e44ae426082");

std::string PngHeader(uint32_t width, uint32_t height) {
  Writer w(/*big_endian=*/true);
  w.Bytes("\x89PNG\r\n\x1a\n");
  w.U32(13);
  w.Bytes("IHDR");
  w.U32(width);
  w.U32(height);
  w.Bytes(std::string("\x08\x02\x00\x00\x00", 5));
  w.U32(0);  // CRC: not checked by the reader
  return w.str();
}

// Asserts a valid result that is not an ImageInfo with made-up values.
void CheckPlausible(const Result<ImageInfo>& r) {
  if (!r.ok()) {
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK_FALSE(r.status().message().empty());
    return;
  }
  CHECK(r->width > 0);
  CHECK(r->height > 0);
  CHECK(r->lat.has_value() == r->lon.has_value());
  if (r->lat) {
    CHECK(*r->lat >= -90.0);
    CHECK(*r->lat <= 90.0);
    CHECK(*r->lon >= -180.0);
    CHECK(*r->lon <= 180.0);
  }
  if (r->taken_at) {
    CHECK(r->taken_at->size() == 20);
    CHECK(r->taken_at->back() == 'Z');
  }
}

// ------------------------------------------------------------ PNG

TEST_CASE("ImageInfo: a PNG's size comes from IHDR", "[image]") {
  auto r = ReadImageInfo(PngHeader(1024, 768));
  REQUIRE(r.ok());
  CHECK(r->mime == "image/png");
  CHECK(r->width == 1024);
  CHECK(r->height == 768);
  CHECK_FALSE(r->taken_at);
  CHECK_FALSE(r->lat);
  CHECK_FALSE(r->lon);
}

TEST_CASE("ImageInfo: a complete 1x1 PNG", "[image]") {
  auto r = ReadExact(kOnePixelPng);
  REQUIRE(r.ok());
  CHECK(r->mime == "image/png");
  CHECK(r->width == 1);
  CHECK(r->height == 1);
}

TEST_CASE("ImageInfo: a PNG with zero width or height is refused", "[image]") {
  const std::vector<std::pair<uint32_t, uint32_t>> sizes = {
      {0, 10}, {10, 0}, {0, 0}};
  for (auto [w, h] : sizes) {
    auto r = ReadImageInfo(PngHeader(w, h));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message() == "a PNG image with zero width or height");
  }
}

TEST_CASE("ImageInfo: a PNG wider than 2^31-1 is refused", "[image]") {
  auto r = ReadImageInfo(PngHeader(0x80000000u, 1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
}

TEST_CASE("ImageInfo: a PNG whose first chunk is not IHDR is refused",
          "[image]") {
  std::string png = PngHeader(10, 10);
  png.replace(12, 4, "IDAT");
  auto r = ReadImageInfo(png);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "a damaged PNG image (no width and height found)");
}

TEST_CASE("ImageInfo: a PNG truncated anywhere is refused, never over-read",
          "[image][untrusted]") {
  const std::string png = kOnePixelPng;
  for (size_t len = 0; len < png.size(); ++len) {
    CAPTURE(len);
    auto r = ReadExact(png.substr(0, len));
    // Width and height end at byte 24; IHDR's data at byte 29.
    CHECK(r.ok() == (len >= 29));
    CheckPlausible(r);
  }
}

// ------------------------------------------------------------ JPEG

TEST_CASE("ImageInfo: JPEG size, date and GPS from EXIF, both byte orders",
          "[image]") {
  const bool big_endian = GENERATE(false, true);
  CAPTURE(big_endian);
  auto r = ReadExact(BuildJpeg(SampleTiff(big_endian)).bytes);
  REQUIRE(r.ok());
  CHECK(r->mime == "image/jpeg");
  CHECK(r->width == 640);
  CHECK(r->height == 480);
  // DateTimeOriginal wins over IFD0 DateTime; no offset tag, so it is read
  // as Thailand time, UTC+7.
  REQUIRE(r->taken_at);
  CHECK(*r->taken_at == "2024-03-15T07:30:00Z");
  REQUIRE(r->lat);
  REQUIRE(r->lon);
  CHECK(*r->lat == Approx(19.3667).margin(1e-4));
  CHECK(*r->lon == Approx(99.2).margin(1e-4));
}

TEST_CASE("ImageInfo: a position from EXIF is the decimal degrees it names, not a "
          "binary sum's tail (18.79, not 18.790000000000003)",
          "[image]") {
  // Chiang Mai's Tha Phae Gate as a camera writes it: 18°47'24" N, 98°59'6" E.
  const bool big_endian = GENERATE(false, true);
  auto r = ReadExact(BuildJpeg(BuildTiff(
                                   big_endian, {}, {},
                                   {Ascii(0x0001, "N"),
                                    Rationals(big_endian, 0x0002, {{18, 1}, {47, 1}, {24, 1}}),
                                    Ascii(0x0003, "E"),
                                    Rationals(big_endian, 0x0004, {{98, 1}, {59, 1}, {6, 1}})}))
                         .bytes);
  REQUIRE(r.ok());
  REQUIRE(r->lat);
  REQUIRE(r->lon);
  // 18 + 47/60 + 24/3600 in doubles is 18.790000000000003, shown so in the
  // CSV, the console and every list.
  CHECK(*r->lat == 18.79);
  CHECK(*r->lon == 98.985);
  CHECK(Value::Real(*r->lat).ToDisplay() == "18.79");
}

TEST_CASE("ImageInfo: a JPEG without EXIF has a size and nothing else",
          "[image]") {
  auto r = ReadExact(BuildJpeg("", 3000, 4000).bytes);
  REQUIRE(r.ok());
  CHECK(r->mime == "image/jpeg");
  CHECK(r->width == 3000);
  CHECK(r->height == 4000);
  CHECK_FALSE(r->taken_at);
  CHECK_FALSE(r->lat);
  CHECK_FALSE(r->lon);
}

TEST_CASE(
    "ImageInfo: progressive and other SOFn frames give the size, DHT, "
    "JPG and DAC do not",
    "[image]") {
  for (uint8_t sof :
       {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC7, 0xC9, 0xCB, 0xCD, 0xCF}) {
    CAPTURE(static_cast<int>(sof));
    auto r = ReadImageInfo(BuildJpeg("", 800, 600, sof).bytes);
    REQUIRE(r.ok());
    CHECK(r->width == 800);
    CHECK(r->height == 600);
  }
  for (uint8_t not_sof : {0xC4, 0xC8, 0xCC}) {
    CAPTURE(static_cast<int>(not_sof));
    auto r = ReadImageInfo(BuildJpeg("", 800, 600, not_sof).bytes);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() ==
          "a damaged JPEG image (no width and height found)");
  }
}

TEST_CASE("ImageInfo: fill bytes before a marker are skipped", "[image]") {
  std::string jpeg = "\xFF\xD8\xFF\xFF\xFF";
  jpeg += Segment(0xC0, FramePayload(33, 44)).substr(1);
  jpeg += "\xFF\xD9";
  auto r = ReadExact(jpeg);
  REQUIRE(r.ok());
  CHECK(r->width == 33);
  CHECK(r->height == 44);
}

TEST_CASE("ImageInfo: a JPEG with a zero-height frame is refused", "[image]") {
  auto r = ReadImageInfo(BuildJpeg("", 640, 0).bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().message() == "a JPEG image with zero width or height");
}

TEST_CASE("ImageInfo: a JPEG whose scan starts before any frame is refused",
          "[image]") {
  std::string jpeg = "\xFF\xD8";
  jpeg += Segment(0xDA, std::string(10, '\0'));
  jpeg += Segment(0xC0, FramePayload(10, 10));  // inside scan data: ignored
  auto r = ReadImageInfo(jpeg);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
}

TEST_CASE("ImageInfo: EXIF time zones", "[image]") {
  struct Case {
    const char* original;
    const char* offset;  // OffsetTimeOriginal, or nullptr
    const char* want;
  };
  const Case cases[] = {
      {"2024:03:15 14:30:00", nullptr, "2024-03-15T07:30:00Z"},
      {"2024:03:15 14:30:00", "+07:00", "2024-03-15T07:30:00Z"},
      {"2024:03:15 14:30:00", "+09:00", "2024-03-15T05:30:00Z"},
      {"2024:03:15 14:30:00", "-05:30", "2024-03-15T20:00:00Z"},
      {"2024:03:15 14:30:00", "+00:00", "2024-03-15T14:30:00Z"},
      // Across midnight, a month, a year, and a leap day.
      {"2024:01:01 03:00:00", nullptr, "2023-12-31T20:00:00Z"},
      {"2024:03:01 05:59:59", nullptr, "2024-02-29T22:59:59Z"},
      {"2023:03:01 05:00:00", nullptr, "2023-02-28T22:00:00Z"},
      {"2023:12:31 20:00:00", "-08:00", "2024-01-01T04:00:00Z"},
      // An unreadable offset falls back to Thailand time.
      {"2024:03:15 14:30:00", "   :  ", "2024-03-15T07:30:00Z"},
      {"2024:03:15 14:30:00", "+25:00", "2024-03-15T07:30:00Z"},
      // Dashes and a 'T' are tolerated.
      {"2024-03-15T14:30:00", nullptr, "2024-03-15T07:30:00Z"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.original, c.offset ? c.offset : "(none)");
    std::vector<Tag> exif = {Ascii(0x9003, c.original)};
    if (c.offset) exif.push_back(Ascii(0x9011, c.offset));
    auto r = ReadImageInfo(BuildJpeg(BuildTiff(false, {}, exif, {})).bytes);
    REQUIRE(r.ok());
    REQUIRE(r->taken_at);
    CHECK(*r->taken_at == c.want);
  }
}

TEST_CASE("ImageInfo: dates that are not real dates give no taken_at",
          "[image]") {
  for (const char* bad :
       {"0000:00:00 00:00:00", "    :  :     :  :  ", "2024:02:30 10:00:00",
        "2023:02:29 10:00:00", "2024:13:01 10:00:00", "2024:03:15 24:00:00",
        "2024:03:15 14:60:00", "2024:03:15 14:30", "2024:03:15 14:30:00 extra",
        "1899:12:31 23:00:00", "2024:03:15+14:30:00", ""}) {
    CAPTURE(bad);
    auto r = ReadImageInfo(
        BuildJpeg(BuildTiff(false, {}, {Ascii(0x9003, bad)}, {})).bytes);
    REQUIRE(r.ok());
    CHECK_FALSE(r->taken_at);
  }
}

TEST_CASE("ImageInfo: IFD0 DateTime is the fallback, with OffsetTime",
          "[image]") {
  const bool big_endian = GENERATE(false, true);
  SECTION("no Exif IFD: Thailand time") {
    auto r = ReadImageInfo(
        BuildJpeg(BuildTiff(big_endian, {Ascii(0x0132, "2024:05:01 08:15:30")},
                            {}, {}))
            .bytes);
    REQUIRE(r.ok());
    REQUIRE(r->taken_at);
    CHECK(*r->taken_at == "2024-05-01T01:15:30Z");
  }
  SECTION("OffsetTime applies to DateTime, OffsetTimeOriginal does not") {
    auto r = ReadImageInfo(
        BuildJpeg(BuildTiff(big_endian, {Ascii(0x0132, "2024:05:01 08:15:30")},
                            {Ascii(0x9010, "+01:00"), Ascii(0x9011, "+03:00")},
                            {}))
            .bytes);
    REQUIRE(r.ok());
    REQUIRE(r->taken_at);
    CHECK(*r->taken_at == "2024-05-01T07:15:30Z");
  }
  SECTION("an unreadable DateTimeOriginal falls back too") {
    auto r = ReadImageInfo(
        BuildJpeg(BuildTiff(big_endian, {Ascii(0x0132, "2024:05:01 08:15:30")},
                            {Ascii(0x9003, "0000:00:00 00:00:00")}, {}))
            .bytes);
    REQUIRE(r.ok());
    REQUIRE(r->taken_at);
    CHECK(*r->taken_at == "2024-05-01T01:15:30Z");
  }
}

TEST_CASE("ImageInfo: southern and western coordinates are negative",
          "[image]") {
  const bool big_endian = GENERATE(false, true);
  auto r = ReadImageInfo(
      BuildJpeg(
          BuildTiff(
              big_endian, {}, {},
              {Ascii(0x0001, "S"),
               Rationals(big_endian, 0x0002, {{33, 1}, {51, 1}, {54, 1}}),
               Ascii(0x0003, "W"),
               Rationals(big_endian, 0x0004, {{70, 1}, {3075, 100}, {0, 1}})}))
          .bytes);
  REQUIRE(r.ok());
  REQUIRE(r->lat);
  REQUIRE(r->lon);
  CHECK(*r->lat == Approx(-33.865).margin(1e-4));
  CHECK(*r->lon == Approx(-70.5125).margin(1e-4));
}

TEST_CASE("ImageInfo: unusable GPS gives no position, the rest still read",
          "[image]") {
  const bool be = false;
  const std::vector<std::pair<std::string, std::vector<Tag>>> cases = {
      {"zero denominators",
       {Ascii(1, "N"), Rationals(be, 2, {{0, 0}, {0, 0}, {0, 0}}),
        Ascii(3, "E"), Rationals(be, 4, {{0, 0}, {0, 0}, {0, 0}})}},
      {"no fix: 0,0",
       {Ascii(1, "N"), Rationals(be, 2, {{0, 1}, {0, 1}, {0, 1}}),
        Ascii(3, "E"), Rationals(be, 4, {{0, 1}, {0, 1}, {0, 1}})}},
      {"latitude only",
       {Ascii(1, "N"), Rationals(be, 2, {{19, 1}, {22, 1}, {0, 1}})}},
      {"missing ref",
       {Rationals(be, 2, {{19, 1}, {22, 1}, {0, 1}}), Ascii(3, "E"),
        Rationals(be, 4, {{99, 1}, {12, 1}, {0, 1}})}},
      {"bad ref",
       {Ascii(1, "X"), Rationals(be, 2, {{19, 1}, {22, 1}, {0, 1}}),
        Ascii(3, "E"), Rationals(be, 4, {{99, 1}, {12, 1}, {0, 1}})}},
      {"out of range",
       {Ascii(1, "N"), Rationals(be, 2, {{91, 1}, {0, 1}, {0, 1}}),
        Ascii(3, "E"), Rationals(be, 4, {{99, 1}, {12, 1}, {0, 1}})}},
      {"two rationals",
       {Ascii(1, "N"), Rationals(be, 2, {{19, 1}, {22, 1}}), Ascii(3, "E"),
        Rationals(be, 4, {{99, 1}, {12, 1}})}},
      {"wrong type",
       {Ascii(1, "N"), Tag{2, 4, 3, std::string(12, '\x01')}, Ascii(3, "E"),
        Tag{4, 4, 3, std::string(12, '\x01')}}},
  };
  for (const auto& [name, gps] : cases) {
    CAPTURE(name);
    auto r = ReadImageInfo(
        BuildJpeg(
            BuildTiff(be, {}, {Ascii(0x9003, "2024:03:15 14:30:00")}, gps))
            .bytes);
    REQUIRE(r.ok());
    CHECK(r->width == 640);
    CHECK(r->taken_at == std::optional<std::string>("2024-03-15T07:30:00Z"));
    CHECK_FALSE(r->lat);
    CHECK_FALSE(r->lon);
  }
}

TEST_CASE("ImageInfo: a malformed EXIF block never refuses the photo",
          "[image][untrusted]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty TIFF", ""},
      {"bad byte order", std::string("XX\x2a\0\x08\0\0\0", 8)},
      {"bad magic", std::string("II\x2b\0\x08\0\0\0", 8)},
      {"IFD0 offset past the end", std::string("II\x2a\0\xff\xff\xff\xff", 8)},
      {"IFD0 entry count 65535",
       std::string("II\x2a\0\x08\0\0\0\xff\xff", 10) + std::string(40, '\0')},
      {"IFD0 table runs off the end",
       std::string("II\x2a\0\x08\0\0\0\x05\0", 10) + std::string(20, '\0')},
  };
  for (const auto& [name, tiff] : cases) {
    CAPTURE(name);
    // An empty TIFF still makes an "Exif\0\0" segment.
    std::string jpeg = "\xFF\xD8";
    jpeg += Segment(0xE1, std::string("Exif\0\0", 6) + tiff);
    jpeg += Segment(0xC0, FramePayload(640, 480));
    auto r = ReadExact(jpeg);
    REQUIRE(r.ok());
    CHECK(r->width == 640);
    CHECK(r->height == 480);
    CHECK_FALSE(r->taken_at);
    CHECK_FALSE(r->lat);
  }
}

TEST_CASE("ImageInfo: huge EXIF counts and offsets are not followed",
          "[image][untrusted]") {
  const bool big_endian = GENERATE(false, true);
  CAPTURE(big_endian);
  SECTION("value count and offset far past the segment") {
    const std::string tiff = BuildTiff(
        big_endian, {Raw(0x0132, 2, 0xFFFFFFFF, 0xFFFFFFF0)},
        {Raw(0x9003, 2, 20, 0xFFFFFFF0), Raw(0x9011, 2, 0x7FFFFFFF, 8)},
        {Ascii(1, "N"), Raw(2, 5, 0xFFFFFFFF, 8), Ascii(3, "E"),
         Raw(4, 5, 3, 0xFFFFFFFD)});
    auto r = ReadExact(BuildJpeg(tiff).bytes);
    REQUIRE(r.ok());
    CHECK(r->width == 640);
    CHECK_FALSE(r->taken_at);
    CHECK_FALSE(r->lat);
  }
  SECTION("sub-IFD pointers past the end, and pointing at IFD0") {
    const std::string tiff = BuildTiff(
        big_endian, {Raw(0x8769, 4, 1, 0xFFFFFFFF), Raw(0x8825, 4, 1, 8)}, {},
        {});
    auto r = ReadExact(BuildJpeg(tiff).bytes);
    REQUIRE(r.ok());
    CHECK_FALSE(r->taken_at);
    CHECK_FALSE(r->lat);
  }
  SECTION("a pointer with a count other than one") {
    const std::string tiff =
        BuildTiff(big_endian, {Raw(0x8769, 4, 0xFFFFFFFF, 8)}, {}, {});
    auto r = ReadExact(BuildJpeg(tiff).bytes);
    REQUIRE(r.ok());
    CHECK_FALSE(r->taken_at);
  }
  SECTION("a value ending exactly at the end of the TIFF data is read") {
    // The only out-of-line value is the date, laid out last.
    const std::string tiff =
        BuildTiff(big_endian, {}, {Ascii(0x9003, "2024:03:15 14:30:00")}, {});
    auto r = ReadExact(BuildJpeg(tiff).bytes);
    REQUIRE(r.ok());
    CHECK(r->taken_at == std::optional<std::string>("2024-03-15T07:30:00Z"));
    // One byte less and the value no longer fits the segment.
    auto cut = ReadExact(BuildJpeg(tiff.substr(0, tiff.size() - 1)).bytes);
    REQUIRE(cut.ok());
    CHECK_FALSE(cut->taken_at);
  }
}

TEST_CASE(
    "ImageInfo: a JPEG truncated at every length is refused or read, "
    "never over-read",
    "[image][untrusted]") {
  const bool big_endian = GENERATE(false, true);
  CAPTURE(big_endian);
  const Jpeg jpeg = BuildJpeg(SampleTiff(big_endian));
  for (size_t len = 0; len <= jpeg.bytes.size(); ++len) {
    CAPTURE(len);
    auto r = ReadExact(std::string_view(jpeg.bytes).substr(0, len));
    CHECK(r.ok() == (len >= jpeg.frame_end));
    CheckPlausible(r);
    if (r.ok()) {
      CHECK(r->width == 640);
      CHECK(r->height == 480);
      CHECK(r->taken_at == std::optional<std::string>("2024-03-15T07:30:00Z"));
    }
  }
}

TEST_CASE("ImageInfo: random byte changes never crash or over-read",
          "[image][untrusted]") {
  const bool big_endian = GENERATE(false, true);
  CAPTURE(big_endian);
  const std::string jpeg = BuildJpeg(SampleTiff(big_endian)).bytes;
  std::mt19937 rng(20240315u + (big_endian ? 1 : 0));
  std::uniform_int_distribution<size_t> pos(0, jpeg.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> changes(1, 8);
  int still_read = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string mutated = jpeg;
    for (int n = changes(rng); n > 0; --n) {
      mutated[pos(rng)] = static_cast<char>(byte(rng));
    }
    auto r = ReadExact(mutated);
    if (r.ok()) ++still_read;
    CheckPlausible(r);
  }
  // Most changes land in EXIF or scan data, which never refuse the photo.
  CHECK(still_read > 500);
}

// ------------------------------------------------------------ not images

TEST_CASE("ImageInfo: text and other files are not images", "[image]") {
  for (const std::string& bytes :
       {std::string(), std::string("x"), std::string("hello, world\n"),
        std::string("GIF89a\x01\x00\x01\x00", 10), std::string("\xFF", 1),
        std::string("\x89PNG\r\n\x1a", 7), std::string("%PDF-1.7\n")}) {
    CAPTURE(bytes);
    auto r = ReadExact(bytes);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message() == "not a JPEG or PNG image");
  }
}

TEST_CASE("ImageInfo: a bare SOI is a damaged JPEG", "[image]") {
  auto r = ReadExact("\xFF\xD8");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "a damaged JPEG image (no width and height found)");
}

}  // namespace
}  // namespace kbo::client
