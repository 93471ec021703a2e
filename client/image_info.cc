#include "client/image_info.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <vector>

#include "shared/status.h"

// Formats read here. Every length and offset below comes from the file and is
// checked against the bytes that remain before it is used; positions are
// computed in uint64_t so that no sum of 32-bit file values can wrap.
//
// PNG (ISO/IEC 15948); IHDR must be the first chunk:
//   png    := 89 50 4E 47 0D 0A 1A 0A  length:u32be=13 "IHDR" ihdr crc:u32be
//   ... ihdr   := width:u32be height:u32be depth:u8 color:u8 compression:u8
//             filter:u8 interlace:u8
//
// JPEG (ITU-T T.81, with JFIF/EXIF application segments):
//   jpeg    := FF D8 segment* (FF DA scan...)? (FF D9)?
//   segment := FF+ marker [length:u16be payload[length - 2]]
//              (no length for the standalone markers 01, D0..D7, D8)
//   SOFn    := precision:u8 height:u16be width:u16be components:u8 ...
//              (n = C0..CF except C4 DHT, C8 JPG, CC DAC)
//   APP1    := "Exif" 00 00 tiff
// The walk stops at SOS (DA) or EOI (D9): after SOS comes entropy-coded data,
// and the frame header (SOF) always precedes the first scan.
//
// TIFF inside APP1 (EXIF 2.32 §4.5); every offset is from the start of tiff:
//   tiff   := ("II" 2A 00 | "MM" 00 2A) ifd0_offset:u32
//   ifd    := count:u16 entry[count] next_ifd_offset:u32
//   entry  := tag:u16 type:u16 count:u32 value_or_offset:u32
//             (the value is inline when count * size(type) <= 4)
// Only IFD0 and the two sub-IFDs it points to (Exif 0x8769, GPS 0x8825) are
// read, each at most once, and next_ifd_offset is never followed: no chain
// and no cycle can make the reader loop.

#include "shared/civil_time.h"

namespace kbo::client {
namespace {

// A TIFF IFD holds a few dozen tags in practice (an EXIF IFD from a phone,
// ~40). The cap bounds the work a hostile count can ask for.
constexpr uint32_t kMaxIfdEntries = 512;

// PNG limits width and height to 2^31 - 1 (ISO/IEC 15948 §11.2.2).
constexpr uint32_t kPngMaxDimension = 0x7FFFFFFF;

// EXIF tags.
constexpr uint16_t kTagDateTime = 0x0132;
constexpr uint16_t kTagExifIfd = 0x8769;
constexpr uint16_t kTagGpsIfd = 0x8825;
constexpr uint16_t kTagDateTimeOriginal = 0x9003;
constexpr uint16_t kTagOffsetTime = 0x9010;
constexpr uint16_t kTagOffsetTimeOriginal = 0x9011;
constexpr uint16_t kTagGpsLatitudeRef = 0x0001;
constexpr uint16_t kTagGpsLatitude = 0x0002;
constexpr uint16_t kTagGpsLongitudeRef = 0x0003;
constexpr uint16_t kTagGpsLongitude = 0x0004;

// TIFF field types used here.
constexpr uint16_t kTypeAscii = 2;
constexpr uint16_t kTypeLong = 4;
constexpr uint16_t kTypeRational = 5;
constexpr uint16_t kTypeUndefined = 7;
constexpr uint16_t kTypeIfd = 13;

// Thailand (Indochina Time) is UTC+7 all year, with no daylight saving.
constexpr int kThailandOffsetMinutes = 7 * 60;

Status DamagedImage(const char* kind) {
  return Status::InvalidArgument(std::string("a damaged ") + kind +
                                 " image (no width and height found)");
}

Status ZeroSizedImage(const char* kind) {
  return Status::InvalidArgument(std::string("a ") + kind +
                                 " image with zero width or height");
}

// Bounds-checked integer reads from a byte range in one byte order.
class ByteReader {
 public:
  ByteReader(std::string_view bytes, bool big_endian)
      : bytes_(bytes), big_endian_(big_endian) {}

