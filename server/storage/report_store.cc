#include "server/storage/report_store.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "server/storage/sql_flavor.h"

// Each report read is one or a few grouped queries on the indexes of
// schema/shared/0001_entities.sql (enrolment_by_workshop,
// attendance_by_workshop, product_by_producer, visit_by_producer). The
// scope is always ?1.

namespace kbo::server::storage {
namespace {

// "<col> in scope ?1".
std::string InScope(const Db& db, std::string_view col) {
  return Flavor(db).InJsonArrayOrNull(col, 1);
}

// Scope{all} binds NULL, else the JSON array of its district codes.
void BindScope(Statement& st, const Scope& scope) {
  if (scope.all) {
    st.BindNull(1);
    return;
  }
  st.Bind(1, nlohmann::json(scope.districts).dump());
}

Status Failed(const Statement& st) {
  return st.status().ok() ? Status() : st.status();
}

std::string Text(Statement& st, int col) {
  return st.IsNull(col) ? std::string() : st.ColumnText(col);
}

std::optional<int64_t> OptInt(Statement& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return st.ColumnInt(col);
}

// The visits read by VisitsByDistrict and ProducersVisited.
std::string LiveVisits(const Db& db, std::optional<int64_t> fiscal_year) {
  std::string where =
      " FROM visit v LEFT JOIN producer p ON p.id = v.producer_id"
      " WHERE v.deleted = 0 AND COALESCE(p.deleted, 0) = 0 AND " +
      InScope(db, "COALESCE(v.district_code, p.district_code)");
  // The Bangkok date of visited_at, and its fiscal year (1 October).
  if (fiscal_year.has_value()) {
    where += " AND " + Flavor(db).BangkokFiscalYear("v.visited_at") + " = ?2";
  }
  return where;
}

}  // namespace

// ---- Reach --------------------------------------------------------------------

Result<std::optional<int64_t>> ReportStore::LatestFiscalYear(const Scope& scope) {
  Statement st(db_, "SELECT MAX(fiscal_year) FROM workshop WHERE deleted = 0"
                    " AND " + InScope(db_, "district_code"));
  BindScope(st, scope);
  std::optional<int64_t> fy;
  if (st.Step()) fy = OptInt(st, 0);
  if (Status s = Failed(st); !s.ok()) return s;
  return fy;
}

Result<std::optional<TargetRow>> ReportStore::FindTarget(int64_t fiscal_year) {
  Statement st(db_,
               "SELECT groups, entrepreneurs, producers FROM fiscal_target"
               " WHERE fiscal_year = ?1");
  st.Bind(1, fiscal_year);
  std::optional<TargetRow> t;
  if (st.Step()) {
    t = TargetRow{st.ColumnInt(0), st.ColumnInt(1), st.ColumnInt(2)};
  }
  if (Status s = Failed(st); !s.ok()) return s;
  return t;
}

Result<std::vector<ProducerGroupRow>> ReportStore::ProducerGroups(
    const Scope& scope, int64_t fiscal_year) {
  // One pass over producer, the reached set built once from the year's
  // workshops through enrolment_by_workshop.
  Statement st(
      db_,
      "WITH reached(pid) AS ("
      "  SELECT DISTINCT e.producer_id FROM workshop w"
      "  JOIN enrolment e ON e.workshop_id = w.id AND e.deleted = 0"
      "  WHERE w.deleted = 0 AND w.fiscal_year = ?2"
      "    AND e.producer_id IS NOT NULL)"
      " SELECT COALESCE(p.district_code, ''), COALESCE(p.category, ''),"
      "  COALESCE(p.kind, ''), COUNT(*),"
      "  SUM(CASE WHEN p.id IN (SELECT pid FROM reached) THEN 1 ELSE 0 END)"
      " FROM producer p WHERE p.deleted = 0 AND " +
          InScope(db_, "p.district_code") + " GROUP BY 1, 2, 3");
  BindScope(st, scope);
  st.Bind(2, fiscal_year);
  std::vector<ProducerGroupRow> rows;
  while (st.Step()) {
    ProducerGroupRow row;
    row.district_code = st.ColumnText(0);
    row.category = st.ColumnText(1);
    row.kind = st.ColumnText(2);
    row.producers = st.ColumnInt(3);
    row.reached = st.ColumnInt(4);
    rows.push_back(std::move(row));
  }
  if (Status s = Failed(st); !s.ok()) return s;
  return rows;
}

Result<ReportStore::WorkshopTotals> ReportStore::CountWorkshops(
    const Scope& scope, int64_t fiscal_year) {
  Statement counts(
      db_,
      "SELECT COUNT(DISTINCT w.id), COUNT(e.id) FROM workshop w"
      " LEFT JOIN (enrolment e LEFT JOIN producer p ON p.id = e.producer_id)"
      "  ON e.workshop_id = w.id AND e.deleted = 0"
      "  AND COALESCE(p.deleted, 0) = 0"
      " WHERE w.deleted = 0 AND w.fiscal_year = ?2 AND " +
          InScope(db_, "w.district_code"));
  BindScope(counts, scope);
  counts.Bind(2, fiscal_year);
  WorkshopTotals t;
  if (counts.Step()) {
    t.workshops = counts.ColumnInt(0);
    t.enrolments = counts.ColumnInt(1);
  }
  if (Status s = Failed(counts); !s.ok()) return s;
  return t;
}

// ---- Attendance ---------------------------------------------------------------

Result<std::optional<WorkshopRow>> ReportStore::FindLiveWorkshop(
    std::string_view id) {
  Statement st(db_,
               "SELECT title, fiscal_year, district_code, venue, start_date,"
               " days FROM workshop WHERE id = ?1 AND deleted = 0");
  st.Bind(1, id);
  std::optional<WorkshopRow> w;
  if (st.Step()) {
    w.emplace();
    w->title = Text(st, 0);
    w->fiscal_year = OptInt(st, 1);
    w->district_code = Text(st, 2);
    w->venue = Text(st, 3);
    w->start_date = Text(st, 4);
    w->days = OptInt(st, 5);
  }
  if (Status s = Failed(st); !s.ok()) return s;
  return w;
}

Result<std::vector<std::string>> ReportStore::LiveWorkshopIdsStartingWith(
    std::string_view prefix) {
  // Ids are lowercase uuids: [prefix, prefix + '\x7f') walks the primary
  // key (ConflictStore::WithIdPrefix does the same).
  Statement st(db_,
               "SELECT id FROM workshop WHERE id >= ?1 AND id < ?2 AND deleted = 0"
               " ORDER BY id LIMIT 4");
  st.Bind(1, prefix).Bind(2, std::string_view(std::string(prefix) + "\x7f"));
  std::vector<std::string> ids;
  while (st.Step()) ids.push_back(Text(st, 0));
  if (Status s = Failed(st); !s.ok()) return s;
  return ids;
}

namespace {
// A row's own district, else its workshop's (?3): rows take it from their
// parent; one not yet filled in is the workshop's.
std::string OwnDistrictInScope(const Db& db, const char* alias) {
  return InScope(db, "COALESCE(" + std::string(alias) + ".district_code, ?3)");
}
}  // namespace

Result<std::vector<EnrolmentRow>> ReportStore::Enrolments(
    const Scope& scope, std::string_view workshop_id,
    std::string_view workshop_district) {
  Statement en(db_,
               "SELECT e.id, COALESCE(e.participant_name, ''),"
               " COALESCE(e.producer_id, ''), COALESCE(p.name, '')"
               " FROM enrolment e LEFT JOIN producer p ON p.id = e.producer_id"
               " WHERE e.workshop_id = ?2 AND e.deleted = 0"
               " AND COALESCE(p.deleted, 0) = 0 AND " +
                   OwnDistrictInScope(db_, "e") + " ORDER BY 2, 1");
  BindScope(en, scope);
  en.Bind(2, workshop_id);
  en.Bind(3, workshop_district);
  std::vector<EnrolmentRow> rows;
  while (en.Step()) {
    EnrolmentRow row;
    row.id = en.ColumnText(0);
    row.participant_name = en.ColumnText(1);
    row.producer_id = en.ColumnText(2);
    row.producer_name = en.ColumnText(3);
    rows.push_back(std::move(row));
  }
  if (Status s = Failed(en); !s.ok()) return s;
  return rows;
}

Result<std::vector<AttendanceMarkRow>> ReportStore::AttendanceMarks(
    const Scope& scope, std::string_view workshop_id,
    std::string_view workshop_district, int64_t max_day) {
  Statement at(db_,
               "SELECT a.enrolment_id, a.day, a.status FROM attendance a"
               " WHERE a.workshop_id = ?2 AND a.deleted = 0"
               " AND a.status IS NOT NULL AND a.day BETWEEN 1 AND ?4 AND " +
                   OwnDistrictInScope(db_, "a") +
                   " ORDER BY a.enrolment_id, a.day, a.id");
  BindScope(at, scope);
  at.Bind(2, workshop_id);
  at.Bind(3, workshop_district);
  at.Bind(4, max_day);
  std::vector<AttendanceMarkRow> rows;
  while (at.Step()) {
    AttendanceMarkRow row;
    row.enrolment_id = Text(at, 0);
    row.day = at.ColumnInt(1);
    row.status = at.ColumnText(2);
    rows.push_back(std::move(row));
  }
  if (Status s = Failed(at); !s.ok()) return s;
  return rows;
}

Result<std::vector<std::pair<std::string, int64_t>>> ReportStore::DisputedMarks(
    const Scope& scope, std::string_view workshop_id,
    std::string_view workshop_district, int64_t max_day) {
  // The open conflicts first (conflict_open), then each one's mark by id.
  Statement at(db_,
               "SELECT DISTINCT a.enrolment_id, a.day FROM conflict c"
               " JOIN attendance a ON a.id = c.row_id"
               " WHERE c.resolved_at IS NULL AND c.entity = 'attendance'"
               " AND c.column_name IN ('status', 'deleted')"
               " AND a.workshop_id = ?2 AND a.day BETWEEN 1 AND ?4 AND " +
                   OwnDistrictInScope(db_, "a") + " ORDER BY 1, 2");
  BindScope(at, scope);
  at.Bind(2, workshop_id);
  at.Bind(3, workshop_district);
  at.Bind(4, max_day);
  std::vector<std::pair<std::string, int64_t>> rows;
  while (at.Step()) rows.emplace_back(Text(at, 0), at.ColumnInt(1));
  if (Status s = Failed(at); !s.ok()) return s;
  return rows;
}

Result<std::optional<int64_t>> ReportStore::FindMinDays(
    std::string_view workshop_id) {
  Statement st(db_, "SELECT min_days FROM workshop_setting WHERE workshop_id = ?1");
  st.Bind(1, workshop_id);
  std::optional<int64_t> n;
  if (st.Step()) n = st.ColumnInt(0);
  if (Status s = Failed(st); !s.ok()) return s;
  return n;
}

// ---- Contest ------------------------------------------------------------------

namespace {
// A score counts when it, its product and the product's producer are live
// (as the stages report counts products); its district is the score's own
// (the product's, from the parent).
const char kScoresFrom[] =
    " FROM contest_score s LEFT JOIN product pr ON pr.id = s.product_id"
    " LEFT JOIN producer p ON p.id = pr.producer_id";
std::string LiveScores(const Db& db) {
  return " WHERE s.deleted = 0 AND COALESCE(pr.deleted, 0) = 0"
         " AND COALESCE(p.deleted, 0) = 0"
         " AND s.product_id IS NOT NULL AND " +
         InScope(db, "COALESCE(s.district_code, pr.district_code)");
}
}  // namespace

Result<std::vector<std::string>> ReportStore::Contests(const Scope& scope) {
  Statement st(db_, "SELECT DISTINCT s.contest" + std::string(kScoresFrom) +
                        LiveScores(db_) +
                        " AND COALESCE(s.contest, '') <> '' ORDER BY 1");
  BindScope(st, scope);
  std::vector<std::string> out;
  while (st.Step()) out.push_back(st.ColumnText(0));
  if (Status s = Failed(st); !s.ok()) return s;
  return out;
}

Result<std::vector<ScoreRow>> ReportStore::Scores(const Scope& scope,
                                                  std::string_view contest) {
  Statement st(
      db_,
      "SELECT s.id, s.product_id, COALESCE(pr.name, ''), COALESCE(p.name, ''),"
      " COALESCE(pr.district_code, s.district_code, ''),"
      " COALESCE(s.judge, ''), COALESCE(s.identity, 0),"
      " COALESCE(s.uniqueness, 0), COALESCE(s.quality, 0),"
      " COALESCE(s.packaging, 0), COALESCE(s.marketability, 0),"
      " CASE WHEN EXISTS (SELECT 1 FROM conflict c WHERE c.row_id = s.id"
      " AND c.entity = 'contest_score' AND c.resolved_at IS NULL"
      " AND c.column_name IN ('identity', 'uniqueness', 'quality', 'packaging',"
      " 'marketability', 'judge', 'contest', 'product_id', 'deleted'))"
      " THEN 1 ELSE 0 END" +
          std::string(kScoresFrom) + LiveScores(db_) +
          " AND s.contest = ?2");
  BindScope(st, scope);
  st.Bind(2, contest);
  std::vector<ScoreRow> rows;
  while (st.Step()) {
    ScoreRow row;
    row.id = st.ColumnText(0);
    row.product_id = st.ColumnText(1);
    row.product_name = st.ColumnText(2);
    row.producer_name = st.ColumnText(3);
    row.district_code = st.ColumnText(4);
    row.judge = st.ColumnText(5);
    for (int c = 0; c < 5; ++c) row.criteria[c] = st.ColumnInt(6 + c);
    row.disputed = st.ColumnInt(11) != 0;
    rows.push_back(std::move(row));
  }
  if (Status s = Failed(st); !s.ok()) return s;
  return rows;
}

// ---- Stages -------------------------------------------------------------------

Result<std::vector<StageCountRow>> ReportStore::ProductsByStage(
    const Scope& scope, std::optional<int64_t> fiscal_year) {
  std::string sql =
      "SELECT COALESCE(pr.district_code, ''), COALESCE(pr.stage, ''),"
      " COUNT(*) FROM product pr"
      " LEFT JOIN producer p ON p.id = pr.producer_id"
      " WHERE pr.deleted = 0 AND COALESCE(p.deleted, 0) = 0 AND " +
      InScope(db_, "pr.district_code");
  if (fiscal_year.has_value()) {
    sql +=
        " AND pr.producer_id IN (SELECT e.producer_id FROM workshop w"
        " JOIN enrolment e ON e.workshop_id = w.id AND e.deleted = 0"
        " WHERE w.deleted = 0 AND w.fiscal_year = ?2)";
  }
  sql += " GROUP BY 1, 2 ORDER BY 1";
  Statement st(db_, sql);
  BindScope(st, scope);
  if (fiscal_year.has_value()) st.Bind(2, *fiscal_year);
  std::vector<StageCountRow> rows;
  while (st.Step()) {
    StageCountRow row;
    row.district_code = st.ColumnText(0);
    row.stage = st.ColumnText(1);
    row.products = st.ColumnInt(2);
    rows.push_back(std::move(row));
  }
  if (Status s = Failed(st); !s.ok()) return s;
  return rows;
}

// ---- Visits -------------------------------------------------------------------

Result<std::vector<VisitCountRow>> ReportStore::VisitsByDistrict(
    const Scope& scope, std::optional<int64_t> fiscal_year) {
  Statement st(db_,
               "SELECT COALESCE(v.district_code, p.district_code, ''),"
               " COUNT(*), COUNT(DISTINCT v.producer_id)" +
                   LiveVisits(db_, fiscal_year) + " GROUP BY 1");
  BindScope(st, scope);
  if (fiscal_year.has_value()) st.Bind(2, *fiscal_year);
  std::vector<VisitCountRow> rows;
  while (st.Step()) {
    VisitCountRow row;
    row.district_code = st.ColumnText(0);
    row.visits = st.ColumnInt(1);
    row.producers_visited = st.ColumnInt(2);
    rows.push_back(std::move(row));
  }
  if (Status s = Failed(st); !s.ok()) return s;
  return rows;
}

Result<int64_t> ReportStore::ProducersVisited(
    const Scope& scope, std::optional<int64_t> fiscal_year) {
  Statement st(db_, "SELECT COUNT(DISTINCT v.producer_id)" +
                        LiveVisits(db_, fiscal_year));
  BindScope(st, scope);
  if (fiscal_year.has_value()) st.Bind(2, *fiscal_year);
  int64_t n = 0;
  if (st.Step()) n = st.ColumnInt(0);
  if (Status s = Failed(st); !s.ok()) return s;
  return n;
}

Result<std::vector<OverdueRow>> ReportStore::Overdue(const Scope& scope,
                                                     std::string_view today) {
  const SqlFlavor& flavor = Flavor(db_);
  // Whole days from the date of next_visit to today (?3), NULL when
  // next_visit holds no date.
  const std::string next_date = flavor.DayValue("next_visit");
  const std::string days_late = flavor.DaysFrom(next_date, 3);
  // The latest live visit in scope of each producer (one sort over the
  // visits, by window), kept when its next_visit is before today.
  Statement st(
      db_,
      "SELECT producer_id, producer_name, district_code, id, visited_at,"
      " next_visit, follow_up,"
      " " + days_late + " AS late"
      " FROM (SELECT v.producer_id, COALESCE(p.name, '') AS producer_name,"
      "  COALESCE(v.district_code, p.district_code, '') AS district_code,"
      "  v.id, COALESCE(v.visited_at, '') AS visited_at,"
      "  v.next_visit, COALESCE(v.follow_up, '') AS follow_up,"
      "  ROW_NUMBER() OVER (PARTITION BY v.producer_id"
      "   ORDER BY v.visited_at DESC NULLS LAST, v.id DESC) AS n" +
          LiveVisits(db_, std::nullopt) +
          " AND v.producer_id IS NOT NULL) AS latest"
          " WHERE n = 1 AND COALESCE(next_visit, '') <> ''"
          " AND " + next_date + " IS NOT NULL"
          " AND substr(next_visit, 1, 10) < ?3"
          " ORDER BY late DESC, producer_name, producer_id");
  BindScope(st, scope);
  st.Bind(3, today);
  std::vector<OverdueRow> rows;
  while (st.Step()) {
    OverdueRow f;
    f.producer_id = st.ColumnText(0);
    f.producer_name = st.ColumnText(1);
    f.district_code = st.ColumnText(2);
    f.visit_id = st.ColumnText(3);
    f.visited_at = st.ColumnText(4);
    f.next_visit = st.ColumnText(5);
    f.follow_up = st.ColumnText(6);
    f.days_overdue = st.ColumnInt(7);
    rows.push_back(std::move(f));
  }
  if (Status s = Failed(st); !s.ok()) return s;
  return rows;
}

// ---- Workshops ----------------------------------------------------------------

Result<std::vector<WorkshopListRow>> ReportStore::Workshops(
    const Scope& scope, std::optional<int64_t> fiscal_year) {
  Statement st(db_,
               "SELECT w.id, COALESCE(w.title, ''), COALESCE(w.fiscal_year, 0),"
               " COALESCE(w.district_code, ''), COALESCE(w.start_date, ''),"
               " (SELECT COUNT(*) FROM enrolment e WHERE e.workshop_id = w.id"
               "  AND e.deleted = 0)"
               " FROM workshop w WHERE w.deleted = 0 AND " +
                   InScope(db_, "w.district_code") +
                   " AND (CAST(?2 AS BIGINT) IS NULL OR w.fiscal_year = ?2)"
                   " ORDER BY 3 DESC, 5 DESC, 2, 1");
  BindScope(st, scope);
  if (fiscal_year) {
    st.Bind(2, *fiscal_year);
  } else {
    st.BindNull(2);
  }
  std::vector<WorkshopListRow> out;
  while (st.Step()) {
    WorkshopListRow w;
    w.id = st.ColumnText(0);
    w.title = st.ColumnText(1);
    w.fiscal_year = st.ColumnInt(2);
    w.district_code = st.ColumnText(3);
    w.start_date = st.ColumnText(4);
    w.enrolled = st.ColumnInt(5);
    out.push_back(std::move(w));
  }
  if (Status s = Failed(st); !s.ok()) return s;
  return out;
}

Result<std::vector<int64_t>> ReportStore::WorkshopFiscalYears() {
  Statement st(db_,
               "SELECT DISTINCT fiscal_year FROM workshop WHERE deleted = 0"
               " AND fiscal_year IS NOT NULL ORDER BY 1 DESC");
  std::vector<int64_t> years;
  while (st.Step()) years.push_back(st.ColumnInt(0));
  if (Status s = Failed(st); !s.ok()) return s;
  return years;
}

// ---- Settings -----------------------------------------------------------------

Status ReportStore::UpsertTarget(int64_t fiscal_year, const TargetRow& t) {
  Statement st(db_,
               "INSERT INTO fiscal_target(fiscal_year, groups, entrepreneurs,"
               " producers) VALUES (?1, ?2, ?3, ?4)"
               " ON CONFLICT(fiscal_year) DO UPDATE SET groups = ?2,"
               " entrepreneurs = ?3, producers = ?4");
  st.Bind(1, fiscal_year).Bind(2, t.groups).Bind(3, t.entrepreneurs).Bind(4, t.producers);
  return st.Run();
}

Status ReportStore::UpsertMinDays(std::string_view workshop_id, int64_t min_days) {
  Statement st(db_,
               "INSERT INTO workshop_setting(workshop_id, min_days)"
               " VALUES (?1, ?2) ON CONFLICT(workshop_id) DO UPDATE"
               " SET min_days = ?2");
  st.Bind(1, workshop_id).Bind(2, min_days);
  return st.Run();
}

}  // namespace kbo::server::storage
