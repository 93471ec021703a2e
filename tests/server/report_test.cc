// The office's reports (server/report_queries.h) over a Phrao course written
// straight into the server's tables (tests/server/report_fixture.h). Every
// expected figure is worked out here by loops over the fixture's model (or
// by hand, where a comment says so), never by the SQL under test.

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "server/export_tables.h"
#include "server/report_cmds.h"
#include "server/report_queries.h"
#include "tests/server/report_fixture.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

using nlohmann::json;

Scope PhraoScope() {
  Scope s;
  s.districts = {kReportPhrao};
  return s;
}
Scope AllScope() {
  Scope s;
  s.all = true;
  return s;
}

ReportFilter Filter(const Scope& scope, std::optional<int64_t> fy = 2569) {
  ReportFilter f;
  f.scope = scope;
  f.fiscal_year = fy;
  return f;
}

struct Counts {
  int64_t group = 0, entrepreneur = 0, total = 0;
  void Add(const std::string& kind) {
    if (kind == "group") ++group;
    if (kind == "entrepreneur") ++entrepreneur;
    ++total;
  }
};

void CheckCounts(const KindCounts& got, const Counts& want) {
  CHECK(got.group == want.group);
  CHECK(got.entrepreneur == want.entrepreneur);
  CHECK(got.total == want.total);
}

// Reach by the definition: a live producer in scope with a live enrolment
// in a live workshop of the year.
struct ExpectedReach {
  Counts producers, reached;
  std::map<std::string, std::pair<Counts, Counts>> by_district, by_category;
};

ExpectedReach ComputeReach(const ReportData& d, const Scope& scope,
                           int64_t fy) {
  ExpectedReach r;
  for (const auto& p : d.producers) {
    if (p.deleted || !scope.Contains(p.district)) continue;
    bool reached = false;
    for (const auto& e : d.enrolments) {
      const WorkshopModel* w = d.Workshop(e.workshop_id);
      if (e.producer_id == p.id && !e.deleted && w && !w->deleted &&
          w->fiscal_year == fy) {
        reached = true;
      }
    }
    r.producers.Add(p.kind);
    r.by_district[p.district].first.Add(p.kind);
    r.by_category[p.category].first.Add(p.kind);
    if (reached) {
      r.reached.Add(p.kind);
      r.by_district[p.district].second.Add(p.kind);
      r.by_category[p.category].second.Add(p.kind);
    }
  }
  return r;
}

void CheckReach(const ReportData& d, const Scope& scope, int64_t fy,
                const ReachReport& got) {
  const ExpectedReach want = ComputeReach(d, scope, fy);
  CHECK(got.fiscal_year == fy);
  CheckCounts(got.producers, want.producers);
  CheckCounts(got.reached, want.reached);
  REQUIRE(got.by_district.size() == want.by_district.size());
  for (const ReachRow& row : got.by_district) {
    CAPTURE(row.key);
    REQUIRE(want.by_district.count(row.key) == 1);
    CheckCounts(row.producers, want.by_district.at(row.key).first);
    CheckCounts(row.reached, want.by_district.at(row.key).second);
  }
  // Every category listed, in the labels' order, then the uncategorised.
  std::vector<std::string> keys;
  for (const ReachRow& row : got.by_category) {
    CAPTURE(row.key);
    keys.push_back(row.key);
    auto it = want.by_category.find(row.key);
    if (it == want.by_category.end()) {
      CHECK(row.producers.total == 0);
      CHECK(row.reached.total == 0);
      continue;
    }
    CheckCounts(row.producers, it->second.first);
    CheckCounts(row.reached, it->second.second);
  }
  CHECK(keys.size() >= 5);
  CHECK(keys[0] == "food");
  CHECK(keys[4] == "herbal_nonfood");
}

// `kbo-server report ARGS` on the fixture's store: what it prints, the
// command checked to succeed.
std::string ReportText(ServerFixture& f, const std::vector<std::string>& args) {
  std::ostringstream out;
  bool usage = false;
  const Status s = ReportCommand(
      "report", args, [&]() -> Result<ServerStore*> { return f.store.get(); }, out, &usage);
  INFO(s.ToString());
  CHECK(s.ok());
  return out.str();
}

TEST_CASE("Reports: reach counts producers enrolled in the year's live "
          "workshops, by district and category",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());

  auto phrao = Reach(f.store->db(), Filter(PhraoScope()));
  REQUIRE(phrao.ok());
  CheckReach(d, PhraoScope(), 2569, *phrao);
  // By hand: 8 groups and 12 entrepreneurs of the course; p20 (deleted
  // enrolment), p21 (deleted workshop), p-del (deleted producer) and p-old
  // (2568) are not reached.
  CHECK(phrao->reached.group == 8);
  CHECK(phrao->reached.entrepreneur == 12);
  CHECK(phrao->reached.total == 20);
  CHECK(phrao->producers.total == 23);
  CHECK(phrao->workshops == 2);     // the course and the empty one
  CHECK(phrao->enrolments == 20);   // live, of live producers
  CHECK(phrao->target.groups == 94);
  CHECK(phrao->target.entrepreneurs == 206);
  CHECK(phrao->target.total() == 300);
  CHECK(phrao->target.producers == 1181);
  CHECK(phrao->target.is_default);

  auto all = Reach(f.store->db(), Filter(AllScope()));
  REQUIRE(all.ok());
  CheckReach(d, AllScope(), 2569, *all);
  CHECK(all->reached.total == 23);
  CHECK(all->by_district.size() == 2);

  auto old = Reach(f.store->db(), Filter(PhraoScope(), 2568));
  REQUIRE(old.ok());
  CheckReach(d, PhraoScope(), 2568, *old);
  CHECK(old->reached.total == 1);

  SECTION("without a year, the latest year of a workshop in scope") {
    auto latest = Reach(f.store->db(), Filter(PhraoScope(), std::nullopt));
    REQUIRE(latest.ok());
    CHECK(latest->fiscal_year == 2569);
  }
  SECTION("a district filter narrows, never widens, the scope") {
    ReportFilter fang = Filter(PhraoScope());
    fang.district = kReportFang;
    auto r = Reach(f.store->db(), fang);
    REQUIRE(r.ok());
    CHECK(r->producers.total == 0);
    CHECK(r->reached.total == 0);
    CHECK(r->by_district.empty());

    ReportFilter fang_all = Filter(AllScope());
    fang_all.district = kReportFang;
    auto r2 = Reach(f.store->db(), fang_all);
    REQUIRE(r2.ok());
    Scope only_fang;
    only_fang.districts = {kReportFang};
    CheckReach(d, only_fang, 2569, *r2);
    CHECK(r2->reached.total == 3);
  }
  SECTION("targets set for the year replace the defaults, other years keep "
          "them") {
    REQUIRE(SetTarget(f.store->db(), 2569, 10, 20, 500).ok());
    REQUIRE(SetTarget(f.store->db(), 2569, 12, 25, 600).ok());  // upsert
    auto r = Reach(f.store->db(), Filter(PhraoScope()));
    REQUIRE(r.ok());
    CHECK(r->target.groups == 12);
    CHECK(r->target.entrepreneurs == 25);
    CHECK(r->target.total() == 37);
    CHECK(r->target.producers == 600);
    CHECK_FALSE(r->target.is_default);
    auto o = Reach(f.store->db(), Filter(PhraoScope(), 2568));
    REQUIRE(o.ok());
    CHECK(o->target.total() == 300);
  }
  SECTION("the JSON has DESIGN's keys") {
    const json j = json::parse(ReachJson(*phrao));
    CHECK(j["fiscal_year"] == 2569);
    CHECK(j["target"]["group"] == 94);
    CHECK(j["target"]["entrepreneur"] == 206);
    CHECK(j["target"]["total"] == 300);
    CHECK(j["reached"]["group"] == 8);
    CHECK(j["reached"]["entrepreneur"] == 12);
    CHECK(j["reached"]["total"] == 20);
    REQUIRE(j["by_district"].is_array());
    REQUIRE(j["by_district"].size() == 1);
    CHECK(j["by_district"][0]["district_code"] == kReportPhrao);
    CHECK(j["by_district"][0]["reached"]["total"] == 20);
    CHECK(j["by_category"].size() >= 5);
  }
}

