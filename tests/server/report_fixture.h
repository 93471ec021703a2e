#ifndef KBO_TESTS_SERVER_REPORT_FIXTURE_H_
#define KBO_TESTS_SERVER_REPORT_FIXTURE_H_

// A Phrao course in fiscal year 2569 written straight into the server's
// entity tables, with a model of what was written, so the report tests can
// compute every figure by plain loops over the model instead of by SQL:
// 20 live enrolments with five days of known statuses, deleted rows that
// must not count (a producer, an enrolment, a workshop, attendance, a
// score, a product, a visit), a Fang course outside a Phrao scope, an
// empty workshop, a workshop of 2568, three judges scoring three products,
// and visits around the fiscal year boundary.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "shared/sqlite/db.h"
#include "shared/value.h"

namespace kbo::server::testing {

inline constexpr const char* kReportPhrao = "5011";
inline constexpr const char* kReportFang = "5009";

// One row: column names and values.
inline void InsertRow(Db& db, const std::string& table,
                      const std::vector<std::pair<std::string, Value>>& cells) {
  std::string cols, marks;
  for (size_t i = 0; i < cells.size(); ++i) {
    cols += (i ? "," : "") + cells[i].first;
    marks += (i ? ",?" : "?");
  }
  Statement st(db, "INSERT INTO " + table + "(" + cols + ") VALUES (" + marks +
                       ")");
  for (size_t i = 0; i < cells.size(); ++i) {
    st.Bind(static_cast<int>(i) + 1, cells[i].second);
  }
  const Status s = st.Run();
  INFO(s.ToString());
  REQUIRE(s.ok());
}

inline Value Tx(const std::string& s) { return Value::Text(s); }
inline Value In(int64_t v) { return Value::Integer(v); }

// An open (or decided) conflict on one cell of a mark, as the merge keeps
// it (only the columns the reports read matter).
// An open (or decided) conflict on one cell of `entity`'s row `row_id`.
inline void InsertConflict(Db& db, const std::string& id, const std::string& entity,
                           const std::string& row_id, const std::string& column,
                           bool resolved) {
  std::vector<std::pair<std::string, Value>> cells = {
      {"id", Tx(id)},
      {"entity", Tx(entity)},
      {"row_id", Tx(row_id)},
      {"column_name", Tx(column)},
      {"district_code", Tx(kReportPhrao)},
      {"current_value", Tx("late")},
      {"current_type", Tx("text")},
      {"current_device", Tx("d1")},
      {"current_hlc", Tx("1")},
      {"current_seq", In(1)},
      {"incoming_value", Tx("excused")},
      {"incoming_type", Tx("text")},
      {"incoming_device", Tx("d2")},
      {"incoming_hlc", Tx("2")},
      {"incoming_base", In(0)},
      {"incoming_seq", In(2)},
      {"winner", Tx("incoming")},
      {"detected_at", Tx("2026-03-10T02:00:00Z")},
      {"feed_seq", In(1)}};
  if (resolved) cells.push_back({"resolved_at", Tx("2026-03-11T02:00:00Z")});
  InsertRow(db, "conflict", cells);
}

// Participant e00 of `course` enrolled again (as another device did
// offline), named the same but for a title and spacing ("นาย" and spaces
// around: a walk-through saw a title split one person), with day 2 marked
// present there: e00 has days 1, 4 and 5, so 4 days together.
inline void InsertEnrolledAgain(Db& db, const std::string& course) {
  Statement who(db, "SELECT producer_id, participant_name FROM enrolment WHERE id = 'e00'");
  REQUIRE(who.Step());
  const std::string producer = who.ColumnText(0), name = who.ColumnText(1);
  REQUIRE(who.Reset().ok());
  InsertRow(db, "enrolment", {{"id", Tx("e00-again")}, {"workshop_id", Tx(course)},
                              {"producer_id", Tx(producer)},
                              {"participant_name", Tx(" นาย" + name + " ")},
                              {"district_code", Tx(kReportPhrao)}, {"deleted", In(0)}});
  InsertRow(db, "attendance", {{"id", Tx("a00-again-2")}, {"workshop_id", Tx(course)},
                               {"enrolment_id", Tx("e00-again")}, {"day", In(2)},
                               {"status", Tx("present")}, {"district_code", Tx(kReportPhrao)},
                               {"deleted", In(0)}});
}

inline void InsertMarkConflict(Db& db, const std::string& id, const std::string& row_id,
                               const std::string& column, bool resolved) {
  InsertConflict(db, id, "attendance", row_id, column, resolved);
}


struct ProducerModel {
  std::string id, kind, name, district, category;
  bool deleted = false;
};
struct WorkshopModel {
  std::string id, title, district, start_date;
  int64_t fiscal_year = 0;
  bool deleted = false;
};
struct EnrolmentModel {
  std::string id, workshop_id, producer_id, participant;
  std::string district;
  bool deleted = false;
};
struct AttendanceModel {
  std::string id, workshop_id, enrolment_id, status, district;
  int64_t day = 0;
  bool deleted = false;
};
struct ProductModel {
  std::string id, producer_id, name, district, stage;
  bool deleted = false;
};
struct ScoreModel {
  std::string id, product_id, contest, judge, district;
  int64_t criteria[5] = {0, 0, 0, 0, 0};
  bool deleted = false;
};
struct VisitModel {
  std::string id, producer_id, visited_at, next_visit, follow_up, district;
  int64_t fiscal_year = 0;  // of the Bangkok date, worked out by hand
  bool deleted = false;
};

// The status of participant i (0..19) on day d (1..5) in the Phrao course;
// "" means never marked.
inline std::string PhraoStatus(int i, int d) {
  static const char* const kPattern[] = {"present", "late",    "absent",
                                         "excused", "present", "present",
                                         ""};
  return kPattern[(i * 3 + d) % 7];
}

struct ReportData {
  std::vector<ProducerModel> producers;
  std::vector<WorkshopModel> workshops;
  std::vector<EnrolmentModel> enrolments;
  std::vector<AttendanceModel> attendance;
  std::vector<ProductModel> products;
  std::vector<ScoreModel> scores;
  std::vector<VisitModel> visits;

