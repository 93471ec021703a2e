#ifndef KBO_SERVER_CSV_EXPORT_H_
#define KBO_SERVER_CSV_EXPORT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/export_tables.h"
#include "shared/csv.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

// Text cells go through GuardFormula, and a people's phone numbers through
// PhoneForSpreadsheet (shared/csv.h, beside their inverses, which `kbo
// import` applies).

struct CsvExportOptions {
  // Which rows, and the language of a people's export.
  ExportFilter filter;
  // For machines: catalogue column names, codes, ids, ISO 8601 UTC, every
  // row with its deleted column, phone numbers exactly as recorded, one
  // file per entity. Otherwise the people's export (export_tables.h):
  // headers in filter.lang, labels, names, Buddhist Era dates, deleted rows
  // left out, phone numbers through PhoneForSpreadsheet, and the attendance
  // grid and contest ranking as files of their own.
  bool raw = false;
};

// The people's sheets (entities, then the report sheets) or, with `raw`,
// the machine's; the same sheets ExportCsv writes.
Result<std::vector<ExportSheet>> BuildCsvSheets(
    Db& db, const CsvExportOptions& options);

// One sheet as a CSV file: UTF-8 with a byte order mark (Excel then shows
// Thai correctly), RFC 4180, CRLF, the header row first; text through
// GuardFormula, numbers as written.
std::string SheetCsv(const ExportSheet& sheet, bool raw);

// What ExportCsv did: (file path, row count) for each file written, and
// the files of an earlier export it removed.
struct CsvExportSummary {
  std::vector<std::pair<std::string, size_t>> written;
  std::vector<std::string> removed;
  // Earlier files it could not remove, each as the system said why.
  std::vector<std::string> not_removed;
};

// Writes DIR/<sheet key>.csv for every sheet of BuildCsvSheets, each file
// written atomically (mode 0600: the rows hold names and phone numbers).
// Creates DIR if needed. Then the folder holds this export and nothing of
// an earlier one: a sheet file the other kind of export writes (a people's
// attendance_grid.csv after a --raw export into the same folder) is
// removed, so no stale sheet is read as part of this one; files of any
// other name are left alone.
// kIOError if a file cannot be written (files written before it stay).
Result<CsvExportSummary> ExportCsv(Db& db, const std::string& dir,
                                   const CsvExportOptions& options = {});

}  // namespace kbo::server

#endif  // KBO_SERVER_CSV_EXPORT_H_