TEST_CASE("Reports: reach limits (empty store, bad year, bad district, "
          "bad targets)",
          "[reports]") {
  ServerFixture f;
  Db& db = f.store->db();
  auto none = Reach(db, Filter(AllScope(), std::nullopt));
  CHECK(none.status().code() == Code::kNotFound);
  auto empty = Reach(db, Filter(AllScope(), 2569));
  REQUIRE(empty.ok());
  CHECK(empty->reached.total == 0);
  CHECK(empty->producers.total == 0);
  CHECK(empty->by_district.empty());
  CHECK(empty->by_category.size() == 5);
  CHECK(empty->target.total() == 300);
  const json j = json::parse(ReachJson(*empty));
  CHECK(j["by_district"].is_array());

  CHECK(Reach(db, Filter(AllScope(), 69)).status().code() ==
        Code::kInvalidArgument);
  ReportFilter bad = Filter(AllScope());
  bad.district = "9999";
  CHECK(Reach(db, bad).status().code() == Code::kInvalidArgument);

  CHECK(SetTarget(db, 2569, -1, 5, 100).code() == Code::kInvalidArgument);
  CHECK(SetTarget(db, 2569, 60, 50, 100).code() == Code::kInvalidArgument);
  CHECK(SetTarget(db, 12, 1, 1, 100).code() == Code::kInvalidArgument);
  CHECK(SetTarget(db, 2569, 0, 0, 0).ok());
  auto zero = LoadTarget(db, 2569);
  REQUIRE(zero.ok());
  CHECK(zero->total() == 0);
  CHECK_FALSE(zero->is_default);
}

// The attendance grid as the model says it should be.
struct ExpectedRow {
  std::string enrolment_id, participant;
  std::vector<std::string> statuses;
};

std::vector<ExpectedRow> ComputeGrid(const ReportData& d,
                                     const std::string& workshop) {
  std::vector<ExpectedRow> rows;
  for (const auto& e : d.enrolments) {
    const ProducerModel* p = d.Producer(e.producer_id);
    if (e.workshop_id != workshop || e.deleted || (p && p->deleted)) continue;
    ExpectedRow row{e.id, e.participant, std::vector<std::string>(5)};
    for (const auto& a : d.attendance) {
      if (a.enrolment_id == e.id && !a.deleted) row.statuses[a.day - 1] = a.status;
    }
    rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.participant, a.enrolment_id) <
           std::tie(b.participant, b.enrolment_id);
  });
  return rows;
}

TEST_CASE("Reports: the attendance grid shows each participant's days and "
          "the daily rates over the enrolled",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());
  auto g = Attendance(f.store->db(), d.course, PhraoScope());
  REQUIRE(g.ok());
  CHECK(g->title == "หลักสูตร KBO พร้าว");
  CHECK(g->fiscal_year == 2569);
  CHECK(g->start_date == "2025-12-01");
  CHECK(g->days == 5);
  CHECK(g->enrolled == 20);

  const std::vector<ExpectedRow> want = ComputeGrid(d, d.course);
  REQUIRE(want.size() == 20);
  REQUIRE(g->participants.size() == want.size());
  std::vector<int64_t> attended_by_day(5, 0), marked_by_day(5, 0);
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    const AttendanceRow& row = g->participants[i];
    CHECK(row.enrolment_id == want[i].enrolment_id);
    CHECK(row.participant_name == want[i].participant);
    CHECK(row.statuses == want[i].statuses);
    CHECK_FALSE(row.producer_name.empty());
    int64_t attended = 0;
    for (int day = 0; day < 5; ++day) {
      const std::string& s = want[i].statuses[day];
      if (s == "present" || s == "late") {
        ++attended;
        ++attended_by_day[day];
      }
      if (!s.empty()) ++marked_by_day[day];
    }
    CHECK(row.days_attended == attended);
  }
  // Participants are sorted by name: ผู้เข้าอบรม 01 is e19.
  CHECK(g->participants.front().enrolment_id == "e19");

  REQUIRE(g->daily.size() == 5);
  const char* dates[] = {"2025-12-01", "2025-12-02", "2025-12-03",
                         "2025-12-04", "2025-12-05"};
  for (int day = 0; day < 5; ++day) {
    CAPTURE(day);
    const AttendanceDay& dd = g->daily[day];
    CHECK(dd.day == day + 1);
    CHECK(dd.date == dates[day]);
    CHECK(dd.present + dd.late == attended_by_day[day]);
    CHECK(dd.present + dd.late + dd.absent + dd.excused == marked_by_day[day]);
    CHECK(dd.unmarked == 20 - marked_by_day[day]);
    REQUIRE(dd.rate.has_value());
    CHECK(*dd.rate == Approx(attended_by_day[day] / 20.0));
  }
  // Day 1 by hand: (3i+1) % 7 over i = 0..19 is 1,4,0,3,6,2,5 repeated:
  // present+late where it is 0,1,4,5 → i ≡ 0,1,2,6 (mod 7) → 11 of 20.
  CHECK(attended_by_day[0] == 11);

  const json j = json::parse(AttendanceJson(*g));
  CHECK(j["workshop_id"] == d.course);
  CHECK(j["participants"].size() == 20);
  CHECK(j["daily"][0]["rate"] == Approx(0.55));
}

