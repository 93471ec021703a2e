#ifndef KBO_SERVER_EXPORT_TABLES_H_
#define KBO_SERVER_EXPORT_TABLES_H_

// What the office's exports hold (docs/cli.md, "Exports"): the rows of
// every entity chosen by fiscal year, district and the viewer's scope, as a
// person reads them (labels, names joined in, Buddhist Era dates in Bangkok
// time) or as a machine does (codes, ids, ISO 8601 UTC). The CSV and XLSX
// writers (csv_export.h, xlsx_export.h) only lay these sheets out.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/enrolment.h"
#include "shared/entities.h"
#include "shared/labels.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"
#include "shared/value.h"

namespace kbo::server {

// The merged state of one entity as the server holds it: every row (deleted
// ones too, with deleted = 1), by id.
struct EntityTable {
  const Entity* entity = nullptr;
  std::vector<std::string> header;       // id, catalogue columns, deleted
  std::vector<std::vector<Value>> rows;  // in header order
};
// kInvalidArgument for an unknown entity (the message lists the known ones).
Result<EntityTable> ReadEntityTable(Db& db, std::string_view entity);

// Which rows an export holds. Rules (the same for every format):
//   - a row is in the export only if its district_code is in `scope` and,
//     when `district` is set, equals it (producers and products are chosen
//     by district alone: they are the register, not a year's work);
//   - with `fiscal_year`: a workshop when its fiscal_year column equals it;
//     enrolments and attendance follow their workshop, progress entries
//     with a workshop too (without one they follow their product); a visit
//     when its visited_at falls in that fiscal year in Bangkok time
//     (1 October to 30 September); contest scores follow their product;
//     a photo follows the row it shows;
//   - a row whose workshop, enrolment or photo subject is left out is left
//     out too (a subject the server does not hold does not count);
//   - people's exports leave deleted rows out (and so the rows that follow
//     a deleted workshop or enrolment); machine exports (raw) keep them,
//     with their deleted column.
struct ExportFilter {
  // Buddhist Era, e.g. 2567; none: every year.
  std::optional<int64_t> fiscal_year;
  // A district code, e.g. "5011"; empty: every district in `scope`.
  std::string district;
  // The districts the viewer may see (a console user's); all by default.
  Scope scope = Scope{true, {}};
  // Headers, labels and dates in this language.
  Lang lang = Lang::kTh;
};

// Checks the filter as typed by a person: `fiscal_year` 2500 to 2700 (the
// Buddhist Era: 2024 is refused with a hint), a known district code. Returns
// the filter; kInvalidArgument naming the bad value otherwise. Empty text
// means "not set".
Result<ExportFilter> ParseExportFilter(std::string_view fiscal_year,
                                       std::string_view district,
                                       std::string_view lang);

// One cell of a sheet.
struct ExportCell {
  enum class Kind {
    kEmpty,
    kText,     // shown as text
    kNumber,   // a number (`number`); `text` is its display form
    kPhone,    // text of digits that must stay text (a phone number)
    kPercent,  // a fraction (`number`, 0.8) shown as a percentage ("80%")
  };
  Kind kind = Kind::kEmpty;
  std::string text;
  double number = 0;

  static ExportCell Empty() { return {}; }
  static ExportCell Text(std::string text) {
    return {Kind::kText, std::move(text), 0};
  }
  static ExportCell Number(double number, std::string text) {
    return {Kind::kNumber, std::move(text), number};
  }
  static ExportCell Phone(std::string text) {
    return {Kind::kPhone, std::move(text), 0};
  }
  static ExportCell Percent(double fraction, std::string text) {
    return {Kind::kPercent, std::move(text), fraction};
  }
};

// One table: a sheet of the XLSX, a file of the CSV export.
struct ExportSheet {
  // File name stem and stable key: the entity's name ("producer"), or
  // "attendance_grid", "contest_ranking".
  std::string key;
  // The sheet's name as people read it ("ผู้ผลิต"), at most 31 characters.
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<ExportCell>> rows;  // each as wide as `header`
};

// One sheet per entity of the catalogue, in catalogue order, for people:
// headers in filter.lang, enumerations and districts by their names, dates
// and times in Bangkok time (Buddhist Era in Thai), references replaced by
// the referenced row's name (a producer's or product's name, a workshop's
// title, a participant's name), the row's own id as the last column;
// numbers as numbers, phone numbers as kPhone; deleted rows left out.
// Errors: the database's.
Result<std::vector<ExportSheet>> BuildEntitySheets(Db& db,
                                                   const ExportFilter& filter);

// The same rows for machines: catalogue column names, codes, ids, ISO 8601
// UTC, with deleted rows and the deleted column (filter.lang is ignored).
Result<std::vector<ExportSheet>> BuildRawEntitySheets(
    Db& db, const ExportFilter& filter);

// The ids of the live workshops BuildEntitySheets would list, in its order
// (for the attendance grid sheet).
Result<std::vector<std::string>> ExportedWorkshopIds(
    Db& db, const ExportFilter& filter);

// The report sheets' keys (and CSV file stems).
inline constexpr std::string_view kAttendanceGridSheet = "attendance_grid";
inline constexpr std::string_view kContestRankingSheet = "contest_ranking";

// The report sheets (export_reports.cc), from server/report_queries.h so the
// figures are the reports' own: "attendance_grid" (every exported
// workshop's participants × days, statuses as labels, days attended, and a
// row of daily attendance rates per workshop) and "contest_ranking" (every
// contest in scope, ranked). Errors: the database's.
Result<std::vector<ExportSheet>> BuildReportSheets(Db& db,
                                                   const ExportFilter& filter);

// BuildEntitySheets, then BuildReportSheets: what a person's export holds.
Result<std::vector<ExportSheet>> BuildPeopleSheets(Db& db,
                                                   const ExportFilter& filter);

// Display width of `text` in a monospace sense: one per character, none for
// Thai marks written above or below a consonant. For column widths.
size_t DisplayWidth(std::string_view text);

}  // namespace kbo::server

#endif  // KBO_SERVER_EXPORT_TABLES_H_
