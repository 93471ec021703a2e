#ifndef KBO_CLIENT_ENROLMENT_RULES_H_
#define KBO_CLIENT_ENROLMENT_RULES_H_

// One participant is enrolled once per producer and workshop (issue 10,
// deliverable 9). Enrolment ids stay random (docs/decisions.md, "Data
// quality"), so the rule is checked where enrolments are recorded: the
// store refuses a second one and `kbo import` skips rows already there.

#include <optional>

#include "shared/entities.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"
#include "shared/uuid.h"

namespace kbo::client {

// The live enrolment of `row`'s participant (PersonNameKey of
// participant_name) for its producer in its workshop, other than `self`;
// nullopt if none (or if the row lacks one of the three columns).
// One indexed query (enrolment_by_workshop).
Result<std::optional<Uuid>> FindSameEnrolment(Db& db, const RowValues& row,
                                              const Uuid* self = nullptr);

// kInvalidArgument "participant_name '...' is already enrolled ..." (the
// message starts with the column, so the phone UI marks that field) if
// FindSameEnrolment finds one; OK otherwise.
Status CheckNotEnrolledTwice(Db& db, const RowValues& row,
                             const Uuid* self = nullptr);

// A contest score's contest and judge as already recorded on this device:
// a name that differs from a recorded one only in ASCII case or spacing
// ("kbo cm 2570", "KBO CM 2570 ", "อ. สุดา" for "อ.สุดา") takes the recorded
// spelling, so that scoring again corrects the judge's score instead of
// adding a second one (the names are the score's natural key), and the
// contest is not split in two. First this product's own scores (contest
// and judge together), then the contest among all scores and the judge
// among that contest's. Titles are not dropped ("นายสมชาย" and "คุณสมชาย"
// stay two judges). A new name is kept as given.
Status UseRecordedContestNames(Db& db, RowValues* row);

}  // namespace kbo::client

#endif  // KBO_CLIENT_ENROLMENT_RULES_H_