TEST_CASE("Reports: attendance limits (empty, unknown, deleted and "
          "out-of-scope workshops)",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();
  auto empty = Attendance(db, d.empty_course, PhraoScope());
  REQUIRE(empty.ok());
  CHECK(empty->enrolled == 0);
  CHECK(empty->participants.empty());
  REQUIRE(empty->daily.size() == 5);
  for (const AttendanceDay& day : empty->daily) {
    CHECK_FALSE(day.rate.has_value());  // no division by zero
    CHECK(day.unmarked == 0);
  }
  CHECK(json::parse(AttendanceJson(*empty))["daily"][0]["rate"].is_null());

  CHECK(Attendance(db, "no-such", AllScope()).status().code() ==
        Code::kNotFound);
  CHECK(Attendance(db, d.deleted_course, AllScope()).status().code() ==
        Code::kNotFound);
  CHECK(Attendance(db, d.fang_course, PhraoScope()).status().code() ==
        Code::kNotFound);
  CHECK(Attendance(db, "", AllScope()).status().code() ==
        Code::kInvalidArgument);
  auto fang = Attendance(db, d.fang_course, AllScope());
  REQUIRE(fang.ok());
  CHECK(fang->enrolled == 3);
  CHECK(fang->daily[0].present == 1);
  CHECK(*fang->daily[0].rate == Approx(1.0 / 3));
  // A day nobody is marked on (not held yet) has no rate, not 0 %.
  REQUIRE(db.Exec("UPDATE attendance SET deleted = 1 WHERE workshop_id = '" +
                  d.fang_course + "' AND day = 2")
              .ok());
  auto unheld = Attendance(db, d.fang_course, AllScope());
  REQUIRE(unheld.ok());
  CHECK(unheld->daily[1].unmarked == 3);
  CHECK_FALSE(unheld->daily[1].rate.has_value());
  CHECK(json::parse(AttendanceJson(*unheld))["daily"][1]["rate"].is_null());
  CHECK(*unheld->daily[0].rate == Approx(1.0 / 3));

  // A mark past the workshop's days (made before it was shortened) stays
  // out of the grid, which follows the workshop's days, and is counted
  // apart, not dropped unsaid.
  auto before = Attendance(db, d.course, PhraoScope());
  REQUIRE(before.ok());
  CHECK(before->marks_beyond_days == 0);
  CHECK(before->last_marked_day == 0);
  InsertRow(db, "attendance",
            {{"id", Tx("a-day6")},
             {"workshop_id", Tx(d.course)},
             {"enrolment_id", Tx("e00")},
             {"day", In(6)},
             {"status", Tx("late")},
             {"district_code", Tx(kReportPhrao)},
             {"deleted", In(0)}});
  auto after = Attendance(db, d.course, PhraoScope());
  REQUIRE(after.ok());
  CHECK(after->days == 5);
  CHECK(after->daily.size() == 5);
  CHECK(after->participants[0].statuses.size() == 5);
  CHECK(after->marks_beyond_days == 1);
  CHECK(after->last_marked_day == 6);
  for (size_t i = 0; i < after->participants.size(); ++i) {
    CHECK(after->participants[i].days_attended ==
          before->participants[i].days_attended);
  }
  const json j = json::parse(AttendanceJson(*after));
  CHECK(j["days"] == 5);
  CHECK(j["marks_beyond_days"] == 1);
  CHECK(j["last_marked_day"] == 6);
}

