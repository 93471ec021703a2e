#include "shared/replica/workshop_cut.h"

#include <cstdint>

#include "shared/workshop_days.h"

namespace kbo {

Status CheckWorkshopCut(Db& db, std::string_view workshop_id, const Value& days_now,
                        const Value& days) {
  const int64_t now = WorkshopDays(days_now);
  const int64_t n = WorkshopDays(days);
  if (n >= now) return Status();
  Statement& st = db.Cached(
      "SELECT COUNT(*), MIN(day), MAX(day) FROM attendance "
      "WHERE workshop_id = ?1 AND deleted = 0 AND day > ?2 AND day <= ?3");
  st.Bind(1, workshop_id).Bind(2, Value::Integer(n)).Bind(3, Value::Integer(now));
  MarksOnCutDays cut;
  if (st.Step()) {
    cut.marks = st.ColumnInt(0);
    if (cut.marks > 0) {
      cut.first_day = st.ColumnInt(1);
      cut.last_day = st.ColumnInt(2);
    }
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return CheckDaysCoverMarks(n, cut);
}

}  // namespace kbo
