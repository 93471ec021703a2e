#include "server/storage/overview.h"

namespace kbo::server::storage {
namespace {

// The one integer the statement answers; `none` without a row.
Result<int64_t> Count(Db& db, const std::string& sql, int64_t none = 0) {
  Statement st(db, sql);
  KBO_RETURN_IF_ERROR(st.status());
  int64_t n = none;
  if (st.Step()) n = st.ColumnInt(0);
  KBO_RETURN_IF_ERROR(st.status());
  return n;
}

}  // namespace

Result<std::map<std::string, int64_t>> OverviewStore::LiveRowsByDistrict(
    const Entity& e) {
  Statement st(db_, "SELECT COALESCE(district_code, ''), COUNT(*) FROM " +
                        std::string(e.name) +
                        " WHERE deleted = 0 GROUP BY 1 ORDER BY 1");
  KBO_RETURN_IF_ERROR(st.status());
  std::map<std::string, int64_t> out;
  while (st.Step()) out[st.ColumnText(0)] = st.ColumnInt(1);
  KBO_RETURN_IF_ERROR(st.status());
  return out;
}

Result<int64_t> OverviewStore::OpenConflicts() {
  return Count(db_, "SELECT COUNT(*) FROM conflict WHERE resolved_at IS NULL");
}

Result<std::map<std::string, int64_t>> OverviewStore::OpenConflictsByDistrict() {
  Statement& c = db_.Cached(
      "SELECT COALESCE(district_code, ''), COUNT(*) FROM conflict WHERE "
      "resolved_at IS NULL GROUP BY 1");
  std::map<std::string, int64_t> out;
  while (c.Step()) out[c.ColumnText(0)] += c.ColumnInt(1);
  KBO_RETURN_IF_ERROR(c.status());
  return out;
}

Result<int64_t> OverviewStore::Devices() {
  return Count(db_, "SELECT COUNT(*) FROM device");
}

Result<int64_t> OverviewStore::RevokedDevices() {
  return Count(db_, "SELECT COUNT(*) FROM device WHERE revoked_at IS NOT NULL");
}

Result<std::vector<std::string>> OverviewStore::ActiveDeviceDistricts() {
  Statement st(db_, "SELECT districts FROM device WHERE revoked_at IS NULL");
  std::vector<std::string> out;
  while (st.Step()) out.push_back(st.ColumnText(0));
  KBO_RETURN_IF_ERROR(st.status());
  return out;
}

Result<std::map<std::string, int64_t>> OverviewStore::PhotosMissingByDistrict() {
  Statement st(db_,
               "SELECT COALESCE(p.district_code, ''), COUNT(DISTINCT p.sha256) FROM "
               "photo p WHERE p.deleted = 0 AND p.sha256 IS NOT NULL AND NOT EXISTS "
               "(SELECT 1 FROM blob b WHERE b.sha256 = p.sha256 AND b.complete_at IS "
               "NOT NULL) GROUP BY 1");
  std::map<std::string, int64_t> out;
  while (st.Step()) out[st.ColumnText(0)] += st.ColumnInt(1);
  KBO_RETURN_IF_ERROR(st.status());
  return out;
}

Result<int64_t> OverviewStore::PhotosMissing() {
  // The districts' counts added up, so the province's figure is always the
  // sum of the ones a district office sees.
  KBO_ASSIGN_OR_RETURN(const auto by_district, PhotosMissingByDistrict());
  int64_t n = 0;
  for (const auto& [district, count] : by_district) n += count;
  return n;
}

Result<int64_t> OverviewStore::UnsettledRefusedRows() {
  Statement& r =
      db_.Cached("SELECT COUNT(*) FROM refused_row WHERE settled_at IS NULL");
  int64_t n = 0;
  if (r.Step()) n = r.ColumnInt(0);
  KBO_RETURN_IF_ERROR(r.status());
  (void)r.Reset();
  return n;
}

Result<int64_t> OverviewStore::NextSeq() {
  return Count(db_, "SELECT next_seq FROM server_state WHERE singleton = 1", 1);
}

// One query: missing photos are counted once per district, then summed over
// each device's districts ("all", or codes matched in the comma-separated
// list).
Result<std::map<std::string, DeviceBacklog>> OverviewStore::DeviceBacklogs() {
  Statement& st = db_.Cached(
      "WITH missing AS ("
      "  SELECT p.district_code AS district, COUNT(*) AS n FROM photo p"
      "  WHERE p.deleted = 0 AND p.sha256 IS NOT NULL AND NOT EXISTS ("
      "    SELECT 1 FROM blob b WHERE b.sha256 = p.sha256 AND"
      "    b.complete_at IS NOT NULL)"
      "  GROUP BY p.district_code),"
      " refused AS ("
      "  SELECT device_id, COUNT(*) AS n FROM refused_row"
      "  WHERE settled_at IS NULL GROUP BY device_id)"
      " SELECT d.device_id, COALESCE(r.n, 0),"
      "  (SELECT COALESCE(SUM(m.n), 0) FROM missing m WHERE d.districts = 'all'"
      "   OR instr(',' || d.districts || ',', ',' || m.district || ',') > 0)"
      " FROM device d LEFT JOIN refused r ON r.device_id = d.device_id");
  std::map<std::string, DeviceBacklog> out;
  while (st.Step()) {
    DeviceBacklog c;
    c.refused_rows = st.ColumnInt(1);
    c.pending_photos = st.ColumnInt(2);
    out[st.ColumnText(0)] = c;
  }
  KBO_RETURN_IF_ERROR(st.status());
  KBO_RETURN_IF_ERROR(st.Reset());
  return out;
}

}  // namespace kbo::server::storage