TEST_CASE("Reports: a workshop shortened to 3 days reports 3 days, and the "
          "marks of days 4 and 5 are said, not counted",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();
  {
    Statement st(db, "UPDATE workshop SET days = 3 WHERE id = ?1");
    st.Bind(1, std::string_view(d.course));
    REQUIRE(st.Run().ok());
  }
  const std::vector<ExpectedRow> want = ComputeGrid(d, d.course);
  auto g = Attendance(db, d.course, PhraoScope());
  REQUIRE(g.ok());
  CHECK(g->days == 3);
  REQUIRE(g->daily.size() == 3);
  REQUIRE(g->participants.size() == want.size());
  int64_t beyond = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    const std::vector<std::string> first3(want[i].statuses.begin(),
                                          want[i].statuses.begin() + 3);
    CHECK(g->participants[i].statuses == first3);
    int64_t attended = 0;
    for (const std::string& s : first3) {
      attended += (s == "present" || s == "late");
    }
    CHECK(g->participants[i].days_attended == attended);
    for (size_t day = 3; day < 5; ++day) beyond += !want[i].statuses[day].empty();
  }
  CHECK(beyond > 0);
  CHECK(g->marks_beyond_days == beyond);
  CHECK(g->last_marked_day == 5);
  const json j = json::parse(AttendanceJson(*g));
  CHECK(j["days"] == 3);
  CHECK(j["daily"].size() == 3);
  CHECK(j["participants"][0]["statuses"].size() == 3);
  CHECK(j["marks_beyond_days"] == beyond);

  // Certificates: days 1..3 only; the default minimum is every day of a
  // workshop shorter than 4 days (4 of 3 could never be met).
  auto c = Certificates(db, d.course, PhraoScope());
  REQUIRE(c.ok());
  CHECK(c->days == 3);
  CHECK(c->min_days == 3);
  CHECK(c->marks_beyond_days == beyond);
  CHECK(c->last_marked_day == 5);
  for (size_t i = 0; i < c->participants.size(); ++i) {
    CHECK(c->participants[i].days_attended == g->participants[i].days_attended);
    CHECK(c->participants[i].eligible == (g->participants[i].days_attended >= 3));
  }
  const json cj = json::parse(CertificatesJson(*c));
  CHECK(cj["days"] == 3);
  CHECK(cj["min_days"] == 3);
  CHECK(cj["marks_beyond_days"] == beyond);
  // A minimum the office set stands as set, up to the workshop's days:
  // more is refused, nothing written.
  REQUIRE(SetMinDays(db, d.course, 2).ok());
  CHECK(Certificates(db, d.course, PhraoScope())->min_days == 2);
  const Status more = SetMinDays(db, d.course, 4);
  CHECK(more.code() == Code::kInvalidArgument);
  CHECK(more.message() == "the workshop has 3 days: a certificate cannot ask for 4");
  REQUIRE(more.TextField(field::kField) != nullptr);
  CHECK(*more.TextField(field::kField) == "min_days");
  CHECK(Certificates(db, d.course, PhraoScope())->min_days == 2);

  // Lengthened again, the marks count again; 5 of 5 may be asked.
  {
    Statement st(db, "UPDATE workshop SET days = 5 WHERE id = ?1");
    st.Bind(1, std::string_view(d.course));
    REQUIRE(st.Run().ok());
  }
  REQUIRE(SetMinDays(db, d.course, 5).ok());
  CHECK(Certificates(db, d.course, PhraoScope())->min_days == 5);
  // Shortened after the office asked for 5: every one of its 2 days, not a
  // minimum nobody can meet.
  {
    Statement st(db, "UPDATE workshop SET days = 2 WHERE id = ?1");
    st.Bind(1, std::string_view(d.course));
    REQUIRE(st.Run().ok());
  }
  auto shortened = Certificates(db, d.course, PhraoScope());
  REQUIRE(shortened.ok());
  CHECK(shortened->min_days == 2);
  int64_t full = 0;
  for (const CertificateRow& p : shortened->participants) {
    CHECK(p.eligible == (p.days_attended >= 2));
    full += p.days_attended >= 2;
  }
  CHECK(full > 0);
  CHECK(shortened->eligible == full);
  {
    Statement st(db, "UPDATE workshop SET days = 5 WHERE id = ?1");
    st.Bind(1, std::string_view(d.course));
    REQUIRE(st.Run().ok());
  }
  auto again = Attendance(db, d.course, PhraoScope());
  REQUIRE(again.ok());
  CHECK(again->days == 5);
  CHECK(again->marks_beyond_days == 0);
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(again->participants[i].statuses == want[i].statuses);
  }
}

TEST_CASE("Reports: certificates count present and late days against the "
          "workshop's min days (default 4)",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();
  const std::vector<ExpectedRow> want = ComputeGrid(d, d.course);

  for (int64_t min_days : {4, 3, 5}) {
    CAPTURE(min_days);
    if (min_days != 4) REQUIRE(SetMinDays(db, d.course, min_days).ok());
    auto c = Certificates(db, d.course, PhraoScope());
    REQUIRE(c.ok());
    CHECK(c->min_days == min_days);
    REQUIRE(c->participants.size() == want.size());
    int64_t eligible = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      int64_t attended = 0;
      for (const std::string& s : want[i].statuses) {
        attended += (s == "present" || s == "late");
      }
      CHECK(c->participants[i].enrolment_id == want[i].enrolment_id);
      CHECK(c->participants[i].days_attended == attended);
      CHECK(c->participants[i].eligible == (attended >= min_days));
      eligible += attended >= min_days;
    }
    CHECK(c->eligible == eligible);
    const json j = json::parse(CertificatesJson(*c));
    CHECK(j["workshop_id"] == d.course);
    CHECK(j["min_days"] == min_days);
    REQUIRE(j["participants"].size() == 20);
    for (const char* key :
         {"enrolment_id", "participant_name", "days_attended", "eligible"}) {
      CHECK(j["participants"][0].contains(key));
    }
  }
  // By hand, participant 0 (e00): days 1..5 → (0*3+d)%7 = 1..5 → late,
  // absent, excused, present, present: 3 days.
  auto c = Certificates(db, d.course, PhraoScope());
  REQUIRE(c.ok());
  for (const CertificateRow& row : c->participants) {
    if (row.enrolment_id == "e00") CHECK(row.days_attended == 3);
  }

  CHECK(SetMinDays(db, "no-such", 3).code() == Code::kNotFound);
  CHECK(SetMinDays(db, d.deleted_course, 3).code() == Code::kNotFound);
  CHECK(SetMinDays(db, d.course, 0).code() == Code::kInvalidArgument);
  CHECK(Certificates(db, "no-such", AllScope()).status().code() ==
        Code::kNotFound);
  auto empty = Certificates(db, d.empty_course, AllScope());
  REQUIRE(empty.ok());
  CHECK(empty->participants.empty());
  CHECK(empty->eligible == 0);
  CHECK(empty->min_days == 4);
}

