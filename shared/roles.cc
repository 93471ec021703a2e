#include "shared/roles.h"

namespace kbo {
namespace {

// One row per entity: may create / edit / delete, for each role. The same
// for all three actions today; kept apart so the office can tighten one
// (say, deleting producers) without a change anywhere else.
struct Permission {
  std::string_view entity;
  bool field_officer;
  bool trainer;
  bool central_office;
};

constexpr Permission kTable[] = {
    {"producer", true, true, true},      {"product", true, true, true},
    {"visit", true, true, true},         {"photo", true, true, true},
    {"progress", true, true, true},      {"workshop", false, true, true},
    {"enrolment", false, true, true},    {"attendance", false, true, true},
    {"contest_score", false, true, true},
};

}  // namespace

std::string_view RowActionName(RowAction action) {
  switch (action) {
    case RowAction::kCreate:
      return "create";
    case RowAction::kEdit:
      return "edit";
    case RowAction::kDelete:
      return "delete";
  }
  return "write";
}

bool RoleMayWrite(std::string_view role, std::string_view entity,
                  RowAction /*action*/) {
  for (const Permission& p : kTable) {
    if (p.entity != entity) continue;
    if (role == "field_officer") return p.field_officer;
    if (role == "trainer") return p.trainer;
    if (role == "central_office") return p.central_office;
    return false;
  }
  return false;
}

std::string_view DistrictParentColumn(std::string_view entity) {
  if (entity == "product" || entity == "visit") return "producer_id";
  if (entity == "enrolment" || entity == "attendance") return "workshop_id";
  if (entity == "progress" || entity == "contest_score") return "product_id";
  if (entity == "photo") return "subject_id";
  return {};
}

}  // namespace kbo
