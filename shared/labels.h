#ifndef KBO_SHARED_LABELS_H_
#define KBO_SHARED_LABELS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"
#include "shared/value.h"

namespace kbo {

// The words people read, in Thai and English: one source for the phone UI
// (which serves shared/labels/th.json and en.json as they are), the office
// console, reports and exports. Codes stay codes in the store and on the
// wire; only what is shown goes through here.

enum class Lang { kTh, kEn };

// "th" or "en" (case-sensitive); nullopt otherwise.
std::optional<Lang> ParseLang(std::string_view code);
std::string_view LangCode(Lang lang);

// The text of `key` in shared/labels/<lang>.json ("col.name", "role.trainer"),
// or `key` itself if the file has no such key (a missing word shows as its
// key, never as nothing).
std::string Label(Lang lang, std::string_view key);
// True if the file has `key`.
bool HasLabel(Lang lang, std::string_view key);

// "ผู้ผลิต" for producer.
std::string EntityLabel(Lang lang, std::string_view entity);
// The column's label: "col.ENTITY.COLUMN" where the entity needs its own
// ("ชื่อผลิตภัณฑ์"), else "col.COLUMN".
std::string ColumnLabel(Lang lang, std::string_view entity,
                        std::string_view column);

// What is wrong with a value, for a person reading `lang`: in Thai, the
// words of the Status's field::kProblem (a key of the labels files, with
// field::kParams and the label of field::kField's column for {label});
// otherwise, or when the Status names no known problem, its message.
std::string ProblemText(Lang lang, std::string_view entity, const Status& s);

// A code with its two names (OTOP categories, stages, statuses, ...).
struct Named {
  std::string_view value;
  std::string_view name_th;
  std::string_view name_en;

  std::string_view name(Lang lang) const {
    return lang == Lang::kTh ? name_th : name_en;
  }
};
struct NamedList {
  const Named* items;
  size_t size;
  const Named* begin() const { return items; }
  const Named* end() const { return items + size; }
  // nullptr if `value` is not one of them.
  const Named* Find(std::string_view value) const;
};
NamedList Categories();    // producer.category, product.category
NamedList Stages();        // product.stage, progress.stage (in order)
NamedList Statuses();      // attendance.status
NamedList Kinds();         // producer.kind
NamedList Criteria();      // the five contest criteria, 20 points each
NamedList PhraoTambon();   // Phrao's 11 tambon, in geocode order (no codes)

// The names of an enumeration column's values (category, stage, status,
// kind), if it has them.
struct Column;
std::optional<NamedList> EnumNames(const Column& column);
// A value of such an enumeration by its code, its Thai or its English name,
// compared loosely (ASCII case, spaces and commas ignored: "ผ้า,
// เครื่องแต่งกาย", "ผ้าเครื่องแต่งกาย" and "Textile, clothing" all give
// textile): its code, or `text` as it is if it names none (the column's
// own check judges it).
std::string EnumCodeOfName(const Column& column, std::string_view text);

// A cell as a person reads it: enumerations by their names (ขาด, not
// absent), districts by name, dates and times in Bangkok time with the
// Buddhist Era in Thai; other values as their display text; null as "".
std::string ValueLabel(Lang lang, std::string_view entity,
                       std::string_view column, const Value& value);
// The other way, for a file people exported and bring back (kbo import):
// the text of a date ValueLabel wrote ("4 มี.ค. 2567", "4 Mar 2024") as
// "2024-03-04", of a Bangkok time ("4 มี.ค. 2567 10:00") as
// "2024-03-04T03:00:00Z", of a visit's purpose or a photo's subject type
// by its Thai or English name as its code. Any other text, or a text that
// is no such label, comes back as it is (the column's own check judges it).
// The named enumerations (category, stage, status, kind) by their Thai or
// English name too. Districts are read by name where their values are
// parsed.
std::string ValueFromLabel(std::string_view entity, std::string_view column,
                           std::string_view text);
// The visit purposes (codes: "follow_up", ...) whose Thai or English name
// contains `part` (ASCII case ignored): a search for "ติดตาม" finds the
// visits stored as follow_up, which is what the screens show them as.
std::vector<std::string> PurposeCodesNamed(std::string_view part);

// A device role (field_officer, trainer, central_office) or web user role
// (admin, office, viewer) by name; the code itself if unknown.
std::string RoleLabel(Lang lang, std::string_view role);

// The district's name ("พร้าว" / "Phrao"); the code itself if unknown.
std::string DistrictLabel(Lang lang, std::string_view code);
// Several districts' names, ", " between ("พร้าว, ฝาง"); "" for none.
std::string DistrictLabels(Lang lang, const std::vector<std::string>& codes);

// ---- Time, as people in Chiang Mai read it ---------------------------------
// Bangkok is UTC+7 all year (no daylight saving).
inline constexpr int64_t kBangkokOffsetSeconds = 7 * 3600;

// "2 ธ.ค. 2569 14:05" (Thai, Buddhist Era) or "2 Dec 2026 14:05" (English),
// Bangkok time, for a Unix time in milliseconds.
std::string FormatBangkokTime(Lang lang, int64_t unix_ms);
// As above for an ISO 8601 UTC text ("2026-12-02T07:05:00Z", milliseconds
// allowed); the text unchanged if it does not parse.
std::string FormatIsoBangkok(Lang lang, std::string_view iso_utc);
// A recorded time as a value ("2 ธ.ค. 2569 14:05", and "14:05:09" when its
// seconds are not zero): what ValueLabel shows and exports write, so that
// ValueFromLabel reads back the very value (an office's export imported
// again changes nothing).
std::string FormatIsoBangkokValue(Lang lang, std::string_view iso_utc);
// The same for a Unix time in milliseconds (a change's or conflict's time in
// a row's history: which of a trainer's taps came last).
std::string FormatBangkokTimeValue(Lang lang, int64_t unix_ms);
// "2 ธ.ค. 2569" or "2 Dec 2026" for "2026-12-02"; unchanged if it does not
// parse.
std::string FormatDateLabel(Lang lang, std::string_view yyyy_mm_dd);
// Milliseconds since the epoch of an ISO 8601 UTC text
// ("YYYY-MM-DDTHH:MM:SS[.fff]Z"); nullopt if it does not parse.
std::optional<int64_t> ParseIsoUtcMillis(std::string_view iso_utc);

// The Thai fiscal year (Buddhist Era) a date falls in: fiscal years start on
// 1 October, so 2025-10-01 is in 2569 and 2025-09-30 in 2568.
int64_t FiscalYearOf(int64_t year_ce, int month);
// The same for "YYYY-MM-DD"; nullopt if it does not parse.
std::optional<int64_t> FiscalYearOfDate(std::string_view yyyy_mm_dd);

}  // namespace kbo

#endif  // KBO_SHARED_LABELS_H_
