#ifndef KBO_TOOLS_BENCH_CLIENT_WRITE_H_
#define KBO_TOOLS_BENCH_CLIENT_WRITE_H_

// The client write benchmark's setup and floor, shared by bench_client_write
// (native) and the phone app's batch benchmark (client/app/bench_main.cc,
// WebAssembly on the browser's storage): the workload's workshops and
// enrolments recorded through ClientStore, a mark as the store takes it,
// and the raw SQLite floor (the same attendance table and pragmas, a
// prepared INSERT).

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client/store.h"
#include "schema/schema.h"
#include "shared/sqlite/migrate.h"
#include "tools/bench/workload.h"

namespace kbo::bench {

inline void Die(const kbo::Status& s, const char* what) {
  std::fprintf(stderr, "bench: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

struct Prepared {
  std::unique_ptr<kbo::client::ClientStore> store;
  std::map<std::string, std::string> workshop_ids;   // workload id -> store id
  std::map<std::string, std::string> enrolment_ids;  // participant -> store id
};

// Workshops and enrolments for every workload participant (not timed).
inline Prepared Prepare(const std::string& dir, const kbo::bench::Workload& w, size_t n) {
  Prepared p;
  auto store = kbo::client::ClientStore::Open(dir);
  if (!store.ok()) Die(store.status(), "open store");
  p.store = std::move(store).value();
  auto producer = p.store->Record(
      "producer", {{"kind", Value::Text("group")}, {"name", Value::Text("กลุ่มทดสอบ")},
                   {"district_code", Value::Text("5011")}});
  if (!producer.ok()) Die(producer.status(), "producer");
  std::vector<RowValues> workshops;
  for (size_t i = 0; i < w.workshops.size(); ++i) {
    workshops.push_back({{"title", Value::Text("เวิร์กช็อป " + std::to_string(i))},
                         {"fiscal_year", Value::Integer(2568)},
                         {"district_code", Value::Text("5011")},
                         {"start_date", Value::Text("2025-01-06")}});
  }
  auto ws = p.store->RecordAll("workshop", workshops);
  if (!ws.ok()) Die(ws.status(), "workshops");
  for (size_t i = 0; i < w.workshops.size(); ++i) {
    p.workshop_ids[w.workshops[i]] = (*ws)[i].ToString();
  }
  std::vector<RowValues> enrolments;
  std::vector<std::string> participants;
  for (size_t i = 0; i < n; i += 5) {
    const auto& r = w.records[i];
    participants.push_back(r.participant_id);
    enrolments.push_back({{"workshop_id", Value::Text(p.workshop_ids[r.workshop_id])},
                          {"producer_id", Value::Text(producer->ToString())},
                          {"participant_name", Value::Text("ผู้เข้าร่วม " + r.participant_id.substr(0, 8))}});
  }
  auto en = p.store->RecordAll("enrolment", enrolments);
  if (!en.ok()) Die(en.status(), "enrolments");
  for (size_t i = 0; i < participants.size(); ++i) {
    p.enrolment_ids[participants[i]] = (*en)[i].ToString();
  }
  return p;
}

inline RowValues Mark(Prepared& p, const kbo::bench::AttendanceRecord& r) {
  return {{"workshop_id", Value::Text(p.workshop_ids[r.workshop_id])},
          {"enrolment_id", Value::Text(p.enrolment_ids[r.participant_id])},
          {"day", Value::Integer(r.day)},
          {"status", Value::Text(r.status)},
          {"note", Value::Text(r.note)}};
}

// The floor: the same attendance table, the same pragmas, raw prepared inserts.
inline std::unique_ptr<kbo::Db> RawDb(const std::string& path) {
  auto db = kbo::Db::Open(path);
  if (!db.ok()) Die(db.status(), "raw db");
  if (auto s = kbo::Migrate(**db, kbo::schema::kReplicaMigrations,
                            kbo::schema::kReplicaMigrations_count);
      !s.ok()) {
    Die(s, "raw migrate");
  }
  return std::move(db).value();
}

// The floor's statement: one attendance row, prepared once per connection
// (bench_client_write, the app's batch, bench_sync's raw floor).
inline Status InsertRawAttendance(kbo::Db& db, const AttendanceRecord& r) {
  kbo::Statement& st = db.Cached(
      "INSERT INTO attendance (id, workshop_id, enrolment_id, day, status, note, "
      "district_code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  st.Bind(1, std::string_view(r.id))
      .Bind(2, std::string_view(r.workshop_id))
      .Bind(3, std::string_view(r.participant_id))
      .Bind(4, static_cast<int64_t>(r.day))
      .Bind(5, std::string_view(r.status))
      .Bind(6, std::string_view(r.note))
      .Bind(7, std::string_view("5011"));
  return st.Run();
}

inline void RawInsert(kbo::Db& db, const AttendanceRecord& r) {
  if (auto s = InsertRawAttendance(db, r); !s.ok()) Die(s, "raw insert");
}

}  // namespace kbo::bench

#endif  // KBO_TOOLS_BENCH_CLIENT_WRITE_H_