  const std::string course = "w-phrao-2569";
  const std::string empty_course = "w-phrao-empty";
  const std::string fang_course = "w-fang-2569";
  const std::string deleted_course = "w-phrao-deleted";
  const std::string old_course = "w-phrao-2568";
  const std::string contest = "KBO CM CONTEST 2569";
  const std::string today = "2026-01-15";

  explicit ReportData(Db& db) {
    static const char* const kCats[] = {"food", "beverage", "textile",
                                        "household_decor_souvenir",
                                        "herbal_nonfood"};
    auto two = [](int i) {
      return std::string(i < 10 ? "0" : "") + std::to_string(i);
    };
    // Producers: 20 of the course (8 groups, 12 entrepreneurs), two Phrao
    // producers never enrolled this year, one deleted but enrolled, one
    // enrolled in 2568 only, three of Fang.
    for (int i = 0; i < 20; ++i) {
      producers.push_back({"p" + two(i), i < 8 ? "group" : "entrepreneur",
                           "ผู้ผลิตพร้าว " + two(i), kReportPhrao,
                           kCats[i % 5]});
    }
    producers.push_back({"p20", "group", "กลุ่มแม่บ้านเวียง", kReportPhrao,
                         "food"});
    producers.push_back({"p21", "group", "กลุ่มจักสาน", kReportPhrao, ""});
    producers.push_back({"p-del", "group", "ลบแล้ว", kReportPhrao, "food",
                         true});
    producers.push_back({"p-old", "entrepreneur", "ปีก่อน", kReportPhrao,
                         "beverage"});
    producers.push_back({"f0", "group", "กลุ่มฝาง", kReportFang, "food"});
    producers.push_back({"f1", "entrepreneur", "ฝาง 1", kReportFang, "textile"});
    producers.push_back({"f2", "entrepreneur", "ฝาง 2", kReportFang, "food"});

    workshops.push_back({course, "หลักสูตร KBO พร้าว", kReportPhrao,
                         "2025-12-01", 2569});
    workshops.push_back({empty_course, "หลักสูตรว่าง", kReportPhrao,
                         "2026-02-02", 2569});
    workshops.push_back({fang_course, "หลักสูตรฝาง", kReportFang, "2026-01-05",
                         2569});
    workshops.push_back({deleted_course, "ยกเลิก", kReportPhrao, "2026-03-02",
                         2569, true});
    workshops.push_back({old_course, "หลักสูตรปี 2568", kReportPhrao,
                         "2025-09-29", 2568});

    for (int i = 0; i < 20; ++i) {
      enrolments.push_back({"e" + two(i), course, "p" + two(i),
                            "ผู้เข้าอบรม " + two(20 - i), kReportPhrao});
    }
    enrolments.push_back({"e-deleted", course, "p20", "ถอนตัว", kReportPhrao,
                          true});
    enrolments.push_back({"e-of-deleted-producer", course, "p-del", "ลบ",
                          kReportPhrao});
    enrolments.push_back({"e-deleted-course", deleted_course, "p21", "ยกเลิก",
                          kReportPhrao});
    enrolments.push_back({"e-old", old_course, "p-old", "ปีก่อน",
                          kReportPhrao});
    for (int i = 0; i < 3; ++i) {
      enrolments.push_back({"ef" + std::to_string(i), fang_course,
                            "f" + std::to_string(i), "ฝาง", kReportFang});
    }

    for (int i = 0; i < 20; ++i) {
      for (int d = 1; d <= 5; ++d) {
        const std::string status = PhraoStatus(i, d);
        const std::string id = "a" + two(i) + "-" + std::to_string(d);
        if (!status.empty()) {
          attendance.push_back({id, course, "e" + two(i), status, kReportPhrao,
                                d});
        } else {
          // A deleted mark where nothing stands: must stay unmarked.
          attendance.push_back({id, course, "e" + two(i), "present",
                                kReportPhrao, d, true});
        }
      }
    }
    for (int d = 1; d <= 5; ++d) {
      attendance.push_back({"a-del-" + std::to_string(d), course, "e-deleted",
                            "present", kReportPhrao, d});
      attendance.push_back({"a-dp-" + std::to_string(d), course,
                            "e-of-deleted-producer", "present", kReportPhrao,
                            d});
      attendance.push_back({"a-f-" + std::to_string(d), fang_course, "ef0",
                            "present", kReportFang, d});
    }

    // Products: three in the contest, more for stages.
    products.push_back({"pr0", "p00", "ผ้าทอลายดอกพร้าว", kReportPhrao, "idea"});
    products.push_back({"pr1", "p01", "น้ำพริกหนุ่ม", kReportPhrao, "design"});
    products.push_back({"pr2", "p02", "ชาใบหม่อน", kReportPhrao, "prototype"});
    products.push_back({"pr3", "p03", "ตะกร้าไม้ไผ่", kReportPhrao,
                        "prototype"});
    products.push_back({"pr4", "p04", "สบู่สมุนไพร", kReportPhrao,
                        "market_ready"});
    products.push_back({"pr5", "p20", "ข้าวแต๋น", kReportPhrao, ""});
    products.push_back({"pr-del", "p05", "ลบแล้ว", kReportPhrao, "prototype",
                        true});
    products.push_back({"pr-of-del", "p-del", "ของผู้ผลิตที่ลบ", kReportPhrao,
                        "packaging"});
    products.push_back({"pr-f", "f0", "ผ้าฝาง", kReportFang, "packaging"});

    // Three judges; pr0 means 85, pr1 and pr2 tie at 72 (pr2 by two judges).
    auto score = [&](const std::string& id, const std::string& product,
                     const std::string& judge, std::vector<int64_t> c,
                     const std::string& district = kReportPhrao,
                     const std::string& contest_name = "",
                     bool deleted = false) {
      ScoreModel s;
      s.id = id;
      s.product_id = product;
      s.contest = contest_name.empty() ? contest : contest_name;
      s.judge = judge;
      s.district = district;
      for (int k = 0; k < 5; ++k) s.criteria[k] = c[k];
      s.deleted = deleted;
      scores.push_back(s);
    };
    score("s01", "pr0", "กรรมการ ก", {16, 16, 16, 16, 16});  // 80
    score("s02", "pr0", "กรรมการ ข", {17, 17, 17, 17, 17});  // 85
    score("s03", "pr0", "กรรมการ ค", {18, 18, 18, 18, 18});  // 90
    score("s11", "pr1", "กรรมการ ก", {14, 14, 14, 14, 14});  // 70
    score("s12", "pr1", "กรรมการ ข", {15, 15, 15, 15, 15});  // 75
    score("s13", "pr1", "กรรมการ ค", {15, 14, 14, 14, 14});  // 71
    score("s21", "pr2", "กรรมการ ก", {20, 20, 12, 10, 10});  // 72
    score("s22", "pr2", "กรรมการ ข", {12, 12, 16, 16, 16});  // 72
    score("s-del", "pr2", "กรรมการ ค", {20, 20, 20, 20, 20}, kReportPhrao, "",
          true);
    score("s-pdel", "pr-del", "กรรมการ ก", {20, 20, 20, 20, 20});
    score("s-f", "pr-f", "กรรมการ ก", {19, 19, 19, 19, 19}, kReportFang);
    score("s-other", "pr3", "กรรมการ ง", {10, 10, 10, 10, 10}, kReportPhrao,
          "รอบอำเภอพร้าว");

    // Visits. today = 2026-01-15.
    auto visit = [&](const std::string& id, const std::string& producer,
                     const std::string& at, const std::string& next,
                     int64_t fy, const std::string& district = kReportPhrao,
                     bool deleted = false) {
      visits.push_back({id, producer, at, next, "ติดตามผล " + id, district, fy,
                        deleted});
    };
    visit("v00a", "p00", "2025-12-01T03:00:00Z", "2025-12-20", 2569);
    visit("v00b", "p00", "2026-01-05T03:00:00Z", "2026-01-10", 2569);  // 5 late
    visit("v01a", "p01", "2025-12-02T03:00:00Z", "2026-01-01", 2569);
    visit("v01b", "p01", "2026-01-10T03:00:00Z", "", 2569);  // settled
    visit("v02", "p02", "2026-01-03T03:00:00Z", "2026-02-01", 2569);  // future
    visit("v03", "p03", "2026-01-04T03:00:00Z", "2026-01-15", 2569);  // today
    visit("v04a", "p04", "2025-12-15T03:00:00Z", "2025-12-31", 2569);  // 15
    visit("v04b", "p04", "2026-01-12T03:00:00Z", "2026-03-01", 2569,
          kReportPhrao, true);  // deleted: v04a stands
    // 23:59:59 on 30 Sep 2025 in Bangkok, and midnight of 1 Oct.
    visit("v05", "p05", "2025-09-30T16:59:59Z", "", 2568);
    visit("v06", "p06", "2025-09-30T17:00:00Z", "", 2569);
    visit("v-del-producer", "p-del", "2025-12-01T03:00:00Z", "2025-12-02",
          2569);
    visit("vf0", "f0", "2025-10-20T03:00:00Z", "2025-11-01", 2569,
          kReportFang);  // 75 days, outside a Phrao scope

    Write(db);
  }

