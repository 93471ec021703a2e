// libFuzzer target: the CSV reader (shared/csv.h), which `kbo import` runs
// on spreadsheets from anywhere.
// Properties: every field of a parsed document is valid UTF-8 (ParseCsv
// refuses invalid UTF-8); FormatCsvRow round-trips: formatting the records
// (after a byte order mark, as the export does) and parsing the text again
// gives the same fields.

#include <cstddef>
#include <cstdint>
#include <string>

#include "shared/csv.h"
#include "tools/fuzzers/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kbo;
  const std::string_view text = fuzz::Bytes(data, size);
  (void)IsValidUtf8(text);
  Result<std::vector<CsvRecord>> records = ParseCsv(text);
  if (!records.ok()) return 0;
  // As the CSV export writes it: a byte order mark first (else a first
  // field that itself starts with one would lose it to the reader).
  std::string again(kUtf8Bom);
  std::vector<CsvRow> kept;
  for (const CsvRecord& r : *records) {
    FUZZ_CHECK(r.line >= 1);
    for (const std::string& f : r.fields) FUZZ_CHECK(IsValidUtf8(f));
    kept.push_back(r.fields);
    again += FormatCsvRow(r.fields);
  }
  Result<std::vector<CsvRecord>> reparsed = ParseCsv(again);
  FUZZ_CHECK(reparsed.ok());
  FUZZ_CHECK(reparsed->size() == kept.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    FUZZ_CHECK((*reparsed)[i].fields == kept[i]);
  }
  return 0;
}
