#ifndef KBO_SHARED_CSV_H_
#define KBO_SHARED_CSV_H_

#include <string>
#include <string_view>
#include <vector>

#include "shared/encoding.h"  // IsValidUtf8, for the callers of ParseCsv
#include "shared/result.h"

namespace kbo {

// RFC 4180 CSV, UTF-8. A leading byte order mark is skipped on read.
using CsvRow = std::vector<std::string>;

struct CsvRecord {
  size_t line = 0;  // 1-based line where the record starts
  CsvRow fields;
};

// Parses a whole document. kInvalidArgument naming the line for an
// unterminated quote, a stray quote, or invalid UTF-8. Blank lines are
// skipped.
Result<std::vector<CsvRecord>> ParseCsv(std::string_view text);

// One record, quoted where needed, ending in "\r\n".
std::string FormatCsvRow(const CsvRow& row);

// The UTF-8 byte order mark Excel needs to open Thai text correctly.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// ---- Cells as a spreadsheet needs them, and back --------------------------
// kbo-server's exports write these (server/csv_export.h); `kbo import`
// undoes them, so that an exported file imports as it was exported.

// A text cell made safe for a spreadsheet: text starting with = + - @ (or a
// tab or carriage return) is a formula to Excel and LibreOffice, so it gets
// a leading apostrophe (OWASP "CSV injection"). Numbers are never changed:
// a negative longitude stays a number.
std::string GuardFormula(std::string_view text);
// A text whose own apostrophes come before such a sign ("'-ลาย") gets one
// more, so that it comes back as it was.
// The inverse: one leading apostrophe before = + - @, a tab or a carriage
// return (after any further apostrophes) is dropped ("'=1+1" -> "=1+1",
// "''-ลาย" -> "'-ลาย"); anything else is returned as it is.
std::string UnguardFormula(std::string_view text);

// A phone number as a spreadsheet keeps it text: a Thai number written as
// digits alone (0 and 8 or 9 more) gets the Thai grouping with hyphens
// ("0812345678" → "081-234-5678", "021234567" → "02-123-4567",
// "053123456" → "053-123-456"), which Excel, LibreOffice and Google Sheets
// all read as text, leading 0 kept. Anything else is returned unchanged
// (docs/decisions.md, "Exports").
std::string PhoneForSpreadsheet(std::string_view phone);
// The inverse: text in exactly that grouping gets its digits back
// ("081-234-5678" -> "0812345678"); anything else ("081 234 5678",
// "0812345678 ext 2") is returned as it is.
std::string PhoneFromSpreadsheet(std::string_view text);


}  // namespace kbo

#endif  // KBO_SHARED_CSV_H_