  std::string_view bytes() const { return bytes_; }
  uint64_t size() const { return bytes_.size(); }
  // A reader over `part` (a range inside this one) in the same byte order.
  ByteReader Within(std::string_view part) const {
    return ByteReader(part, big_endian_);
  }

  // True iff `len` bytes starting at `pos` lie inside the range.
  bool Fits(uint64_t pos, uint64_t len) const {
    return pos <= size() && len <= size() - pos;
  }

  // Each returns false, leaving *out alone, if the value would not fit.
  bool U16(uint64_t pos, uint16_t* out) const {
    if (!Fits(pos, 2)) return false;
    const uint32_t a = Byte(pos), b = Byte(pos + 1);
    *out = static_cast<uint16_t>(big_endian_ ? (a << 8) | b : (b << 8) | a);
    return true;
  }
  bool U32(uint64_t pos, uint32_t* out) const {
    if (!Fits(pos, 4)) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const uint32_t b = Byte(pos + (big_endian_ ? i : 3 - i));
      v = (v << 8) | b;
    }
    *out = v;
    return true;
  }

 private:
  uint32_t Byte(uint64_t pos) const {
    return static_cast<uint8_t>(bytes_[static_cast<size_t>(pos)]);
  }

  std::string_view bytes_;
  bool big_endian_;
};

// ---------------------------------------------------------------- PNG

Result<ImageInfo> ReadPng(std::string_view bytes) {
  const ByteReader in(bytes, /*big_endian=*/true);
  uint32_t length = 0, width = 0, height = 0;
  if (!in.U32(8, &length) || length != 13 || !in.Fits(12, 4 + 13) ||
      bytes.substr(12, 4) != "IHDR") {
    return DamagedImage("PNG");
  }
  if (!in.U32(16, &width) || !in.U32(20, &height)) return DamagedImage("PNG");
  if (width == 0 || height == 0) return ZeroSizedImage("PNG");
  if (width > kPngMaxDimension || height > kPngMaxDimension) {
    return DamagedImage("PNG");
  }
  ImageInfo info;
  info.mime = "image/png";
  info.width = width;
  info.height = height;
  return info;
}

// ---------------------------------------------------------------- EXIF

struct IfdEntry {
  uint16_t tag = 0;
  uint16_t type = 0;
  uint32_t count = 0;
  std::string_view data;  // count * size(type) bytes, inside the TIFF data
};

// Bytes per value of a TIFF field type; 0 for a type this reader does not
// know (such entries are skipped).
uint64_t TypeSize(uint16_t type) {
  switch (type) {
    case 1:
    case 2:
    case 6:
    case 7:
      return 1;  // BYTE ASCII SBYTE UNDEFINED
    case 3:
    case 8:
      return 2;  // SHORT SSHORT
    case 4:
    case 9:
    case 11:
    case 13:
      return 4;  // LONG SLONG FLOAT IFD
    case 5:
    case 10:
    case 12:
      return 8;  // RATIONAL SRATIONAL DOUBLE
    default:
      return 0;
  }
}

// The entries of the IFD at `offset` whose values lie wholly inside the TIFF
// data; entries of unknown type or with out-of-range values are left out.
// Empty if the IFD itself does not fit or claims more than kMaxIfdEntries.
std::vector<IfdEntry> ReadIfd(const ByteReader& tiff, uint32_t offset) {
  std::vector<IfdEntry> entries;
  uint16_t count = 0;
  if (!tiff.U16(offset, &count) || count > kMaxIfdEntries ||
      !tiff.Fits(uint64_t{offset} + 2, uint64_t{count} * 12)) {
    return entries;
  }
  entries.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t at = uint64_t{offset} + 2 + uint64_t{i} * 12;
    IfdEntry e;
    uint32_t value_offset = 0;
    // The table fits (checked above), so these reads cannot fail.
    if (!tiff.U16(at, &e.tag) || !tiff.U16(at + 2, &e.type) ||
        !tiff.U32(at + 4, &e.count) || !tiff.U32(at + 8, &value_offset)) {
      return {};
    }
    const uint64_t size = TypeSize(e.type);
    if (size == 0) continue;
    const uint64_t total = size * e.count;  // < 2^35: cannot wrap
    const uint64_t data_at = total <= 4 ? at + 8 : uint64_t{value_offset};
    if (!tiff.Fits(data_at, total)) continue;
    e.data = tiff.bytes().substr(static_cast<size_t>(data_at),
                                 static_cast<size_t>(total));
    entries.push_back(e);
  }
  return entries;
}