TEST_CASE("Reports: a mark with a conflict the office has not decided is "
          "flagged in the grid and the certificates, in every form",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();
  InsertMarkConflict(db, "c1", "a00-1", "status", false);   // counted
  InsertMarkConflict(db, "c2", "a00-3", "deleted", false);  // a delete crossing
  InsertMarkConflict(db, "c3", "a00-2", "note", false);     // a note: not a mark's value
  InsertMarkConflict(db, "c4", "a01-1", "status", true);    // decided
  InsertMarkConflict(db, "c5", "a-del-1", "status", false); // a deleted participant
  InsertMarkConflict(db, "c6", "a-f-1", "status", false);   // Fang, another workshop

  auto g = Attendance(db, d.course, PhraoScope());
  REQUIRE(g.ok());
  CHECK(g->disputed_marks == 2);
  for (const AttendanceRow& row : g->participants) {
    CAPTURE(row.enrolment_id);
    if (row.enrolment_id == "e00") {
      CHECK(row.disputed_days == std::vector<int64_t>{1, 3});
    } else {
      CHECK(row.disputed_days.empty());
    }
  }
  json j = json::parse(AttendanceJson(*g));
  CHECK(j["disputed_marks"] == 2);
  auto of = [](const json& people, const char* id) {
    for (const json& p : people) {
      if (p["enrolment_id"] == id) return p;
    }
    return json();
  };
  CHECK(of(j["participants"], "e00")["disputed_days"] == json::array({1, 3}));
  CHECK(of(j["participants"], "e01")["disputed_days"] == json::array());
  auto report = [&](const char* kind, const char* lang) {
    return ReportText(f, {kind, "--workshop", d.course, "--lang", lang});
  };
  const std::string text = report("attendance", "en");
  CHECK(text.find("Late*") != std::string::npos);
  CHECK(text.find("2 marks have a conflict the office has not decided") !=
        std::string::npos);

  auto c = Certificates(db, d.course, PhraoScope());
  REQUIRE(c.ok());
  CHECK(c->disputed_marks == 2);
  j = json::parse(CertificatesJson(*c));
  CHECK(j["disputed_marks"] == 2);
  CHECK(of(j["participants"], "e00")["disputed_days"] == json::array({1, 3}));
  const std::string certs = report("certificates", "th");
  CHECK(certs.find("ยังมีข้อขัดแย้งที่สำนักงานยังไม่ได้ตัดสิน") !=
        std::string::npos);

  // Decided: no flag.
  Statement done(db, "UPDATE conflict SET resolved_at = 'x'");
  REQUIRE(done.Run().ok());
  g = Attendance(db, d.course, PhraoScope());
  REQUIRE(g.ok());
  CHECK(g->disputed_marks == 0);
}

TEST_CASE("Reports: a person enrolled twice in a workshop (two devices offline) is "
          "flagged in the certificates with the days attended together, in every form",
          "[reports]") {
  // Each enrolment counted its own marks: 3 days and 1 day, neither
  // eligible, for a person who attended 4 of 5 days, and nothing said.
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();
  Statement who(db, "SELECT participant_name FROM enrolment WHERE id = 'e00'");
  REQUIRE(who.Step());
  const std::string name = who.ColumnText(0);
  REQUIRE(who.Reset().ok());
  // The same person typed with another space, on another device; day 2
  // marked there (e00 has days 1, 4 and 5).
  InsertEnrolledAgain(db, d.course);
  auto c = Certificates(db, d.course, PhraoScope());
  REQUIRE(c.ok());
  CHECK(c->enrolled_twice == 1);
  for (const CertificateRow& row : c->participants) {
    CAPTURE(row.enrolment_id);
    if (row.enrolment_id == "e00") {
      CHECK(row.days_attended == 3);
      CHECK_FALSE(row.eligible);
      CHECK(row.enrolled_again == std::vector<std::string>{"e00-again"});
      CHECK(row.days_together == 4);
    } else if (row.enrolment_id == "e00-again") {
      CHECK(row.days_attended == 1);
      CHECK(row.enrolled_again == std::vector<std::string>{"e00"});
      CHECK(row.days_together == 4);
    } else {
      CHECK(row.enrolled_again.empty());
      CHECK(row.days_together == 0);
    }
  }
  const json j = json::parse(CertificatesJson(*c));
  CHECK(j["enrolled_twice"] == 1);
  auto text = [&](const char* lang) {
    return ReportText(f, {"certificates", "--workshop", d.course, "--lang", lang});
  };
  const std::string en = text("en");
  CHECK(en.find(name + "†\t") != std::string::npos);
  CHECK(en.find("\t3 (4 together)\t") != std::string::npos);
  CHECK(en.find("1 participant is enrolled more than once") != std::string::npos);
  const std::string th = text("th");
  CHECK(th.find("(รวม 4 วัน)") != std::string::npos);
  CHECK(th.find("มีชื่อลงทะเบียนซ้ำ") != std::string::npos);
}

TEST_CASE("Reports: a contest score with a conflict the office has not decided "
          "stars its product's rank in every form, and a comment's conflict or "
          "a decided one does not",
          "[reports]") {
  // Two devices scored one judge's product differently offline: the
  // ranking showed the winning value's mean with nothing to say it may
  // change (the attendance grid stars such marks).
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();
  InsertConflict(db, "c1", "contest_score", "s12", "quality", false);    // pr1
  InsertConflict(db, "c2", "contest_score", "s13", "deleted", false);    // pr1
  InsertConflict(db, "c3", "contest_score", "s01", "comment", false);    // a comment
  InsertConflict(db, "c4", "contest_score", "s02", "identity", true);    // decided
  InsertConflict(db, "c5", "contest_score", "s21", "quality", false);    // pr2
  ReportFilter filter = Filter(PhraoScope(), std::nullopt);
  filter.contest = d.contest;
  auto r = Contest(db, filter);
  REQUIRE(r.ok());
  CHECK(r->disputed_scores == 3);
  std::map<std::string, int64_t> by;
  for (const ContestEntry& e : r->ranking) by[e.product_id] = e.disputed_scores;
  CHECK(by == std::map<std::string, int64_t>{{"pr0", 0}, {"pr1", 2}, {"pr2", 1}});
  const json j = json::parse(ContestJson(*r));
  CHECK(j["disputed_scores"] == 3);
  CHECK(j["ranking"][0]["product_id"] == "pr0");
  CHECK(j["ranking"][0]["disputed_scores"] == 0);
  auto text = [&](const char* lang) {
    return ReportText(f, {"contest", "--contest", d.contest, "--district", kReportPhrao,
                          "--lang", lang});
  };
  const std::string en = text("en");
  CHECK(en.find("\n1\t") != std::string::npos);   // pr0: no star
  CHECK(en.find("\n2*\t") != std::string::npos);  // the tied pair, both disputed
  CHECK(en.find("\n1*\t") == std::string::npos);
  CHECK(en.find("3 scores have a conflict the office has not decided") != std::string::npos);
  CHECK(text("th").find("คะแนน 3 รายการยังมีข้อขัดแย้ง") != std::string::npos);

  // Decided: no star, no note.
  Statement done(db, "UPDATE conflict SET resolved_at = 'x'");
  REQUIRE(done.Run().ok());
  r = Contest(db, filter);
  REQUIRE(r.ok());
  CHECK(r->disputed_scores == 0);
  CHECK(text("en").find("conflict") == std::string::npos);
}

