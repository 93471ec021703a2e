#include "shared/workshop_days.h"

#include <string>
#include <utility>
#include <vector>

namespace kbo {

int64_t WorkshopDays(const Value& days) {
  return days.type() == Value::Type::kInteger ? days.integer() : int64_t{5};
}

Status CheckDaysCoverMarks(int64_t days_after, const MarksOnCutDays& on_cut_days) {
  const int64_t marks = on_cut_days.marks;
  if (marks <= 0) return Status();
  const int64_t from = on_cut_days.first_day;
  const int64_t to = on_cut_days.last_day;
  const std::string n = std::to_string(days_after);
  const std::string days_text =
      from == to ? "day " + std::to_string(from)
                 : "days " + std::to_string(from) + " to " + std::to_string(to);
  return Status::InvalidArgument(
             "days cannot be " + n + ": " + std::to_string(marks) +
             " attendance mark" + (marks == 1 ? " is" : "s are") + " recorded on " +
             days_text +
             // No "; ": the screens split a field's problems on it.
             ". Delete " + (marks == 1 ? "it" : "them") + " first, or keep " +
             std::to_string(to) + " days. Nothing was changed.")
      .WithReason("marks_beyond_days")
      .With(field::kField, "days")
      .With(field::kProblem, "err.marks_beyond_days")
      .With(field::kParams, std::vector<std::pair<std::string, std::string>>{
                                {"n", n},
                                {"marks", std::to_string(marks)},
                                {"from", std::to_string(from)},
                                {"to", std::to_string(to)}});
}

}  // namespace kbo
