#include "client/enrolment_rules.h"

#include <algorithm>
#include <optional>
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

// A contest's name as a key: case and spaces dropped.
std::string ContestKey(std::string_view name) {
  std::string key = FoldSpaceAndCase(name);
  key.erase(std::remove(key.begin(), key.end(), ' '), key.end());
  return key;
}

// The recorded spelling of `given` among the texts `st` yields (column 0),
// by `key_of`; `given` itself if it is recorded, or none matches.
template <typename KeyOf>
Result<std::string> RecordedSpelling(Statement& st, const std::string& given,
                                     KeyOf key_of) {
  const std::string key = key_of(given);
  std::optional<std::string> match;
  while (st.Step()) {
    std::string recorded = st.ColumnText(0);
    if (recorded == given) return given;
    if (!match && !key.empty() && key_of(recorded) == key) match = std::move(recorded);
  }
  if (!st.status().ok()) return st.status();
  return match.value_or(given);
}

}  // namespace

Status UseRecordedContestNames(Db& db, RowValues* row) {
  auto contest = row->find("contest");
  auto judge = row->find("judge");
  if (contest == row->end() || contest->second.type() != Value::Type::kText) {
    return Status();
  }
  {
    Statement& st = db.Cached(
        "SELECT DISTINCT contest FROM contest_score WHERE deleted = 0 ORDER BY contest");
    Result<std::string> spelled = RecordedSpelling(st, contest->second.text(), ContestKey);
    if (!spelled.ok()) return spelled.status();
    contest->second = Value::Text(std::move(*spelled));
  }
  if (judge == row->end() || judge->second.type() != Value::Type::kText) {
    return Status();
  }
  Statement& st = db.Cached(
      "SELECT DISTINCT judge FROM contest_score WHERE deleted = 0 AND contest = ?1 "
      "ORDER BY judge");
  st.Bind(1, contest->second);
  Result<std::string> spelled = RecordedSpelling(
      st, judge->second.text(), [](std::string_view n) { return PersonNameKey(n); });
  if (!spelled.ok()) return spelled.status();
  judge->second = Value::Text(std::move(*spelled));
  return Status();
}

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
