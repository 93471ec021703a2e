// Writes the generated seed inputs of the fuzz targets (docs/fuzzing.md)
// under DIR/<target>/ (DIR is tests/corpus): valid inputs of every message
// type, built with the product's own encoders so that they stay valid, and
// inputs that reproduce past defects and attacks (lying length prefixes
// such as 2^31 rows or 2^32-1 byte names, truncations, wrong kinds).
// `tools/fuzz seeds` runs it; the files are committed.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/outbox_codec.h"
#include "shared/change_set_codec.h"
#include "shared/entities.h"
#include "shared/protocol.h"
#include "shared/signing.h"

namespace {

using namespace kbo;

std::string g_root;

void Put(const std::string& target, const std::string& name,
         std::string_view bytes) {
  const std::string dir = g_root + "/" + target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
}

// Little- and big-endian integers, appended.
void Le(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void Be(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void Varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
std::string Raw(const Uuid& u) {
  return std::string(reinterpret_cast<const char*>(u.bytes.data()), 16);
}

const Uuid kDevice = *Uuid::Parse("0a0b0c0d-0e0f-4011-8213-141516171819");
const Uuid kOther = *Uuid::Parse("55555555-5555-4555-8555-555555555555");
constexpr const char* kWorkshopId = "11111111-1111-4111-8111-111111111111";
constexpr const char* kProducerId = "22222222-2222-4222-8222-222222222222";
constexpr const char* kEnrolmentId = "33333333-3333-4333-8333-333333333333";
constexpr const char* kProductId = "44444444-4444-4444-8444-444444444444";
constexpr const char* kEnrolledDevice = "66666666-6666-4666-8666-666666666666";
constexpr int64_t kNowMs = 1710000000000;
// RFC 8032 test 1 public key: any fixed valid key will do.
constexpr const char* kPublicKeyHex =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

std::string BlobHex() { return HexEncode(Sha256("a photo")); }

// Rows of every value type and several entities.
std::vector<RowChange> SampleRows(uint64_t base) {
  RowChange producer;
  producer.entity = "producer";
  producer.row_id = *Uuid::Parse("77777777-7777-4777-8777-777777777777");
  producer.hlc = Hlc{kNowMs - 60000, 0, kDevice};
  producer.cells = {{"kind", Value::Text("group"), base},
                    {"name", Value::Text("กลุ่มทอผ้าบ้านป่าตึง"), base},
                    {"district_code", Value::Text("5011"), base},
                    {"otop_stars", Value::Integer(4), base},
                    {"members", Value::Integer(23), base},
                    {"contact", Value::Null(), base}};
  RowChange visit;
  visit.entity = "visit";
  visit.row_id = *Uuid::Parse("88888888-8888-4888-8888-888888888888");
  visit.hlc = Hlc{kNowMs - 30000, 2, kDevice};
  visit.cells = {{"producer_id", Value::Text(kProducerId), base},
                 {"visited_at", Value::Text("2024-03-09T09:30:00Z"), base},
                 {"lat", Value::Real(19.3667), base},
                 {"lon", Value::Real(99.2), base},
                 {"district_code", Value::Text("5011"), base}};
  RowChange photo;
  photo.entity = "photo";
  photo.row_id = *Uuid::Parse("99999999-9999-4999-8999-999999999999");
  photo.hlc = Hlc{kNowMs - 10000, 0, kDevice};
  photo.cells = {{"subject_type", Value::Text("producer"), base},
                 {"subject_id", Value::Text(kProducerId), base},
                 {"sha256", Value::Blob(BlobHex()), base},
                 {"mime", Value::Text("image/jpeg"), base},
                 {"district_code", Value::Text("5011"), base}};
  RowChange attendance;
  attendance.entity = "attendance";
  attendance.row_id = *Uuid::Parse("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa");
  attendance.hlc = Hlc{kNowMs, 0, kDevice};
  attendance.cells = {{"workshop_id", Value::Text(kWorkshopId), base},
                      {"enrolment_id", Value::Text(kEnrolmentId), base},
                      {"day", Value::Integer(3), base},
                      {"status", Value::Text("present"), base},
                      {"district_code", Value::Text("5011"), base}};
  RowChange tombstone;
  tombstone.entity = "product";
  tombstone.row_id = *Uuid::Parse(kProductId);
  tombstone.hlc = Hlc{kNowMs, 5, kDevice};
  tombstone.cells = {{"deleted", Value::Integer(1), base}};
  return {producer, visit, photo, attendance, tombstone};
}

ChangeSet SampleSet(uint64_t seq, uint64_t base) {
  ChangeSet cs;
  cs.schema_version = 1;
  cs.device = kDevice;
  cs.seq = seq;
  if (seq > 1) cs.prev_hash = Sha256("the set before");
  cs.rows = SampleRows(base);
  return cs;
}

// The 65 bytes before row_count of a set, then `rest`.
std::string SetHeader(uint32_t row_count) {
  ChangeSet empty;
  empty.device = kDevice;
  empty.seq = 1;
  std::string bytes = EncodeChangeSet(empty);
  bytes.resize(bytes.size() - 4);
  Le(&bytes, row_count, 4);
  return bytes;
}
void Name(std::string* out, std::string_view name) {
  Le(out, name.size(), 4);
  out->append(name);
}
std::string RowPrefix(uint32_t cell_count) {
  std::string r;
  Name(&r, "producer");
  r += Raw(*Uuid::Parse("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"));
  Le(&r, static_cast<uint64_t>(kNowMs), 8);
  Le(&r, 0, 4);
  r += Raw(kDevice);
  Le(&r, cell_count, 4);
  return r;
}

void ChangeSets() {
  const std::string t = "change_set";
  Put(t, "valid_seq1", EncodeChangeSet(SampleSet(1, 0)));
  Put(t, "valid_pull_page_bases", EncodeChangeSet(SampleSet(0, 42)));
  ChangeSet empty;
  empty.device = kDevice;
  empty.seq = 7;
  empty.prev_hash = Sha256("six");
  Put(t, "valid_empty", EncodeChangeSet(empty));
  Put(t, "push_body", protocol::EncodePushBody(Signature{},
                                               EncodeChangeSet(SampleSet(2, 0))));
  Put(t, "lying_rows_2pow31", SetHeader(0x80000000u));
  Put(t, "lying_rows_2pow32m1", SetHeader(0xffffffffu));
  {
    std::string b = SetHeader(1);
    Le(&b, 0xffffffffu, 4);  // entity name length 2^32-1
    b += "producer";
    Put(t, "lying_name_2pow32m1", b);
  }
  {
    std::string b = SetHeader(1) + RowPrefix(0x80000000u);
    Put(t, "lying_cells_2pow31", b);
  }
  {
    std::string b = SetHeader(1) + RowPrefix(1);
    Name(&b, "name");
    b.push_back(3);  // text
    Le(&b, 0xffffffffu, 4);
    b += "x";
    Put(t, "lying_text_2pow32m1", b);
  }
  {
    std::string b = SetHeader(1) + RowPrefix(1);
    Name(&b, "name");
    b.push_back(4);  // blob, too short
    Le(&b, 3, 4);
    b += "abc";
    Le(&b, 0, 8);
    Put(t, "bad_blob", b);
  }
  {
    std::string b = EncodeChangeSet(SampleSet(1, 0));
    Put(t, "truncated", b.substr(0, b.size() / 2));
    Put(t, "trailing", b + "x");
  }
}

void OutboxEntries() {
  const std::string t = "outbox_entry";
  {
    client::OutboxEntryWriter w(kDevice);
    for (const RowChange& r : SampleRows(0)) w.Add(r);
    RowChange foreign = SampleRows(0).front();
    foreign.hlc.device = kOther;  // flags bit 0
    w.Add(foreign);
    Put(t, "valid_rows", w.Finish());
  }
  std::string head = "KBOX";
  head.push_back(1);
  head += Raw(kDevice);
  {
    std::string b = head;
    Varint(&b, 0xffffffffu);  // names
    Put(t, "lying_names_2pow32m1", b);
  }
  {
    std::string b = head;
    Varint(&b, 1);
    Varint(&b, 0xffffffffu);  // name length
    b += "producer";
    Put(t, "lying_name_len_2pow32m1", b);
  }
  std::string names = head;
  Varint(&names, 2);
  Varint(&names, 8);
  names += "producer";
  Varint(&names, 4);
  names += "name";
  {
    std::string b = names;
    Varint(&b, uint64_t{1} << 31);  // rows
    Put(t, "lying_rows_2pow31", b);
  }
  std::string row = names;
  Varint(&row, 1);
  Varint(&row, 0);  // entity: producer
  row += Raw(*Uuid::Parse("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"));
  row.push_back(0);            // flags
  Varint(&row, 2 * 1710000000000ull);  // zigzag wall
  Varint(&row, 0);             // counter
  {
    std::string b = row;
    Varint(&b, uint64_t{1} << 31);  // cells
    Put(t, "lying_cells_2pow31", b);
  }
  {
    std::string b = row;
    Varint(&b, 1);
    Varint(&b, 1);  // column: name
    b.push_back(3);
    Varint(&b, 0xffffffffu);  // text length
    b += "x";
    Put(t, "lying_text_2pow32m1", b);
  }
  {
    std::string b = row;
    Varint(&b, 1);
    Varint(&b, 7);  // column index beyond the names
    b.push_back(0);
    Varint(&b, 0);
    Put(t, "bad_name_index", b);
  }
  {
    std::string b = row;
    Varint(&b, 1);
    Varint(&b, 1);
    b.push_back(0);
    Varint(&b, 0);
    b += std::string(11, '\xff');  // a varint that never ends
    Put(t, "bad_varint", b);
  }
}

// cell_versions input: mode:u8 then the versions bytes
// (group := wall_ms:i64le counter:u32le device:16 seq:u64le count:u8
//  (name_len:u8 name){count}).
std::string Group(int64_t wall, uint32_t counter, uint64_t seq,
                  std::vector<std::string> names) {
  std::string g;
  Le(&g, static_cast<uint64_t>(wall), 8);
  Le(&g, counter, 4);
  g += Raw(kOther);
  Le(&g, seq, 8);
  g.push_back(static_cast<char>(names.size()));
  for (const std::string& n : names) {
    g.push_back(static_cast<char>(n.size()));
    g += n;
  }
  return g;
}

void CellVersions() {
  const std::string t = "cell_versions";
  const std::string older = Group(kNowMs - 86400000, 0, 2, {"district_code", "kind", "name"});
  const std::string newer = Group(kNowMs + 1000, 0, 9, {"name"});
  for (char mode = 0; mode < 3; ++mode) {
    const std::string m(1, mode);
    Put(t, "valid_one_group_mode" + std::to_string(int{mode}), m + older);
    Put(t, "valid_two_groups_mode" + std::to_string(int{mode}), m + older + newer);
  }
  Put(t, "empty", std::string(1, '\0'));
  Put(t, "count_zero", std::string(1, '\0') + Group(kNowMs, 0, 1, {}));
  {
    std::string g = Group(kNowMs, 0, 1, {"kind"});
    g[g.size() - 5] = static_cast<char>(200);  // name length past the end
    Put(t, "name_past_end", std::string(1, '\1') + g);
  }
  Put(t, "unsorted_duplicates",
      std::string(1, '\0') + Group(kNowMs, 1, 3, {"name", "kind", "name"}));
  Put(t, "unknown_and_long_names",
      std::string(1, '\2') + Group(kNowMs, 1, 3, {"zzz", std::string(255, 'a')}));
  Put(t, "truncated_header", std::string(1, '\0') + older.substr(0, 20));
  Put(t, "negative_wall", std::string(1, '\1') + Group(-1, 0xffffffffu, ~0ull, {"kind"}));
}

std::string TinyPng() {
  static const unsigned char png[] = {
      0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D',
      'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde};
  return std::string(reinterpret_cast<const char*>(png), sizeof png);
}

std::string Record(uint8_t kind, std::string_view bytes) {
  std::string r(1, static_cast<char>(kind));
  Le(&r, bytes.size(), 4);
  r += bytes;
  return r;
}

void Bundles() {
  const std::string t = "bundle";
  const std::string magic(protocol::kBundleMagic);
  const std::string push = protocol::EncodePushBody(
      Signature{}, EncodeChangeSet(SampleSet(1, 0)));
  const std::string png = TinyPng();
  const std::string photo = HexEncode(Sha256(png)) + png;
  Put(t, "valid_set_and_photo", magic + Record(1, push) + Record(2, photo));
  Put(t, "valid_empty", magic);
  Put(t, "photo_twice", magic + Record(2, photo) + Record(2, photo));
  std::string lying = magic;
  lying.push_back(2);
  Le(&lying, 64 + (uint64_t{64} << 20), 4);  // a 64 MiB photo, 15 bytes of file
  Put(t, "lying_photo_64mib", lying);
  lying = magic;
  lying.push_back(1);
  Le(&lying, uint64_t{16} << 20, 4);  // a 16 MiB push record
  Put(t, "lying_push_16mib", lying + "KBOC");
  lying = magic;
  lying.push_back(1);
  Le(&lying, 0xffffffffu, 4);
  Put(t, "lying_len_2pow32m1", lying);
  Put(t, "unknown_kind", magic + Record(3, "x"));
  Put(t, "truncated_header", magic + std::string("\x01\x05", 2));
  Put(t, "photo_shorter_than_name", magic + Record(2, "0123456789"));
  Put(t, "photo_wrong_hash", magic + Record(2, HexEncode(Sha256("other")) + png));
  Put(t, "no_magic", "KBOBUNDLE2\n" + Record(1, push));
}

// ---- JPEG / PNG / EXIF (after tests/client/image_info_test.cc)

struct Tag {
  uint16_t tag = 0;
  uint16_t type = 0;
  uint32_t count = 0;
  std::string value;  // in the TIFF's byte order
  bool raw = false;
  uint32_t raw_field = 0;
};

void U(std::string* out, bool be, uint64_t v, int bytes) {
  if (be) {
    Be(out, v, bytes);
  } else {
    Le(out, v, bytes);
  }
}

Tag Ascii(uint16_t tag, std::string_view text) {
  std::string v(text);
  v.push_back('\0');
  return Tag{tag, 2, static_cast<uint32_t>(v.size()), v};
}

Tag Rationals(bool be, uint16_t tag, std::vector<std::pair<uint32_t, uint32_t>> parts) {
  std::string v;
  for (const auto& [num, den] : parts) {
    U(&v, be, num, 4);
    U(&v, be, den, 4);
  }
  return Tag{tag, 5, static_cast<uint32_t>(parts.size()), v};
}

std::string BuildTiff(bool be, std::vector<Tag> ifd0, const std::vector<Tag>& exif,
                      const std::vector<Tag>& gps) {
  auto ifd_size = [](size_t n) { return 2 + 12 * n + 4; };
  const size_t pointers = (exif.empty() ? 0 : 1) + (gps.empty() ? 0 : 1);
  const size_t exif_at = 8 + ifd_size(ifd0.size() + pointers);
  const size_t gps_at = exif_at + (exif.empty() ? 0 : ifd_size(exif.size()));
  const size_t data_at = gps_at + (gps.empty() ? 0 : ifd_size(gps.size()));
  if (!exif.empty()) {
    std::string v;
    U(&v, be, exif_at, 4);
    ifd0.push_back(Tag{0x8769, 4, 1, v});
  }
  if (!gps.empty()) {
    std::string v;
    U(&v, be, gps_at, 4);
    ifd0.push_back(Tag{0x8825, 4, 1, v});
  }
  std::string out = be ? "MM" : "II";
  U(&out, be, 42, 2);
  U(&out, be, 8, 4);
  std::string data;
  const std::vector<Tag>* const ifds[] = {&ifd0, &exif, &gps};
  for (const std::vector<Tag>* ifd : ifds) {
    if (ifd->empty()) continue;
    U(&out, be, ifd->size(), 2);
    for (const Tag& tag : *ifd) {
      U(&out, be, tag.tag, 2);
      U(&out, be, tag.type, 2);
      U(&out, be, tag.count, 4);
      if (tag.raw) {
        U(&out, be, tag.raw_field, 4);
      } else if (tag.value.size() <= 4) {
        std::string v = tag.value;
        v.resize(4, '\0');
        out += v;
      } else {
        U(&out, be, data_at + data.size(), 4);
        data += tag.value;
        if (data.size() % 2 != 0) data.push_back('\0');
      }
    }
    U(&out, be, 0, 4);
  }
  return out + data;
}

std::string Segment(uint8_t marker, std::string_view payload) {
  std::string s{'\xFF', static_cast<char>(marker)};
  Be(&s, payload.size() + 2, 2);
  s += payload;
  return s;
}

std::string Jpeg(std::string_view tiff, uint16_t width = 640, uint16_t height = 480,
                 uint8_t sof = 0xC0) {
  std::string j = "\xFF\xD8";
  j += Segment(0xE0, std::string("JFIF\0\x01\x02\0\0\x01\0\x01\0\0", 14));
  if (!tiff.empty()) j += Segment(0xE1, std::string("Exif\0\0", 6) + std::string(tiff));
  j += Segment(0xDB, std::string(65, '\x01'));
  j += Segment(0xC4, std::string("\x10\x00\x07\x00\x09\x01\x01", 7));
  std::string frame = "\x08";
  Be(&frame, height, 2);
  Be(&frame, width, 2);
  frame += std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10);
  j += Segment(sof, frame);
  j += Segment(0xDA, std::string("\x03\x01\x00\x02\x11\x03\x11\x00\x3F\x00", 10));
  j += std::string("\x12\x34\xFF\x00\x56\xFF\xD0\x78", 8);
  j += "\xFF\xD9";
  return j;
}

std::vector<Tag> PhraoGps(bool be) {
  return {Ascii(0x0001, "N"), Rationals(be, 0x0002, {{19, 1}, {22, 1}, {12, 100}}),
          Ascii(0x0003, "E"), Rationals(be, 0x0004, {{99, 1}, {12, 1}, {0, 1}})};
}

void Images() {
  const std::string t = "image_info";
  for (bool be : {false, true}) {
    const std::string order = be ? "_be" : "_le";
    Put(t, "jpeg_exif_date_gps" + order,
        Jpeg(BuildTiff(be, {Ascii(0x010F, "KBO test camera"), Ascii(0x0132, "2024:03:20 09:00:00")},
                       {Ascii(0x9003, "2024:03:15 14:30:00"), Ascii(0x9011, "+07:00")},
                       PhraoGps(be))));
  }
  Put(t, "jpeg_no_exif", Jpeg(""));
  Put(t, "jpeg_progressive", Jpeg("", 4000, 3000, 0xC2));
  Put(t, "jpeg_zero_date_gps_00",
      Jpeg(BuildTiff(false, {Ascii(0x0132, "0000:00:00 00:00:00")}, {},
                     {Ascii(0x0001, "N"), Rationals(false, 0x0002, {{0, 1}, {0, 1}, {0, 1}}),
                      Ascii(0x0003, "E"), Rationals(false, 0x0004, {{0, 1}, {0, 1}, {0, 0}})})));
  Put(t, "jpeg_exif_lying_offsets",
      Jpeg(BuildTiff(true, {Tag{0x0132, 2, 0xffffffffu, "", true, 0xfffffff0u},
                            Tag{0x8769, 4, 1, "", true, 0xffffffffu}},
                     {}, {})));
  Put(t, "jpeg_exif_ifd_loop",
      Jpeg(BuildTiff(false, {Tag{0x8769, 4, 1, "", true, 8}}, {}, {})));
  Put(t, "png_1x1", TinyPng());
  std::string big = "\x89PNG\r\n\x1a\n";
  Be(&big, 13, 4);
  big += "IHDR";
  Be(&big, 0x7fffffff, 4);
  Be(&big, 0xffffffffu, 4);
  big += std::string("\x08\x02\x00\x00\x00\x00\x00\x00\x00", 9);
  Put(t, "png_huge_size", big);
  Put(t, "jpeg_truncated", Jpeg("").substr(0, 30));
  Put(t, "jpeg_segment_len_0", std::string("\xFF\xD8\xFF\xE1\x00\x00", 6));
}

void Csv() {
  const std::string t = "csv";
  Put(t, "producers_bom_thai",
      "\xEF\xBB\xBFkind,name,district,phone\r\n"
      "group,\"กลุ่มทอผ้า, บ้านป่าตึง\",พร้าว,053-123456\r\n"
      "entrepreneur,\"He said \"\"hi\"\"\",Phrao,\r\n,,,\r\n");
  Put(t, "quoted_newlines", "a,b\n\"line one\nline two\",\"\"\n\n\"\"\n");
  Put(t, "unterminated_quote", "a,b\n\"open,x\n");
  Put(t, "stray_quote", "a,b\nx\"y,z\n");
  Put(t, "invalid_utf8", std::string("name\n\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80\n"));
  Put(t, "bare_cr", "a,b\rc,d\r\r\n");
  Put(t, "only_bom", "\xEF\xBB\xBF");
}

std::string EntityByte(std::string_view name) {
  const std::vector<Entity>& c = Catalogue();
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i].name == name) return std::string(1, static_cast<char>(i));
  }
  std::fprintf(stderr, "no entity %s\n", std::string(name).c_str());
  std::exit(1);
}

