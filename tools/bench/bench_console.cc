// Console benchmark (issue 10 §11): a generated province -- 1,181 producers,
// 30 workshops x 15 participants x 5 days of attendance, 3,000 visits,
// 5,000 photo rows, 200 conflicts -- and every console page and report
// answered through console::Console::Handle (the server's own router, role
// checks, session lookup and page building; no socket, so the figure is the
// server's work alone). Each page is asked `ROUNDS` times; the 95th
// percentile must stay under 200 ms. Beside it, the floor measured in the
// same run: one raw SQLite pass counting every row of the province's
// tables, the least any page that summarises the province could cost.
// Prints one JSON line. Usage: bench_console [ROUNDS]   (default 30)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "server/console/console.h"
#include "server/console/users.h"
#include "server/log.h"
#include "server/server_store.h"
#include "shared/entities.h"
#include "shared/uuid.h"

namespace {

using Clock = std::chrono::steady_clock;
using kbo::Status;
using kbo::Uuid;
namespace console = kbo::server::console;

void Die(const Status& s, const char* what) {
  std::fprintf(stderr, "bench_console: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

double Ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[i];
}

const char* const kDistricts[] = {"5011", "5001", "5009", "5004", "5006"};
const char* const kCategories[] = {"food", "beverage", "textile",
                                   "household_decor_souvenir", "herbal_nonfood"};
const char* const kStatuses[] = {"present", "present", "present", "late",
                                 "absent", "excused"};
const char* const kStages[] = {"idea", "design", "prototype", "packaging",
                               "market_ready"};

struct Province {
  std::vector<std::string> producers, workshops, products;
  std::string conflict;
};

void Exec(kbo::Statement& st) {
  Status s = st.Run();
  if (s.ok()) s = st.Reset();
  if (!s.ok()) Die(s, "insert");
}

// The province, written straight into the server's tables (not timed).
Province Generate(kbo::server::ServerStore& store) {
  kbo::Db& db = store.db();
  Province p;
  kbo::Transaction tx(db);
  if (!tx.status().ok()) Die(tx.status(), "begin");
  {
    kbo::Statement st(db,
                      "INSERT INTO producer(id, kind, name, district_code, "
                      "tambon, phone, category, otop_stars, deleted) VALUES "
                      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)");
    for (int i = 0; i < 1181; ++i) {
      const std::string id = Uuid::Random().ToString();
      p.producers.push_back(id);
      st.Bind(1, std::string_view(id))
          .Bind(2, std::string_view(i % 3 ? "group" : "entrepreneur"))
          .Bind(3, std::string_view("กลุ่มผู้ผลิตที่ " + std::to_string(i)))
          .Bind(4, std::string_view(kDistricts[i % 5]))
          .Bind(5, std::string_view("ป่าตุ้ม"))
          .Bind(6, std::string_view("08" + std::to_string(10000000 + i)))
          .Bind(7, std::string_view(kCategories[i % 5]))
          .Bind(8, int64_t{i % 6});
      Exec(st);
    }
  }
  {
    kbo::Statement st(db,
                      "INSERT INTO product(id, producer_id, name, district_code, "
                      "category, stage, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)");
    for (int i = 0; i < 600; ++i) {
      const std::string id = Uuid::Random().ToString();
      p.products.push_back(id);
      st.Bind(1, std::string_view(id))
          .Bind(2, std::string_view(p.producers[static_cast<size_t>(i)]))
          .Bind(3, std::string_view("ผลิตภัณฑ์ " + std::to_string(i)))
          .Bind(4, std::string_view(kDistricts[i % 5]))
          .Bind(5, std::string_view(kCategories[i % 5]))
          .Bind(6, std::string_view(kStages[i % 5]));
      Exec(st);
    }
  }
  kbo::Statement ws(db,
                    "INSERT INTO workshop(id, title, fiscal_year, district_code, "
                    "start_date, days, deleted) VALUES (?1, ?2, 2569, ?3, "
                    "'2025-11-03', 5, 0)");
  kbo::Statement en(db,
                    "INSERT INTO enrolment(id, workshop_id, producer_id, "
                    "participant_name, district_code, deleted) VALUES (?1, ?2, "
                    "?3, ?4, ?5, 0)");
  kbo::Statement at(db,
                    "INSERT INTO attendance(id, workshop_id, enrolment_id, day, "
                    "status, district_code, deleted) VALUES (?1, ?2, ?3, ?4, ?5, "
                    "?6, 0)");
  for (int w = 0; w < 30; ++w) {
    const std::string wid = Uuid::Random().ToString();
    p.workshops.push_back(wid);
    const std::string district = kDistricts[w % 5];
    ws.Bind(1, std::string_view(wid))
        .Bind(2, std::string_view("พัฒนาผลิตภัณฑ์ KBO รุ่นที่ " + std::to_string(w + 1)))
        .Bind(3, std::string_view(district));
    Exec(ws);
    for (int e = 0; e < 15; ++e) {
      const std::string eid = Uuid::Random().ToString();
      const size_t producer = static_cast<size_t>((w * 15 + e) % 1181);
      en.Bind(1, std::string_view(eid))
          .Bind(2, std::string_view(wid))
          .Bind(3, std::string_view(p.producers[producer]))
          .Bind(4, std::string_view("ผู้เข้าอบรม " + std::to_string(e)))
          .Bind(5, std::string_view(district));
      Exec(en);
      for (int d = 1; d <= 5; ++d) {
        at.Bind(1, std::string_view(Uuid::Random().ToString()))
            .Bind(2, std::string_view(wid))
            .Bind(3, std::string_view(eid))
            .Bind(4, int64_t{d})
            .Bind(5, std::string_view(kStatuses[(e + d) % 6]))
            .Bind(6, std::string_view(district));
        Exec(at);
      }
    }
  }
  {
    kbo::Statement st(db,
                      "INSERT INTO visit(id, producer_id, visited_at, purpose, "
                      "next_visit, district_code, deleted) VALUES (?1, ?2, ?3, "
                      "'follow_up', ?4, ?5, 0)");
    for (int i = 0; i < 3000; ++i) {
      const size_t producer = static_cast<size_t>(i % 1181);
      st.Bind(1, std::string_view(Uuid::Random().ToString()))
          .Bind(2, std::string_view(p.producers[producer]))
          .Bind(3, std::string_view("2025-1" + std::to_string(i % 2) + "-1" +
                                    std::to_string(i % 10) + "T03:00:00Z"))
          .Bind(4, std::string_view(i % 3 ? "2026-01-15" : "2025-11-20"))
          .Bind(5, std::string_view(kDistricts[producer % 5]));
      Exec(st);
    }
  }
  {
    kbo::Statement st(db,
                      "INSERT INTO photo(id, subject_type, subject_id, sha256, "
                      "bytes, mime, taken_at, caption, district_code, deleted) "
                      "VALUES (?1, ?2, ?3, ?4, 1000, 'image/jpeg', "
                      "'2025-11-04T04:00:00Z', ?5, ?6, 0)");
    for (int i = 0; i < 5000; ++i) {
      const bool product = i % 2 == 0;
      const size_t n = static_cast<size_t>(i);
      const std::string subject =
          product ? p.products[n % p.products.size()]
                  : p.workshops[n % p.workshops.size()];
      char sha[65];
      std::snprintf(sha, sizeof sha, "%064x", i + 1);
      st.Bind(1, std::string_view(Uuid::Random().ToString()))
          .Bind(2, std::string_view(product ? "product" : "workshop"))
          .Bind(3, std::string_view(subject))
          .Bind(4, std::string_view(sha))
          .Bind(5, std::string_view("ภาพที่ " + std::to_string(i)))
          .Bind(6, std::string_view(kDistricts[n % 5]));
      Exec(st);
    }
  }
  {
    kbo::Statement st(db,
                      "INSERT INTO conflict(id, entity, row_id, column_name, "
                      "district_code, current_value, current_type, "
                      "current_device, current_hlc, current_seq, incoming_value, "
                      "incoming_type, incoming_device, incoming_hlc, "
                      "incoming_base, incoming_seq, winner, detected_at, "
                      "feed_seq) VALUES (?1, 'producer', ?2, 'phone', ?3, "
                      "'0811111111', 'text', ?4, '0000018e2a1b3c00-0000-' || ?4, "
                      "?5, '0822222222', 'text', ?4, "
                      "'0000018e2a1b3c01-0000-' || ?4, 1, ?6, 'incoming', "
                      "'2025-11-04T04:00:00Z', ?7)");
    for (int i = 0; i < 200; ++i) {
      const std::string id = Uuid::Random().ToString();
      if (i == 0) p.conflict = id;
      const size_t producer = static_cast<size_t>(i * 5);
      st.Bind(1, std::string_view(id))
          .Bind(2, std::string_view(p.producers[producer]))
          .Bind(3, std::string_view(kDistricts[producer % 5]))
          .Bind(4, std::string_view(Uuid::Random().ToString()))
          .Bind(5, int64_t{10 + i})
          .Bind(6, int64_t{1000 + i})
          .Bind(7, int64_t{2000 + i});
      Exec(st);
    }
  }
  Status s = tx.Commit();
  if (!s.ok()) Die(s, "commit");
  return p;
}

// One raw pass over the province: COUNT(*) of every entity table.
double Floor(kbo::Db& db) {
  const auto t0 = Clock::now();
  int64_t rows = 0;
  for (const kbo::Entity& e : kbo::Catalogue()) {
    kbo::Statement st(db, "SELECT COUNT(*) FROM " + std::string(e.name) +
                              " WHERE deleted = 0");
    if (st.Step()) rows += st.ColumnInt(0);
  }
  if (rows == 0) std::exit(1);
  return Ms(t0);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(5, std::atoi(argv[1])) : 30;
  kbo::server::SetLogEnabled(false);
  char tmpl[] = "/tmp/kbo-bench-console-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;
  auto opened = kbo::server::ServerStore::Open(dir + "/data");
  if (!opened.ok()) Die(opened.status(), "open");
  kbo::server::ServerStore& store = **opened;
  const Province p = Generate(store);

  console::Users users(store);
  auto all = kbo::server::Scope::Parse("all");
  const std::string password = "bench password 2569";
  if (!users.Add("office", console::WebRole::kAdmin, *all, password, "bench").ok()) {
    return 1;
  }
  auto signed_in = users.SignIn("office", password, "127.0.0.1");
  if (!signed_in.ok()) Die(signed_in.status(), "sign in");
  console::Console con(store);

  const std::string w = p.workshops[0];
  const std::vector<std::string> pages = {
      "/",
      "/conflicts",
      "/conflicts/" + p.conflict,
      "/reports",
      "/reports/reach?fiscal_year=2569",
      "/reports/attendance?workshop=" + w,
      "/reports/certificates?workshop=" + w,
      "/reports/contest",
      "/reports/stages",
      "/reports/followups",
      "/data",
      "/data/producer",
      "/data/producer?district=5011&q=1",
      "/data/attendance?workshop=" + w,
      "/data/producer/" + p.producers[0],
      "/photos",
      "/quality",
      "/devices",
      "/tokens",
      "/users",
      "/audit",
      "/exports",
      "/api/overview",
      "/api/conflicts",
      "/api/reports/reach?fiscal_year=2569",
  };
  const double floor_ms = Floor(store.db());
  std::string out = "{\"bench\":\"console\",\"rounds\":" + std::to_string(rounds) +
                    ",\"floor_ms\":" + std::to_string(floor_ms) + ",\"pages\":[";
  double worst = 0;
  std::string worst_page;
  bool first = true;
  for (const std::string& url : pages) {
    console::Request req;
    req.method = "GET";
    const size_t q = url.find('?');
    req.path = url.substr(0, q);
    if (q != std::string::npos) {
      std::string rest = url.substr(q + 1);
      size_t pos = 0;
      while (pos <= rest.size()) {
        size_t amp = rest.find('&', pos);
        if (amp == std::string::npos) amp = rest.size();
        const std::string kv = rest.substr(pos, amp - pos);
        const size_t eq = kv.find('=');
        if (eq != std::string::npos) {
          req.query.emplace(kv.substr(0, eq), kv.substr(eq + 1));
        }
        pos = amp + 1;
      }
    }
    req.cookies["kbo_session"] = signed_in->cookie;
    req.remote_addr = "127.0.0.1";
    std::vector<double> times;
    int status = 0;
    size_t bytes = 0;
    for (int r = 0; r <= rounds; ++r) {
      const auto t0 = Clock::now();
      console::Reply reply = con.Handle(req);
      const double ms = Ms(t0);
      status = reply.status;
      bytes = reply.body.size();
      if (r > 0) times.push_back(ms);  // the first warms the caches
    }
    if (status >= 400 && status != 404) {
      std::fprintf(stderr, "bench_console: %s answered %d\n", url.c_str(), status);
      return 1;
    }
    const double p95 = Percentile(times, 0.95);
    if (p95 > worst) worst = p95, worst_page = url;
    char line[512];
    std::snprintf(line, sizeof line,
                  "%s{\"page\":\"%s\",\"status\":%d,\"bytes\":%zu,\"p50_ms\":%.2f,"
                  "\"p95_ms\":%.2f,\"p95_over_floor\":%.1f}",
                  first ? "" : ",", url.substr(0, 60).c_str(), status, bytes,
                  Percentile(times, 0.5), p95, p95 / floor_ms);
    out += line;
    first = false;
  }
  char tail[256];
  std::snprintf(tail, sizeof tail,
                "],\"worst_p95_ms\":%.2f,\"worst_page\":\"%s\",\"target_ms\":200,"
                "\"met\":%s}",
                worst, worst_page.substr(0, 60).c_str(), worst < 200 ? "true" : "false");
  out += tail;
  std::printf("%s\n", out.c_str());
  std::filesystem::remove_all(dir);
  return 0;
}
