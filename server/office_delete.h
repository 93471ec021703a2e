#ifndef KBO_SERVER_OFFICE_DELETE_H_
#define KBO_SERVER_OFFICE_DELETE_H_

// The office deletes a row (docs/decisions.md, "Deleting a row with rows
// under it"): the console's row page, POST /api/data/ENTITY/ID/delete and
// `kbo-server delete` call this. It is `kbo delete` done by the office: the
// same refusal while rows are recorded under the row, the same cascade on
// request, tombstones that keep every value, written as signed changes of
// the server's own identity that devices in scope pull, each audited.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/enrolment.h"
#include "server/server_store.h"
#include "shared/result.h"

namespace kbo::server {

struct OfficeDeleted {
  // `name`: its name, title or participant's name; "" for a row without
  // one (a mark, a visit).
  std::string entity, id, name, district_code;
  // The rows deleted under it, by entity in catalogue order (empty unless
  // cascaded).
  std::vector<std::pair<std::string, int64_t>> under;
  int64_t total() const;  // the row and those under it
};

enum class RowsUnder : uint8_t {
  kRefuse,   // refuse while live rows are recorded under the row
  kCascade,  // delete them with it
};

// Deletes live row `entity` `id`: deleted=1 written with WriteAsServer for
// every live row under it (with kCascade: rows naming it by a required
// reference, the photos of it, and theirs in turn) and then for the row
// itself, so a pull never sees a row outlive the row it is under. Each
// write is audited as an "edit" by `actor` from `address` ("deleted: '0' ->
// '1' (deleted by the office); reason: R", or "(under ENTITY:ID, deleted
// with it)"). Call inside a Transaction; after the commit call
// store.NoteCommittedSequences(). Nothing is written on an error:
//   kInvalidArgument: an unknown entity, an id that is not a uuid, an
//     empty reason, a row already deleted (reason "already_deleted"); or
//     (reason kHasChildrenReason, fields "children": entity -> count and
//     "row") live rows are recorded under it and `rows_under` is kRefuse;
//   kNotFound: the row is not held, or is outside `scope`;
//   kPermissionDenied (reason "rows_out_of_scope"): a row under it is
//     outside `scope` (a row without a district of its own is in its
//     parent's); checked first, so no count of another district's rows is
//     told.
// Undoes the office's latest delete of `row` (deleted, in scope, found by
// FindOfficeRow): deleted=0 written with WriteAsServer for the row and then
// for every row that delete took with it that is still deleted, parents
// before the rows under them, each audited as an "edit" ("deleted: '1' ->
// '0' (office delete undone); reason: R"). Returns how many rows under it
// were restored. Call inside a Transaction. Nothing is written on an
// error:
//   kInvalidArgument (reason "not_deleted_by_office"): the row's last office
//     edit is not a delete by the office (a device deleted it, or the
//     delete was undone already);
//   kPermissionDenied (reason "rows_out_of_scope"): a row it took with it
//     is outside `scope`.
struct OfficeRow;
Result<int64_t> UndoOfficeDelete(ServerStore& store, const Scope& scope,
                                 const OfficeRow& row, std::string_view reason,
                                 std::string_view actor,
                                 std::string_view address);

Result<OfficeDeleted> DeleteAsOffice(ServerStore& store, const Scope& scope,
                                     std::string_view entity,
                                     std::string_view id,
                                     std::string_view reason,
                                     RowsUnder rows_under,
                                     std::string_view actor,
                                     std::string_view address);

// The live rows recorded directly under a row (naming it by a required
// reference, or photos of it), by entity in catalogue order; empty when
// none. One COUNT per reference column, whatever the size of the tree (the
// row page asks on every view); DeleteAsOffice walks the whole tree.
Result<std::vector<std::pair<std::string, int64_t>>> LiveRowsUnder(
    ServerStore& store, std::string_view entity, std::string_view id);

}  // namespace kbo::server

#endif  // KBO_SERVER_OFFICE_DELETE_H_
