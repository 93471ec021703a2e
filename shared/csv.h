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


}  // namespace kbo

#endif  // KBO_SHARED_CSV_H_