  void Write(Db& db) const {
    for (const auto& p : producers) {
      InsertRow(db, "producer",
                {{"id", Tx(p.id)},
                 {"kind", Tx(p.kind)},
                 {"name", Tx(p.name)},
                 {"district_code", Tx(p.district)},
                 {"category", p.category.empty() ? Value() : Tx(p.category)},
                 {"deleted", In(p.deleted)}});
    }
    for (const auto& w : workshops) {
      InsertRow(db, "workshop",
                {{"id", Tx(w.id)},
                 {"title", Tx(w.title)},
                 {"fiscal_year", In(w.fiscal_year)},
                 {"venue", Tx("ศาลาประชาคม")},
                 {"district_code", Tx(w.district)},
                 {"start_date", Tx(w.start_date)},
                 {"days", In(5)},
                 {"deleted", In(w.deleted)}});
    }
    for (const auto& e : enrolments) {
      InsertRow(db, "enrolment",
                {{"id", Tx(e.id)},
                 {"workshop_id", Tx(e.workshop_id)},
                 {"producer_id", Tx(e.producer_id)},
                 {"participant_name", Tx(e.participant)},
                 {"district_code", Tx(e.district)},
                 {"deleted", In(e.deleted)}});
    }
    for (const auto& a : attendance) {
      InsertRow(db, "attendance",
                {{"id", Tx(a.id)},
                 {"workshop_id", Tx(a.workshop_id)},
                 {"enrolment_id", Tx(a.enrolment_id)},
                 {"day", In(a.day)},
                 {"status", Tx(a.status)},
                 {"district_code", Tx(a.district)},
                 {"deleted", In(a.deleted)}});
    }
    for (const auto& p : products) {
      InsertRow(db, "product",
                {{"id", Tx(p.id)},
                 {"producer_id", Tx(p.producer_id)},
                 {"name", Tx(p.name)},
                 {"district_code", Tx(p.district)},
                 {"stage", p.stage.empty() ? Value() : Tx(p.stage)},
                 {"deleted", In(p.deleted)}});
    }
    for (const auto& s : scores) {
      InsertRow(db, "contest_score",
                {{"id", Tx(s.id)},
                 {"product_id", Tx(s.product_id)},
                 {"contest", Tx(s.contest)},
                 {"judge", Tx(s.judge)},
                 {"identity", In(s.criteria[0])},
                 {"uniqueness", In(s.criteria[1])},
                 {"quality", In(s.criteria[2])},
                 {"packaging", In(s.criteria[3])},
                 {"marketability", In(s.criteria[4])},
                 {"district_code", Tx(s.district)},
                 {"deleted", In(s.deleted)}});
    }
    for (const auto& v : visits) {
      InsertRow(db, "visit",
                {{"id", Tx(v.id)},
                 {"producer_id", Tx(v.producer_id)},
                 {"visited_at", Tx(v.visited_at)},
                 {"follow_up", Tx(v.follow_up)},
                 {"next_visit", v.next_visit.empty() ? Value() : Tx(v.next_visit)},
                 {"district_code", Tx(v.district)},
                 {"deleted", In(v.deleted)}});
    }
  }

  // ---- Lookups for the tests' own arithmetic --------------------------------
  const ProducerModel* Producer(const std::string& id) const {
    for (const auto& p : producers) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }
  const WorkshopModel* Workshop(const std::string& id) const {
    for (const auto& w : workshops) {
      if (w.id == id) return &w;
    }
    return nullptr;
  }
  const ProductModel* Product(const std::string& id) const {
    for (const auto& p : products) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }
};

}  // namespace kbo::server::testing

#endif  // KBO_TESTS_SERVER_REPORT_FIXTURE_H_
