#ifndef KBO_SERVER_XLSX_EXPORT_H_
#define KBO_SERVER_XLSX_EXPORT_H_

// The office's Excel workbook (`kbo-server export xlsx`, the console's
// /exports/xlsx): one sheet per entity, then the attendance grid and the
// contest ranking (export_tables.h says what each holds and which rows).
// Written with libxlsxwriter, an implementation detail of the .cc.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "server/export_tables.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

// (sheet title, data rows) of each sheet written, in order.
using XlsxSummary = std::vector<std::pair<std::string, size_t>>;

// Lays `sheets` out as a workbook at `path` (written in place: callers
// that need atomicity use the functions below). Per sheet: a bold header
// row, frozen, with an autofilter; column widths from the text; numbers as
// numbers, rates as percentages, every other cell (phone numbers and ids
// included) as a string cell, never a number or a formula. A sheet title
// is made valid for Excel (31 characters, no []:*?/\, unique).
// kIOError with libxlsxwriter's reason if the file cannot be written;
// kResourceExhausted for a sheet over Excel's 1,048,575 data rows.
Status WriteXlsx(const std::vector<ExportSheet>& sheets,
                 const std::string& path, Lang lang);

// Builds the people's sheets (BuildPeopleSheets) and writes them to `path`
// atomically: a temporary file beside it (mode 0600: names and phone
// numbers), fsynced, renamed over `path`. kInvalidArgument if `path` is
// empty, a folder, or does not end in .xlsx; kNotFound if its folder does
// not exist; kIOError otherwise. On failure `path` is unchanged and no
// temporary file is left.
Result<XlsxSummary> ExportXlsx(Db& db, const std::string& path,
                               const ExportFilter& filter);

// The same workbook as bytes (for a download), through a temporary file
// under $TMPDIR (removed before returning).
Result<std::string> XlsxBytes(Db& db, const ExportFilter& filter);

}  // namespace kbo::server

#endif  // KBO_SERVER_XLSX_EXPORT_H_