void CsvImports() {
  const std::string t = "csv_import";
  const std::string w = kWorkshopId, p = kProducerId, e = kEnrolmentId, pr = kProductId;
  Put(t, "producer", EntityByte("producer") +
                         "\xEF\xBB\xBFkind,name,district,tambon,stars,members,category\r\n"
                         "group,กลุ่มทอผ้า,พร้าว,เวียง,๔,23,textile\r\n"
                         "entrepreneur,Khun Noi,5011,,0,,food\r\n,,,,,,\r\n");
  Put(t, "workshop", EntityByte("workshop") +
                         "title,fiscal-year,venue,district,start_date,days\n"
                         "KBO Phrao,2567,Hall,5011,2024-03-04,5\n");
  Put(t, "enrolment", EntityByte("enrolment") + "workshop,producer,participant\n" + w +
                          "," + p + ",Somchai\n" + w + "," + p + ",Malee\n");
  Put(t, "attendance", EntityByte("attendance") + "workshop,enrolment,day,status,note\n" +
                           w + "," + e + ",1,present,\n" + w + "," + e + ",2,late,bus\n" + w +
                           "," + e + ",9,absent,\n");
  Put(t, "visit", EntityByte("visit") + "producer,at,lat,lon,purpose,notes\n" + p +
                      ",2024-03-09T09:30:00Z,19.3667,99.2,follow-up,ok\n");
  Put(t, "progress", EntityByte("progress") + "product,workshop,stage,percent\n" + pr + "," +
                         w + ",prototype,60\n");
  Put(t, "contest_score", EntityByte("contest_score") +
                              "product,contest,judge,identity,uniqueness,quality,"
                              "packaging,marketability\n" +
                              pr + ",KBO CM CONTEST,Judge A,8,7,9,6,8\n");
  Put(t, "product", EntityByte("product") + "producer,name,category,stage\n" + p +
                        ",Indigo scarf,textile,idea\n");
  Put(t, "unknown_reference", EntityByte("enrolment") + "workshop,producer,participant\n" +
                                  "00000000-0000-4000-8000-000000000000," + p + ",X\n");
  Put(t, "bad_header", EntityByte("producer") + "id,name\nx,y\n");
}