TEST_CASE("Reports: a text report's cells are one cell each when pasted into a "
          "spreadsheet: a name that reads as a formula is guarded, tabs and "
          "line breaks become spaces",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();
  Statement name(db, "UPDATE enrolment SET participant_name = ?1 WHERE id = 'e00'");
  name.Bind(1, std::string_view("=HYPERLINK(\"http://x\",\"สมชาย\")"));
  REQUIRE(name.Run().ok());
  Statement product(db, "UPDATE product SET name = ?1 WHERE id = 'pr0'");
  product.Bind(1, std::string_view("ผ้าทอ\tลาย\nดอก"));
  REQUIRE(product.Run().ok());
  auto text = [&](const std::vector<std::string>& args) { return ReportText(f, args); };
  for (const char* kind : {"attendance", "certificates"}) {
    CAPTURE(kind);
    const std::string t = text({kind, "--workshop", d.course, "--lang", "th"});
    CHECK(t.find("\n'=HYPERLINK(\"http://x\",\"สมชาย\")\t") != std::string::npos);
    CHECK(t.find("\n=HYPERLINK") == std::string::npos);
  }
  const std::string c = text({"contest", "--contest", d.contest, "--lang", "en"});
  CHECK(c.find("\tผ้าทอ ลาย ดอก\t") != std::string::npos);
}

TEST_CASE("Reports: a contest typed two ways on two devices is one contest, and "
          "a judge's score of a product counts once",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();
  ReportFilter filter = Filter(PhraoScope(), std::nullopt);
  filter.contest = d.contest;
  auto before = Contest(db, filter);
  REQUIRE(before.ok());
  REQUIRE_FALSE(before->ranking.empty());
  const ContestEntry top = before->ranking.front();
  // A score of the top product written "kbo cm contest 2569" on another
  // device, by a new judge (counted), and again by a judge who scored it
  // (one score per judge: not counted twice).
  const ScoreModel* judged = nullptr;
  for (const auto& sc : d.scores) {
    if (sc.product_id == top.product_id && sc.contest == d.contest && !sc.deleted) {
      judged = &sc;
    }
  }
  REQUIRE(judged != nullptr);
  auto insert = [&](const std::string& id, const std::string& judge) {
    InsertRow(db, "contest_score",
              {{"id", Tx(id)}, {"product_id", Tx(top.product_id)},
               {"contest", Tx("kbo cm  contest 2569")}, {"judge", Tx(judge)},
               {"identity", In(20)}, {"uniqueness", In(20)}, {"quality", In(20)},
               {"packaging", In(20)}, {"marketability", In(20)},
               {"district_code", Tx(kReportPhrao)}, {"deleted", In(0)}});
  };
  insert("spelt-1", "กรรมการใหม่");
  insert("spelt-2", judged->judge);
  filter.contest = "KBO CM Contest 2569";  // as a person types it
  auto r = Contest(db, filter);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->contest == d.contest);
  CHECK(std::count(r->contests.begin(), r->contests.end(), d.contest) == 1);
  CHECK(std::find(r->contests.begin(), r->contests.end(), "kbo cm  contest 2569") ==
        r->contests.end());
  const ContestEntry* now = nullptr;
  for (const ContestEntry& e : r->ranking) {
    if (e.product_id == top.product_id) now = &e;
  }
  REQUIRE(now != nullptr);
  CHECK(now->judges.size() == top.judges.size() + 1);
  CHECK(std::count(now->judges.begin(), now->judges.end(), "กรรมการใหม่") == 1);
  CHECK(now->mean_total ==
        Approx((top.mean_total * static_cast<double>(top.judges.size()) + 100) /
               static_cast<double>(top.judges.size() + 1)));

  // The judge's second score is not silently dropped: it is listed, with
  // the one that counts, so a person can delete the wrong one.
  CHECK(before->left_out.empty());
  REQUIRE(r->left_out.size() == 1);
  const LeftOutScore& l = r->left_out.front();
  CHECK(l.score_id == "spelt-2");
  CHECK(l.product_id == top.product_id);
  CHECK(l.contest == "kbo cm  contest 2569");
  CHECK(l.judge == judged->judge);
  CHECK(l.total == 100);
  CHECK(l.counted_id == judged->id);
  CHECK(l.counted_contest == d.contest);
  int64_t counted_total = 0;
  for (int64_t v : judged->criteria) counted_total += v;
  CHECK(l.counted_total == counted_total);
  // Its scores differ from the counted card's: the rank may change when
  // the office decides which stands, and is starred so.
  REQUIRE(counted_total != 100);
  CHECK(now->disputed_scores == 1);
  CHECK(r->disputed_scores >= 1);
  const json j = json::parse(ContestJson(*r));
  REQUIRE(j["left_out"].size() == 1);
  CHECK(j["left_out"][0]["score_id"] == "spelt-2");
  CHECK(j["left_out"][0]["counted"]["score_id"] == judged->id);
  CHECK(json::parse(ContestJson(*before))["left_out"].empty());
  std::ostringstream out;
  bool usage = false;
  const Status s = ReportCommand(
      "report", {"contest", "--contest", d.contest, "--lang", "en"},
      [&]() -> Result<ServerStore*> { return f.store.get(); }, out, &usage);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(out.str().find("Scores not counted: one judge scored one product twice") !=
        std::string::npos);
  CHECK(out.str().find("'kbo cm  contest 2569' = 100 (score id spelt-2)") !=
        std::string::npos);
  CHECK(out.str().find("kbo delete contest_score") != std::string::npos);

  // The export's contest_score sheet says the same of each score.
  ExportFilter ef;
  ef.lang = Lang::kEn;
  auto sheets = BuildEntitySheets(db, ef);
  REQUIRE(sheets.ok());
  const ExportSheet* sheet = nullptr;
  for (const ExportSheet& sh : *sheets) {
    if (sh.key == "contest_score") sheet = &sh;
  }
  REQUIRE(sheet != nullptr);
  REQUIRE(sheet->header.back() == "Counted");
  const size_t id_col = sheet->header.size() - 2;
  std::map<std::string, std::string> counted;
  for (const auto& row : sheet->rows) counted[row[id_col].text] = row.back().text;
  CHECK(counted.at("spelt-1") == "yes");
  CHECK(counted.at(judged->id) == "yes");
  CHECK(counted.at("spelt-2") ==
        "no: the same judge's score of this product counts (" + judged->id + ")");
  size_t not_counted = 0;
  for (const auto& [id, said] : counted) not_counted += said != "yes";
  CHECK(not_counted == r->left_out.size());
}

