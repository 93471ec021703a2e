#ifndef KBO_SERVER_STORAGE_HISTORY_H_
#define KBO_SERVER_STORAGE_HISTORY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server::storage {

// One office edit as the audit log keeps it (action 'edit').
struct OfficeEdit {
  std::string at;
  std::string actor;
  std::string detail;
};

// What a row's history reads besides the change-set log and conflicts
// (server/row_history.cc).
class History {
 public:
  explicit History(Db& db) : db_(db) {}

  // The office edits (console/data.cc) of `subject` ("ENTITY:ID"), oldest
  // first.
  Result<std::vector<OfficeEdit>> OfficeEdits(std::string_view subject);

  // The office edits whose detail starts with `detail_prefix` (taken
  // literally, not as a pattern), of `subject` when it is not empty, oldest
  // first: (audit id, subject, detail).
  struct Marked {
    int64_t id = 0;
    std::string subject, detail;
  };
  Result<std::vector<Marked>> EditsStartingWith(std::string_view subject,
                                                std::string_view detail_prefix);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_HISTORY_H_
