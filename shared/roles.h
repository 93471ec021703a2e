#ifndef KBO_SHARED_ROLES_H_
#define KBO_SHARED_ROLES_H_

#include <string_view>

namespace kbo {

// Who may write what (DESIGN §6, docs/roles.md). One table, enforced on both
// sides: the client refuses a write its device's role may not make before
// anything is recorded (exit 2), and the server refuses such a row in a
// pushed change set (reason "role") without blocking the rest of the set.
//
//   field_officer  producers, products, visits, photos, progress
//   trainer        the field officer's, and workshops, enrolments,
//                  attendance, contest scores
//   central_office everything
//
// An unknown role may write nothing.

enum class RowAction {
  kCreate,  // the row is new to the replica
  kEdit,    // it exists and the write is not a tombstone
  kDelete,  // the write sets deleted = 1
};

// "create", "edit", "delete".
std::string_view RowActionName(RowAction action);

// True iff `role` may make `action` on a row of `entity`.
bool RoleMayWrite(std::string_view role, std::string_view entity,
                  RowAction action);

// The roles there are, in the order of the table above.
inline constexpr std::string_view kRoles[] = {"field_officer", "trainer",
                                              "central_office"};

// The reference column naming the parent whose district a row belongs to
// (a product to its producer, a mark to its workshop, a photo to its
// subject): a new row inherits that district, and a row's district must be
// its parent's. Empty for producers and workshops, which have no parent.
std::string_view DistrictParentColumn(std::string_view entity);

}  // namespace kbo

#endif  // KBO_SHARED_ROLES_H_
