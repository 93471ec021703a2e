#ifndef KBO_CLIENT_ROW_JSON_H_
#define KBO_CLIENT_ROW_JSON_H_

#include <nlohmann/json.hpp>

#include "client/store.h"
#include "shared/entities.h"
#include "shared/value.h"
#include "shared/value_json.h"

namespace kbo::client {

// JSON for `kbo list/show --json` and the web UI's API: one object per row
// with "id", every catalogue column in catalogue order (integers and reals as
// numbers, null as null, text as UTF-8 strings) and "deleted" as a boolean.
using RowJsonValue = nlohmann::ordered_json;

RowJsonValue RowJson(const Entity& entity, const StoredRow& row);
// `kbo status --json` and the UI's /api/status: empty strings become null.
RowJsonValue StatusJson(const StoreStatus& st);
// {"seq", "index", "entity", "row_id", "reason", "message", "refused_at"}
RowJsonValue RefusedJson(const RefusedEntry& r);
// `kbo conflicts --json` and the UI's /api/conflicts: {"id", "entity",
// "row_id", "column_name", "district_code", "current_value",
// "current_device", "current_hlc", "incoming_value", "incoming_device",
// "incoming_hlc", "incoming_base", "winner", "detected_at", "resolved_at",
// "resolved_value", "server_seq"}, null where the entry has none.
RowJsonValue ConflictEntryJson(const ConflictEntry& c);

}  // namespace kbo::client

#endif  // KBO_CLIENT_ROW_JSON_H_
