#include "server/csv_export.h"

#include "shared/csv.h"
#include "shared/fs.h"

namespace kbo::server {

Result<std::vector<ExportSheet>> BuildCsvSheets(
    Db& db, const CsvExportOptions& options) {
  if (options.raw) return BuildRawEntitySheets(db, options.filter);
  return BuildPeopleSheets(db, options.filter);
}

std::string SheetCsv(const ExportSheet& sheet, bool raw) {
  std::string out(kUtf8Bom);
  out += FormatCsvRow(sheet.header);
  CsvRow fields;
  for (const std::vector<ExportCell>& row : sheet.rows) {
    fields.clear();
    for (const ExportCell& cell : row) {
      switch (cell.kind) {
        case ExportCell::Kind::kEmpty:
          fields.emplace_back();
          break;
        case ExportCell::Kind::kNumber:
        case ExportCell::Kind::kPercent:  // "80%": every spreadsheet reads it
          fields.push_back(cell.text);
          break;
        case ExportCell::Kind::kPhone:
          fields.push_back(
              GuardFormula(raw ? cell.text : PhoneForSpreadsheet(cell.text)));
          break;
        case ExportCell::Kind::kText:
          fields.push_back(GuardFormula(cell.text));
          break;
      }
    }
    out += FormatCsvRow(fields);
  }
  return out;
}

Result<std::vector<std::pair<std::string, size_t>>> ExportCsv(
    Db& db, const std::string& dir, const CsvExportOptions& options) {
  Result<std::vector<ExportSheet>> sheets = BuildCsvSheets(db, options);
  if (!sheets.ok()) return sheets.status();
  if (Status s = EnsureDir(dir); !s.ok()) return s;
  // Every path first: a device or folder in place of one file refuses the
  // export before any file is replaced.
  for (const ExportSheet& sheet : *sheets) {
    if (Status s = EnsureReplaceableFile(dir + "/" + sheet.key + ".csv"); !s.ok()) {
      return s;
    }
  }
  std::vector<std::pair<std::string, size_t>> written;
  for (const ExportSheet& sheet : *sheets) {
    const std::string path = dir + "/" + sheet.key + ".csv";
    if (Status s =
            WriteFileAtomically(path, SheetCsv(sheet, options.raw), 0600);
        !s.ok()) {
      return s;
    }
    written.emplace_back(path, sheet.rows.size());
  }
  return written;
}

}  // namespace kbo::server
