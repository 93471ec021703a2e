#include "server/reports.h"

#include <set>

#include "server/storage/overview.h"
#include "shared/entities.h"

namespace kbo::server {
namespace {

std::string DistrictLabel(const std::string& code) {
  if (code.empty()) return "-";
  const District* d = FindDistrict(code);
  if (d == nullptr) return code;
  return std::string(d->name_th) + " / " + std::string(d->name_en) + " (" +
         code + ")";
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Result<Overview> ReadOverview(Db& db) {
  storage::OverviewStore store(db);
  Overview o;
  for (const Entity& entity : Catalogue()) {
    EntityCounts counts;
    counts.entity = std::string(entity.name);
    KBO_ASSIGN_OR_RETURN(counts.by_district, store.LiveRowsByDistrict(entity));
    for (const auto& [district, n] : counts.by_district) counts.total += n;
    o.entities.push_back(std::move(counts));
  }
  KBO_ASSIGN_OR_RETURN(o.open_conflicts, store.OpenConflicts());
  KBO_ASSIGN_OR_RETURN(o.devices, store.Devices());
  KBO_ASSIGN_OR_RETURN(o.revoked_devices, store.RevokedDevices());
  KBO_ASSIGN_OR_RETURN(o.photos_missing, store.PhotosMissing());
  KBO_ASSIGN_OR_RETURN(const int64_t next, store.NextSeq());
  o.last_seq = next > 0 ? static_cast<uint64_t>(next - 1) : 0;
  return o;
}

std::string DashboardHtml(const Overview& o) {
  std::set<std::string> districts;
  for (const EntityCounts& e : o.entities) {
    for (const auto& [d, n] : e.by_district) districts.insert(d);
  }
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"th\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, "
       "initial-scale=1\">\n"
       "<title>KBO Field — ภาพรวม / Overview</title>\n<style>\n"
       "body{font-family:system-ui,sans-serif;margin:0;padding:12px;color:#222}"
       "\n"
       "h1{font-size:1.25rem;margin:0 0 8px}h2{font-size:1.05rem;margin:16px 0 "
       "6px}\n"
       ".cards{display:flex;flex-wrap:wrap;gap:8px}\n"
       ".card{border:1px solid #ccc;border-radius:8px;padding:8px "
       "12px;min-width:130px}\n"
       ".card b{display:block;font-size:1.4rem}\n"
       ".wrap{overflow-x:auto}table{border-collapse:collapse;font-size:.9rem}\n"
       "th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}\n"
       "th:first-child,td:first-child{text-align:left}\n"
       ".warn b{color:#b00020}\n</style>\n</head>\n<body>\n"
       "<h1>KBO Field — ศูนย์ข้อมูลจังหวัด / Province overview</h1>\n<div "
       "class=\"cards\">\n";
  h += "<div class=\"card" + std::string(o.open_conflicts > 0 ? " warn" : "") +
       "\"><b>" + std::to_string(o.open_conflicts) +
       "</b>ข้อขัดแย้งที่รอแก้ไข<br>open conflicts</div>\n";
  h += "<div class=\"card\"><b>" +
       std::to_string(o.devices - o.revoked_devices) +
       "</b>อุปกรณ์ที่ลงทะเบียน<br>enrolled devices</div>\n";
  h += "<div class=\"card" + std::string(o.photos_missing > 0 ? " warn" : "") +
       "\"><b>" + std::to_string(o.photos_missing) +
       "</b>รูปที่ยังไม่ได้รับ<br>photos not yet received</div>\n";
  h += "<div class=\"card\"><b>" + std::to_string(o.last_seq) +
       "</b>ลำดับล่าสุด<br>last sequence</div>\n</div>\n";
  h += "<h2>จำนวนรายการตามอำเภอ / Records by district</h2>\n<div "
       "class=\"wrap\"><table>\n"
       "<tr><th>อำเภอ / District</th>";
  for (const EntityCounts& e : o.entities)
    h += "<th>" + HtmlEscape(e.entity) + "</th>";
  h += "</tr>\n";
  for (const std::string& d : districts) {
    h += "<tr><td>" + HtmlEscape(DistrictLabel(d)) + "</td>";
    for (const EntityCounts& e : o.entities) {
      auto it = e.by_district.find(d);
      h += "<td>" + std::to_string(it == e.by_district.end() ? 0 : it->second) +
           "</td>";
    }
    h += "</tr>\n";
  }
  h += "<tr><th>รวม / Total</th>";
  for (const EntityCounts& e : o.entities)
    h += "<th>" + std::to_string(e.total) + "</th>";
  h += "</tr>\n</table></div>\n</body>\n</html>\n";
  return h;
}

}  // namespace kbo::server
