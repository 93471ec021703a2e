#include "shared/entities.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "schema/schema.h"
#include "shared/csv.h"
#include "shared/derived_row_id.h"
#include "shared/encoding.h"
#include "shared/name_match.h"
#include "shared/roles.h"

// The catalogue is data: one table per entity below, in the column order of
// schema/shared/0001_entities.sql (minus id and deleted), which
// tests/shared/entities_test.cc checks against the embedded SQL.
//
// Validation rules and why:
//   - Types are exact (an integer column takes only an integer value), so a
//     value means the same thing on every replica and compares bit for bit.
//     Real columns also take integers: "lat 18" is a fine latitude.
//   - Text is valid UTF-8 with no control characters other than tab, CR and
//     LF. NUL would truncate in C APIs; the others (0x1f above all, the
//     separator of derived-id names) have no business in a person's text and
//     would make two different natural keys name the same row.
//   - Text is capped at kShortTextMaxBytes (names, places, phone numbers:
//     4,000 bytes, about 1,300 Thai characters) or, for free-form notes, at
//     kLongTextMaxBytes (64 KiB: the change set codec's per-value cap, so
//     whatever passes here can travel).
//   - Dates and datetimes are canonical ISO 8601 (the one form that sorts and
//     compares as text), of a day that exists, Gregorian years 1900-2399. The
//     upper bound catches a Buddhist Era year typed as a Gregorian one (2567
//     for 2024), a real mistake in Thai paperwork, with a message saying so.
//   - Refs are canonical lowercase uuid text, not nil.

#include "shared/civil_time.h"

