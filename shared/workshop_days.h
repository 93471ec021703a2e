#ifndef KBO_SHARED_WORKSHOP_DAYS_H_
#define KBO_SHARED_WORKSHOP_DAYS_H_

#include <cstdint>

#include "shared/status.h"
#include "shared/value.h"

namespace kbo {

// A workshop is not made shorter than the days its marks are on: those
// marks would drop out of its roll call and its totals with nobody told.
// A device's edit (client/store.cc) and the office's (the console, server/
// console/data.cc) refuse alike, each counting over its own storage: the
// live marks on the days the cut removes, days_after + 1 .. days_before.
// Only a cut is checked; lengthening is always allowed (it shows marks a
// cut elsewhere hid). A cut that two devices make while a third marks the
// cut days still merges (nothing refuses a merge): the server's reports
// then say how many marks lie past the last day.

// The days a workshop row's `days` value means (5, the column's default,
// when it holds none).
int64_t WorkshopDays(const Value& days);

// The marks on the cut days, as counted by the caller.
struct MarksOnCutDays {
  int64_t marks = 0;
  int64_t first_day = 0;  // of those marks; 0 when there are none
  int64_t last_day = 0;
};

// OK when `on_cut_days` holds no mark; otherwise kInvalidArgument, reason
// marks_beyond_days, field days, problem err.marks_beyond_days with n,
// marks, from and to (the words are the labels', Thai and English).
Status CheckDaysCoverMarks(int64_t days_after, const MarksOnCutDays& on_cut_days);

}  // namespace kbo

#endif  // KBO_SHARED_WORKSHOP_DAYS_H_
