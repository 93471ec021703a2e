#include "shared/labels.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "shared/civil_time.h"
#include "shared/entities.h"
#include "shared/label_files.h"
#include "shared/name_match.h"

namespace kbo {

namespace {

// ../shared/data/README.md: OTOP's five product categories.
constexpr Named kCategories[] = {
    {"food", "อาหาร", "Food"},
    {"beverage", "เครื่องดื่ม", "Beverage"},
    {"textile", "ผ้า เครื่องแต่งกาย", "Textiles and clothing"},
    {"household_decor_souvenir", "ของใช้ ของตกแต่ง ของที่ระลึก",
     "Household goods, decorations and souvenirs"},
    {"herbal_nonfood", "สมุนไพรที่ไม่ใช่อาหาร", "Herbal non-food products"},
};

constexpr Named kStages[] = {
    {"idea", "แนวคิด", "Idea"},
    {"design", "ออกแบบ", "Design"},
    {"prototype", "ต้นแบบ", "Prototype"},
    {"packaging", "บรรจุภัณฑ์", "Packaging"},
    {"market_ready", "พร้อมจำหน่าย", "Market ready"},
};

constexpr Named kStatuses[] = {
    {"present", "มา", "Present"},
    {"late", "สาย", "Late"},
    {"absent", "ขาด", "Absent"},
    {"excused", "ลา", "Excused"},
};

constexpr Named kKinds[] = {
    {"group", "กลุ่มผู้ผลิต", "Producer group"},
    {"entrepreneur", "ผู้ประกอบการ", "Entrepreneur"},
};

// The five criteria of the KBO CM CONTEST, 20 points each.
constexpr Named kCriteria[] = {
    {"identity", "อัตลักษณ์", "Identity"},
    {"uniqueness", "ความโดดเด่น", "Uniqueness"},
    {"quality", "คุณภาพ", "Quality"},
    {"packaging", "บรรจุภัณฑ์", "Packaging"},
    {"marketability", "โอกาสทางการตลาด", "Marketability"},
};

// ../shared/data/README.md: Phrao's 11 tambon, in geocode order.
constexpr Named kPhraoTambon[] = {
    {"", "เวียง", "Wiang"},        {"", "ทุ่งหลวง", "Thung Luang"},
    {"", "ป่าตุ้ม", "Pa Tum"},       {"", "ป่าไหน่", "Pa Nai"},
    {"", "สันทราย", "San Sai"},    {"", "บ้านโป่ง", "Ban Pong"},
    {"", "น้ำแพร่", "Nam Phrae"},   {"", "เขื่อนผาก", "Khuean Phak"},
    {"", "แม่แวน", "Mae Waen"},    {"", "แม่ปั๋ง", "Mae Pang"},
    {"", "โหล่งขอด", "Long Khot"},
};

constexpr const char* kThaiMonths[] = {"ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.",
                                       "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.",
                                       "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."};
constexpr const char* kEnglishMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                          "May", "Jun", "Jul", "Aug",
                                          "Sep", "Oct", "Nov", "Dec"};
constexpr int64_t kBuddhistEraOffset = 543;

using Words = std::map<std::string, std::string, std::less<>>;

// Both files, parsed once (the files are compiled in and checked by a test:
// a parse failure leaves the map empty and every key shows as itself).
const Words& WordsOf(Lang lang) {
  static const Words* const kWords = [] {
    auto* words = new Words[2];
    for (size_t i = 0; i < kLabelFiles_count; ++i) {
      const EmbeddedFile& f = kLabelFiles[i];
      const int slot = f.name == "th.json" ? 0 : f.name == "en.json" ? 1 : -1;
      if (slot < 0) continue;
      nlohmann::json doc = nlohmann::json::parse(f.bytes, nullptr, false);
      if (!doc.is_object()) continue;
      for (auto it = doc.begin(); it != doc.end(); ++it) {
        if (it.value().is_string()) {
          words[slot][it.key()] = it.value().get<std::string>();
        }
      }
    }
    return words;
  }();
  return kWords[lang == Lang::kTh ? 0 : 1];
}

bool ParseDigits(std::string_view text, size_t pos, size_t n, int64_t* out) {
  if (pos + n > text.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

// "YYYY-MM-DD" at the start of `text`.
bool ParseDate(std::string_view text, int64_t* y, int* m, int* d) {
  int64_t yy = 0, mm = 0, dd = 0;
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return false;
  if (!ParseDigits(text, 0, 4, &yy) || !ParseDigits(text, 5, 2, &mm) ||
      !ParseDigits(text, 8, 2, &dd)) {
    return false;
  }
  if (mm < 1 || mm > 12 || dd < 1 ||
      dd > DaysInMonth(yy, static_cast<int>(mm))) {
    return false;
  }
  *y = yy;
  *m = static_cast<int>(mm);
  *d = static_cast<int>(dd);
  return true;
}

std::string DayMonthYear(Lang lang, int64_t y, int m, int d) {
  if (lang == Lang::kTh) {
    return std::to_string(d) + " " + kThaiMonths[m - 1] + " " +
           std::to_string(y + kBuddhistEraOffset);
  }
  return std::to_string(d) + " " + kEnglishMonths[m - 1] + " " +
         std::to_string(y);
}

}  // namespace

std::optional<Lang> ParseLang(std::string_view code) {
  if (code == "th") return Lang::kTh;
  if (code == "en") return Lang::kEn;
  return std::nullopt;
}

std::string_view LangCode(Lang lang) { return lang == Lang::kTh ? "th" : "en"; }

std::string Label(Lang lang, std::string_view key) {
  const Words& words = WordsOf(lang);
  auto it = words.find(key);
  return it == words.end() ? std::string(key) : it->second;
}

bool HasLabel(Lang lang, std::string_view key) {
  const Words& words = WordsOf(lang);
  return words.find(key) != words.end();
}

std::string EntityLabel(Lang lang, std::string_view entity) {
  return Label(lang, "entity." + std::string(entity));
}

std::string ColumnLabel(Lang lang, std::string_view entity,
                        std::string_view column) {
  const std::string own =
      "col." + std::string(entity) + "." + std::string(column);
  if (HasLabel(lang, own)) return Label(lang, own);
  if (column == "id") return lang == Lang::kTh ? "รหัส" : "ID";
  if (column == "deleted") return lang == Lang::kTh ? "ลบแล้ว" : "Deleted";
  return Label(lang, "col." + std::string(column));
}

std::string ProblemText(Lang lang, std::string_view entity, const Status& s) {
  const std::string* key = s.TextField(field::kProblem);
  if (lang != Lang::kTh || key == nullptr || !HasLabel(lang, *key)) {
    return s.message();
  }
  std::vector<std::pair<std::string, std::string>> params;
  if (const auto* given = s.TextsField(field::kParams)) params = *given;
  const std::string* column = s.TextField(field::kField);
  params.emplace_back("label", column != nullptr ? ColumnLabel(lang, entity, *column)
                                                 : std::string());
  const std::string words = Label(lang, *key);
  std::string out;
  out.reserve(words.size());
  for (size_t i = 0; i < words.size();) {
    const size_t close = words[i] == '{' ? words.find('}', i) : std::string::npos;
    if (close != std::string::npos) {
      const std::string_view name(words.data() + i + 1, close - i - 1);
      auto p = std::find_if(params.begin(), params.end(),
                            [&](const auto& kv) { return kv.first == name; });
      if (p != params.end()) {
        out += p->second;
        i = close + 1;
        continue;
      }
    }
    out += words[i++];
  }
  return out;
}

const Named* NamedList::Find(std::string_view value) const {
  for (const Named& n : *this) {
    if (n.value == value) return &n;
  }
  return nullptr;
}

NamedList Categories() { return {kCategories, std::size(kCategories)}; }
NamedList Stages() { return {kStages, std::size(kStages)}; }
NamedList Statuses() { return {kStatuses, std::size(kStatuses)}; }
NamedList Kinds() { return {kKinds, std::size(kKinds)}; }
NamedList Criteria() { return {kCriteria, std::size(kCriteria)}; }
NamedList PhraoTambon() { return {kPhraoTambon, std::size(kPhraoTambon)}; }

std::string ValueLabel(Lang lang, std::string_view entity,
                       std::string_view column, const Value& value) {
  if (value.is_null()) return "";
  const std::string text = value.ToDisplay();
  if (column == "deleted") {
    const bool yes = value.type() == Value::Type::kInteger && value.integer();
    return lang == Lang::kTh ? (yes ? "ใช่" : "ไม่") : (yes ? "yes" : "no");
  }
  const Entity* e = FindEntity(entity);
  const Column* c = e ? e->FindColumn(column) : nullptr;
  if (c == nullptr) return text;
  const NamedList* table = nullptr;
  NamedList list{nullptr, 0};
  if (column == "category") list = Categories(), table = &list;
  if (column == "stage") list = Stages(), table = &list;
  if (column == "status") list = Statuses(), table = &list;
  if (column == "kind") list = Kinds(), table = &list;
  if (table != nullptr) {
    if (const Named* n = table->Find(text)) return std::string(n->name(lang));
    return text;
  }
  if (column == "subject_type") return EntityLabel(lang, text);
  if (column == "purpose" && HasLabel(lang, "purpose." + text)) {
    return Label(lang, "purpose." + text);
  }
  switch (c->type) {
    case ColumnType::kDistrict:
      return DistrictLabel(lang, text);
    case ColumnType::kDate:
      return FormatDateLabel(lang, text);
    case ColumnType::kDateTime:
      return FormatIsoBangkokValue(lang, text);
    default:
      return text;
  }
}

namespace {

// `text` split at runs of spaces.
std::vector<std::string_view> SplitWords(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

// 1..12 for a month as DayMonthYear writes it (either language, English
// case-insensitively), with whether the year is Buddhist Era; 0 if none.
int MonthOf(std::string_view word, bool* buddhist_era) {
  for (int m = 0; m < 12; ++m) {
    if (word == kThaiMonths[m]) {
      *buddhist_era = true;
      return m + 1;
    }
    const std::string_view en = kEnglishMonths[m];
    if (word.size() == en.size()) {
      bool same = true;
      for (size_t i = 0; i < en.size() && same; ++i) {
        same = (word[i] | 0x20) == (en[i] | 0x20);
      }
      if (same) {
        *buddhist_era = false;
        return m + 1;
      }
    }
  }
  return 0;
}

// Days since 1970-01-01 of "D MONTH YEAR" in words[0..2]; nullopt if not a
// real date.
std::optional<int64_t> LabelledDay(const std::vector<std::string_view>& words) {
  int64_t d = 0, y = 0;
  bool be = false;
  const std::string_view day = words[0], year = words[2];
  if (day.empty() || day.size() > 2 || !ParseDigits(day, 0, day.size(), &d) ||
      year.size() != 4 || !ParseDigits(year, 0, 4, &y)) {
    return std::nullopt;
  }
  const int m = MonthOf(words[1], &be);
  if (m == 0) return std::nullopt;
  if (be) y -= kBuddhistEraOffset;
  if (y < 1 || d < 1 || d > DaysInMonth(y, m)) return std::nullopt;
  return DaysFromCivil(y, m, static_cast<int>(d));
}

}  // namespace

std::optional<NamedList> EnumNames(const Column& column) {
  if (column.type != ColumnType::kEnum) return std::nullopt;
  if (column.name == "category") return Categories();
  if (column.name == "stage") return Stages();
  if (column.name == "status") return Statuses();
  if (column.name == "kind") return Kinds();
  return std::nullopt;
}

namespace {

// For comparing names of values: FoldSpaceAndCase without spaces and commas
// ("ผ้า เครื่องแต่งกาย", "ผ้า,เครื่องแต่งกาย" and "ผ้าเครื่องแต่งกาย" are one).
std::string Squeezed(std::string_view text) {
  std::string out;
  for (char ch : FoldSpaceAndCase(text)) {
    if (ch != ' ' && ch != ',') out.push_back(ch);
  }
  return out;
}

}  // namespace

std::string EnumCodeOfName(const Column& column, std::string_view text) {
  const std::optional<NamedList> names = EnumNames(column);
  if (!names) return std::string(text);
  const std::string wanted = Squeezed(text);
  if (wanted.empty()) return std::string(text);
  for (const Named& n : *names) {
    if (Squeezed(n.value) == wanted || Squeezed(n.name_th) == wanted ||
        Squeezed(n.name_en) == wanted) {
      return std::string(n.value);
    }
  }
  return std::string(text);
}

std::vector<std::string> PurposeCodesNamed(std::string_view part) {
  const auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
  };
  const std::string want = lower(part);
  std::vector<std::string> codes;
  if (want.empty()) return codes;
  const std::string prefix = "purpose.";
  for (Lang lang : {Lang::kTh, Lang::kEn}) {
    for (const auto& [key, words] : WordsOf(lang)) {
      if (key.rfind(prefix, 0) != 0 || lower(words).find(want) == std::string::npos) continue;
      std::string code = key.substr(prefix.size());
      if (std::find(codes.begin(), codes.end(), code) == codes.end()) codes.push_back(code);
    }
  }
  return codes;
}

std::string ValueFromLabel(std::string_view entity, std::string_view column,
                           std::string_view text) {
  const std::string as_is(text);
  const Entity* e = FindEntity(entity);
  const Column* c = e ? e->FindColumn(column) : nullptr;
  if (c == nullptr) return as_is;
  // The named enumerations by their Thai or English name ("ลา",
  // "Excused" -> excused; "ต้นแบบ" -> prototype).
  if (EnumNames(*c).has_value()) return EnumCodeOfName(*c, text);
  if (column == "subject_type" || column == "purpose") {
    for (Lang lang : {Lang::kTh, Lang::kEn}) {
      if (column == "subject_type") {
        for (const Entity& other : Catalogue()) {
          if (EntityLabel(lang, other.name) == text) return std::string(other.name);
        }
      } else {
        const std::string prefix = "purpose.";
        for (const auto& [key, words] : WordsOf(lang)) {
          if (key.rfind(prefix, 0) == 0 && words == text) {
            return key.substr(prefix.size());
          }
        }
      }
    }
    return as_is;
  }
  if (c->type != ColumnType::kDate && c->type != ColumnType::kDateTime) {
    return as_is;
  }
  // "1 ธ.ค. ๒๕๖๙ ๑๐:๓๐" as a Thai form writes it: digits are digits.
  const std::string ascii = NormalizeThaiDigits(text);
  const std::vector<std::string_view> words = SplitWords(ascii);
  const size_t want = c->type == ColumnType::kDate ? 3 : 4;
  if (words.size() != want) return as_is;
  const std::optional<int64_t> day = LabelledDay(words);
  if (!day) return as_is;
  if (c->type == ColumnType::kDate) {
    int64_t y = 0;
    int m = 0, d = 0;
    CivilFromDays(*day, &y, &m, &d);
    char out[16];
    std::snprintf(out, sizeof out, "%04d-%02d-%02d", static_cast<int>(y), m, d);
    return out;
  }
  // "10:30", or "10:30:15" as FormatIsoBangkokValue writes a time whose
  // seconds are not zero.
  int64_t hh = 0, mi = 0, ss = 0;
  const std::string_view hm = words[3];
  if ((hm.size() != 5 && hm.size() != 8) || hm[2] != ':' ||
      !ParseDigits(hm, 0, 2, &hh) || !ParseDigits(hm, 3, 2, &mi) || hh > 23 ||
      mi > 59) {
    return as_is;
  }
  if (hm.size() == 8 && (hm[5] != ':' || !ParseDigits(hm, 6, 2, &ss) || ss > 59)) {
    return as_is;
  }
  // Bangkok time, as FormatBangkokTime wrote it.
  return FormatIsoUtc(*day * 86400 + hh * 3600 + mi * 60 + ss -
                      kBangkokOffsetSeconds);
}

std::string RoleLabel(Lang lang, std::string_view role) {
  const std::string key = "role." + std::string(role);
  return HasLabel(lang, key) ? Label(lang, key) : std::string(role);
}

std::string DistrictLabel(Lang lang, std::string_view code) {
  const District* d = FindDistrict(code);
  if (d == nullptr) return std::string(code);
  return std::string(lang == Lang::kTh ? d->name_th : d->name_en);
}

std::string DistrictLabels(Lang lang, const std::vector<std::string>& codes) {
  std::string out;
  for (const std::string& code : codes) {
    out += (out.empty() ? "" : ", ") + DistrictLabel(lang, code);
  }
  return out;
}

std::string FormatBangkokTime(Lang lang, int64_t unix_ms) {
  // Floor division: times before 1970 still land on the right day.
  int64_t seconds = unix_ms / 1000;
  if (unix_ms % 1000 < 0) --seconds;
  seconds += kBangkokOffsetSeconds;
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) rest += 86400, --days;
  int64_t y = 0;
  int m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  char hm[8];
  std::snprintf(hm, sizeof hm, "%02d:%02d", static_cast<int>(rest / 3600),
                static_cast<int>(rest % 3600 / 60));
  return DayMonthYear(lang, y, m, d) + " " + hm;
}

std::optional<int64_t> ParseIsoUtcMillis(std::string_view iso) {
  int64_t y = 0;
  int m = 0, d = 0;
  int64_t hh = 0, mi = 0, ss = 0, ms = 0;
  if (!ParseDate(iso, &y, &m, &d) || iso.size() < 20 || iso[10] != 'T' ||
      iso[13] != ':' || iso[16] != ':' || !ParseDigits(iso, 11, 2, &hh) ||
      !ParseDigits(iso, 14, 2, &mi) || !ParseDigits(iso, 17, 2, &ss) ||
      hh > 23 || mi > 59 || ss > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (iso[pos] == '.') {
    size_t digits = 0;
    ++pos;
    while (pos < iso.size() && iso[pos] >= '0' && iso[pos] <= '9') {
      if (digits < 3) ms = ms * 10 + (iso[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (pos + 1 != iso.size() || iso[pos] != 'Z') return std::nullopt;
  return ((DaysFromCivil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss) * 1000) +
         ms;
}

std::string FormatIsoBangkok(Lang lang, std::string_view iso_utc) {
  std::optional<int64_t> ms = ParseIsoUtcMillis(iso_utc);
  if (!ms) return std::string(iso_utc);
  return FormatBangkokTime(lang, *ms);
}

std::string FormatBangkokTimeValue(Lang lang, int64_t unix_ms) {
  std::string out = FormatBangkokTime(lang, unix_ms);
  int64_t seconds = unix_ms / 1000;
  if (unix_ms % 1000 < 0) --seconds;
  const int64_t within_minute = (seconds % 60 + 60) % 60;
  if (within_minute != 0) {
    char ss[4];
    std::snprintf(ss, sizeof ss, ":%02d", static_cast<int>(within_minute));
    out += ss;
  }
  return out;
}

std::string FormatIsoBangkokValue(Lang lang, std::string_view iso_utc) {
  std::optional<int64_t> ms = ParseIsoUtcMillis(iso_utc);
  if (!ms) return std::string(iso_utc);
  return FormatBangkokTimeValue(lang, *ms);
}

std::string FormatDateLabel(Lang lang, std::string_view text) {
  int64_t y = 0;
  int m = 0, d = 0;
  if (text.size() != 10 || !ParseDate(text, &y, &m, &d)) {
    return std::string(text);
  }
  return DayMonthYear(lang, y, m, d);
}

int64_t FiscalYearOf(int64_t year_ce, int month) {
  return year_ce + kBuddhistEraOffset + (month >= 10 ? 1 : 0);
}

std::optional<int64_t> FiscalYearOfDate(std::string_view text) {
  int64_t y = 0;
  int m = 0, d = 0;
  if (text.size() != 10 || !ParseDate(text, &y, &m, &d)) return std::nullopt;
  return FiscalYearOf(y, m);
}

}  // namespace kbo