TEST_CASE("Reports: the contest ranks products by the criteria total "
          "averaged over judges, judges listed",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();
  ReportFilter filter = Filter(PhraoScope(), std::nullopt);
  filter.contest = d.contest;
  auto r = Contest(db, filter);
  REQUIRE(r.ok());
  CHECK(r->contest == d.contest);
  CHECK(r->contests ==
        std::vector<std::string>{d.contest, "รอบอำเภอพร้าว"});

  // Expected from the model: live scores of live products in Phrao.
  struct Want {
    int64_t total = 0, n = 0;
    std::set<std::string> judges;
    std::vector<int64_t> criteria = std::vector<int64_t>(5, 0);
  };
  std::map<std::string, Want> want;
  for (const auto& s : d.scores) {
    const ProductModel* p = d.Product(s.product_id);
    if (s.deleted || s.contest != d.contest || s.district != kReportPhrao ||
        (p && p->deleted)) {
      continue;
    }
    Want& w = want[s.product_id];
    ++w.n;
    w.judges.insert(s.judge);
    for (int k = 0; k < 5; ++k) {
      w.total += s.criteria[k];
      w.criteria[k] += s.criteria[k];
    }
  }
  REQUIRE(r->ranking.size() == want.size());
  for (const ContestEntry& e : r->ranking) {
    CAPTURE(e.product_id);
    const Want& w = want.at(e.product_id);
    CHECK(e.mean_total == Approx(static_cast<double>(w.total) / w.n));
    CHECK(e.judges == std::vector<std::string>(w.judges.begin(),
                                               w.judges.end()));
    REQUIRE(e.criteria.size() == 5);
    for (int k = 0; k < 5; ++k) {
      CHECK(e.criteria[k] == Approx(static_cast<double>(w.criteria[k]) / w.n));
    }
    CHECK(e.product_name == d.Product(e.product_id)->name);
  }
  for (size_t i = 1; i < r->ranking.size(); ++i) {
    CHECK(r->ranking[i - 1].mean_total >= r->ranking[i].mean_total);
  }
  // By hand: pr0 85 (3 judges) first; pr1 (70,75,71) and pr2 (72,72, the
  // deleted 100 left out) tie at 72 and share rank 2, by name.
  REQUIRE(r->ranking.size() == 3);
  CHECK(r->ranking[0].product_id == "pr0");
  CHECK(r->ranking[0].rank == 1);
  CHECK(r->ranking[0].mean_total == Approx(85));
  CHECK(r->ranking[0].judges.size() == 3);
  CHECK(r->ranking[1].rank == 2);
  CHECK(r->ranking[2].rank == 2);
  CHECK(r->ranking[1].mean_total == Approx(72));
  CHECK(r->ranking[2].mean_total == Approx(72));
  CHECK(r->ranking[1].product_name < r->ranking[2].product_name);
  for (const auto& e : r->ranking) {
    if (e.product_id == "pr2") CHECK(e.judges.size() == 2);
  }

  const json j = json::parse(ContestJson(*r));
  CHECK(j["contest"] == d.contest);
  CHECK(j["ranking"][0]["product_id"] == "pr0");
  CHECK(j["ranking"][0]["product_name"] == "ผ้าทอลายดอกพร้าว");
  CHECK(j["ranking"][0]["judges"].size() == 3);
  CHECK(j["ranking"][0]["mean_total"] == Approx(85));
  CHECK(j["ranking"][0]["criteria"]["identity"] == Approx(17));

  SECTION("all districts add Fang's product, first at 95") {
    ReportFilter all = filter;
    all.scope = AllScope();
    auto a = Contest(db, all);
    REQUIRE(a.ok());
    REQUIRE(a->ranking.size() == 4);
    CHECK(a->ranking[0].product_id == "pr-f");
    CHECK(a->ranking[0].mean_total == Approx(95));
  }
  SECTION("no contest named: the first by name; unknown: not found") {
    ReportFilter first = filter;
    first.contest.clear();
    auto a = Contest(db, first);
    REQUIRE(a.ok());
    CHECK(a->contest == d.contest);
    ReportFilter unknown = filter;
    unknown.contest = "ไม่มี";
    CHECK(Contest(db, unknown).status().code() == Code::kNotFound);
    ReportFilter other = filter;
    other.contest = "รอบอำเภอพร้าว";
    auto o = Contest(db, other);
    REQUIRE(o.ok());
    REQUIRE(o->ranking.size() == 1);
    CHECK(o->ranking[0].mean_total == Approx(50));
  }
}

TEST_CASE("Reports: a store with no scores has an empty contest report",
          "[reports]") {
  ServerFixture f;
  auto r = Contest(f.store->db(), Filter(AllScope(), std::nullopt));
  REQUIRE(r.ok());
  CHECK(r->contest.empty());
  CHECK(r->contests.empty());
  CHECK(r->ranking.empty());
  CHECK(json::parse(ContestJson(*r))["ranking"].is_array());
}

