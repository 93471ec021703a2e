#ifndef KBO_SERVER_REPORTS_H_
#define KBO_SERVER_REPORTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

// Live rows (not deleted) of one entity, by district code ("" for none).
struct EntityCounts {
  std::string entity;
  int64_t total = 0;
  std::map<std::string, int64_t> by_district;
};

// What the dashboard shows at a glance.
struct Overview {
  std::vector<EntityCounts> entities;  // catalogue order
  int64_t open_conflicts = 0;
  int64_t devices = 0;
  int64_t revoked_devices = 0;
  // photos (distinct per district) of live rows not received whole, added
  // up over the districts (OverviewStore::PhotosMissing)
  int64_t photos_missing = 0;
  uint64_t last_seq = 0;
};

Result<Overview> ReadOverview(Db& db);

// The minimal central-office page at GET /: counts by entity and district
// and open conflicts, in Thai and English, UTF-8, readable on a 360-px phone
// (viewport meta, no external assets). A fuller dashboard is a later issue.
std::string DashboardHtml(const Overview& overview);

// Escapes & < > " ' for HTML text and attributes.
std::string HtmlEscape(const std::string& text);

}  // namespace kbo::server

#endif  // KBO_SERVER_REPORTS_H_
