#ifndef KBO_SERVER_STORAGE_ENTITY_READS_H_
#define KBO_SERVER_STORAGE_ENTITY_READS_H_

// Reads of the entity tables for people: the console's data pages
// (server/console/data.cc: an entity's rows a page at a time with its
// filters, one row, a row's photos, a photo's type; console/conflicts.cc: a
// row's district) and the exports (server/export_tables.cc: every row).
// Entity and column names come from the catalogue (shared/entities.h),
// never from a request; every value is bound.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/enrolment.h"
#include "shared/entities.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"
#include "shared/value.h"

namespace kbo::server::storage {

// Which rows of an entity a data page shows. Empty strings: not filtered.
// A filter on a column the entity lacks is ignored.
struct RowPageQuery {
  Scope scope;            // the user's districts (district_code)
  bool deleted = false;   // include deleted rows
  std::string district;   // district_code =
  std::string category;   // category =
  std::string stage;      // stage =
  std::string workshop;   // workshop_id =
  // fiscal_year = (a workshop's own; a workshop's children through it)
  std::string fiscal_year;
  // Rows whose `name_column` contains `name_contains`, ignoring ASCII case
  // (LIKE's wildcards in it match themselves).
  std::string name_column;
  std::string name_contains;
  // ... or whose `name_column` is one of these (a visit's purpose stored as
  // its code, searched for by its name: PurposeCodesNamed).
  std::vector<std::string> name_codes;
  int64_t limit = 100;
  int64_t offset = 0;
};

// A photo of a row.
struct RowPhoto {
  std::string id;
  std::string sha256;
  std::string caption;   // "" if none
  std::string taken_at;  // "" if none
  bool complete = false;  // the server holds its bytes whole
};

class EntityReads {
 public:
  explicit EntityReads(Db& db) : db_(db) {}

  // Every row of the entity (deleted ones too) as [id, columns..., deleted],
  // by id.
  Result<std::vector<std::vector<Value>>> AllRows(const Entity& e);
  // Live rows of the entity in scope.
  Result<int64_t> CountLive(const Entity& e, const Scope& scope);
  // Rows of the page, each [id, the columns in catalogue order, deleted].
  // Ordered by the name column (attendance: workshop and day), ties in
  // arrival order (SqlFlavor::ArrivalOrder); newest first without one.
  Result<std::vector<std::vector<Value>>> RowPage(const Entity& e,
                                                  const RowPageQuery& q);
  // One row by id as [id, columns..., deleted], whatever its district;
  // nullopt if not held.
  Result<std::optional<std::vector<Value>>> FindRow(const Entity& e,
                                                    const std::string& id);
  // The district_code of a row ("" for NULL), whatever its district;
  // nullopt if not held.
  Result<std::optional<std::string>> RowDistrict(const Entity& e,
                                                 const std::string& id);
  // The live photos of a row, by taken_at.
  Result<std::vector<RowPhoto>> PhotosOf(const std::string& subject_type,
                                         const std::string& subject_id);
  // The mime type ("application/octet-stream" if unset) of a live photo
  // in scope with these bytes; nullopt if none.
  Result<std::optional<std::string>> PhotoMime(const std::string& sha256,
                                               const Scope& scope);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_ENTITY_READS_H_
