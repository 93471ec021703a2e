#include "server/storage/originals.h"

#include "server/storage/sql_parts.h"
#include "shared/entities.h"
#include "shared/replica/apply.h"

namespace kbo::server::storage {

Result<std::optional<OriginalRecord>> Originals::Find(std::string_view upload_sha256) {
  Statement& st = db_.Cached(
      "SELECT sha256, bytes, mime, device_id, announced_at FROM photo_original "
      "WHERE upload_sha256 = ?1");
  st.Bind(1, upload_sha256);
  std::optional<OriginalRecord> out;
  if (st.Step()) {
    out.emplace();
    out->upload_sha256 = std::string(upload_sha256);
    out->sha256 = st.ColumnText(0);
    out->bytes = static_cast<uint64_t>(st.ColumnInt(1));
    out->mime = st.ColumnText(2);
    out->device_id = st.ColumnText(3);
    out->announced_at = st.ColumnText(4);
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return out;
}

Status Originals::Record(const OriginalRecord& r) {
  Statement& st = db_.Cached(
      "INSERT INTO photo_original (upload_sha256, sha256, bytes, mime, "
      "device_id, announced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.Bind(1, std::string_view(r.upload_sha256))
      .Bind(2, std::string_view(r.sha256))
      .Bind(3, static_cast<int64_t>(r.bytes))
      .Bind(4, std::string_view(r.mime))
      .Bind(5, std::string_view(r.device_id))
      .Bind(6, std::string_view(r.announced_at));
  return st.Run();
}

Status Originals::Request(std::string_view upload_sha256, std::string_view device_id,
                          std::string_view now_iso, std::string_view by) {
  Statement& st = db_.Cached(
      "INSERT INTO original_request (upload_sha256, device_id, requested_at, "
      "requested_by) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (upload_sha256) DO "
      "NOTHING");
  st.Bind(1, upload_sha256).Bind(2, device_id).Bind(3, now_iso).Bind(4, by);
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
  const std::string device = writer->second.hlc.device.ToString();
  if (Status s = Request(cell("sha256").text(), device, now_iso, by); !s.ok()) return s;
  return device;
}

Result<std::vector<std::string>> Originals::OpenFor(
    std::string_view device_id, bool all_districts,
    const std::vector<std::string>& districts, size_t limit) {
  const DistrictFilter filter{all_districts, &districts};
  std::string sql =
      "SELECT r.upload_sha256 FROM original_request r WHERE r.device_id = ?1 "
      "AND EXISTS (SELECT 1 FROM photo p WHERE p.sha256 = r.upload_sha256 AND "
      "p.deleted = 0";
  sql += filter.Clause("p.district_code", 3);
  sql +=
      ") AND NOT EXISTS (SELECT 1 FROM photo_original o JOIN blob b ON "
      "b.sha256 = o.sha256 WHERE o.upload_sha256 = r.upload_sha256 AND "
      "b.complete_at IS NOT NULL) ORDER BY r.requested_at, r.upload_sha256 "
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
    const std::vector<std::string>& upload_sha256s) {
  std::vector<OriginalState> out(upload_sha256s.size());
  Statement& st = db_.Cached(
      "SELECT r.requested_at, o.sha256, o.bytes, b.complete_at FROM "
      "(SELECT CAST(?1 AS TEXT) AS upload_sha256) k "
      "LEFT JOIN original_request r ON r.upload_sha256 = k.upload_sha256 "
      "LEFT JOIN photo_original o ON o.upload_sha256 = k.upload_sha256 "
      "LEFT JOIN blob b ON b.sha256 = o.sha256");
  for (size_t i = 0; i < upload_sha256s.size(); ++i) {
    st.Bind(1, std::string_view(upload_sha256s[i]));
    if (st.Step()) {
      OriginalState& s = out[i];
      s.requested = !st.IsNull(0);
      if (s.requested) s.requested_at = st.ColumnText(0);
      s.announced = !st.IsNull(1);
      if (s.announced) {
        s.sha256 = st.ColumnText(1);
        s.bytes = static_cast<uint64_t>(st.ColumnInt(2));
      }
      s.complete = !st.IsNull(3);
    }
    if (!st.status().ok()) return st.status();
    if (Status s = st.Reset(); !s.ok()) return s;
  }
  return out;
}

Result<std::optional<std::string>> Originals::MimeInScope(std::string_view sha256,
                                                          const Scope& scope) {
  std::vector<std::string> binds;
  const std::string in_scope = ScopeClause(scope, "p.district_code", &binds);
  Statement st(db_,
               "SELECT o.mime FROM photo_original o JOIN photo p ON p.sha256 = "
               "o.upload_sha256 AND p.deleted = 0 WHERE o.sha256 = ?1 AND " +
                   in_scope + " LIMIT 1");
  st.Bind(1, sha256);
  BindTexts(st, binds, 2);
  std::optional<std::string> mime;
  if (st.Step()) mime = st.ColumnText(0);
  if (!st.status().ok()) return st.status();
  return mime;
}

}  // namespace kbo::server::storage
