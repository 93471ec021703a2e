#ifndef KBO_SERVER_CONFLICT_VIEW_H_
#define KBO_SERVER_CONFLICT_VIEW_H_

// A conflict as the central office reads it (issue 10, "Conflict inbox"):
// names instead of ids (the producer, the workshop, the participant and the
// day, the product), the column's label, both values as labels in the
// chosen language (ขาด / ลา, not absent / excused), who wrote each (the
// device's label and role, or the office) and when (Bangkok time, Buddhist
// Era in Thai). Read-only; used by the console and the command line.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/conflicts.h"
#include "shared/labels.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

// Who wrote a value, as people know them.
struct WriterInfo {
  std::string device_id;  // the hlc's device (a device id, or the server's)
  // The device's label ("Somchai, Phrao, Samsung A14"); for an unlabelled
  // device "device 1a2b3c4d" (its id's start); for the server's own writes
  // the office user who made it ("somchai") or "the office".
  std::string who;
  std::string role;       // role label in the language; "" if unknown
  std::string role_code;  // field_officer, trainer, central_office, ...
  bool office = false;    // a write of the server's own identity
};

// Looks up every device of `device_ids` in one query (table `device`); ids
// of no device (the server's, or a revoked-and-deleted one) are absent.
struct DeviceLabel {
  std::string label;
  std::string role;
};
Result<std::map<std::string, DeviceLabel>> LoadDeviceLabels(
    Db& db, const std::set<std::string>& device_ids);

// The server's own id (server_state.server_id); "" if not yet set.
Result<std::string> LoadServerId(Db& db);

// "somchai" for 'user:somchai'; the command line for 'cli'.
std::string ActorLabel(Lang lang, std::string_view actor);

// `device_id` as a person reads it: `labels` from LoadDeviceLabels,
// `office_actor` the actor of the server write if known ('user:LOGIN').
WriterInfo DescribeWriter(Lang lang, const std::string& device_id,
                          const std::string& server_id,
                          const std::map<std::string, DeviceLabel>& labels,
                          const std::string& office_actor);

// Another cell the write of one side of a conflict carried (a mark's note
// beside its status), as the row's history reads it back.
struct WrittenCell {
  std::string column;
  std::string column_label;
  std::string value;       // label in the language; "" for empty
  std::string value_text;  // the display text
  bool applied = true;     // false: it lost to a value already held
};

// One side of a conflict.
struct WriteView {
  std::string value;       // as a label in the language; "" for empty
  std::string value_text;  // the display text (the code: "absent")
  bool value_null = false;
  WriterInfo writer;
  std::string when;      // Bangkok time, Buddhist Era in Thai
  std::string when_iso;  // ISO 8601 UTC (the write's hlc time)
  uint64_t seq = 0;      // server sequence of the write
  // The write's other cells (AddWrittenWith, server/row_history.h; empty
  // until then): what its writer said along with this value.
  std::vector<WrittenCell> with;
};

struct ConflictView {
  ConflictRecord conflict;
  std::string entity_label;   // "การเข้าอบรม"
  std::string column_label;   // "สถานะ"
  std::string district;       // "พร้าว"; "" if the row has none
  // The row's context; each "" when it does not apply or is not held.
  std::string producer_name;
  std::string workshop_title;
  std::string participant_name;
  std::string product_name;
  int64_t day = 0;            // attendance: the course day (1-based); else 0
  // An open conflict on a field of a row deleted since (by the office, or
  // a device): deciding it writes to a deleted row. False for a conflict
  // on the delete itself.
  bool row_deleted = false;
  // One line naming the row for a person, from the above ("กลุ่มจักสาน ·
  // อบรมพัฒนาผลิตภัณฑ์ · นางสมศรี · วันที่ 3").
  std::string subject;
  WriteView current;   // the value held before the incoming write
  WriteView incoming;  // the write whose writer had not seen `current`
  // A write after the conflict that changed what the row shows
  // (LaterWriteOf): resolving replaces it; neither side is shown now.
  std::optional<WriteView> later;
  std::string detected;        // Bangkok time
  // Once resolved ("" while open):
  std::string resolved_value;  // label
  std::string resolved_at;     // Bangkok time
  std::string resolved_by;     // ActorLabel of the resolver
  std::string reason;
};

// Describes `conflicts` with a fixed number of queries whatever their
// number: the rows they name (with the later writes on open conflicts'
// cells, LaterWritesOf), then the rows those reference (batched per
// entity, up to three levels: attendance -> enrolment -> producer), the
// devices, and the resolutions that wrote server-side values (and, for each
// open conflict on a producer's delete, whether a merge made it). A row or
// device the server does not hold leaves its names empty (never an error).
// Same order as `conflicts`. kIOError/kCorruption from the database only.
Result<std::vector<ConflictView>> DescribeConflicts(
    Db& db, const std::vector<ConflictRecord>& conflicts, Lang lang);
// One conflict (DescribeConflicts of one).
Result<ConflictView> DescribeConflict(Db& db, const ConflictRecord& conflict,
                                      Lang lang);

// The view as one JSON object: the conflict's record (ConflictJson's keys)
// plus "entity_label", "column_label", "district", "producer_name",
// "workshop_title", "participant_name", "product_name", "day", "subject",
// "current"/"incoming" {"value", "value_text", "who", "role", "role_code",
// "office", "device_id", "when", "when_iso", "seq", "with": [{"column",
// "column_label", "value", "value_text", "applied"}]}, "detected",
// "later" (the same shape, or null: a write after the conflict that
// resolving would replace), "resolved_value_label", "resolved_at_label",
// "resolved_by_label", "reason".
std::string ConflictViewJson(const ConflictView& view);

}  // namespace kbo::server

#endif  // KBO_SERVER_CONFLICT_VIEW_H_