void ClientJson() {
  const std::string t = "client_json";
  const std::string key = kPublicKeyHex;
  Put(t, "enrol_answer", std::string(1, '\0') +
                             "{\"device_id\":\"" + kDevice.ToString() +
                             "\",\"role\":\"trainer\",\"districts\":[\"5011\",\"5009\"],"
                             "\"server_id\":\"" + kOther.ToString() +
                             "\",\"server_public_key\":\"" + key + "\",\"protocol\":1}");
  // The form no server sends (districts as one string, fields missing):
  // refused.
  Put(t, "enrol_answer_all", std::string(1, '\0') +
                                 "{\"role\":\"central_office\",\"districts\":\"all\","
                                 "\"server_public_key\":\"" + key + "\"}");
  const std::string receipt =
      "{\"receipt\":{\"device_id\":\"" + kDevice.ToString() +
      "\",\"seq\":1,\"hash\":\"" + HexEncode(Sha256("change set")) +
      "\",\"first_server_seq\":10,\"last_server_seq\":14,\"rows\":5,"
      "\"conflicts\":1,\"received_at\":\"2024-03-09T16:00:00Z\"},"
      "\"signature\":\"" + std::string(128, 'a') + "\"}";
  Put(t, "receipt", std::string(1, '\1') + receipt);
  Put(t, "receipt_flat_strings",
      std::string(1, '\1') + "{\"device_id\":\"x\",\"seq\":\"18446744073709551615\","
                             "\"hash\":\"\",\"first_server_seq\":-1,\"last_server_seq\":1e30,"
                             "\"rows\":0,\"conflicts\":0,\"received_at\":\"\",\"signature\":\"zz\"}");
  ChangeSet page = SampleSet(0, 42);
  page.device = Uuid();
  page.rows.resize(2);
  for (RowChange& r : page.rows) r.hlc.device = kOther;
  Put(t, "pull_page", std::string(1, '\2') + "42\n0\n3\n" + EncodeChangeSet(page));
  Put(t, "pull_page_more", std::string(1, '\2') + "42\n1\n\n" + EncodeChangeSet(page));
  Put(t, "pull_page_bad_headers", std::string(1, '\2') + "-1\n2\n99999999999999999999999\n");
  Put(t, "pull_page_lying_rows", std::string(1, '\2') + "5\n0\n0\n" + SetHeader(0x80000000u));
  const std::string conflict =
      "{\"id\":\"c1\",\"entity\":\"producer\",\"row_id\":\"" + std::string(kProducerId) +
      "\",\"column_name\":\"name\",\"district_code\":\"5011\",\"current_value\":\"A\","
      "\"current_type\":\"text\",\"current_device\":\"" + kOther.ToString() +
      "\",\"current_hlc\":\"018e2a7b8c00.00000000." + kOther.ToString() +
      "\",\"current_seq\":3,\"incoming_value\":\"42\",\"incoming_type\":\"integer\","
      "\"incoming_device\":\"" + kDevice.ToString() +
      "\",\"incoming_hlc\":\"018e2a7b8c01.00000000." + kDevice.ToString() +
      "\",\"incoming_base\":2,\"incoming_seq\":4,\"winner\":\"incoming\","
      "\"detected_at\":\"2024-03-09T16:00:00Z\",\"resolved\":false,\"resolved_at\":null,"
      "\"resolved_value\":null,\"resolution_seq\":null,\"feed_seq\":7}";
  Put(t, "conflicts_list",
      std::string(1, '\3') + "{\"conflicts\":[" + conflict + "],\"next\":7,\"more\":false}");
  // A bare list, as no server sends it: refused.
  Put(t, "conflicts_bare_list", std::string(1, '\3') + "[" + conflict + "]");
  // Mode 6: each wire parser on its own (shared/wire.h).
  Put(t, "wire_conflict", std::string(1, '\6') + conflict);
  Put(t, "wire_receipt", std::string(1, '\6') + receipt);
  Put(t, "wire_enrol", std::string(1, '\6') +
                           "{\"device_id\":\"" + kDevice.ToString() +
                           "\",\"role\":\"trainer\",\"districts\":[\"all\"],"
                           "\"server_id\":\"" + kOther.ToString() +
                           "\",\"server_public_key\":\"" + key + "\",\"protocol\":1}");
  Put(t, "wire_blob_state", std::string(1, '\6') +
                                "{\"complete\":false,\"received\":3,\"sha256\":\"" +
                                HexEncode(Sha256("x")) + "\",\"total\":9}");
  Put(t, "wire_missing", std::string(1, '\6') + "{\"missing\":[\"" +
                             HexEncode(Sha256("x")) + "\"]}");
  Put(t, "wire_pull_page", std::string(1, '\6') + EncodeChangeSet(page));
  Put(t, "conflicts_object_more",
      std::string(1, '\3') + "{\"conflicts\":[" + conflict + "],\"more\":true,\"next\":7}");
  Put(t, "conflicts_huge_seq",
      std::string(1, '\3') + "[{\"id\":\"c\",\"entity\":\"e\",\"row_id\":\"r\",\"column\":\"c\","
                             "\"server_seq\":18446744073709551615,\"current_seq\":\"9\"}]");
  Put(t, "refusal_sequence_gap",
      std::string(1, '\4') + std::string(1, static_cast<char>(9)) +
          "{\"error\":\"sequence_gap\",\"message\":\"expected 3\",\"expected\":3}");
  Put(t, "refusal_5xx", std::string(1, '\4') + std::string(1, static_cast<char>(100)) +
                            "{\"error\":\"internal\",\"message\":\"later\"}");
  Put(t, "refusal_not_json", std::string(1, '\4') + std::string(1, '\1') + "<html>");
  Put(t, "blob_upload", std::string(1, '\5') + std::string(1, '\1') +
                            "{\"complete\":false,\"received\":0,\"sha256\":\"x\","
                            "\"total\":33}" + std::string(1, '\0') +
                            "{\"complete\":true,\"received\":33,\"sha256\":\"x\","
                            "\"total\":33}");
  Put(t, "blob_upload_404_offsets",
      std::string(1, '\5') + std::string(1, '\0') + "{}" + std::string(1, '\0') +
          "{\"received\":18446744073709551615}" + std::string(1, '\0') + "{\"received\":1}");
}

