#ifndef KBO_SERVER_ROW_NAMES_H_
#define KBO_SERVER_ROW_NAMES_H_

// Rows looked up in batches, for pages and commands that name many rows
// (the conflict inbox, a row's history): ask for every id first, then load
// each entity's in one query per 500 ids, instead of one query per row.
// Internal to server/.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "shared/entities.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

class RowNames {
 public:
  explicit RowNames(Db& db) : db_(db) {}
  RowNames(const RowNames&) = delete;
  RowNames& operator=(const RowNames&) = delete;

  // Queues a row to load (an unknown entity or empty id is ignored).
  void Want(std::string_view entity, std::string_view id);
  // Loads every queued row not yet loaded, then (`depth` - 1 more times)
  // the rows their references name (catalogue kRef columns), so
  // attendance -> enrolment -> producer takes depth 3. A row not held is
  // simply absent.
  Status Load(int depth = 3);
  // The row's values (catalogue columns and "deleted"); nullptr if not
  // held or never asked for.
  const RowValues* Find(std::string_view entity, std::string_view id) const;
  // A text column of a row, "" if absent or not text.
  std::string Text(std::string_view entity, std::string_view id,
                   std::string_view column) const;

  // The context that names `entity` row `id` for a person, following
  // references: its producer's name, workshop's title, participant,
  // product's name, and an attendance's day.
  struct Context {
    std::string producer_name;
    std::string workshop_title;
    std::string participant_name;
    std::string product_name;
    int64_t day = 0;
  };
  Context ContextOf(std::string_view entity, std::string_view id) const;

 private:
  Status LoadEntity(const Entity& entity, const std::set<std::string>& ids);

  Db& db_;
  std::map<std::string, std::set<std::string>, std::less<>> wanted_;
  std::map<std::string, std::map<std::string, RowValues, std::less<>>,
           std::less<>>
      rows_;
  std::set<std::string, std::less<>> loaded_keys_;  // "entity/id" asked for
};

}  // namespace kbo::server

#endif  // KBO_SERVER_ROW_NAMES_H_