const IfdEntry* FindTag(const std::vector<IfdEntry>& ifd, uint16_t tag) {
  for (const IfdEntry& e : ifd) {
    if (e.tag == tag) return &e;
  }
  return nullptr;
}

// An ASCII value up to its first NUL, without trailing spaces. Some writers
// label ASCII text UNDEFINED, so that is accepted too.
std::optional<std::string_view> AsciiValue(const IfdEntry* e) {
  if (e == nullptr || (e->type != kTypeAscii && e->type != kTypeUndefined)) {
    return std::nullopt;
  }
  std::string_view s = e->data;
  s = s.substr(0, s.find('\0'));
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The offset held by a sub-IFD pointer tag (one LONG, or one IFD).
std::optional<uint32_t> PointerValue(const ByteReader& tiff,
                                     const IfdEntry* e) {
  if (e == nullptr || (e->type != kTypeLong && e->type != kTypeIfd) ||
      e->count != 1) {
    return std::nullopt;
  }
  uint32_t v = 0;
  if (!tiff.Within(e->data).U32(0, &v)) return std::nullopt;
  return v;
}

// --- Dates.

struct CivilTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

// Reads `n` decimal digits at `pos`; false if any is not a digit.
bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos > s.size() || n > s.size() - pos) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// "YYYY:MM:DD HH:MM:SS" (EXIF 2.32 §4.6.5), a real date from 1900 to 9999.
// Dashes in the date and a 'T' before the time are accepted too: some
// writers use them.
std::optional<CivilTime> ParseExifDateTime(std::string_view s) {
  if (s.size() != 19) return std::nullopt;
  auto is = [&](size_t i, char a, char b) { return s[i] == a || s[i] == b; };
  if (!is(4, ':', '-') || !is(7, ':', '-') || !is(10, ' ', 'T') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  CivilTime t;
  if (!Digits(s, 0, 4, &t.year) || !Digits(s, 5, 2, &t.month) ||
      !Digits(s, 8, 2, &t.day) || !Digits(s, 11, 2, &t.hour) ||
      !Digits(s, 14, 2, &t.minute) || !Digits(s, 17, 2, &t.second)) {
    return std::nullopt;
  }
  if (t.year < 1900 || t.month < 1 || t.month > 12 || t.day < 1 ||
      t.day > DaysInMonth(t.year, t.month) || t.hour > 23 || t.minute > 59 ||
      t.second > 59) {
    return std::nullopt;
  }
  return t;
}

// "+HH:MM" / "-HH:MM" (EXIF 2.32 OffsetTime*) as minutes east of UTC.
// Real zones span -12:00 to +14:00.
std::optional<int> ParseUtcOffset(std::string_view s) {
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') {
    return std::nullopt;
  }
  int hours = 0, minutes = 0;
  if (!Digits(s, 1, 2, &hours) || !Digits(s, 4, 2, &minutes) || hours > 14 ||
      minutes > 59) {
    return std::nullopt;
  }
  const int total = hours * 60 + minutes;
  return s[0] == '-' ? -total : total;
}