namespace kbo {
namespace {

constexpr size_t kShortTextMaxBytes = 4000;
constexpr size_t kLongTextMaxBytes = 65536;
constexpr int kMinYear = 1900;
constexpr int kMaxYear = 2399;
constexpr int kBuddhistEraOffset = 543;
// How much of a refused value a message quotes back.
constexpr size_t kQuoteMaxBytes = 60;

// std::from_chars for a double, on the standard libraries that have it.
// libc++ 14 (emscripten 3.1.6's, the WebAssembly build) has only the
// integer overloads; there musl's strtod, which rounds correctly as
// from_chars does, reads the same digits (already checked to be a plain
// decimal number) from a terminated copy. Either way: the value, and
// result_out_of_range when it overflows or underflows.
std::from_chars_result ParseDouble(const char* begin, const char* end,
                                   double& value) {
#if defined(_LIBCPP_VERSION) && _LIBCPP_VERSION < 170000
  const std::string copy(begin, end);
  char* stop = nullptr;
  errno = 0;
  const double v = std::strtod(copy.c_str(), &stop);
  const char* ptr = begin + (stop - copy.c_str());
  if (stop == copy.c_str()) return {begin, std::errc::invalid_argument};
  if (errno == ERANGE) return {ptr, std::errc::result_out_of_range};
  value = v;
  return {ptr, std::errc()};
#else
  return std::from_chars(begin, end, value);
#endif
}

constexpr bool kRequired = true;
constexpr bool kOptional = false;

// ---- Catalogue construction -----------------------------------------------

Column MakeColumn(std::string_view name, ColumnType type, bool required) {
  Column c;
  c.name = name;
  c.type = type;
  c.required = required;
  return c;
}

Column TextColumn(std::string_view name, bool required = kOptional) {
  return MakeColumn(name, ColumnType::kText, required);
}

Column IntegerColumn(std::string_view name, double min, double max,
                     bool required = kOptional) {
  Column c = MakeColumn(name, ColumnType::kInteger, required);
  c.has_range = true;
  c.min = min;
  c.max = max;
  return c;
}

Column RealColumn(std::string_view name, double min, double max,
                  bool required = kOptional) {
  Column c = MakeColumn(name, ColumnType::kReal, required);
  c.has_range = true;
  c.min = min;
  c.max = max;
  return c;
}

Column EnumColumn(std::string_view name, std::vector<std::string_view> values,
                  bool required = kOptional) {
  Column c = MakeColumn(name, ColumnType::kEnum, required);
  c.enum_values = std::move(values);
  return c;
}

// `ref_entity` empty: the row may be of any entity (photo.subject_id).
Column RefColumn(std::string_view name, std::string_view ref_entity,
                 bool required = kOptional) {
  Column c = MakeColumn(name, ColumnType::kRef, required);
  c.ref_entity = ref_entity;
  return c;
}

Column DistrictColumn() {
  return MakeColumn(kDistrictColumn, ColumnType::kDistrict, kRequired);
}

Column DateColumn(std::string_view name, bool required = kOptional) {
  return MakeColumn(name, ColumnType::kDate, required);
}

Column DateTimeColumn(std::string_view name, bool required = kOptional) {
  return MakeColumn(name, ColumnType::kDateTime, required);
}

std::vector<Entity> BuildCatalogue() {
  // OTOP's five product categories (../shared/data/README.md).
  const std::vector<std::string_view> categories = {
      "food", "beverage", "textile", "household_decor_souvenir",
      "herbal_nonfood"};
  // The product development path, in order: kForward relies on it.
  const std::vector<std::string_view> stages = {"idea", "design", "prototype",
                                                "packaging", "market_ready"};
  // Five criteria of the KBO CM CONTEST, 20 points each, 100 in all.
  constexpr double kMaxCriterionScore = 20;

  std::vector<Entity> entities;

  Entity producer;
  producer.name = "producer";
  producer.columns = {
      EnumColumn("kind", {"group", "entrepreneur"}, kRequired),
      TextColumn("name", kRequired),
      DistrictColumn(),
      TextColumn("tambon"),
      TextColumn("village"),
      TextColumn("contact"),
      TextColumn("phone"),
      EnumColumn("category", categories),
      IntegerColumn("otop_stars", 0, 5),
      IntegerColumn("members", 0, 100000),
      TextColumn("cluster_brand"),
  };
  entities.push_back(std::move(producer));

  Entity product;
  product.name = "product";
  Column product_stage = EnumColumn("stage", stages);
  product_stage.policy = MergePolicy::kForward;  // stages only move ahead
  product_stage.default_text = "idea";
  product.columns = {
      RefColumn("producer_id", "producer", kRequired),
      TextColumn("name", kRequired),
      DistrictColumn(),
      EnumColumn("category", categories),
      TextColumn("description"),
      TextColumn("identity_story"),
      std::move(product_stage),
  };
  entities.push_back(std::move(product));

  Entity workshop;
  workshop.name = "workshop";
  Column days = IntegerColumn("days", 1, 30);
  days.default_integer = 5;  // the KBO course is five days
  days.has_default_integer = true;
  workshop.columns = {
      TextColumn("title", kRequired),
      IntegerColumn("fiscal_year", 2500, 2700, kRequired),  // Buddhist Era
      TextColumn("venue"),
      DistrictColumn(),
      DateColumn("start_date", kRequired),
      std::move(days),
      IntegerColumn("target_participants", 0, 100000),
  };
  entities.push_back(std::move(workshop));

  Entity enrolment;
  enrolment.name = "enrolment";
  enrolment.columns = {
      RefColumn("workshop_id", "workshop", kRequired),
      RefColumn("producer_id", "producer", kRequired),
      TextColumn("participant_name", kRequired),
      DistrictColumn(),
  };
  entities.push_back(std::move(enrolment));

  Entity attendance;
  attendance.name = "attendance";
  attendance.columns = {
      RefColumn("workshop_id", "workshop", kRequired),
      RefColumn("enrolment_id", "enrolment", kRequired),
      // "Within the workshop's days" needs the workshop row: the store checks.
      IntegerColumn("day", 1, 30, kRequired),
      EnumColumn("status", {"present", "late", "absent", "excused"}, kRequired),
      TextColumn("note"),
      DistrictColumn(),
  };
  attendance.natural_key = {"workshop_id", "enrolment_id", "day"};
  entities.push_back(std::move(attendance));

  Entity visit;
  visit.name = "visit";
  visit.columns = {
      RefColumn("producer_id", "producer", kRequired),
      DateTimeColumn("visited_at", kRequired),
      RealColumn("lat", -90, 90),
      RealColumn("lon", -180, 180),
      RealColumn("accuracy_m", 0, 100000),
      TextColumn("purpose"),
      TextColumn("notes"),
      TextColumn("follow_up"),
      DateColumn("next_visit"),
      DistrictColumn(),
  };
  entities.push_back(std::move(visit));

  Entity progress;
  progress.name = "progress";
  progress.columns = {
      RefColumn("product_id", "product", kRequired),
      RefColumn("workshop_id", "workshop"),
      // A history entry, not the product's current stage: last writer wins.
      EnumColumn("stage", stages, kRequired),
      IntegerColumn("percent", 0, 100),
      TextColumn("notes"),
      DistrictColumn(),
  };
  entities.push_back(std::move(progress));

  // Before photo: a photo may be of a contest score, so this keeps the list in
  // dependency order (DESIGN §3's table lists photo first).
  Entity contest_score;
  contest_score.name = "contest_score";
  contest_score.columns = {
      RefColumn("product_id", "product", kRequired),
      TextColumn("contest", kRequired),
      TextColumn("judge", kRequired),
      IntegerColumn("identity", 0, kMaxCriterionScore, kRequired),
      IntegerColumn("uniqueness", 0, kMaxCriterionScore, kRequired),
      IntegerColumn("quality", 0, kMaxCriterionScore, kRequired),
      IntegerColumn("packaging", 0, kMaxCriterionScore, kRequired),
      IntegerColumn("marketability", 0, kMaxCriterionScore, kRequired),
      TextColumn("comment"),
      DistrictColumn(),
  };
  contest_score.natural_key = {"product_id", "contest", "judge"};
  entities.push_back(std::move(contest_score));

  Entity photo;
  photo.name = "photo";
  photo.columns = {
      EnumColumn("subject_type",
                 {"producer", "product", "workshop", "enrolment", "attendance",
                  "visit", "progress", "contest_score"},
                 kRequired),
      RefColumn("subject_id", "", kRequired),
      MakeColumn("sha256", ColumnType::kSha256, kRequired),
      // Photos are uploaded in chunks; 2 GiB is far above any phone photo and
      // keeps the size in a signed 32-bit range for every client.
      IntegerColumn("bytes", 1, 2147483648.0),
      EnumColumn("mime", {"image/jpeg", "image/png"}, kRequired),
      IntegerColumn("width", 1, 100000),
      IntegerColumn("height", 1, 100000),
      DateTimeColumn("taken_at"),
      RealColumn("lat", -90, 90),
      RealColumn("lon", -180, 180),
      TextColumn("caption"),
      DistrictColumn(),
  };
  entities.push_back(std::move(photo));

  for (Entity& e : entities) {
    e.has_position = e.FindColumn("lat") != nullptr && e.FindColumn("lon") != nullptr;
  }
  return entities;
}

// Free-form columns that get the long cap; every other text the short one.
bool IsLongText(std::string_view column) {
  return column == "description" || column == "identity_story" ||
         column == "notes" || column == "note" || column == "follow_up" ||
         column == "comment" || column == "caption";
}

// A short text as a person meant it: the spaces around it (pasted from a
// chat or a spreadsheet) and runs of spaces inside it ("กลุ่มแม่บ้าน   บ้าน
// สันป่าสัก") are never meant, and would keep two spellings of one name
// apart. ASCII space and tab, U+00A0 (no-break space, from pasted web
// text) and U+3000 count as spaces; a run becomes one ASCII space. Line
// breaks at either end go too (a spreadsheet cell's last line break);
// inside, they and everything else are kept as typed. Characters that show
// nothing and mean nothing in Thai go wherever they are: U+00AD (a soft
// hyphen), U+2060-2064 (a word joiner, invisible operators), U+FEFF (a byte
// order mark pasted from a file), and the direction marks and
// overrides U+061C, U+200E/F, U+202A-E and U+2066-9 (which can make a name
// show as another one). Two spellings of one name that differ only by them
// would be two names; a contest or a judge two keys. U+200B, the zero-width
// space Thai text uses between words, stays as typed inside, and so do
// U+200C/D (emoji need them); at either end they join nothing and go (a
// name of nothing else is no name).
std::string TidyShortText(std::string_view text) {
  // The width of an invisible character at `i` (0: none).
  const auto invisible_at = [&text](size_t i) -> size_t {
    const auto byte = [&text](size_t j) {
      return j < text.size() ? static_cast<uint8_t>(text[j]) : 0;
    };
    if (byte(i) == 0xD8 && byte(i + 1) == 0x9C) return 2;
    if (byte(i) == 0xC2 && byte(i + 1) == 0xAD) return 2;  // soft hyphen
    if (byte(i) == 0xEF && byte(i + 1) == 0xBB && byte(i + 2) == 0xBF) return 3;
    if (byte(i) != 0xE2) return 0;
    const uint8_t b1 = byte(i + 1), b2 = byte(i + 2);
    if (b1 == 0x80 && (b2 == 0x8E || b2 == 0x8F || (b2 >= 0xAA && b2 <= 0xAE))) {
      return 3;
    }
    if (b1 == 0x81 && ((b2 >= 0xA0 && b2 <= 0xA4) || (b2 >= 0xA6 && b2 <= 0xA9))) return 3;
    return 0;
  };
  // The width of the space at `i` (0: none); line breaks count only at the
  // ends.
  const auto space_at = [&text](size_t i, bool line_breaks) -> size_t {
    if (text[i] == ' ' || text[i] == '\t') return 1;
    if (line_breaks && (text[i] == '\n' || text[i] == '\r')) return 1;
    if (text.compare(i, 2, "\xC2\xA0") == 0) return 2;
    if (text.compare(i, 3, "\xE3\x80\x80") == 0) return 3;
    return 0;
  };
  // The ends: every kind of space and line break.
  for (size_t w; !text.empty() && (w = space_at(0, true)) > 0;) text.remove_prefix(w);
  for (bool trimmed = true; trimmed && !text.empty();) {
    trimmed = false;
    for (size_t w : {size_t{1}, size_t{2}, size_t{3}}) {
      if (text.size() >= w && space_at(text.size() - w, true) == w) {
        text.remove_suffix(w);
        trimmed = true;
        break;
      }
    }
  }
  // Inside: a run of spaces is one ASCII space.
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (size_t i = 0; i < text.size();) {
    if (const size_t width = invisible_at(i); width > 0) {
      i += width;
      continue;
    }
    if (const size_t width = space_at(i, false); width > 0) {
      pending_space = true;
      i += width;
      continue;
    }
    // (Nothing yet: the spaces were at the start, behind an invisible one.)
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.push_back(text[i++]);
  }
  // U+200B-D (and spaces between them) at either end.
  const auto zero_width_at = [&out](size_t i) {
    return i + 3 <= out.size() && static_cast<uint8_t>(out[i]) == 0xE2 &&
           static_cast<uint8_t>(out[i + 1]) == 0x80 &&
           static_cast<uint8_t>(out[i + 2]) >= 0x8B && static_cast<uint8_t>(out[i + 2]) <= 0x8D;
  };
  size_t begin = 0, end = out.size();
  while (begin < end && (zero_width_at(begin) || out[begin] == ' ')) {
    begin += out[begin] == ' ' ? 1 : 3;
  }
  while (end > begin && (out[end - 1] == ' ' || (end >= begin + 3 && zero_width_at(end - 3)))) {
    end -= out[end - 1] == ' ' ? 1 : 3;
  }
  return out.substr(begin, end - begin);
}

// A phone number written as one Thai number (digits with spaces, hyphens,
// dots or brackets between them, Thai digits too, +66 for the trunk 0) is
// kept as its digits ("081-234-5678", "๐๘๑ ๒๓๔ ๕๖๗๘" and "+66 81 234 5678"
// are one number, "0812345678", not three spellings that conflict). One
// number only: a mobile (10 digits, 06, 08 or 09) or a landline (9 digits,
// 02 to 07). Anything else is kept as typed: two numbers, "053-123456-7"
// (lines 6 and 7), "+66 (0)81 …", an extension, a name.
std::string TidyPhone(std::string_view text) {
  const std::string ascii = NormalizeThaiDigits(text);
  std::string digits;
  size_t plus = 0;
  for (char c : ascii) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c == '+') {
      ++plus;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return ascii;
    }
  }
  std::string national = digits;
  if (plus > 0) {
    if (plus != 1 || ascii.rfind("+66", 0) != 0 || digits.size() < 3 ||
        digits[2] == '0') {
      return ascii;
    }
    national = "0" + digits.substr(2);
  }
  const bool mobile = national.size() == 10 && national[0] == '0' &&
                      (national[1] == '6' || national[1] == '8' || national[1] == '9');
  const bool landline = national.size() == 9 && national[0] == '0' &&
                        national[1] >= '2' && national[1] <= '7';
  return mobile || landline ? national : ascii;
}

