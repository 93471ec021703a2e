#include "server/storage/originals.h"

#include <algorithm>
#include <map>

#include "server/storage/devices.h"
#include "server/storage/sql_parts.h"
#include "shared/entities.h"
#include "shared/replica/apply.h"

namespace kbo::server::storage {

Result<std::optional<OriginalRecord>> Originals::Find(std::string_view photo_id) {
  Statement& st = db_.Cached(
      "SELECT upload_sha256, sha256, bytes, mime, device_id, announced_at FROM "
      "photo_original WHERE photo_id = ?1");
  st.Bind(1, photo_id);
  std::optional<OriginalRecord> out;
  if (st.Step()) {
    out.emplace();
    out->photo_id = std::string(photo_id);
    out->upload_sha256 = st.ColumnText(0);
    out->sha256 = st.ColumnText(1);
    out->bytes = static_cast<uint64_t>(st.ColumnInt(2));
    out->mime = st.ColumnText(3);
    out->device_id = st.ColumnText(4);
    out->announced_at = st.ColumnText(5);
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return out;
}

Status Originals::Record(const OriginalRecord& r) {
  // Two servers on one database may take the same notice at once: the
  // second one's insert becomes an update to the same values.
  Statement& st = db_.Cached(
      "INSERT INTO photo_original (photo_id, upload_sha256, sha256, bytes, "
      "mime, device_id, announced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
      "ON CONFLICT (photo_id) DO UPDATE SET upload_sha256 = "
      "excluded.upload_sha256, sha256 = excluded.sha256, bytes = "
      "excluded.bytes, mime = excluded.mime, device_id = excluded.device_id, "
      "announced_at = excluded.announced_at");
  st.Bind(1, std::string_view(r.photo_id))
      .Bind(2, std::string_view(r.upload_sha256))
      .Bind(3, std::string_view(r.sha256))
      .Bind(4, static_cast<int64_t>(r.bytes))
      .Bind(5, std::string_view(r.mime))
      .Bind(6, std::string_view(r.device_id))
      .Bind(7, std::string_view(r.announced_at));
  return st.Run();
}

Result<std::string> Originals::AskOf(const Uuid& photo, const Scope& scope,
                                     std::string_view now_iso, std::string_view by) {
  const Entity& entity = *FindEntity("photo");
  Result<std::optional<ReplicaRow>> row = ReadReplicaRow(db_, entity, photo);
  if (!row.ok()) return row.status();
  const auto cell = [&](std::string_view column) -> const Value& {
    const Column* c = entity.FindColumn(column);
    return (*row)->values[static_cast<size_t>(c - entity.columns.data())];
  };
  const bool live = row->has_value() &&
                    (*row)->values.size() == entity.columns.size() + 1 &&
                    (*row)->values.back().type() == Value::Type::kInteger &&
                    (*row)->values.back().integer() == 0 &&
                    cell("district_code").type() == Value::Type::kText &&
                    scope.Contains(cell("district_code").text()) &&
                    cell("sha256").type() == Value::Type::kText;
  if (!live) return Status::NotFound("no photo " + photo.ToString());
  const auto writer = (*row)->versions.find("sha256");
  if (writer == (*row)->versions.end()) {
    return Status::FailedPrecondition("no device is known to have taken photo " +
                                      photo.ToString());
  }
  std::string device = writer->second.hlc.device.ToString();
  // A revoked device never syncs again: asked of it, the request would
  // show "asked" for good. The identity it moved to (a new token for the
  // same phone: its successor, proved at enrolment) holds the original.
  KBO_ASSIGN_OR_RETURN(std::optional<DeviceRow> taker, Devices(db_).Find(device));
  for (int step = 0; step < Devices::kMaxSuccessors && taker.has_value() &&
                     !taker->revoked_at.empty() && !taker->successor_id.empty();
       ++step) {
    KBO_ASSIGN_OR_RETURN(std::optional<DeviceRow> next, Devices(db_).Find(taker->successor_id));
    if (!next.has_value()) break;
    device = taker->successor_id;
    taker = std::move(next);
  }
  if (taker.has_value() && !taker->revoked_at.empty()) {
    return Status::FailedPrecondition("the device that took photo " + photo.ToString() + ", " +
                                      device + ", was revoked on " + taker->revoked_at +
                                      ": it no longer syncs, so it cannot send the original")
        .WithReason("device_revoked");
  }
  const std::string id = photo.ToString();
  Statement& st = db_.Cached(
      "INSERT INTO original_request (photo_id, upload_sha256, device_id, "
      "requested_at, requested_by) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT "
      "(photo_id) DO UPDATE SET upload_sha256 = excluded.upload_sha256, "
      "device_id = excluded.device_id, requested_at = excluded.requested_at, "
      "requested_by = excluded.requested_by, declined_at = NULL, "
      "declined_reason = NULL");
  st.Bind(1, std::string_view(id))
      .Bind(2, std::string_view(cell("sha256").text()))
      .Bind(3, std::string_view(device))
      .Bind(4, now_iso)
      .Bind(5, by);
  if (Status s = st.Run(); !s.ok()) return s;
  return device;
}

Result<std::string> Originals::Cancel(const Uuid& photo, const Scope& scope) {
  const std::string id = photo.ToString();
  std::string district;
  {
    Statement& st = db_.Cached(
        "SELECT district_code FROM photo WHERE id = ?1 AND deleted = 0");
    st.Bind(1, std::string_view(id));
    const bool found = st.Step();
    if (found) district = st.ColumnText(0);
    if (!st.status().ok()) return st.status();
    if (Status s = st.Reset(); !s.ok()) return s;
    if (!found || !scope.Contains(district)) {
      return Status::NotFound("no photo " + id);
    }
  }
  Result<std::vector<OriginalState>> states = StatesOf({id});
  if (!states.ok()) return states.status();
  const OriginalState& o = states->front();
  if (!o.requested || !o.declined_reason.empty() || o.complete) {
    return Status::FailedPrecondition(
        o.complete ? "the original of photo " + id + " is held already"
                   : "no open request for the original of photo " + id);
  }
  Statement& del = db_.Cached(
      "DELETE FROM original_request WHERE photo_id = ?1 RETURNING device_id");
  del.Bind(1, std::string_view(id));
  std::string device;
  if (del.Step()) device = del.ColumnText(0);
  if (!del.status().ok()) return del.status();
  if (Status s = del.Reset(); !s.ok()) return s;
  return device;
}

Status Originals::Decline(std::string_view photo_id, std::string_view reason,
                          std::string_view now_iso) {
  Statement& st = db_.Cached(
      "UPDATE original_request SET declined_at = ?2, declined_reason = ?3 "
      "WHERE photo_id = ?1 AND declined_at IS NULL");
  st.Bind(1, photo_id).Bind(2, now_iso).Bind(3, reason);
  return st.Run();
}

Result<std::vector<std::string>> Originals::OpenFor(
    std::string_view device_id, bool all_districts,
    const std::vector<std::string>& districts, size_t limit) {
  const DistrictFilter filter{all_districts, &districts};
  std::string sql =
      "SELECT r.photo_id FROM original_request r JOIN photo p ON p.id = "
      "r.photo_id AND p.deleted = 0 AND p.sha256 = r.upload_sha256";
  if (!all_districts) {
    // In the device's districts, or moved out of one of them (with its
    // subject) after it took the photo: the original is still only there.
    const std::string in = filter.Clause("p.district_code", 3);
    const std::string left = filter.Clause("l.district_code", 3);
    sql += " AND (" + in.substr(std::string_view(" AND ").size()) +
           " OR EXISTS (SELECT 1 FROM row_left l WHERE l.entity = 'photo' AND "
           "l.row_id = p.id" + left + "))";
  }
  sql +=
      // Asked of it, or of the identity it moved from (asked before that
      // one was revoked and this one took its place).
      " WHERE (r.device_id = ?1 OR r.device_id IN (SELECT d.device_id FROM device d "
      "WHERE d.successor_id = ?1)) AND r.declined_at IS NULL AND NOT EXISTS "
      "(SELECT 1 FROM photo_original o JOIN blob b ON b.sha256 = o.sha256 "
      "WHERE o.photo_id = r.photo_id AND o.upload_sha256 = r.upload_sha256 "
      "AND b.complete_at IS NOT NULL) ORDER BY r.requested_at, r.photo_id "
      "LIMIT ?2";
  Statement& st = db_.Cached(sql);
  st.Bind(1, device_id).Bind(2, static_cast<int64_t>(limit));
  filter.Bind(st, 3);
  std::vector<std::string> out;
  while (st.Step()) out.push_back(st.ColumnText(0));
  if (!st.status().ok()) return st.status();
  return out;
}

Result<std::vector<OriginalState>> Originals::StatesOf(
    const std::vector<std::string>& photo_ids) {
  std::vector<OriginalState> out(photo_ids.size());
  std::map<std::string, OriginalState> found;
  // One query per kIdsPerQuery photos (a gallery page is 48).
  for (size_t from = 0; from < photo_ids.size(); from += kIdsPerQuery) {
    const size_t n = std::min(kIdsPerQuery, photo_ids.size() - from);
    Statement st(db_,
                 "SELECT p.id, r.requested_at, r.declined_reason, o.sha256, "
                 "COALESCE(b.received_bytes, (SELECT MAX(u.received_bytes) FROM "
                 "blob_upload u WHERE u.sha256 = o.sha256)), b.complete_at FROM photo p "
                 "LEFT JOIN original_request r ON r.photo_id = p.id AND "
                 "r.upload_sha256 = p.sha256 "
                 "LEFT JOIN photo_original o ON o.photo_id = p.id AND "
                 "o.upload_sha256 = p.sha256 "
                 "LEFT JOIN blob b ON b.sha256 = o.sha256 WHERE p.id IN (" +
                     Placeholders(n) + ")");
    for (size_t i = 0; i < n; ++i) {
      st.Bind(static_cast<int>(i) + 1, std::string_view(photo_ids[from + i]));
    }
    while (st.Step()) {
      OriginalState s;
      s.requested = !st.IsNull(1);
      if (s.requested) s.requested_at = st.ColumnText(1);
      if (!st.IsNull(2)) s.declined_reason = st.ColumnText(2);
      if (!st.IsNull(3)) s.sha256 = st.ColumnText(3);
      if (!st.IsNull(4)) s.bytes = static_cast<uint64_t>(st.ColumnInt(4));
      s.complete = !st.IsNull(5);
      found[st.ColumnText(0)] = std::move(s);
    }
    if (!st.status().ok()) return st.status();
  }
  for (size_t i = 0; i < photo_ids.size(); ++i) {
    auto it = found.find(photo_ids[i]);
    if (it != found.end()) out[i] = it->second;
  }
  return out;
}

Result<std::optional<std::string>> Originals::MimeInScope(std::string_view sha256,
                                                          const Scope& scope) {
  std::vector<std::string> binds;
  const std::string in_scope = ScopeClause(scope, "p.district_code", &binds);
  Statement st(db_,
               "SELECT o.mime FROM photo_original o JOIN photo p ON p.id = "
               "o.photo_id AND p.sha256 = o.upload_sha256 AND p.deleted = 0 "
               "WHERE o.sha256 = ?1 AND " +
                   in_scope + " LIMIT 1");
  st.Bind(1, sha256);
  BindTexts(st, binds, 2);
  std::optional<std::string> mime;
  if (st.Step()) mime = st.ColumnText(0);
  if (!st.status().ok()) return st.status();
  return mime;
}

}  // namespace kbo::server::storage
