#include "server/csv_export.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <set>

#include "shared/csv.h"
#include "shared/entities.h"
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

Result<CsvExportSummary> ExportCsv(Db& db, const std::string& out_dir,
                                   const CsvExportOptions& options) {
  // "exports/" names its files exports/producer.csv, not exports//producer.csv.
  std::string dir = out_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
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
  CsvExportSummary summary;
  std::set<std::string, std::less<>> keys;
  for (const ExportSheet& sheet : *sheets) {
    const std::string path = dir + "/" + sheet.key + ".csv";
    if (Status s =
            WriteFileAtomically(path, SheetCsv(sheet, options.raw), 0600);
        !s.ok()) {
      return s;
    }
    keys.insert(sheet.key);
    summary.written.emplace_back(path, sheet.rows.size());
  }
  // Every sheet either kind of export writes: what this one did not write
  // is an earlier export's.
  std::vector<std::string_view> every;
  for (const Entity& e : Catalogue()) every.push_back(e.name);
  every.push_back(kAttendanceGridSheet);
  every.push_back(kContestRankingSheet);
  for (std::string_view key : every) {
    if (keys.count(key) != 0) continue;
    const std::string path = dir + "/" + std::string(key) + ".csv";
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    // Not removed (a folder it may not write in): said, not a failed
    // export; this export's files are all written.
    if (::unlink(path.c_str()) != 0) {
      summary.not_removed.push_back(Errno("remove an earlier export's file", path, errno).message());
      continue;
    }
    summary.removed.push_back(path);
  }
  return summary;
}

}  // namespace kbo::server
