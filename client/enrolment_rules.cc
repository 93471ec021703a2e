#include "client/enrolment_rules.h"

#include <string>

#include "shared/name_match.h"

namespace kbo::client {
namespace {

const Value* TextCell(const RowValues& row, const char* column) {
  auto it = row.find(column);
  if (it == row.end() || it->second.type() != Value::Type::kText) {
    return nullptr;
  }
  return &it->second;
}

}  // namespace

Result<std::optional<Uuid>> FindSameEnrolment(Db& db, const RowValues& row,
                                              const Uuid* self) {
  const Value* workshop = TextCell(row, "workshop_id");
  const Value* producer = TextCell(row, "producer_id");
  const Value* participant = TextCell(row, "participant_name");
  if (!workshop || !producer || !participant) return std::optional<Uuid>();
  const std::string key = PersonNameKey(participant->text());
  if (key.empty()) return std::optional<Uuid>();
  Statement& st = db.Cached(
      "SELECT id, participant_name FROM enrolment WHERE workshop_id = ?1 "
      "AND producer_id = ?2 AND deleted = 0");
  st.Bind(1, *workshop).Bind(2, *producer);
  std::optional<Uuid> found;
  const std::string self_text = self ? self->ToString() : std::string();
  while (st.Step()) {
    const std::string id = st.ColumnText(0);
    if (id == self_text) continue;
    if (PersonNameKey(st.ColumnText(1)) != key) continue;
    Result<Uuid> parsed = Uuid::Parse(id);
    if (parsed.ok()) {
      found = *parsed;
      break;
    }
  }
  Status s = st.status();
  Status reset = st.Reset();
  if (!s.ok()) return s;
  if (!reset.ok()) return reset;
  return found;
}

Status CheckNotEnrolledTwice(Db& db, const RowValues& row, const Uuid* self) {
  Result<std::optional<Uuid>> same = FindSameEnrolment(db, row, self);
  if (!same.ok()) return same.status();
  if (!same->has_value()) return Status();
  return Status::InvalidArgument(
      "participant_name '" + row.at("participant_name").text() +
      "' is already enrolled in this workshop for this producer (enrolment " +
      (*same)->ToString() + ")")
      .With(field::kField, "participant_name");
}

}  // namespace kbo::client