// ---- Message helpers ------------------------------------------------------

// 'text' for quoting a refused value back to a person: cut on a character
// boundary, and never invalid UTF-8 (messages end up in JSON and terminals).
std::string Quoted(std::string_view text) {
  if (!IsValidUtf8(text)) return "text that is not valid UTF-8";
  std::string out = "'";
  if (text.size() <= kQuoteMaxBytes) {
    out.append(text);
  } else {
    out.append(Utf8Prefix(text, kQuoteMaxBytes));
    out.append("...");
  }
  for (char& c : out) {
    if (static_cast<uint8_t>(c) < 0x20) c = ' ';  // keep messages one line
  }
  out.push_back('\'');
  return out;
}

// A value as a person would recognise it: 7, 2.5, 'here', nothing.
std::string Describe(const Value& value) {
  switch (value.type()) {
    case Value::Type::kNull:
      return "nothing";
    case Value::Type::kInteger:
    case Value::Type::kReal:
      return value.ToDisplay();
    case Value::Type::kText:
      return Quoted(value.text());
    case Value::Type::kBlob:
      return "blob " + Quoted(value.text());
  }
  return "?";
}

std::string FormatBound(double bound) {
  if (std::fabs(bound) < 1e15 && bound == std::floor(bound)) {
    return std::to_string(static_cast<int64_t>(bound));
  }
  return Value::Real(bound).ToDisplay();
}

std::string JoinEnum(const Column& column) {
  std::string out;
  for (size_t i = 0; i < column.enum_values.size(); ++i) {
    if (i > 0) out += ", ";
    out.append(column.enum_values[i]);
  }
  return out;
}

std::string Name(const Column& column) { return std::string(column.name); }

// A value's problem as field::kProblem (a key of shared/labels, which every
// language has) and field::kParams, beside the English message.
using ProblemParams = std::vector<std::pair<std::string, std::string>>;
Status Problem(Status s, const char* key, ProblemParams params = {}) {
  s.With(field::kProblem, std::string(key));
  if (!params.empty()) s.With(field::kParams, std::move(params));
  return s;
}

// ---- Lexical checks -------------------------------------------------------

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

std::string_view TrimAsciiSpace(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The length of a mark that only sits on a letter at text[i] (a Thai vowel
// above or below, a tone mark, a combining accent), 0 if there is none: on
// its own it shows nothing a person could read (a participant named only
// with tone marks showed no name on the roll call or in the reports).
size_t CombiningMarkAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) {
    return i + k < text.size() ? static_cast<uint8_t>(text[i + k]) : 0;
  };
  // U+0300-U+036F, combining diacritical marks: CC 80 .. CD AF.
  if ((byte(0) == 0xCC && byte(1) >= 0x80 && byte(1) <= 0xBF) ||
      (byte(0) == 0xCD && byte(1) >= 0x80 && byte(1) <= 0xAF)) {
    return 2;
  }
  // Thai: U+0E31 (E0 B8 B1), U+0E34-U+0E3A (E0 B8 B4..BA), U+0E47-U+0E4E
  // (E0 B9 87..8E).
  if (byte(0) == 0xE0 && byte(1) == 0xB8 &&
      (byte(2) == 0xB1 || (byte(2) >= 0xB4 && byte(2) <= 0xBA))) {
    return 3;
  }
  if (byte(0) == 0xE0 && byte(1) == 0xB9 && byte(2) >= 0x87 && byte(2) <= 0x8E) return 3;
  return 0;
}

// True iff `text` holds nothing a person would call content: ASCII spaces,
// the Unicode blanks that Thai input produces (no-break space, zero-width
// space, which Thai word processors insert between words, ideographic space,
// BOM), and marks with no letter to sit on (CombiningMarkAt). Assumes valid
// UTF-8.
bool IsBlank(std::string_view text) {
  static constexpr std::string_view kUnicodeBlanks[] = {
      "\xC2\xA0",      // U+00A0 no-break space
      "\xE2\x80\x8B",  // U+200B zero-width space
      "\xE3\x80\x80",  // U+3000 ideographic space
      "\xEF\xBB\xBF",  // U+FEFF zero-width no-break space (BOM)
  };
  size_t i = 0;
  while (i < text.size()) {
    if (IsAsciiSpace(text[i])) {
      ++i;
      continue;
    }
    // Every Unicode blank starts with a byte of 0xC2 or above: other text
    // (nearly every value of every row) is told apart at its first letter.
    if (static_cast<uint8_t>(text[i]) < 0xC2) return false;
    if (const size_t mark = CombiningMarkAt(text, i); mark > 0) {
      i += mark;
      continue;
    }
    bool matched = false;
    for (std::string_view blank : kUnicodeBlanks) {
      if (text.substr(i, blank.size()) == blank) {
        i += blank.size();
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return !s.empty();
}

int ToInt(std::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}


// Checks a YYYY-MM-DD prefix (`text` is the whole value, for messages).
Status CheckDatePart(const Column& column, std::string_view date,
                     std::string_view text, std::string_view form) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-' ||
      !AllDigits(date.substr(0, 4)) || !AllDigits(date.substr(5, 2)) ||
      !AllDigits(date.substr(8, 2))) {
    return Problem(Status::InvalidArgument(Name(column) + " must be a date written " +
                                           std::string(form) + " (got " +
                                           Quoted(text) + ")"),
                   column.type == ColumnType::kDateTime ? "err.datetime" : "err.date");
  }
  const int y = ToInt(date.substr(0, 4));
  const int m = ToInt(date.substr(5, 2));
  const int d = ToInt(date.substr(8, 2));
  if (y > kMaxYear && y - kBuddhistEraOffset >= kMinYear &&
      y - kBuddhistEraOffset <= kMaxYear) {
    return Problem(
        Status::InvalidArgument(
            Name(column) + " " + Quoted(text) +
            // No "; ": the screens split a row's problems on it.
            " has a Buddhist Era year: dates are Gregorian (" + std::to_string(y) +
            " BE is " + std::to_string(y - kBuddhistEraOffset) + ")"),
        "err.be_year",
        {{"be", std::to_string(y)}, {"ce", std::to_string(y - kBuddhistEraOffset)}});
  }
  if (y < kMinYear || y > kMaxYear) {
    return Problem(
        Status::InvalidArgument(Name(column) + " year must be from " +
                                std::to_string(kMinYear) + " to " +
                                std::to_string(kMaxYear) + " (got " + Quoted(text) + ")"),
        "err.year",
        {{"min", std::to_string(kMinYear)}, {"max", std::to_string(kMaxYear)}});
  }
  if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) {
    return Problem(Status::InvalidArgument(Name(column) + " " + Quoted(text) +
                                           " is not a day of the calendar"),
                   "err.no_such_day");
  }
  return Status();
}

Status CheckDate(const Column& column, std::string_view text) {
  return CheckDatePart(column, text, text, "YYYY-MM-DD, e.g. 2024-02-29");
}

