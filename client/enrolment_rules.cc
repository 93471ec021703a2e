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

// A contest's or a judge's name as a key: ASCII case and spaces dropped
// (nothing else: "นายสมชาย" and "คุณสมชาย" may be two judges).
std::string LooseKey(std::string_view name) {
  std::string key = FoldSpaceAndCase(name);
  key.erase(std::remove(key.begin(), key.end(), ' '), key.end());
  return key;
}

// The recorded spelling of `given` among the texts `st` yields (column 0),
// by LooseKey; `given` itself if it is recorded, or none matches.
Result<std::string> RecordedSpelling(Statement& st, const std::string& given) {
  const std::string key = LooseKey(given);
  std::optional<std::string> match;
  while (st.Step()) {
    std::string recorded = st.ColumnText(0);
    if (recorded == given) return given;
    if (!match && !key.empty() && LooseKey(recorded) == key) match = std::move(recorded);
  }
  if (!st.status().ok()) return st.status();
  return match.value_or(given);
}

}  // namespace

Status UseRecordedContestNames(Db& db, RowValues* row) {
  auto product = row->find("product_id");
  auto contest = row->find("contest");
  auto judge = row->find("judge");
  if (product == row->end() || contest == row->end() || judge == row->end() ||
      contest->second.type() != Value::Type::kText ||
      judge->second.type() != Value::Type::kText) {
    return Status();
  }
  // This product's own score by this judge in this contest, however it was
  // written: scoring again corrects it.
  {
    const std::string contest_key = LooseKey(contest->second.text());
    const std::string judge_key = LooseKey(judge->second.text());
    Statement& st = db.Cached(
        "SELECT contest, judge FROM contest_score WHERE product_id = ?1 AND deleted = 0 "
        "ORDER BY contest, judge");
    st.Bind(1, product->second);
    std::optional<std::pair<std::string, std::string>> same;
    while (st.Step()) {
      std::string c = st.ColumnText(0), j = st.ColumnText(1);
      if (c == contest->second.text() && j == judge->second.text()) return Status();
      if (!same && LooseKey(c) == contest_key && LooseKey(j) == judge_key) {
        same.emplace(std::move(c), std::move(j));
      }
    }
    if (!st.status().ok()) return st.status();
    if (same) {
      contest->second = Value::Text(std::move(same->first));
      judge->second = Value::Text(std::move(same->second));
      return Status();
    }
  }
  // Else the contest as other products' scores write it, and the judge as
  // that contest's scores do.
  {
    Statement& st = db.Cached(
        "SELECT DISTINCT contest FROM contest_score WHERE deleted = 0 ORDER BY contest");
    Result<std::string> spelled = RecordedSpelling(st, contest->second.text());
    if (!spelled.ok()) return spelled.status();
    contest->second = Value::Text(std::move(*spelled));
  }
  Statement& st = db.Cached(
      "SELECT DISTINCT judge FROM contest_score WHERE deleted = 0 AND contest = ?1 "
      "ORDER BY judge");
  st.Bind(1, contest->second);
  Result<std::string> spelled = RecordedSpelling(st, judge->second.text());
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