void HttpRequests() {
  const std::string t = "http_request";
  const std::string auth = std::string("X-KBO-Device: ") + kEnrolledDevice +
                           "\r\nX-KBO-Time: 1710000000000\r\nX-KBO-Nonce: " +
                           std::string(32, 'a') + "\r\nX-KBO-Signature: " +
                           std::string(128, 'b') + "\r\n";
  Put(t, "health", "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string enroll =
      "{\"token\":\"" + std::string(64, 'c') + "\",\"device_id\":\"" + kDevice.ToString() +
      "\",\"public_key\":\"" + std::string(kPublicKeyHex) +
      "\",\"clock_ms\":1710000000000}";
  Put(t, "enroll", "POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: " + std::to_string(enroll.size()) + "\r\n\r\n" + enroll);
  Put(t, "pull", "GET /v1/pull?after=0&limit=2000 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n");
  Put(t, "pull_after_over_int64",
      "GET /v1/pull?after=99999999999999999999&limit=-1 HTTP/1.1\r\n" + auth + "\r\n");
  Put(t, "conflicts", "GET /v1/conflicts?after=7&after=8 HTTP/1.1\r\n" + auth + "\r\n");
  Put(t, "blob_put", "PUT /v1/blobs/" + BlobHex() + "?offset=0&total=4 HTTP/1.1\r\n" + auth +
                         "X-KBO-Chunk-Sha256: " + HexEncode(Sha256("abcd")) +
                         "\r\nContent-Length: 4\r\n\r\nabcd");
  Put(t, "push_chunked", "POST /v1/push HTTP/1.1\r\n" + auth +
                             "Transfer-Encoding: chunked\r\n\r\n4\r\nKBOC\r\n0\r\n\r\n");
  Put(t, "content_length_minus_1",
      "POST /v1/push HTTP/1.1\r\n" + auth + "Content-Length: -1\r\n\r\nxx");
  Put(t, "content_length_lying_16mib",
      "POST /v1/push HTTP/1.1\r\n" + auth + "Content-Length: 16777215\r\n\r\nKBOC");
  Put(t, "log_injection", "GET /v1/x%0a2024-03-09T16:00:00Z%20FORKED%20DEVICE HTTP/1.1\r\n\r\n");
  Put(t, "blob_missing_query", "GET /v1/blobs/missing?sha=%zz&&=&a=%00 HTTP/1.1\r\n" + auth + "\r\n");
  std::string many = "GET /v1/health HTTP/1.1\r\n";
  for (int i = 0; i < 200; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  Put(t, "many_headers", many + "\r\n");
  Put(t, "bad_request_line", "GET\r\n\r\n");
}

void EdgeHeads() {
  const std::string t = "edge_head";
  const std::string get = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
  Put(t, "get", get);
  Put(t, "pipelined", get + "POST /v1/push HTTP/1.1\r\nContent-Length: 4\r\n\r\nKBOC" + get);
  Put(t, "post_no_length", "POST /v1/enroll HTTP/1.1\r\nHost: x\r\n\r\n");
  Put(t, "body_shorter_than_length",
      "PUT /v1/blobs/x HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
  Put(t, "transfer_encoding",
      "POST /v1/push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nKBOC\r\n0\r\n\r\n");
  Put(t, "content_length_minus_1", "POST /v1/push HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
  Put(t, "content_length_twice",
      "POST /v1/push HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\nab");
  Put(t, "content_length_over_cap",
      "POST /v1/push HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n");
  Put(t, "content_length_over_body_cap",
      "PUT /v1/blobs/x HTTP/1.1\r\nContent-Length: 4097\r\n\r\n");
  Put(t, "content_length_leading_zeros",
      "POST /v1/push HTTP/1.1\r\nContent-Length: 000000000000000004\r\n\r\nKBOC");
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 20; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  Put(t, "too_many_headers", many + "\r\n");
  Put(t, "head_over_cap", "GET / HTTP/1.1\r\nX-Big: " + std::string(3000, 'a') + "\r\n\r\n");
  Put(t, "bare_lf", "GET / HTTP/1.1\nHost: x\n\n");
  Put(t, "cut_head", "GET /v1/pull?after=0 HTTP/1.1\r\nHost:");
  Put(t, "log_control_bytes", std::string("GET /v1/x%0a\x1b[2J\x7f\\ HTTP/1.1\r\n\r\n", 31));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (tests/corpus)\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  ChangeSets();
  OutboxEntries();
  CellVersions();
  Bundles();
  Images();
  Csv();
  CsvImports();
  ClientJson();
  HttpRequests();
  EdgeHeads();
  return 0;
}