// The local `date` at `offset_minutes` east of UTC, as
// "YYYY-MM-DDTHH:MM:SSZ"; nullopt if the UTC year is not four digits.
std::optional<std::string> ToUtcIso8601(const CivilTime& t,
                                        int offset_minutes) {
  const int64_t local_seconds = DaysFromCivil(t.year, t.month, t.day) * 86400 +
                                t.hour * 3600 + t.minute * 60 + t.second;
  const int64_t utc = local_seconds - int64_t{offset_minutes} * 60;
  if (utc < DaysFromCivil(1, 1, 1) * 86400 ||
      utc >= DaysFromCivil(10000, 1, 1) * 86400) {
    return std::nullopt;  // the UTC year would not be four digits
  }
  return FormatIsoUtc(utc);
}

// taken_at from a date tag and its offset tag, if the date is readable.
std::optional<std::string> TakenAt(const IfdEntry* date,
                                   const IfdEntry* offset) {
  const std::optional<std::string_view> text = AsciiValue(date);
  if (!text) return std::nullopt;
  const std::optional<CivilTime> t = ParseExifDateTime(*text);
  if (!t) return std::nullopt;
  std::optional<int> minutes;
  if (std::optional<std::string_view> o = AsciiValue(offset)) {
    minutes = ParseUtcOffset(*o);
  }
  return ToUtcIso8601(*t, minutes.value_or(kThailandOffsetMinutes));
}

// --- GPS.

// Degrees from a GPSLatitude/GPSLongitude value: three RATIONALs, degrees,
// minutes and seconds. nullopt on a wrong type or count, or on a zero
// denominator (the "unknown" some cameras write).
std::optional<double> DegreesValue(const ByteReader& tiff, const IfdEntry* e) {
  if (e == nullptr || e->type != kTypeRational || e->count < 3) {
    return std::nullopt;
  }
  const ByteReader value = tiff.Within(e->data);
  double parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    uint32_t num = 0, den = 0;
    if (!value.U32(i * 8, &num) || !value.U32(i * 8 + 4, &den) || den == 0) {
      return std::nullopt;
    }
    parts[i] = static_cast<double>(num) / den;
  }
  // To the 7th decimal (1 cm): 18°47'24" is 18.79, not the sum's
  // 18.790000000000003 that every list and export then showed.
  return std::round((parts[0] + parts[1] / 60 + parts[2] / 3600) * 1e7) / 1e7;
}

// A signed coordinate from its Ref ("N"/"S" or "E"/"W") and value tags;
// nullopt if either is missing or unreadable, or it exceeds `max_degrees`.
std::optional<double> Coordinate(const ByteReader& tiff, const IfdEntry* ref,
                                 const IfdEntry* value, char positive,
                                 char negative, double max_degrees) {
  const std::optional<std::string_view> r = AsciiValue(ref);
  if (!r || r->size() != 1 || ((*r)[0] != positive && (*r)[0] != negative)) {
    return std::nullopt;
  }
  const std::optional<double> degrees = DegreesValue(tiff, value);
  if (!degrees || !std::isfinite(*degrees) || *degrees > max_degrees) {
    return std::nullopt;
  }
  return (*r)[0] == negative ? -*degrees : *degrees;
}

