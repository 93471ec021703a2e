#include "client/row_json.h"

namespace kbo::client {

RowJsonValue RowJson(const Entity& entity, const StoredRow& row) {
  RowJsonValue obj = RowJsonValue::object();
  obj["id"] = row.id.ToString();
  for (const Column& c : entity.columns) {
    auto it = row.values.find(c.name);
    obj[std::string(c.name)] =
        it == row.values.end() ? RowJsonValue(nullptr) : ValueJson(it->second);
  }
  obj["deleted"] = row.deleted;
  return obj;
}

RowJsonValue StatusJson(const StoreStatus& st) {
  auto text_or_null = [](const std::string& s) {
    return s.empty() ? RowJsonValue(nullptr) : RowJsonValue(s);
  };
  RowJsonValue obj = RowJsonValue::object();
  obj["device_id"] = st.device_id.ToString();
  obj["enrolled"] = st.enrolled;
  obj["server"] = text_or_null(st.server);
  obj["role"] = text_or_null(st.role);
  obj["districts"] = text_or_null(st.districts);
  obj["pending_changes"] = st.pending_changes;
  obj["pending_blobs"] = st.pending_blobs;
  obj["originals_to_send"] = st.originals_to_send;
  obj["originals_held_back"] = st.originals_held_back;
  obj["photos_refused"] = st.refused_blobs;
  obj["open_conflicts"] = st.open_conflicts;
  obj["future_visits"] = st.future_visits;
  if (st.under_deleted.has_value()) obj["under_deleted"] = *st.under_deleted;
  obj["revoked"] = st.revoked;
  obj["confirmed_changes"] = st.confirmed_changes;
  obj["last_sync"] = text_or_null(st.last_sync);
  obj["last_error"] = text_or_null(st.last_error);
  obj["refused_rows"] = st.refused_rows;
  obj["waiting_rows"] = st.waiting_rows;
  RowJsonValue refused = RowJsonValue::array();
  for (const RefusedEntry& r : st.refused) refused.push_back(RefusedJson(r));
  obj["refused"] = std::move(refused);
  return obj;
}

RowJsonValue RefusedJson(const RefusedEntry& r) {
  RowJsonValue obj = RowJsonValue::object();
  obj["seq"] = r.seq;
  obj["index"] = r.index;
  obj["entity"] = r.entity;
  obj["row_id"] = r.row_id;
  obj["reason"] = r.reason;
  obj["message"] = r.message;
  obj["refused_at"] = r.refused_at;
  RowJsonValue cells = RowJsonValue::parse(r.cells, nullptr, false);
  obj["cells"] = cells.is_object() ? cells : RowJsonValue::object();
  obj["restored"] = r.restored;
  obj["unaccepted"] = r.unaccepted;
  obj["not_held"] = r.not_held;
  return obj;
}

RowJsonValue ConflictEntryJson(const ConflictEntry& c) {
  const auto or_null = [](const auto& v) {
    return v.has_value() ? RowJsonValue(*v) : RowJsonValue(nullptr);
  };
  RowJsonValue obj = RowJsonValue::object();
  obj["id"] = c.id;
  obj["entity"] = c.entity;
  obj["row_id"] = c.row_id;
  obj["column_name"] = c.column_name;
  obj["district_code"] = or_null(c.district_code);
  obj["current_value"] = or_null(c.current_value);
  obj["current_device"] = or_null(c.current_device);
  obj["current_hlc"] = or_null(c.current_hlc);
  obj["incoming_value"] = or_null(c.incoming_value);
  obj["incoming_device"] = or_null(c.incoming_device);
  obj["incoming_hlc"] = or_null(c.incoming_hlc);
  obj["incoming_base"] = or_null(c.incoming_base);
  obj["winner"] = or_null(c.winner);
  obj["detected_at"] = or_null(c.detected_at);
  obj["resolved_at"] = or_null(c.resolved_at);
  obj["resolved_value"] = or_null(c.resolved_value);
  obj["resolution_reason"] = or_null(c.resolution_reason);
  obj["resolved_by"] = or_null(c.resolved_by);
  obj["server_seq"] = c.server_seq;
  return obj;
}

}  // namespace kbo::client