Status CheckDateTime(const Column& column, std::string_view text) {
  constexpr std::string_view kForm =
      "YYYY-MM-DDTHH:MM:SSZ (UTC), e.g. "
      "2024-02-29T09:30:00Z";
  if (text.size() != 20 || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z' || !AllDigits(text.substr(11, 2)) ||
      !AllDigits(text.substr(14, 2)) || !AllDigits(text.substr(17, 2))) {
    return Problem(Status::InvalidArgument(Name(column) + " must be a time written " +
                                           std::string(kForm) + " (got " +
                                           Quoted(text) + ")"),
                   "err.datetime");
  }
  if (Status s = CheckDatePart(column, text.substr(0, 10), text, kForm);
      !s.ok()) {
    return s;
  }
  // No leap second (:60): UTC timestamps from phones never carry one, and
  // accepting it would give two spellings of one instant.
  if (ToInt(text.substr(11, 2)) > 23 || ToInt(text.substr(14, 2)) > 59 ||
      ToInt(text.substr(17, 2)) > 59) {
    return Problem(Status::InvalidArgument(Name(column) + " " + Quoted(text) +
                                           " is not a time of day"),
                   "err.datetime");
  }
  return Status();
}

constexpr std::string_view kNilUuidText = "00000000-0000-0000-0000-000000000000";

// What Uuid::Parse(text)->ToString() == text says, without building either:
// 8-4-4-4-12 lowercase hex digits.
bool IsCanonicalUuidText(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return false;
  }
  // Every reference of every row passes here: the 32 digits through the
  // table with no branch per digit (a value of 16 or more is not a digit).
  static constexpr uint8_t kDigitAt[32] = {0,  1,  2,  3,  4,  5,  6,  7,
                                           9,  10, 11, 12, 14, 15, 16, 17,
                                           19, 20, 21, 22, 24, 25, 26, 27,
                                           28, 29, 30, 31, 32, 33, 34, 35};
  uint8_t any = 0;
  for (uint8_t at : kDigitAt) any |= kLowerHexValue[static_cast<uint8_t>(text[at])];
  return any < 16;
}

// The first byte of `text` below 0x20 that is not a tab or a line break;
// text.size() if none. Eight bytes at a time: a word with no byte below
// 0x20 (most of every text) is passed over whole.
size_t FirstControlByte(std::string_view text) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const size_t n = text.size();
  size_t i = 0;
  for (;;) {
    while (n - i >= 8) {
      uint64_t word;
      std::memcpy(&word, text.data() + i, sizeof word);
      // Non-zero iff some byte of the word is below 0x20.
      if (((word - kOnes * 0x20) & ~word & kHigh) != 0) break;
      i += 8;
    }
    const size_t end = std::min(n, i + 8);
    for (; i < end; ++i) {
      const char c = text[i];
      if (static_cast<uint8_t>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
        return i;
      }
    }
    if (i == n) return n;
  }
}

// The offset of the first character that turns text around (the bidi
// embeddings, overrides and isolates U+202A-E, U+2066-9) or that is no
// character (U+FFFE, U+FFFF: XML may not hold them; the office's workbook
// broke), or text.size(). Devices strip the bidi ones from names as they
// are typed (TidyShortText); a row pushed with them by other means
// ("weavers\u202Egnp.exe" showed reversed in the console and the exports)
// is refused (CheckWrittenText), where it is written: typed on a device, or
// pushed to the server. Never on a pull or in what a server already holds:
// a row stored before the rule must still reach every device. Notes and the other long texts keep
// what was typed, bidi controls too (`bidi` false): a name is what shows in
// every table and file name.
size_t FirstHiddenTrick(std::string_view text, bool bidi) {
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    if (b0 != 0xE2 && b0 != 0xEF) continue;
    const auto b1 = static_cast<uint8_t>(text[i + 1]);
    const auto b2 = static_cast<uint8_t>(text[i + 2]);
    if (bidi && b0 == 0xE2 && b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) return i;
    if (bidi && b0 == 0xE2 && b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9) return i;
    if (b0 == 0xEF && b1 == 0xBF && (b2 == 0xBE || b2 == 0xBF)) return i;
  }
  return text.size();
}

Status CheckText(const Column& column, std::string_view text, bool utf8_known) {
  if (!utf8_known && !IsValidUtf8(text)) {
    return Problem(Status::InvalidArgument(Name(column) + " is not valid UTF-8 text"),
                   "err.control");
  }
  if (const size_t at = FirstControlByte(text); at != text.size()) {
    return Problem(Status::InvalidArgument(
                       Name(column) + " contains a control character (code " +
                       std::to_string(static_cast<uint8_t>(text[at])) +
                       "); only tab and line breaks are allowed"),
                   "err.control");
  }
  const size_t cap =
      IsLongText(column.name) ? kLongTextMaxBytes : kShortTextMaxBytes;
  if (text.size() > cap) {
    return Problem(Status::InvalidArgument(
                       Name(column) + " is too long: " + std::to_string(text.size()) +
                       " bytes, at most " + std::to_string(cap) +
                       " (a Thai character takes 3 bytes)"),
                   "err.too_long",
                   {{"bytes", std::to_string(text.size())},
                    {"max", std::to_string(cap)},
                    {"thai", std::to_string(cap / 3)}});
  }
  return Status();
}

Status WrittenTextRefusal(const Column& column, const Value& value) {
  if (value.type() != Value::Type::kText) return Status();
  const std::string_view text = value.text();
  if (const size_t at = FirstHiddenTrick(text, !IsLongText(column.name)); at != text.size()) {
    char code[8];
    const uint32_t cp = ((static_cast<uint32_t>(text[at]) & 0x0F) << 12) |
                        ((static_cast<uint32_t>(text[at + 1]) & 0x3F) << 6) |
                        (static_cast<uint32_t>(text[at + 2]) & 0x3F);
    std::snprintf(code, sizeof code, "%04X", static_cast<unsigned>(cp));
    return Problem(Status::InvalidArgument(
                       Name(column) + " contains a control character (U+" + code +
                       ", which " +
                       (cp >= 0xFFFE ? std::string("is no character")
                                     : std::string("turns the text around")) +
                       "); only tab and line breaks are allowed"),
                   "err.control");
  }
  return Status();
}

Status CheckRange(const Column& column, double v, const Value& value) {
  if (!column.has_range || (v >= column.min && v <= column.max)) {
    return Status();
  }
  // A fiscal year typed as a Western year (2027 for 2570): said so, with
  // the Buddhist Era year it is, as a date's BE year is.
  if (column.name == "fiscal_year" && v >= kMinYear && v <= kMaxYear &&
      v + kBuddhistEraOffset >= column.min && v + kBuddhistEraOffset <= column.max) {
    const std::string got = Describe(value);
    const std::string be = std::to_string(static_cast<int64_t>(v) + kBuddhistEraOffset);
    return Problem(Status::InvalidArgument(Name(column) + " is a Buddhist Era year, " +
                                           FormatBound(column.min) + " to " +
                                           FormatBound(column.max) + " (got " + got +
                                           ", a Western year: " + got + " is BE " + be + ")"),
                   "err.fiscal_year_ce", {{"got", got}, {"be", be}});
  }
  return Problem(Status::InvalidArgument(Name(column) + " must be from " +
                                         FormatBound(column.min) + " to " +
                                         FormatBound(column.max) + " (got " +
                                         Describe(value) + ")"),
                 "err.range",
                 {{"min", FormatBound(column.min)},
                  {"max", FormatBound(column.max)},
                  {"got", Describe(value)}});
}