TEST_CASE("Reports: products by stage count live products only",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();
  auto compute = [&](const Scope& scope, std::optional<int64_t> fy) {
    std::map<std::string, int64_t> want;
    for (const auto& p : d.products) {
      const ProducerModel* owner = d.Producer(p.producer_id);
      if (p.deleted || (owner && owner->deleted) ||
          !scope.Contains(p.district)) {
        continue;
      }
      if (fy) {
        bool reached = false;
        for (const auto& e : d.enrolments) {
          const WorkshopModel* w = d.Workshop(e.workshop_id);
          reached |= e.producer_id == p.producer_id && !e.deleted && w &&
                     !w->deleted && w->fiscal_year == *fy;
        }
        if (!reached) continue;
      }
      ++want[p.stage];
    }
    return want;
  };
  for (std::optional<int64_t> fy : {std::optional<int64_t>(),
                                    std::optional<int64_t>(2569)}) {
    for (const Scope& scope : {PhraoScope(), AllScope()}) {
      CAPTURE(fy.value_or(0), scope.all);
      auto r = Stages(db, Filter(scope, fy));
      REQUIRE(r.ok());
      const auto want = compute(scope, fy);
      REQUIRE(r->stages.size() == 6);
      CHECK(r->stages.back().empty());
      int64_t total = 0;
      for (size_t i = 0; i < r->stages.size(); ++i) {
        CAPTURE(r->stages[i]);
        auto it = want.find(r->stages[i]);
        CHECK(r->counts[i] == (it == want.end() ? 0 : it->second));
        total += r->counts[i];
      }
      CHECK(r->total == total);
    }
  }
  // By hand, Phrao, any year: idea 1, design 1, prototype 2, market_ready 1,
  // unset 1 (pr-del and pr-of-del left out).
  auto r = Stages(db, Filter(PhraoScope(), std::nullopt));
  REQUIRE(r.ok());
  CHECK(r->counts == std::vector<int64_t>{1, 1, 2, 0, 1, 1});
  CHECK(r->total == 6);
  REQUIRE(r->by_district.size() == 1);
  CHECK(r->by_district[0].total == 6);
  const json j = json::parse(StagesJson(*r));
  CHECK(j["by_stage"][2]["stage"] == "prototype");
  CHECK(j["by_stage"][2]["count"] == 2);
  CHECK(j["by_district"][0]["by_stage"]["prototype"] == 2);
}

TEST_CASE("Reports: visits per district and overdue follow-ups from each "
          "producer's latest visit",
          "[reports]") {
  ServerFixture f;
  ReportData d(f.store->db());
  Db& db = f.store->db();

  auto r = Followups(db, Filter(PhraoScope(), std::nullopt), d.today);
  REQUIRE(r.ok());
  // Live visits of live producers in Phrao, from the model.
  int64_t visits = 0;
  std::set<std::string> visited;
  for (const auto& v : d.visits) {
    const ProducerModel* p = d.Producer(v.producer_id);
    if (v.deleted || (p && p->deleted) || v.district != kReportPhrao) continue;
    ++visits;
    visited.insert(v.producer_id);
  }
  CHECK(r->visits == visits);
  CHECK(r->producers_visited == static_cast<int64_t>(visited.size()));
  // By hand: p04 (latest live visit's next_visit 2025-12-31, 15 days) and
  // p00 (2026-01-10, 5 days); p01 settled by a later visit, p02 in the
  // future, p03 due today, p-del deleted, Fang outside the scope.
  REQUIRE(r->overdue.size() == 2);
  CHECK(r->overdue[0].producer_id == "p04");
  CHECK(r->overdue[0].days_overdue == 15);
  CHECK(r->overdue[0].visit_id == "v04a");
  CHECK(r->overdue[0].next_visit == "2025-12-31");
  CHECK(r->overdue[0].producer_name == "ผู้ผลิตพร้าว 04");
  CHECK(r->overdue[1].producer_id == "p00");
  CHECK(r->overdue[1].days_overdue == 5);
  REQUIRE(r->by_district.size() == 1);
  CHECK(r->by_district[0].overdue == 2);
  CHECK(r->by_district[0].visits == visits);

  auto all = Followups(db, Filter(AllScope(), std::nullopt), d.today);
  REQUIRE(all.ok());
  REQUIRE(all->overdue.size() == 3);
  CHECK(all->overdue[0].producer_id == "f0");
  CHECK(all->overdue[0].days_overdue == 75);
  CHECK(all->by_district.size() == 2);

  SECTION("the fiscal year boundary: 30 Sep 23:59 and 1 Oct 00:00 Bangkok") {
    for (int64_t fy : {2568, 2569}) {
      auto y = Followups(db, Filter(PhraoScope(), fy), d.today);
      REQUIRE(y.ok());
      int64_t want = 0;
      for (const auto& v : d.visits) {
        const ProducerModel* p = d.Producer(v.producer_id);
        if (!v.deleted && !(p && p->deleted) && v.district == kReportPhrao &&
            v.fiscal_year == fy) {
          ++want;
        }
      }
      CAPTURE(fy);
      CHECK(y->visits == want);
      // Overdue follow-ups do not depend on the year.
      CHECK(y->overdue.size() == 2);
    }
    auto y68 = Followups(db, Filter(PhraoScope(), 2568), d.today);
    REQUIRE(y68.ok());
    CHECK(y68->visits == 1);  // v05 alone
  }
  SECTION("the day a follow-up falls due it is not yet overdue") {
    auto before = Followups(db, Filter(PhraoScope(), std::nullopt),
                            "2026-01-10");
    REQUIRE(before.ok());
    // p00's 2026-01-10 is due, not overdue; p04's 2025-12-31 is 10 days.
    REQUIRE(before->overdue.size() == 1);
    CHECK(before->overdue[0].producer_id == "p04");
    CHECK(before->overdue[0].days_overdue == 10);
  }
  SECTION("limits") {
    CHECK(Followups(db, Filter(AllScope()), "15/01/2026").status().code() ==
          Code::kInvalidArgument);
    CHECK(Followups(db, Filter(AllScope()), "").status().code() ==
          Code::kInvalidArgument);
    const json j = json::parse(FollowupsJson(*r));
    CHECK(j["visits"] == visits);
    CHECK(j["overdue"][0]["days_overdue"] == 15);
    CHECK(j["by_district"][0]["district_code"] == kReportPhrao);
  }
}

TEST_CASE("Reports: an empty store reports zeros without dividing by zero",
          "[reports]") {
  ServerFixture f;
  Db& db = f.store->db();
  auto s = Stages(db, Filter(AllScope(), std::nullopt));
  REQUIRE(s.ok());
  CHECK(s->total == 0);
  CHECK(s->by_district.empty());
  auto v = Followups(db, Filter(AllScope(), std::nullopt), "2026-01-15");
  REQUIRE(v.ok());
  CHECK(v->visits == 0);
  CHECK(v->overdue.empty());
  CHECK(json::parse(StagesJson(*s))["fiscal_year"].is_null());
  CHECK(json::parse(FollowupsJson(*v))["overdue"].is_array());
}

}  // namespace
}  // namespace kbo::server::testing
