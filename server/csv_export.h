#ifndef KBO_SERVER_CSV_EXPORT_H_
#define KBO_SERVER_CSV_EXPORT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/entities.h"
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

// A text cell made safe for a spreadsheet: text starting with = + - @ (or a
// tab or carriage return) is a formula to Excel and LibreOffice, so it gets
// a leading apostrophe (OWASP "CSV injection"). Numbers are never changed:
// a negative longitude stays a number.
std::string GuardFormula(std::string_view text);

// Writes DIR/<entity>.csv for every entity of the catalogue: UTF-8 with a
// byte order mark (Excel then shows Thai correctly), RFC 4180, CRLF, header
// row first, each file written atomically (mode 0600: the rows hold names
// and phone numbers). Creates DIR if needed. Returns (file path, row count)
// for each file. kIOError if a file cannot be written.
Result<std::vector<std::pair<std::string, size_t>>> ExportCsv(
    Db& db, const std::string& dir);

}  // namespace kbo::server

#endif  // KBO_SERVER_CSV_EXPORT_H_