Status WrongType(const Column& column, std::string_view expected,
                 const Value& value) {
  const char* key = "err.type";
  switch (column.type) {
    case ColumnType::kInteger: key = "err.integer"; break;
    case ColumnType::kReal: key = "err.number"; break;
    case ColumnType::kDate: key = "err.date"; break;
    case ColumnType::kDateTime: key = "err.datetime"; break;
    case ColumnType::kRef: key = "err.ref"; break;
    case ColumnType::kDistrict: key = "err.district"; break;
    default: break;
  }
  return Problem(Status::InvalidArgument(Name(column) + " must be " +
                                         std::string(expected) + " (got " +
                                         TypeName(value.type()) + " " +
                                         Describe(value) + ")"),
                 key);
}

std::string DistrictExample() {
  const District* phrao = FindDistrict("5011");
  if (phrao == nullptr) return "";
  return " (e.g. " + std::string(phrao->code) + " " +
         std::string(phrao->name_en) + ")";
}

// ---- Person-typed text ----------------------------------------------------

// A phone or a person gives local time with its offset
// ("2024-02-29T16:30:00+07:00", or "+0700"); the catalogue stores UTC
// ("2024-02-29T09:30:00Z"). Anything else is returned unchanged for
// CheckDateTime to accept or refuse with its own message.
std::string OffsetTimeToUtc(const std::string& text) {
  const size_t n = text.size();
  if ((n != 25 && n != 24) || text[10] != 'T' || text[4] != '-' ||
      text[7] != '-' || text[13] != ':' || text[16] != ':' ||
      (text[19] != '+' && text[19] != '-')) {
    return text;
  }
  const std::string_view t = text;
  const std::string_view oh = t.substr(20, 2);
  const std::string_view om = n == 25 ? t.substr(23, 2) : t.substr(22, 2);
  if ((n == 25 && t[22] != ':') || !AllDigits(t.substr(0, 4)) ||
      !AllDigits(t.substr(5, 2)) || !AllDigits(t.substr(8, 2)) ||
      !AllDigits(t.substr(11, 2)) || !AllDigits(t.substr(14, 2)) ||
      !AllDigits(t.substr(17, 2)) || !AllDigits(oh) || !AllDigits(om)) {
    return text;
  }
  const int y = ToInt(t.substr(0, 4)), mo = ToInt(t.substr(5, 2)),
            d = ToInt(t.substr(8, 2)), h = ToInt(t.substr(11, 2)),
            mi = ToInt(t.substr(14, 2)), s = ToInt(t.substr(17, 2));
  if (ToInt(oh) > 14 || ToInt(om) > 59) return text;
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 ||
      mi > 59 || s > 59) {
    // The offset is fine, the time is not: the column's own check says
    // what is wrong with it ("2026-02-30 is not a day of the calendar"),
    // not that an offset is not allowed.
    return text.substr(0, 19) + "Z";
  }
  const int64_t offset =
      (t[19] == '+' ? 1 : -1) * (ToInt(oh) * 3600 + ToInt(om) * 60);
  const int64_t secs =
      DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
  return FormatIsoUtc(secs);
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Strict decimal: [+-]?[0-9]+, nothing else, within int64.
Result<int64_t> ParseInteger(const Column& column, std::string_view typed) {
  const std::string s = NormalizeThaiDigits(typed);
  std::string_view digits = s;
  // A person may type a '+'; the shared parser takes none.
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  const std::string_view unsigned_part =
      !digits.empty() && digits.front() == '-' ? digits.substr(1) : digits;
  if (unsigned_part.empty() || !AllDigits(unsigned_part)) {
    return Problem(Status::InvalidArgument(Name(column) + " must be a whole number (got " +
                                           Quoted(typed) + ")"),
                   "err.integer", {{"got", Quoted(typed)}});
  }
  // Digits only by now: the one thing left to refuse is overflow.
  const std::optional<int64_t> v = ParseInt64(digits);
  if (!v) {
    return Problem(Status::InvalidArgument(Name(column) + " is too large a number (got " +
                                           Quoted(typed) + ")"),
                   "err.too_big", {{"got", Quoted(typed)}});
  }
  return *v;
}

// Strict decimal real: [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)?. No hex, inf or nan,
// and no locale: from_chars reads '.' whatever LC_NUMERIC says.
Result<double> ParseReal(const Column& column, std::string_view typed) {
  const std::string s = NormalizeThaiDigits(typed);
  auto refuse = [&]() {
    return Problem(Status::InvalidArgument(Name(column) + " must be a number (got " +
                                           Quoted(typed) + ")"),
                   "err.number", {{"got", Quoted(typed)}});
  };
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
  const size_t mantissa_start = i;
  auto skip_digits = [&]() {
    size_t count = 0;
    while (i < n && IsDigit(s[i])) {
      ++i;
      ++count;
    }
    return count;
  };
  size_t mantissa_digits = skip_digits();
  if (i < n && s[i] == '.') {
    ++i;
    mantissa_digits += skip_digits();
  }
  if (mantissa_digits == 0) return refuse();
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (skip_digits() == 0) return refuse();
  }
  if (i != n) return refuse();
  // from_chars takes no '+'; the sign is re-applied after.
  const bool negative = s[0] == '-';
  const char* begin = s.data() + mantissa_start;
  const char* end = s.data() + n;
  double v = 0;
  const auto [ptr, ec] = ParseDouble(begin, end, v);
  if (ec == std::errc::result_out_of_range) {
    return Problem(Status::InvalidArgument(Name(column) +
                                           " is out of the range of numbers (got " +
                                           Quoted(typed) + ")"),
                   "err.too_big", {{"got", Quoted(typed)}});
  }
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return refuse();
  return negative ? -v : v;
}

// `text` without `prefix` and the spaces after it, if it starts with it.
bool DropPrefix(std::string_view* text, std::string_view prefix) {
  if (text->substr(0, prefix.size()) != prefix) return false;
  text->remove_prefix(prefix.size());
  while (!text->empty() && text->front() == ' ') text->remove_prefix(1);
  return true;
}

// A district by code, English name (any case) or Thai name, also as people
// write it: "อำเภอพร้าว", "อ.พร้าว", "กิ่งอำเภอ…", "Phrao District",
// "Amphoe Phrao".
const District* FindDistrictByAnyName(std::string_view typed) {
  if (const District* d = FindDistrict(typed)) return d;
  std::string_view th = TrimAsciiSpace(typed);
  if (!DropPrefix(&th, "กิ่งอำเภอ") && !DropPrefix(&th, "อำเภอ")) DropPrefix(&th, "อ.");
  const std::string lower_all = AsciiLower(TrimAsciiSpace(typed));
  std::string_view en = lower_all;
  if (!DropPrefix(&en, "amphoe")) DropPrefix(&en, "amphur");
  constexpr std::string_view kSuffix = " district";
  if (en.size() > kSuffix.size() && en.substr(en.size() - kSuffix.size()) == kSuffix) {
    en.remove_suffix(kSuffix.size());
  }
  en = TrimAsciiSpace(en);
  for (const District& d : Districts()) {
    if (d.name_th == th || AsciiLower(d.name_en) == en) return &d;
  }
  return nullptr;
}

// The fixed namespace of derived ids. Changing it (or the name layout in
// DerivedRowId) would give every attendance and contest score a new id.
const Uuid& DerivedIdNamespace() {
  static const Uuid ns = Uuid::Derived(Uuid{}, "kbo-field/derived-ids/v1");
  return ns;
}

struct DistrictTable {
  std::vector<CsvRecord> records;  // owns the text District points into
  std::vector<District> districts;
};

// Fills `table` in place, so the views into `records` are made after the
// strings have reached their final address.
void LoadDistricts(DistrictTable* table) {
  if (schema::kDistrictsCsv_count == 0) return;
  Result<std::vector<CsvRecord>> parsed =
      ParseCsv(schema::kDistrictsCsv[0].bytes);
  // Build-time data, checked by a unit test; an empty list is the only
  // non-throwing way to fail here.
  if (!parsed.ok()) return;
  table->records = std::move(parsed).value();
  for (const CsvRecord& r : table->records) {
    if (r.fields.size() != 3 || r.fields[0] == "code") continue;  // header
    table->districts.push_back(District{r.fields[0], r.fields[1], r.fields[2]});
  }
}

}  // namespace

