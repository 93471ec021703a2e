#include "server/storage/blobs.h"

#include "server/storage/sql_parts.h"

namespace kbo::server::storage {
namespace {

// Whether a live photo names the blob, as its upload copy or as the
// original the device that took it announced for the copy it still names
// (table photo_original), inside a statement on table blob.
constexpr const char* kNamed =
    "(EXISTS (SELECT 1 FROM photo p WHERE p.sha256 = blob.sha256 AND "
    "p.deleted = 0) OR EXISTS (SELECT 1 FROM photo_original o JOIN photo p "
    "ON p.id = o.photo_id AND p.sha256 = o.upload_sha256 AND p.deleted = 0 "
    "WHERE o.sha256 = blob.sha256))";

// An unfinished upload (table blob_upload AS u) to reap: idle since before
// ?1, or of a blob no live photo row (nor announced original) names.
constexpr const char* kUploadStale =
    "(u.updated_at < ?1 OR NOT ("
    "EXISTS (SELECT 1 FROM photo p WHERE p.sha256 = u.sha256 AND p.deleted = 0) OR "
    "EXISTS (SELECT 1 FROM photo_original o JOIN photo p ON p.id = o.photo_id AND "
    "p.sha256 = o.upload_sha256 AND p.deleted = 0 WHERE o.sha256 = u.sha256)))";

}  // namespace

Result<bool> Blobs::DeleteStaleUpload(std::string_view sha256, std::string_view uploader,
                                      std::string_view cutoff_iso) {
  Statement& del = db_.Cached(
      std::string("DELETE FROM blob_upload AS u WHERE u.sha256 = ?2 AND u.uploader = ?3 AND ") +
      kUploadStale);
  del.Bind(1, cutoff_iso).Bind(2, sha256).Bind(3, uploader);
  if (Status s = del.Run(); !s.ok()) return s;
  return db_.Changes() != 0;
}

Result<std::optional<BlobRow>> Blobs::Find(std::string_view sha256) {
  Statement& st = db_.Cached(
      "SELECT bytes, received_bytes, complete_at FROM blob WHERE sha256 = ?1");
  st.Bind(1, sha256);
  std::optional<BlobRow> out;
  if (st.Step()) {
    out.emplace();
    out->total = static_cast<uint64_t>(st.ColumnInt(0));
    out->received = static_cast<uint64_t>(st.ColumnInt(1));
    out->complete = !st.IsNull(2);
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return out;
}

Status Blobs::Delete(std::string_view sha256) {
  Statement& del = db_.Cached("DELETE FROM blob WHERE sha256 = ?1");
  del.Bind(1, sha256);
  return del.Run();
}

Status Blobs::RecordProgress(const BlobProgress& p) {
  Statement& st = db_.Cached(
      "INSERT INTO blob (sha256, bytes, received_bytes, started_at, "
      "complete_at, uploader, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?4) ON CONFLICT (sha256) DO UPDATE SET "
      "bytes = excluded.bytes, received_bytes = excluded.received_bytes, "
      "complete_at = excluded.complete_at, uploader = excluded.uploader, "
      "updated_at = excluded.updated_at");
  st.Bind(1, p.sha256)
      .Bind(2, static_cast<int64_t>(p.total))
      .Bind(3, static_cast<int64_t>(p.received))
      .Bind(4, p.now_iso);
  if (p.uploader.empty()) {
    st.BindNull(6);
  } else {
    st.Bind(6, p.uploader);
  }
  if (p.complete) {
    st.Bind(5, p.now_iso);
  } else {
    st.BindNull(5);
  }
  return st.Run();
}

Status Blobs::RecordWhole(std::string_view sha256, uint64_t bytes,
                          std::string_view at) {
  Statement& st = db_.Cached(
      "INSERT INTO blob (sha256, bytes, received_bytes, started_at, "
      "complete_at) "
      "VALUES (?1, ?2, ?2, ?3, ?3) ON CONFLICT (sha256) DO UPDATE SET "
      "bytes = excluded.bytes, received_bytes = excluded.received_bytes, "
      "complete_at = excluded.complete_at");
  st.Bind(1, sha256).Bind(2, static_cast<int64_t>(bytes)).Bind(3, at);
  return st.Run();
}

Result<std::optional<UploadRow>> Blobs::FindUpload(std::string_view sha256,
                                                   std::string_view uploader) {
  Statement& st = db_.Cached(
      "SELECT bytes, received_bytes FROM blob_upload WHERE sha256 = ?1 AND uploader = ?2");
  st.Bind(1, sha256).Bind(2, uploader);
  std::optional<UploadRow> out;
  if (st.Step()) {
    out.emplace();
    out->total = static_cast<uint64_t>(st.ColumnInt(0));
    out->received = static_cast<uint64_t>(st.ColumnInt(1));
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return out;
}

Status Blobs::RecordUpload(std::string_view sha256, std::string_view uploader,
                           const UploadRow& row, std::string_view now_iso) {
  Statement& st = db_.Cached(
      "INSERT INTO blob_upload (sha256, uploader, bytes, received_bytes, started_at, "
      "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (sha256, uploader) DO "
      "UPDATE SET bytes = excluded.bytes, received_bytes = excluded.received_bytes, "
      "updated_at = excluded.updated_at");
  st.Bind(1, sha256)
      .Bind(2, uploader)
      .Bind(3, static_cast<int64_t>(row.total))
      .Bind(4, static_cast<int64_t>(row.received))
      .Bind(5, now_iso);
  return st.Run();
}

Result<std::vector<std::string>> Blobs::UploadersOf(std::string_view sha256) {
  Statement& st = db_.Cached(
      "SELECT uploader FROM blob_upload WHERE sha256 = ?1 ORDER BY uploader");
  st.Bind(1, sha256);
  std::vector<std::string> out;
  while (st.Step()) out.push_back(st.ColumnText(0));
  if (!st.status().ok()) return st.status();
  return out;
}

Status Blobs::DeleteUpload(std::string_view sha256, std::string_view uploader) {
  if (uploader.empty()) {
    Statement& all = db_.Cached("DELETE FROM blob_upload WHERE sha256 = ?1");
    all.Bind(1, sha256);
    return all.Run();
  }
  Statement& one =
      db_.Cached("DELETE FROM blob_upload WHERE sha256 = ?1 AND uploader = ?2");
  one.Bind(1, sha256).Bind(2, uploader);
  return one.Run();
}

Result<bool> Blobs::NamedIn(std::string_view sha256, bool all_districts,
                            const std::vector<std::string>& districts, bool or_left) {
  const DistrictFilter filter{all_districts, &districts};
  const std::string in_districts = filter.Clause("p.district_code", 2);
  std::string sql =
      "SELECT EXISTS (SELECT 1 FROM photo p WHERE p.sha256 = ?1 AND "
      "p.deleted = 0" +
      in_districts +
      ") OR EXISTS (SELECT 1 FROM photo_original o JOIN photo p ON p.id = "
      "o.photo_id AND p.sha256 = o.upload_sha256 AND p.deleted = 0 WHERE "
      "o.sha256 = ?1" +
      in_districts + ")";
  if (or_left && !all_districts) {
    // Or a photo row that left one of them (moved with its subject to
    // another district, docs/protocol.md §6) before the device that took it
    // had sent its file or its original: they still come, from the device
    // that has them.
    const std::string left_districts = filter.Clause("l.district_code", 2);
    sql += " OR EXISTS (SELECT 1 FROM photo p JOIN row_left l ON l.entity = "
           "'photo' AND l.row_id = p.id WHERE p.sha256 = ?1 AND p.deleted = 0" +
           left_districts +
           ") OR EXISTS (SELECT 1 FROM photo_original o JOIN photo p ON p.id = "
           "o.photo_id AND p.sha256 = o.upload_sha256 AND p.deleted = 0 JOIN "
           "row_left l ON l.entity = 'photo' AND l.row_id = p.id WHERE "
           "o.sha256 = ?1" +
           left_districts + ")";
  }
  Statement& st = db_.Cached(sql);
  st.Bind(1, sha256);
  filter.Bind(st, 2);
  bool named = false;
  if (st.Step()) named = st.ColumnInt(0) != 0;
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return named;
}

Result<bool> Blobs::SizeNamed(std::string_view sha256, uint64_t bytes) {
  Statement& st = db_.Cached(
      "SELECT EXISTS (SELECT 1 FROM photo WHERE sha256 = ?1 AND deleted = 0 AND "
      "bytes = ?2) OR (EXISTS (SELECT 1 FROM photo WHERE sha256 = ?1 AND deleted = 0) "
      "AND NOT EXISTS (SELECT 1 FROM photo WHERE sha256 = ?1 AND deleted = 0 AND "
      "bytes IS NOT NULL)) OR EXISTS (SELECT 1 FROM photo_original WHERE sha256 = ?1 "
      "AND bytes = ?2)");
  st.Bind(1, sha256).Bind(2, static_cast<int64_t>(bytes));
  bool named = false;
  if (st.Step()) named = st.ColumnInt(0) != 0;
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return named;
}

Result<uint64_t> Blobs::PartialBytesOf(std::string_view uploader,
                                       std::string_view except_sha256) {
  Statement& st = db_.Cached(
      "SELECT COALESCE(SUM(received_bytes), 0) FROM blob_upload WHERE uploader = ?1 "
      "AND sha256 != ?2");
  st.Bind(1, uploader).Bind(2, except_sha256);
  uint64_t held = 0;
  if (st.Step()) held = static_cast<uint64_t>(st.ColumnInt(0));
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return held;
}

Result<std::vector<std::pair<std::string, std::string>>> Blobs::StalePartials(
    std::string_view cutoff_iso) {
  // Idle past the cutoff, or of a photo no live row names any more (its
  // rows deleted: a device's unfinished upload of it counted against its
  // cap for a week).
  Statement& st = db_.Cached(std::string("SELECT sha256, uploader FROM blob_upload u WHERE ") +
                             kUploadStale + " ORDER BY sha256, uploader");
  st.Bind(1, cutoff_iso);
  std::vector<std::pair<std::string, std::string>> out;
  while (st.Step()) out.emplace_back(st.ColumnText(0), st.ColumnText(1));
  if (!st.status().ok()) return st.status();
  return out;
}

Status Blobs::MarkUnnamed(std::string_view now_iso) {
  // Named again (a restored photo, a new row for the same picture).
  if (Status s = db_.Cached(std::string("UPDATE blob SET unnamed_since = NULL "
                                        "WHERE unnamed_since IS NOT NULL AND ") +
                            kNamed)
                     .Run();
      !s.ok()) {
    return s;
  }
  Statement& mark = db_.Cached(
      std::string("UPDATE blob SET unnamed_since = ?1 WHERE complete_at IS "
                  "NOT NULL AND unnamed_since IS NULL AND NOT ") +
      kNamed);
  mark.Bind(1, now_iso);
  return mark.Run();
}

Result<std::vector<std::pair<std::string, int64_t>>> Blobs::UnnamedBefore(
    std::string_view cutoff_iso) {
  Statement& st = db_.Cached(
      "SELECT sha256, bytes FROM blob WHERE unnamed_since IS NOT NULL AND "
      "unnamed_since < ?1 AND complete_at IS NOT NULL ORDER BY sha256");
  st.Bind(1, cutoff_iso);
  std::vector<std::pair<std::string, int64_t>> out;
  while (st.Step()) out.emplace_back(st.ColumnText(0), st.ColumnInt(1));
  if (!st.status().ok()) return st.status();
  return out;
}

Result<bool> Blobs::DeleteIfUnnamed(std::string_view sha256,
                                    std::string_view cutoff_iso) {
  Statement& del = db_.Cached(
      std::string("DELETE FROM blob WHERE sha256 = ?1 AND unnamed_since IS "
                  "NOT NULL AND unnamed_since < ?2 AND NOT ") +
      kNamed);
  del.Bind(1, sha256).Bind(2, cutoff_iso);
  if (Status s = del.Run(); !s.ok()) return s;
  return db_.Changes() != 0;
}

Result<std::vector<std::string>> Blobs::Complete() {
  Statement st(db_, "SELECT sha256 FROM blob WHERE complete_at IS NOT NULL ORDER BY sha256");
  std::vector<std::string> out;
  while (st.Step()) out.push_back(st.ColumnText(0));
  if (!st.status().ok()) return st.status();
  return out;
}

Status Blobs::Forget(std::string_view sha256) {
  Statement& st = db_.Cached("DELETE FROM blob WHERE sha256 = ?1");
  st.Bind(1, sha256);
  return st.Run();
}

Result<std::vector<std::string>> Blobs::MissingIn(
    bool all_districts, const std::vector<std::string>& districts, size_t limit) {
  const DistrictFilter filter{all_districts, &districts};
  std::string sql =
      "SELECT DISTINCT p.sha256 FROM photo p WHERE p.deleted = 0 AND "
      "p.sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM blob b WHERE "
      "b.sha256 = p.sha256 AND b.complete_at IS NOT NULL)";
  sql += filter.Clause("p.district_code", 2);
  sql += " ORDER BY p.sha256 LIMIT ?1";
  Statement& st = db_.Cached(sql);
  st.Bind(1, static_cast<int64_t>(limit));
  filter.Bind(st, 2);
  std::vector<std::string> out;
  while (st.Step()) out.push_back(st.ColumnText(0));
  if (!st.status().ok()) return st.status();
  return out;
}

}  // namespace kbo::server::storage
