#ifndef KBO_SHARED_ROWS_UNDER_H_
#define KBO_SHARED_ROWS_UNDER_H_

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/entities.h"
#include "shared/status.h"

namespace kbo {

// The rows recorded under a row, as a delete sees them: `kbo delete`
// (client/store.cc) and the office's delete (server/office_delete.cc) walk
// them, count them and refuse with them the same way, each over its own
// storage.

// Where the rows under a row of `parent` are found: every column of a child
// entity that names it by a required reference (RecordsUnder), and photos,
// whose subject_id names a row of the entity in subject_type. In catalogue
// order of the child.
struct ChildLink {
  const Entity* child;
  std::string_view column;  // holds the parent's id
  bool by_subject;          // photo: also subject_type = parent's entity
};
std::vector<ChildLink> LinksUnder(const Entity& parent);

// Rows counted by entity, in catalogue order, for CountedRows and the
// has_children refusal: entity name -> count.
using EntityCounts = std::vector<std::pair<std::string, int64_t>>;

// Grows `rows` (its first row the root; a Row has `const Entity* entity` and
// an `id`) by every live row under them, breadth first, each once (a mark
// is under both its workshop and its enrolment). `live_children(row,
// &found)` appends the live rows directly under one row; its error stops
// the walk.
template <typename Row, typename LiveChildren>
Status WalkRowsUnder(std::vector<Row>* rows, LiveChildren live_children) {
  std::set<std::pair<const Entity*, decltype(Row::id)>> seen;
  for (const Row& r : *rows) seen.insert({r.entity, r.id});
  for (size_t i = 0; i < rows->size(); ++i) {
    std::vector<Row> found;
    const Row parent = (*rows)[i];  // a copy: `rows` grows below
    if (Status s = live_children(parent, &found); !s.ok()) return s;
    for (Row& r : found) {
      if (seen.insert({r.entity, r.id}).second) rows->push_back(std::move(r));
    }
  }
  return Status();
}

// rows[1..] (the rows under the root) counted by entity.
template <typename Row>
EntityCounts CountRowsUnder(const std::vector<Row>& rows) {
  EntityCounts out;
  for (const Entity& e : Catalogue()) {
    int64_t n = 0;
    for (size_t i = 1; i < rows.size(); ++i) n += rows[i].entity == &e ? 1 : 0;
    if (n > 0) out.emplace_back(std::string(e.name), n);
  }
  return out;
}

// The refusal of a delete while live rows are recorded under the row:
// kInvalidArgument, reason kHasChildrenReason, fields kChildrenField (entity
// -> count, as texts) and field::kRow. `label` is what a person calls the
// row ("producer 'กลุ่มทอผ้า'").
Status HasChildrenStatus(std::string_view label, const EntityCounts& under,
                         std::string_view row_id);

// The counts a has_children refusal carries; empty for any other status.
EntityCounts ChildrenOf(const Status& s);

// A has_children refusal with the way out added in the caller's words
// ("kbo delete producer ID --cascade"); any other status as it is.
Status WithCascadeHint(const Status& s, std::string_view cascade_command);

}  // namespace kbo

#endif  // KBO_SHARED_ROWS_UNDER_H_