Status CheckWrittenText(const Column& column, const Value& value) {
  return WrittenTextRefusal(column, value);
}

// Thai digits (U+0E50..U+0E59, UTF-8 E0 B9 90..99) to ASCII: Thai keyboards
// and forms produce them, and they mean the same numbers.
std::string NormalizeThaiDigits(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (i + 2 < s.size() && s[i] == '\xE0' && s[i + 1] == '\xB9' &&
        static_cast<uint8_t>(s[i + 2]) >= 0x90 &&
        static_cast<uint8_t>(s[i + 2]) <= 0x99) {
      out.push_back(
          static_cast<char>('0' + (static_cast<uint8_t>(s[i + 2]) - 0x90)));
      i += 2;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

bool IsLongTextColumn(std::string_view column) { return IsLongText(column); }

bool IsFileFact(const Entity& entity, std::string_view column) {
  return entity.name == "photo" &&
         (column == "sha256" || column == "bytes" || column == "mime" ||
          column == "width" || column == "height");
}

// ---- Catalogue ----------------------------------------------------------

const Column* Entity::FindColumn(std::string_view column) const {
  for (const Column& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

const std::vector<Entity>& Catalogue() {
  static const std::vector<Entity>* const catalogue =
      new std::vector<Entity>(BuildCatalogue());
  return *catalogue;
}

const Entity* FindEntityByWord(std::string_view word) {
  std::string normal(word);
  for (char& c : normal) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-') c = '_';
  }
  if (const Entity* e = FindEntity(normal)) return e;
  if (normal.size() > 1 && normal.back() == 's') {
    normal.pop_back();
    return FindEntity(normal);
  }
  return nullptr;
}

const Entity* FindEntity(std::string_view name) {
  for (const Entity& e : Catalogue()) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string WithArticle(std::string_view entity_name) {
  const bool vowel = !entity_name.empty() &&
                     std::string_view("aeiou").find(entity_name[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(entity_name);
}

bool RecordsUnder(const Column& column, std::string_view parent) {
  return column.type == ColumnType::kRef && column.required &&
         !column.ref_entity.empty() && column.ref_entity == parent;
}

namespace {
// "enrolment" -> "enrolments"; the entities whose plain plural would read
// oddly get a noun.
std::string CountedNoun(std::string_view entity, int64_t n) {
  const bool one = n == 1;
  if (entity == "attendance") return one ? "attendance mark" : "attendance marks";
  if (entity == "progress") return one ? "progress entry" : "progress entries";
  if (entity == "contest_score") return one ? "contest score" : "contest scores";
  return std::string(entity) + (one ? "" : "s");
}
}  // namespace

Status CheckFiscalYear(int64_t year) {
  const Entity* workshop = FindEntity("workshop");
  const Column* column =
      workshop != nullptr ? workshop->FindColumn("fiscal_year") : nullptr;
  const int64_t lo = column != nullptr ? static_cast<int64_t>(column->min) : 2500;
  const int64_t hi = column != nullptr ? static_cast<int64_t>(column->max) : 2700;
  if (year >= lo && year <= hi) return Status();
  const int64_t be = year + kBuddhistEraOffset;
  const bool western = be >= lo && be <= hi;
  Status bad = Status::InvalidArgument(
      "fiscal year " + std::to_string(year) +
      " is not a Buddhist Era year from " + std::to_string(lo) + " to " +
      std::to_string(hi) + " (e.g. 2569)" +
      (western ? "; is " + std::to_string(year) +
                     " a Western year? It is fiscal year " + std::to_string(be) +
                     " in the Buddhist Era"
               : std::string()));
  bad.WithReason("bad_fiscal_year");
  if (western) bad.With("buddhist_era", be);
  return bad;
}

Result<int64_t> ParseFiscalYear(std::string_view text) {
  int64_t year = 0;
  bool digits = !text.empty() && text.size() <= 6;
  for (char c : text) {
    if (c < '0' || c > '9') digits = false;
  }
  if (!digits) {
    return Status::InvalidArgument("fiscal year must be a Buddhist Era year "
                                   "such as 2569, not '" +
                                   std::string(text) + "'")
        .WithReason("bad_fiscal_year");
  }
  for (char c : text) year = year * 10 + (c - '0');
  if (Status s = CheckFiscalYear(year); !s.ok()) return s;
  return year;
}

std::string CountedRows(
    const std::vector<std::pair<std::string, int64_t>>& by_entity) {
  std::string out;
  for (size_t i = 0; i < by_entity.size(); ++i) {
    if (i > 0) out += i + 1 == by_entity.size() ? " and " : ", ";
    out += std::to_string(by_entity[i].second) + " " +
           CountedNoun(by_entity[i].first, by_entity[i].second);
  }
  return out;
}

const std::vector<District>& Districts() {
  // Heap-allocated and never freed: the string_views handed out must stay
  // valid during static destruction too.
  static const DistrictTable* const table = [] {
    auto* t = new DistrictTable;
    LoadDistricts(t);
    return t;
  }();
  return table->districts;
}

const District* FindDistrict(std::string_view code) {
  // Hashed once: every row of an import or a roll-call checks its district.
  // The first of equal codes, as a search in order would find.
  static const auto* const index = [] {
    auto* by_code = new std::unordered_map<std::string_view, const District*>;
    for (const District& d : Districts()) by_code->emplace(d.code, &d);
    return by_code;
  }();
  const auto it = index->find(code);
  return it == index->end() ? nullptr : it->second;
}

std::string DistrictsAsCodes(std::string_view typed) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t comma = typed.find(',', start);
    const std::string_view piece = TrimAsciiSpace(
        typed.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                             : comma - start));
    const District* d =
        AsciiLower(piece) == "all" ? nullptr : FindDistrictByAnyName(NormalizeThaiDigits(piece));
    if (start > 0) out += ',';
    out += d != nullptr ? std::string(d->code) : std::string(piece);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// ---- Validation -----------------------------------------------------------

namespace {

// `utf8_known`: the value's text is already known to be valid UTF-8.
Status CheckCell(const Column& column, const Value& value, bool utf8_known) {
  if (value.is_null()) return Status();
  const bool is_text = value.type() == Value::Type::kText;
  switch (column.type) {
    case ColumnType::kText:
      if (!is_text) return WrongType(column, "text", value);
      return CheckText(column, value.text(), utf8_known);

    case ColumnType::kInteger:
      if (value.type() != Value::Type::kInteger) {
        return WrongType(column, "a whole number", value);
      }
      return CheckRange(column, static_cast<double>(value.integer()), value);

    case ColumnType::kReal: {
      double v = 0;
      if (value.type() == Value::Type::kReal) {
        v = value.real();
        if (!std::isfinite(v)) {
          return Problem(Status::InvalidArgument(Name(column) +
                                                 " must be a finite number"),
                         "err.number");
        }
      } else if (value.type() == Value::Type::kInteger) {
        v = static_cast<double>(value.integer());
      } else {
        return WrongType(column, "a number", value);
      }
      return CheckRange(column, v, value);
    }

    case ColumnType::kEnum:
      if (is_text) {
        for (std::string_view allowed : column.enum_values) {
          if (value.text() == allowed) return Status();
        }
      }
      return Problem(Status::InvalidArgument(Name(column) + " must be one of " +
                                             JoinEnum(column) + " (got " +
                                             Describe(value) + ")"),
                     "err.enum", {{"got", Describe(value)}});

    case ColumnType::kRef: {
      // Hot path (every reference of every row): the message is built only
      // for a refusal.
      if (is_text && IsCanonicalUuidText(value.text()) &&
          std::string_view(value.text()) != kNilUuidText) {
        return Status();
      }
      const std::string what =
          column.ref_entity.empty()
              ? std::string("the id of a row")
              : "the id of " + WithArticle(column.ref_entity);
      if (!is_text) return WrongType(column, what, value);
      if (!IsCanonicalUuidText(value.text())) {
        return Problem(Status::InvalidArgument(
                           Name(column) + " must be " + what +
                           ", written as a lowercase 8-4-4-4-12 uuid (got " +
                           Describe(value) + ")"),
                       "err.ref");
      }
      if (std::string_view(value.text()) == kNilUuidText) {
        return Problem(Status::InvalidArgument(Name(column) + " must be " + what +
                                               ", not the nil id"),
                       "err.ref");
      }
      return Status();
    }

    case ColumnType::kDistrict:
      if (!is_text) {
        return WrongType(column, "a Chiang Mai district code as text", value);
      }
      if (FindDistrict(value.text()) == nullptr) {
        return Problem(Status::InvalidArgument(Name(column) + " " + Quoted(value.text()) +
                                               " is not a Chiang Mai district" +
                                               DistrictExample()),
                       "err.district");
      }
      return Status();

    case ColumnType::kDate:
      if (!is_text) return WrongType(column, "a date as text", value);
      return CheckDate(column, value.text());

    case ColumnType::kDateTime:
      if (!is_text) return WrongType(column, "a UTC time as text", value);
      return CheckDateTime(column, value.text());

    case ColumnType::kSha256:
      if ((!is_text && value.type() != Value::Type::kBlob) ||
          !IsLowerHex(value.text(), 64)) {
        return Status::InvalidArgument(
            Name(column) +
            " must be a SHA-256 digest: 64 lowercase hex characters (got " +
            Describe(value) + ")");
      }
      return Status();
  }
  return Status::Internal("unknown column type of " + Name(column));
}

}  // namespace

Status ValidateCell(const Entity& /*entity*/, const Column& column,
                    const Value& value) {
  Status s = CheckCell(column, value, false);
  if (!s.ok() && s.code() != Code::kInternal) {
    s.With(field::kField, std::string(column.name));
  }
  return s;
}

Status ValidateEdit(const Entity& entity, const Column& column, const Value& value) {
  // Blank text (IsBlank: spaces, or marks with no letter) empties it too.
  if (column.required &&
      (value.is_null() || (value.type() == Value::Type::kText &&
                           IsValidUtf8(value.text()) && IsBlank(value.text())))) {
    return Problem(Status::InvalidArgument(std::string(column.name) +
                                           " is required and cannot be emptied"),
                   "err.required")
        .With(field::kField, std::string(column.name));
  }
  return ValidateCell(entity, column, value);
}

Status ValidateDecodedCell(const Entity& /*entity*/, const Column& column,
                           const Value& value) {
  Status s = CheckCell(column, value, true);
  if (!s.ok() && s.code() != Code::kInternal) {
    s.With(field::kField, std::string(column.name));
  }
  return s;
}

Status ValidateCell(const Entity& entity, std::string_view column,
                    const Value& value) {
  if (column == kDeletedColumn) {
    if (value.type() == Value::Type::kInteger &&
        (value.integer() == 0 || value.integer() == 1)) {
      return Status();
    }
    return Status::InvalidArgument("deleted must be 0 or 1 (got " +
                                   Describe(value) + ")");
  }
  const Column* c = entity.FindColumn(column);
  if (c == nullptr) {
    return Status::InvalidArgument(std::string(entity.name) +
                                   " has no column " + Quoted(column));
  }
  return ValidateCell(entity, *c, value);
}

Status ValidateNewRow(const Entity& entity, const RowValues& row) {
  // Every problem at once, in a stable order (unknown columns, then the
  // catalogue's order): a person fixing a form wants the whole list.
  std::string problems;
  // Per column, what is wrong with it (a form shows it beside the field).
  std::vector<std::pair<std::string, std::string>> fields;
  // The problem's key and parameters when there is only one (ProblemText).
  size_t count = 0;
  Status only;
  auto add = [&problems, &fields, &count, &only](const std::string& problem,
                                                 std::string_view column = {},
                                                 Status from = Status()) {
    if (!problems.empty()) problems += "; ";
    problems += problem;
    if (!column.empty()) fields.emplace_back(std::string(column), problem);
    if (++count == 1) only = std::move(from);
  };
  // Each column's value, found while the row's names are checked (every
  // row of an import or a roll-call passes here: no second lookup by name).
  constexpr size_t kMaxColumns = 64;
  std::array<const Value*, kMaxColumns> given{};
  if (entity.columns.size() > kMaxColumns) {
    return Status::Internal(std::string(entity.name) + " has too many columns");
  }
  for (const auto& [name, value] : row) {
    if (name == kIdColumn) {
      add("id is given by the system, not by the row's values");
    } else if (name == kDeletedColumn) {
      // A tombstone is an edit of an existing row; a new row starts alive.
      if (value != Value::Integer(0)) add("a new row cannot start deleted");
    } else if (const Column* c = entity.FindColumn(name); c == nullptr) {
      add(std::string(entity.name) + " has no column " + Quoted(name));
    } else {
      given[static_cast<size_t>(c - entity.columns.data())] = &value;
    }
  }
  const auto is_missing = [](const Value* value) {
    return value == nullptr || value->is_null() ||
           (value->type() == Value::Type::kText && IsBlank(value->text()) &&
            IsValidUtf8(value->text()));
  };
  // A row's district comes from its parent (a visit's from its producer:
  // roles.h DistrictParentColumn). With the parent missing too, "district
  // required" would send the person looking for a district field the form
  // does not show: the parent's own "required" says it (and still refuses
  // the row).
  bool parent_missing = false;
  if (const std::string_view parent = DistrictParentColumn(entity.name);
      !parent.empty()) {
    const Column* p = entity.FindColumn(parent);
    parent_missing = p != nullptr && p->required &&
                     is_missing(given[static_cast<size_t>(p - entity.columns.data())]);
  }
  for (size_t i = 0; i < entity.columns.size(); ++i) {
    const Column& column = entity.columns[i];
    const Value* value = given[i];
    const bool missing = is_missing(value);
    if (missing) {
      if (column.required &&
          !(parent_missing && column.name == kDistrictColumn)) {
        const std::string message =
            Name(column) + " is required for " + WithArticle(entity.name);
        add(message, column.name,
            Problem(Status::InvalidArgument(message), "err.required"));
      }
      continue;
    }
    if (Status s = ValidateCell(entity, column, *value); !s.ok()) {
      const std::string message = s.message();
      add(message, column.name, std::move(s));
    }
  }
  if (Status s = CheckPositionPair(entity, row); !s.ok()) {
    const std::string message = s.message();
    const std::string column = *s.TextField(field::kField);
    add(message, column, std::move(s));
  }
  if (problems.empty()) return Status();
  Status s = Status::InvalidArgument(problems);
  if (!fields.empty()) {
    s.With(field::kField, fields.front().first);
    s.With(field::kFields, std::move(fields));
  }
  if (count == 1) {
    if (const std::string* key = only.TextField(field::kProblem)) {
      s.With(field::kProblem, *key);
      if (const auto* params = only.TextsField(field::kParams)) {
        s.With(field::kParams, *params);
      }
    }
  }
  return s;
}

Status CheckPositionPair(const Entity& entity, const RowValues& row) {
  if (!entity.has_position) return Status();
  const auto has = [&row](const char* column) {
    const auto it = row.find(column);
    return it != row.end() && !it->second.is_null();
  };
  if (has("lat") == has("lon")) return Status();
  const std::string missing = has("lat") ? "lon" : "lat";
  return Problem(Status::InvalidArgument("a position needs both lat and lon (" +
                                         missing + " is missing)"),
                 "err.position_pair")
      .With(field::kField, missing);
}

void ApplyDefaults(const Entity& entity, RowValues* row) {
  for (const Column& column : entity.columns) {
    // Most columns have no default: no lookup for them.
    if (column.default_text.empty() && !column.has_default_integer) continue;
    const auto it = row->find(column.name);
    // Null counts as absent: an empty form field is "not given".
    if (it != row->end() && !it->second.is_null()) continue;
    Value v;
    if (!column.default_text.empty()) {
      v = Value::Text(std::string(column.default_text));
    } else if (column.has_default_integer) {
      v = Value::Integer(column.default_integer);
    } else {
      continue;
    }
    (*row)[std::string(column.name)] = std::move(v);
  }
}

namespace {

// A time refused in the words typed: the time as given, not as turned into
// UTC or ASCII digits, and, when its form was wrong, how to write a local
// time (what an officer has in mind).
Status TypedTimeRefusal(const Status& refused, std::string_view typed_text,
                        const Value& parsed) {
  const std::string_view typed = TrimAsciiSpace(typed_text);
  std::string said = refused.message();
  if (parsed.type() == Value::Type::kText && parsed.text() != typed) {
    // Only where the message quotes it: the form's example may hold the
    // same digits.
    const std::string turned = "'" + parsed.text() + "'";
    const std::string as_typed = "'" + std::string(typed) + "'";
    for (size_t at = said.find(turned); at != std::string::npos;
         at = said.find(turned, at + as_typed.size())) {
      said.replace(at, turned.size(), as_typed);
    }
  }
  const std::string* problem = refused.TextField(field::kProblem);
  if (problem != nullptr && *problem == "err.datetime" &&
      said.find("must be a time written") != std::string::npos) {
    // No "; ": the screens split a row's problems on it.
    said += ", or Thailand's local time with its offset, e.g. "
            "2024-02-29T16:30:00+07:00";
  }
  Status out = Status::FromCode(refused.code(), std::move(said));
  if (!refused.reason().empty()) out.WithReason(refused.reason());
  for (const StatusField& f : refused.fields()) out.With(f);
  return out;
}

}  // namespace

Result<Value> ParseCellText(const Entity& entity, const Column& column,
                            std::string_view text) {
  Value value;
  if (column.type == ColumnType::kText) {
    // A person's free text (a note) is kept byte for byte; a short text (a
    // name, a place, a phone) without the spaces nobody means around and
    // inside it (TidyShortText). Empty means "nothing".
    std::string kept = IsLongText(column.name) ? std::string(text)
                                               : TidyShortText(text);
    if (column.name == "phone") kept = TidyPhone(kept);
    if (kept.empty()) return Value();
    value = Value::Text(std::move(kept));
  } else {
    // Everything else is a code, a number or a date: surrounding spaces from
    // a CSV cell or a form are not part of it.
    const std::string_view typed = TrimAsciiSpace(text);
    if (typed.empty()) return Value();
    switch (column.type) {
      case ColumnType::kInteger: {
        Result<int64_t> v = ParseInteger(column, typed);
        if (!v.ok()) {
          return Status(v.status()).With(field::kField, std::string(column.name));
        }
        value = Value::Integer(*v);
        break;
      }
      case ColumnType::kReal: {
        Result<double> v = ParseReal(column, typed);
        if (!v.ok()) {
          return Status(v.status()).With(field::kField, std::string(column.name));
        }
        value = Value::Real(*v);
        break;
      }
      case ColumnType::kEnum: {
        // "Present" means present; a case-only difference is not an error.
        std::string chosen(typed);
        const std::string lower = AsciiLower(typed);
        for (std::string_view allowed : column.enum_values) {
          if (allowed == lower) chosen = lower;
        }
        value = Value::Text(std::move(chosen));
        break;
      }
      case ColumnType::kRef:
      case ColumnType::kSha256:
        // Canonical ids and digests are lowercase; a pasted uppercase one
        // names the same thing.
        value = Value::Text(AsciiLower(typed));
        break;
      case ColumnType::kDistrict: {
        // An office spreadsheet may say "พร้าว" or "Phrao" for 5011.
        // Thai digits (๕๐๑๑) too.
        const District* d = FindDistrictByAnyName(NormalizeThaiDigits(typed));
        value = Value::Text(d != nullptr ? std::string(d->code)
                                         : std::string(typed));
        break;
      }
      case ColumnType::kDate:
        value = Value::Text(NormalizeThaiDigits(typed));
        break;
      case ColumnType::kDateTime:
        value = Value::Text(OffsetTimeToUtc(NormalizeThaiDigits(typed)));
        break;
      case ColumnType::kText:
        break;  // handled above
    }
  }
  if (Status s = ValidateCell(entity, column, value); !s.ok()) {
    if (column.type == ColumnType::kDateTime) return TypedTimeRefusal(s, text, value);
    return s;
  }
  if (Status s = CheckWrittenText(column, value); !s.ok()) return s;
  return value;
}

namespace {

// DerivedRowId over any way of finding a key column's value: `value_of(key)`
// gives it, or nullptr if the row has none.
template <typename ValueOf>
Result<Uuid> DerivedRowIdWith(const Entity& entity, ValueOf&& value_of) {
  if (entity.natural_key.empty()) {
    return Status::FailedPrecondition(std::string(entity.name) +
                                      " rows have random ids, not derived "
                                      "ones");
  }
  // name := entity 0x1f key_1 0x1f ... key_n, each key as Value::ToDisplay().
  // It depends on nothing else (no device, no time), so every device that
  // records the same thing derives the same id. Validated text cannot contain
  // 0x1f, so the layout is unambiguous; it is refused here too.
  // Built on the stack when it fits (a roll-call derives an id per row, and
  // a name is ~90 bytes), else in a string: the same bytes either way.
  char stack[240];
  size_t size = 0;
  std::string heap;
  bool on_heap = false;
  auto put = [&](const char* data, size_t n) {
    if (!on_heap && size + n <= sizeof stack) {
      std::memcpy(stack + size, data, n);
      size += n;
      return;
    }
    if (!on_heap) {
      heap.reserve(size + n);
      if (size > 0) heap.append(stack, size);
      on_heap = true;
    }
    heap.append(data, n);
  };
  put(entity.name.data(), entity.name.size());
  for (std::string_view key : entity.natural_key) {
    const Value* value = value_of(key);
    if (value == nullptr || value->is_null() ||
        (value->type() == Value::Type::kText && value->text().empty())) {
      return Status::InvalidArgument(std::string(key) +
                                     " is needed to identify a " +
                                     std::string(entity.name));
    }
    std::string display;  // only for a type with no text of its own below
    std::string_view text;
    char digits[24];
    if (value->type() == Value::Type::kText) {
      text = value->text();  // = ToDisplay(), without a copy
    } else if (value->type() == Value::Type::kInteger) {
      // = ToDisplay() (std::to_string's decimal)
      const auto end =
          std::to_chars(digits, digits + sizeof digits, value->integer()).ptr;
      text = std::string_view(digits, static_cast<size_t>(end - digits));
    } else {
      display = value->ToDisplay();
      text = display;
    }
    if (text.find('\x1f') != std::string_view::npos) {
      return Status::InvalidArgument(std::string(key) +
                                     " contains a control character");
    }
    put("\x1f", 1);
    put(text.data(), text.size());
  }
  return Uuid::Derived(DerivedIdNamespace(),
                       on_heap ? std::string_view(heap) : std::string_view(stack, size));
}

}  // namespace

Result<Uuid> DerivedRowId(const Entity& entity, const RowValues& row) {
  return DerivedRowIdWith(entity, [&row](std::string_view key) -> const Value* {
    const auto it = row.find(key);
    return it == row.end() ? nullptr : &it->second;
  });
}

Result<Uuid> DerivedRowId(const Entity& entity,
                          const std::vector<const Value*>& by_column) {
  return DerivedRowIdWith(entity, [&](std::string_view key) -> const Value* {
    const Column* c = entity.FindColumn(key);
    if (c == nullptr) return nullptr;
    const size_t i = static_cast<size_t>(c - entity.columns.data());
    return i < by_column.size() ? by_column[i] : nullptr;
  });
}

int EnumRank(const Column& column, const Value& value) {
  if (column.type != ColumnType::kEnum || value.type() != Value::Type::kText) {
    return -1;
  }
  for (size_t i = 0; i < column.enum_values.size(); ++i) {
    if (column.enum_values[i] == value.text()) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace kbo
