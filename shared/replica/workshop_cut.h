#ifndef KBO_SHARED_REPLICA_WORKSHOP_CUT_H_
#define KBO_SHARED_REPLICA_WORKSHOP_CUT_H_

#include <string_view>

#include "shared/sqlite/db.h"
#include "shared/status.h"
#include "shared/value.h"

namespace kbo {

// A workshop is not made shorter than the days its marks are on
// (shared/workshop_days.h), counted over a replica: the live marks of
// workshop `workshop_id` (whatever their status) on the days a cut from
// `days_now` to `days` removes. One check for a device's edit
// (client/store.cc), the office's edit (the console) and the office's
// resolution of a conflict on a workshop's days (server/conflicts.cc), on
// SQLite or PostgreSQL. OK when `days` is not a cut.
Status CheckWorkshopCut(Db& db, std::string_view workshop_id, const Value& days_now,
                        const Value& days);

}  // namespace kbo

#endif  // KBO_SHARED_REPLICA_WORKSHOP_CUT_H_