// Fills taken_at, lat and lon from the TIFF data of an Exif APP1 segment.
// Anything unreadable is simply left unset.
void ReadExif(std::string_view tiff_bytes, ImageInfo* info) {
  if (tiff_bytes.size() < 8) return;
  bool big_endian = false;
  if (tiff_bytes.substr(0, 2) == "MM") {
    big_endian = true;
  } else if (tiff_bytes.substr(0, 2) != "II") {
    return;
  }
  const ByteReader tiff(tiff_bytes, big_endian);
  uint16_t magic = 0;
  uint32_t ifd0_offset = 0;
  if (!tiff.U16(2, &magic) || magic != 42 || !tiff.U32(4, &ifd0_offset)) {
    return;
  }
  const std::vector<IfdEntry> ifd0 = ReadIfd(tiff, ifd0_offset);

  std::vector<IfdEntry> exif;
  if (std::optional<uint32_t> at =
          PointerValue(tiff, FindTag(ifd0, kTagExifIfd))) {
    exif = ReadIfd(tiff, *at);
  }
  info->taken_at = TakenAt(FindTag(exif, kTagDateTimeOriginal),
                           FindTag(exif, kTagOffsetTimeOriginal));
  if (!info->taken_at) {
    // IFD0 DateTime is the file's last-change time; second best, but on a
    // phone photo it is the capture time too.
    info->taken_at =
        TakenAt(FindTag(ifd0, kTagDateTime), FindTag(exif, kTagOffsetTime));
  }

  std::vector<IfdEntry> gps;
  if (std::optional<uint32_t> at =
          PointerValue(tiff, FindTag(ifd0, kTagGpsIfd))) {
    gps = ReadIfd(tiff, *at);
  }
  const std::optional<double> lat =
      Coordinate(tiff, FindTag(gps, kTagGpsLatitudeRef),
                 FindTag(gps, kTagGpsLatitude), 'N', 'S', 90.0);
  const std::optional<double> lon =
      Coordinate(tiff, FindTag(gps, kTagGpsLongitudeRef),
                 FindTag(gps, kTagGpsLongitude), 'E', 'W', 180.0);
  if (lat && lon && !(*lat == 0.0 && *lon == 0.0)) {
    info->lat = lat;
    info->lon = lon;
  }
}

// ---------------------------------------------------------------- JPEG

// SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share
// the range but are not frame headers.
bool IsStartOfFrame(uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
         marker != 0xCC;
}

Result<ImageInfo> ReadJpeg(std::string_view bytes) {
  const ByteReader in(bytes, /*big_endian=*/true);
  ImageInfo info;
  info.mime = "image/jpeg";
  bool have_frame = false;
  bool have_exif = false;
  uint64_t pos = 2;  // after SOI
  // Each turn consumes at least one byte, so the walk ends.
  while (pos < in.size()) {
    // A segment starts with FF; anything else means the structure is
    // damaged, and what was found so far is all there is.
    if (static_cast<uint8_t>(bytes[pos]) != 0xFF) break;
    while (pos < in.size() && static_cast<uint8_t>(bytes[pos]) == 0xFF) {
      ++pos;  // fill bytes (T.81 B.1.1.2)
    }
    if (pos >= in.size()) break;
    const uint8_t marker = static_cast<uint8_t>(bytes[pos]);
    ++pos;
    if (marker == 0xD9 || marker == 0xDA) break;  // EOI, SOS
    if (marker == 0x00) break;  // a stuffed byte is not a marker
    if (marker == 0x01 || marker == 0xD8 ||
        (marker >= 0xD0 && marker <= 0xD7)) {
      continue;  // TEM, SOI, RSTn: no length field
    }
    uint16_t length = 0;
    if (!in.U16(pos, &length) || length < 2 || !in.Fits(pos, length)) break;
    const std::string_view payload = bytes.substr(pos + 2, length - 2u);
    pos += length;
    if (IsStartOfFrame(marker) && !have_frame) {
      const ByteReader frame(payload, /*big_endian=*/true);
      uint16_t height = 0, width = 0;
      if (!frame.U16(1, &height) || !frame.U16(3, &width)) break;
      info.height = height;
      info.width = width;
      have_frame = true;
    } else if (marker == 0xE1 && !have_exif &&
               payload.substr(0, 6) == std::string_view("Exif\0\0", 6)) {
      have_exif = true;  // only the first Exif segment counts
      ReadExif(payload.substr(6), &info);
    }
  }
  if (!have_frame) return DamagedImage("JPEG");
  if (info.width == 0 || info.height == 0) return ZeroSizedImage("JPEG");
  return info;
}

}  // namespace

Result<ImageInfo> ReadImageInfo(std::string_view bytes) {
  static constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);
  if (bytes.substr(0, 8) == kPngSignature) return ReadPng(bytes);
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0xFF &&
      static_cast<uint8_t>(bytes[1]) == 0xD8) {
    return ReadJpeg(bytes);
  }
  return Status::InvalidArgument("not a JPEG or PNG image");
}

}  // namespace kbo::client
