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

// The recorded spelling of `given`: `given` itself when `exact` (bound)
// yields a row, else the first text `all` (bound) yields that matches by
// LooseNameKey, else `given`. Both statements go by index
// (contest_score_by_names), and `all` runs only for a spelling not recorded.
Result<std::string> RecordedSpelling(Statement& exact, Statement& all,
                                     const std::string& given) {
  const bool recorded = exact.Step();
  if (!exact.status().ok()) return exact.status();
  if (Status s = exact.Reset(); !s.ok()) return s;
  if (recorded) return given;
  const std::string key = LooseNameKey(given);
  std::optional<std::string> match;
  while (!match && !key.empty() && all.Step()) {
    std::string text = all.ColumnText(0);
    if (LooseNameKey(text) == key) match = std::move(text);
  }
  if (!all.status().ok()) return all.status();
  if (Status s = all.Reset(); !s.ok()) return s;
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
    const std::string contest_key = LooseNameKey(contest->second.text());
    const std::string judge_key = LooseNameKey(judge->second.text());
    Statement& st = db.Cached(
        "SELECT contest, judge FROM contest_score WHERE product_id = ?1 AND deleted = 0 "
        "ORDER BY contest, judge");
    st.Bind(1, product->second);
    std::optional<std::pair<std::string, std::string>> same;
    while (st.Step()) {
      std::string c = st.ColumnText(0), j = st.ColumnText(1);
      if (c == contest->second.text() && j == judge->second.text()) return Status();
      if (!same && LooseNameKey(c) == contest_key && LooseNameKey(j) == judge_key) {
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
    Statement& exact = db.Cached(
        "SELECT 1 FROM contest_score WHERE contest = ?1 AND deleted = 0 LIMIT 1");
    exact.Bind(1, contest->second);
    Statement& all = db.Cached(
        "SELECT DISTINCT contest FROM contest_score WHERE deleted = 0 ORDER BY contest");
    Result<std::string> spelled = RecordedSpelling(exact, all, contest->second.text());
    if (!spelled.ok()) return spelled.status();
    contest->second = Value::Text(std::move(*spelled));
  }
  Statement& exact = db.Cached(
      "SELECT 1 FROM contest_score WHERE contest = ?1 AND judge = ?2 AND deleted = 0 "
      "LIMIT 1");
  exact.Bind(1, contest->second);
  exact.Bind(2, judge->second);
  Statement& all = db.Cached(
      "SELECT DISTINCT judge FROM contest_score WHERE deleted = 0 AND contest = ?1 "
      "ORDER BY judge");
  all.Bind(1, contest->second);
  Result<std::string> spelled = RecordedSpelling(exact, all, judge->second.text());
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
