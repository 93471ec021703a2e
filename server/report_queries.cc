#include "server/report_queries.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "shared/entities.h"
#include "shared/labels.h"

// How the reports read the store (see the header for the rules):
// - The scope is one bound parameter, ?1: a JSON array of district codes
//   read with json_each (SQLite's JSON functions are built in since 3.38),
//   so one statement text serves every scope and a code is never spliced
//   into SQL. Scope{all} binds NULL and the clause reads "?1 IS NULL OR ...".
// - Parents are joined with LEFT JOIN and COALESCE(parent.deleted, 0) = 0:
//   a row whose parent has not arrived yet still counts, one whose parent
//   is deleted does not.
// - Each report is a few grouped queries on the indexes of
//   schema/shared/0001_entities.sql (enrolment_by_workshop,
//   attendance_by_workshop, product_by_producer, visit_by_producer); the
//   small grouped results are folded in C++.

namespace kbo::server {
namespace {

using Json = nlohmann::ordered_json;

// Days a grid may have: a damaged day number cannot make a huge grid.
constexpr int64_t kMaxDays = 366;
constexpr int64_t kDefaultDays = 5;
constexpr int64_t kDefaultMinDays = 4;
constexpr int64_t kMinFiscalYear = 2400;
constexpr int64_t kMaxFiscalYear = 2700;

// "<col> in scope ?1". The JSON array is read by SQLite's json_each, or
// PostgreSQL's jsonb_array_elements_text.
std::string InScope(const Db& db, std::string_view col) {
  if (db.dialect() == SqlDialect::kPostgres) {
    return "(CAST(?1 AS jsonb) IS NULL OR " + std::string(col) +
           " IN (SELECT jsonb_array_elements_text(CAST(?1 AS jsonb))))";
  }
  return "(?1 IS NULL OR " + std::string(col) +
         " IN (SELECT value FROM json_each(?1)))";
}

void BindScope(Statement& st, const Scope& scope) {
  if (scope.all) {
    st.BindNull(1);
    return;
  }
  st.Bind(1, Json(scope.districts).dump());
}

Status Failed(const Statement& st) {
  return st.status().ok() ? Status() : st.status();
}

std::string Text(Statement& st, int col) {
  return st.IsNull(col) ? std::string() : st.ColumnText(col);
}

void AddKind(KindCounts& c, std::string_view kind, int64_t n) {
  if (kind == "group") c.group += n;
  if (kind == "entrepreneur") c.entrepreneur += n;
  c.total += n;
}

Json KindJson(const KindCounts& c) {
  return Json{{"group", c.group},
              {"entrepreneur", c.entrepreneur},
              {"total", c.total}};
}

double Round(double v, double scale) { return std::round(v * scale) / scale; }

// "YYYY-MM-DD" plus `days`; "" if `date` does not parse.
std::string AddDays(const std::string& date, int64_t days) {
  if (!FiscalYearOfDate(date).has_value()) return "";
  int y = std::stoi(date.substr(0, 4));
  int m = std::stoi(date.substr(5, 2));
  int d = std::stoi(date.substr(8, 2));
  // Days from civil (Howard Hinnant), and back.
  auto to_days = [](int yy, int mm, int dd) {
    yy -= mm <= 2;
    const int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    const int64_t yoe = yy - era * 400;
    const int64_t doy = (153 * (mm + (mm > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
  };
  int64_t z = to_days(y, m, d) + days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t dd = doy - (153 * mp + 2) / 5 + 1;
  const int64_t mm = mp < 10 ? mp + 3 : mp - 9;
  const int64_t yy = yoe + era * 400 + (mm <= 2);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(yy),
                static_cast<int>(mm), static_cast<int>(dd));
  return buf;
}

Status CheckFiscalYear(int64_t fy) {
  if (fy < kMinFiscalYear || fy > kMaxFiscalYear) {
    return Status::InvalidArgument(
        "fiscal year " + std::to_string(fy) +
        " is not a Buddhist Era year between 2400 and 2700 (e.g. 2569)");
  }
  return Status();
}

// The workshop row the attendance reports start from.
struct WorkshopHead {
  std::string title;
  int64_t fiscal_year = 0;
  std::string district_code;
  std::string venue;
  std::string start_date;
  int64_t days = kDefaultDays;
};

Result<WorkshopHead> LoadWorkshop(Db& db, std::string_view workshop_id,
                                  const Scope& scope) {
  if (workshop_id.empty()) {
    return Status::InvalidArgument("give a workshop id (--workshop ID)");
  }
  Statement st(db,
               "SELECT title, fiscal_year, district_code, venue, start_date,"
               " days FROM workshop WHERE id = ?1 AND deleted = 0");
  st.Bind(1, workshop_id);
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return Status::NotFound("no workshop " + std::string(workshop_id));
  }
  WorkshopHead w;
  w.title = Text(st, 0);
  w.fiscal_year = st.IsNull(1) ? 0 : st.ColumnInt(1);
  w.district_code = Text(st, 2);
  w.venue = Text(st, 3);
  w.start_date = Text(st, 4);
  if (!st.IsNull(5) && st.ColumnInt(5) >= 1) {
    w.days = std::min(st.ColumnInt(5), kMaxDays);
  }
  // Out of scope reads as unknown: a viewer learns nothing of it.
  if (!scope.Contains(w.district_code)) {
    return Status::NotFound("no workshop " + std::string(workshop_id));
  }
  return w;
}

int StatusIndex(std::string_view status) {
  if (status == "present") return 0;
  if (status == "late") return 1;
  if (status == "absent") return 2;
  if (status == "excused") return 3;
  return -1;
}

}  // namespace

Result<Scope> EffectiveScope(const ReportFilter& filter) {
  if (filter.fiscal_year.has_value()) {
    if (Status s = CheckFiscalYear(*filter.fiscal_year); !s.ok()) return s;
  }
  if (filter.district.empty()) return filter.scope;
  if (FindDistrict(filter.district) == nullptr) {
    return Status::InvalidArgument("'" + filter.district +
                                   "' is not a Chiang Mai district code "
                                   "(e.g. 5011 is Phrao)");
  }
  Scope narrowed;
  if (filter.scope.Contains(filter.district)) {
    narrowed.districts.push_back(filter.district);
  }
  return narrowed;
}

// ---- Reach --------------------------------------------------------------------

Result<ReachTarget> LoadTarget(Db& db, int64_t fiscal_year) {
  Statement st(db,
               "SELECT groups, entrepreneurs, producers FROM fiscal_target"
               " WHERE fiscal_year = ?1");
  st.Bind(1, fiscal_year);
  ReachTarget t;
  if (st.Step()) {
    t.groups = st.ColumnInt(0);
    t.entrepreneurs = st.ColumnInt(1);
    t.producers = st.ColumnInt(2);
    t.is_default = false;
  }
  if (Status s = Failed(st); !s.ok()) return s;
  return t;
}

Result<ReachReport> Reach(Db& db, const ReportFilter& filter) {
  Result<Scope> scope = EffectiveScope(filter);
  if (!scope.ok()) return scope.status();
  ReachReport r;
  if (filter.fiscal_year.has_value()) {
    r.fiscal_year = *filter.fiscal_year;
  } else {
    Statement st(db, "SELECT MAX(fiscal_year) FROM workshop WHERE deleted = 0"
                     " AND " + InScope(db, "district_code"));
    BindScope(st, *scope);
    if (st.Step() && !st.IsNull(0)) r.fiscal_year = st.ColumnInt(0);
    if (Status s = Failed(st); !s.ok()) return s;
    if (r.fiscal_year == 0) {
      return Status::NotFound(
          "no workshop in scope to take a fiscal year from: give one "
          "(--fiscal-year BE)");
    }
  }
  Result<ReachTarget> target = LoadTarget(db, r.fiscal_year);
  if (!target.ok()) return target.status();
  r.target = *target;

  // Producers grouped by district, category and kind, with how many of
  // them were reached: one pass over producer, the reached set built once
  // from the year's workshops through enrolment_by_workshop.
  Statement st(
      db,
      "WITH reached(pid) AS ("
      "  SELECT DISTINCT e.producer_id FROM workshop w"
      "  JOIN enrolment e ON e.workshop_id = w.id AND e.deleted = 0"
      "  WHERE w.deleted = 0 AND w.fiscal_year = ?2"
      "    AND e.producer_id IS NOT NULL)"
      " SELECT COALESCE(p.district_code, ''), COALESCE(p.category, ''),"
      "  COALESCE(p.kind, ''), COUNT(*),"
      "  SUM(CASE WHEN p.id IN (SELECT pid FROM reached) THEN 1 ELSE 0 END)"
      " FROM producer p WHERE p.deleted = 0 AND " +
          InScope(db, "p.district_code") + " GROUP BY 1, 2, 3");
  BindScope(st, *scope);
  st.Bind(2, r.fiscal_year);
  std::map<std::string, ReachRow> districts;
  std::map<std::string, ReachRow> categories;
  while (st.Step()) {
    const std::string district = st.ColumnText(0);
    std::string category = st.ColumnText(1);
    if (Categories().Find(category) == nullptr) category.clear();
    const std::string kind = st.ColumnText(2);
    const int64_t n = st.ColumnInt(3);
    const int64_t reached = st.ColumnInt(4);
    for (auto* row : {&districts[district], &categories[category]}) {
      AddKind(row->producers, kind, n);
      AddKind(row->reached, kind, reached);
    }
    AddKind(r.producers, kind, n);
    AddKind(r.reached, kind, reached);
  }
  if (Status s = Failed(st); !s.ok()) return s;
  for (auto& [code, row] : districts) {
    row.key = code;
    r.by_district.push_back(std::move(row));
  }
  for (const Named& c : Categories()) {
    auto it = categories.find(std::string(c.value));
    ReachRow row = it == categories.end() ? ReachRow{} : it->second;
    row.key = std::string(c.value);
    r.by_category.push_back(std::move(row));
  }
  if (auto it = categories.find(""); it != categories.end()) {
    it->second.key.clear();
    r.by_category.push_back(it->second);
  }

  Statement counts(
      db,
      "SELECT COUNT(DISTINCT w.id), COUNT(e.id) FROM workshop w"
      " LEFT JOIN (enrolment e LEFT JOIN producer p ON p.id = e.producer_id)"
      "  ON e.workshop_id = w.id AND e.deleted = 0"
      "  AND COALESCE(p.deleted, 0) = 0"
      " WHERE w.deleted = 0 AND w.fiscal_year = ?2 AND " +
          InScope(db, "w.district_code"));
  BindScope(counts, *scope);
  counts.Bind(2, r.fiscal_year);
  if (counts.Step()) {
    r.workshops = counts.ColumnInt(0);
    r.enrolments = counts.ColumnInt(1);
  }
  if (Status s = Failed(counts); !s.ok()) return s;
  return r;
}

// ---- Attendance ---------------------------------------------------------------

Result<AttendanceGrid> Attendance(Db& db, std::string_view workshop_id,
                                  const Scope& scope) {
  Result<WorkshopHead> head = LoadWorkshop(db, workshop_id, scope);
  if (!head.ok()) return head.status();
  AttendanceGrid g;
  g.workshop_id = std::string(workshop_id);
  g.title = head->title;
  g.fiscal_year = head->fiscal_year;
  g.district_code = head->district_code;
  g.venue = head->venue;
  g.start_date = head->start_date;
  g.days = head->days;

  // A row's own district, else its workshop's (rows take it from their
  // parent; one not yet filled in is the workshop's).
  const std::string district = "COALESCE(%.district_code, ?3)";
  auto own = [&](const char* alias) {
    std::string d = district;
    d.replace(d.find('%'), 1, alias);
    return InScope(db, d);
  };
  Statement en(db,
               "SELECT e.id, COALESCE(e.participant_name, ''),"
               " COALESCE(e.producer_id, ''), COALESCE(p.name, '')"
               " FROM enrolment e LEFT JOIN producer p ON p.id = e.producer_id"
               " WHERE e.workshop_id = ?2 AND e.deleted = 0"
               " AND COALESCE(p.deleted, 0) = 0 AND " +
                   own("e") + " ORDER BY 2, 1");
  BindScope(en, scope);
  en.Bind(2, workshop_id);
  en.Bind(3, head->district_code);
  std::map<std::string, size_t> index;
  while (en.Step()) {
    AttendanceRow row;
    row.enrolment_id = en.ColumnText(0);
    row.participant_name = en.ColumnText(1);
    row.producer_id = en.ColumnText(2);
    row.producer_name = en.ColumnText(3);
    index[row.enrolment_id] = g.participants.size();
    g.participants.push_back(std::move(row));
  }
  if (Status s = Failed(en); !s.ok()) return s;
  g.enrolled = static_cast<int64_t>(g.participants.size());

  struct Mark {
    size_t row;
    int64_t day;
    std::string status;
  };
  std::vector<Mark> marks;
  Statement at(db,
               "SELECT a.enrolment_id, a.day, a.status FROM attendance a"
               " WHERE a.workshop_id = ?2 AND a.deleted = 0"
               " AND a.status IS NOT NULL AND a.day BETWEEN 1 AND ?4 AND " +
                   own("a") + " ORDER BY a.enrolment_id, a.day, a.id");
  BindScope(at, scope);
  at.Bind(2, workshop_id);
  at.Bind(3, head->district_code);
  at.Bind(4, kMaxDays);
  while (at.Step()) {
    auto it = index.find(Text(at, 0));
    if (it == index.end()) continue;  // a deleted or other enrolment
    const std::string status = at.ColumnText(2);
    if (StatusIndex(status) < 0) continue;
    marks.push_back({it->second, at.ColumnInt(1), status});
    g.days = std::max(g.days, at.ColumnInt(1));
  }
  if (Status s = Failed(at); !s.ok()) return s;

  for (AttendanceRow& row : g.participants) {
    row.statuses.assign(static_cast<size_t>(g.days), "");
  }
  for (const Mark& m : marks) {
    // One live row per (enrolment, day) by its derived id; were there two,
    // the first by id stands.
    std::string& cell = g.participants[m.row].statuses[m.day - 1];
    if (cell.empty()) cell = m.status;
  }
  g.daily.resize(static_cast<size_t>(g.days));
  for (int64_t d = 0; d < g.days; ++d) {
    AttendanceDay& day = g.daily[d];
    day.day = d + 1;
    day.date = AddDays(g.start_date, d);
  }
  for (AttendanceRow& row : g.participants) {
    for (int64_t d = 0; d < g.days; ++d) {
      AttendanceDay& day = g.daily[d];
      switch (StatusIndex(row.statuses[d])) {
        case 0: ++day.present; ++row.days_attended; break;
        case 1: ++day.late; ++row.days_attended; break;
        case 2: ++day.absent; break;
        case 3: ++day.excused; break;
        default: ++day.unmarked; break;
      }
    }
  }
  for (AttendanceDay& day : g.daily) {
    if (g.enrolled > 0) {
      day.rate = static_cast<double>(day.present + day.late) /
                 static_cast<double>(g.enrolled);
    }
  }
  return g;
}

// ---- Certificates -------------------------------------------------------------

Result<int64_t> LoadMinDays(Db& db, std::string_view workshop_id) {
  Statement st(db, "SELECT min_days FROM workshop_setting WHERE workshop_id = ?1");
  st.Bind(1, workshop_id);
  int64_t n = kDefaultMinDays;
  if (st.Step()) n = st.ColumnInt(0);
  if (Status s = Failed(st); !s.ok()) return s;
  return n;
}

Result<CertificateReport> Certificates(Db& db, std::string_view workshop_id,
                                       const Scope& scope) {
  Result<AttendanceGrid> grid = Attendance(db, workshop_id, scope);
  if (!grid.ok()) return grid.status();
  Result<int64_t> min_days = LoadMinDays(db, workshop_id);
  if (!min_days.ok()) return min_days.status();
  CertificateReport r;
  r.workshop_id = grid->workshop_id;
  r.title = grid->title;
  r.days = grid->days;
  r.min_days = *min_days;
  for (const AttendanceRow& row : grid->participants) {
    CertificateRow c;
    c.enrolment_id = row.enrolment_id;
    c.participant_name = row.participant_name;
    c.producer_name = row.producer_name;
    c.days_attended = row.days_attended;
    c.eligible = c.days_attended >= r.min_days;
    if (c.eligible) ++r.eligible;
    r.participants.push_back(std::move(c));
  }
  return r;
}

// ---- Contest ------------------------------------------------------------------

Result<ContestReport> Contest(Db& db, const ReportFilter& filter) {
  Result<Scope> scope = EffectiveScope(filter);
  if (!scope.ok()) return scope.status();
  // A score counts when it and its product are live; its district is the
  // score's own (the product's, from the parent).
  const std::string from =
      " FROM contest_score s LEFT JOIN product pr ON pr.id = s.product_id";
  const std::string where =
      " WHERE s.deleted = 0 AND COALESCE(pr.deleted, 0) = 0"
      " AND s.product_id IS NOT NULL AND " +
      InScope(db, "COALESCE(s.district_code, pr.district_code)");
  ContestReport r;
  {
    Statement st(db, "SELECT DISTINCT s.contest" + from + where +
                         " AND COALESCE(s.contest, '') <> '' ORDER BY 1");
    BindScope(st, *scope);
    while (st.Step()) r.contests.push_back(st.ColumnText(0));
    if (Status s = Failed(st); !s.ok()) return s;
  }
  r.contest = filter.contest;
  if (r.contest.empty()) {
    if (r.contests.empty()) return r;
    r.contest = r.contests.front();
  } else if (std::find(r.contests.begin(), r.contests.end(), r.contest) ==
             r.contests.end()) {
    return Status::NotFound("no scores for contest '" + r.contest + "'");
  }

  struct Sum {
    ContestEntry entry;
    int64_t total = 0;   // sum over judges of the five criteria
    int64_t scores = 0;  // rows
    std::vector<int64_t> criteria = std::vector<int64_t>(5, 0);
    std::set<std::string> judges;
  };
  std::map<std::string, Sum> sums;
  Statement st(
      db,
      "SELECT s.product_id, COALESCE(pr.name, ''), COALESCE(p.name, ''),"
      " COALESCE(pr.district_code, s.district_code, ''),"
      " COALESCE(s.judge, ''), COALESCE(s.identity, 0),"
      " COALESCE(s.uniqueness, 0), COALESCE(s.quality, 0),"
      " COALESCE(s.packaging, 0), COALESCE(s.marketability, 0)" +
          from + " LEFT JOIN producer p ON p.id = pr.producer_id" + where +
          " AND s.contest = ?2");
  BindScope(st, *scope);
  st.Bind(2, r.contest);
  while (st.Step()) {
    Sum& sum = sums[st.ColumnText(0)];
    if (sum.scores == 0) {
      sum.entry.product_id = st.ColumnText(0);
      sum.entry.product_name = st.ColumnText(1);
      sum.entry.producer_name = st.ColumnText(2);
      sum.entry.district_code = st.ColumnText(3);
    }
    ++sum.scores;
    sum.judges.insert(st.ColumnText(4));
    for (int c = 0; c < 5; ++c) {
      const int64_t v = st.ColumnInt(5 + c);
      sum.criteria[c] += v;
      sum.total += v;
    }
  }
  if (Status s = Failed(st); !s.ok()) return s;

  std::vector<Sum> ranked;
  for (auto& [id, sum] : sums) {
    const double n = static_cast<double>(sum.scores);
    sum.entry.judges.assign(sum.judges.begin(), sum.judges.end());
    for (int64_t c : sum.criteria) {
      sum.entry.criteria.push_back(static_cast<double>(c) / n);
    }
    sum.entry.mean_total = static_cast<double>(sum.total) / n;
    ranked.push_back(std::move(sum));
  }
  // Means compared exactly (a/b vs c/d as a*d vs c*b), so equal means tie.
  auto cmp = [](const Sum& a, const Sum& b) {
    return a.total * b.scores - b.total * a.scores;
  };
  std::sort(ranked.begin(), ranked.end(), [&](const Sum& a, const Sum& b) {
    if (int64_t c = cmp(a, b); c != 0) return c > 0;
    if (a.entry.product_name != b.entry.product_name) {
      return a.entry.product_name < b.entry.product_name;
    }
    return a.entry.product_id < b.entry.product_id;
  });
  for (size_t i = 0; i < ranked.size(); ++i) {
    ranked[i].entry.rank =
        (i > 0 && cmp(ranked[i], ranked[i - 1]) == 0)
            ? ranked[i - 1].entry.rank
            : static_cast<int64_t>(i) + 1;
    r.ranking.push_back(ranked[i].entry);
  }
  return r;
}

// ---- Stages -------------------------------------------------------------------

Result<StageReport> Stages(Db& db, const ReportFilter& filter) {
  Result<Scope> scope = EffectiveScope(filter);
  if (!scope.ok()) return scope.status();
  StageReport r;
  r.fiscal_year = filter.fiscal_year;
  for (const Named& s : kbo::Stages()) r.stages.emplace_back(s.value);
  r.stages.emplace_back("");
  r.counts.assign(r.stages.size(), 0);
  std::string sql =
      "SELECT COALESCE(pr.district_code, ''), COALESCE(pr.stage, ''),"
      " COUNT(*) FROM product pr"
      " LEFT JOIN producer p ON p.id = pr.producer_id"
      " WHERE pr.deleted = 0 AND COALESCE(p.deleted, 0) = 0 AND " +
      InScope(db, "pr.district_code");
  if (filter.fiscal_year.has_value()) {
    sql +=
        " AND pr.producer_id IN (SELECT e.producer_id FROM workshop w"
        " JOIN enrolment e ON e.workshop_id = w.id AND e.deleted = 0"
        " WHERE w.deleted = 0 AND w.fiscal_year = ?2)";
  }
  sql += " GROUP BY 1, 2 ORDER BY 1";
  Statement st(db, sql);
  BindScope(st, *scope);
  if (filter.fiscal_year.has_value()) st.Bind(2, *filter.fiscal_year);
  std::map<std::string, StageRow> districts;
  while (st.Step()) {
    const std::string district = st.ColumnText(0);
    const std::string stage = st.ColumnText(1);
    const int64_t n = st.ColumnInt(2);
    size_t i = r.stages.size() - 1;
    for (size_t k = 0; k + 1 < r.stages.size(); ++k) {
      if (r.stages[k] == stage) i = k;
    }
    StageRow& row = districts[district];
    if (row.counts.empty()) {
      row.key = district;
      row.counts.assign(r.stages.size(), 0);
    }
    row.counts[i] += n;
    row.total += n;
    r.counts[i] += n;
    r.total += n;
  }
  if (Status s = Failed(st); !s.ok()) return s;
  for (auto& [code, row] : districts) r.by_district.push_back(std::move(row));
  return r;
}

// ---- Followups ----------------------------------------------------------------

Result<FollowupReport> Followups(Db& db, const ReportFilter& filter,
                                 std::string_view today) {
  Result<Scope> scope = EffectiveScope(filter);
  if (!scope.ok()) return scope.status();
  if (today.size() != 10 || !FiscalYearOfDate(today).has_value()) {
    return Status::InvalidArgument("today must be a date YYYY-MM-DD, not '" +
                                   std::string(today) + "'");
  }
  FollowupReport r;
  r.fiscal_year = filter.fiscal_year;
  r.today = std::string(today);

  const std::string live =
      " FROM visit v LEFT JOIN producer p ON p.id = v.producer_id"
      " WHERE v.deleted = 0 AND COALESCE(p.deleted, 0) = 0 AND " +
      InScope(db, "COALESCE(v.district_code, p.district_code)");
  // The Bangkok date of visited_at, and its fiscal year (1 October).
  const std::string fy =
      db.dialect() == SqlDialect::kPostgres
          ? "(CAST(EXTRACT(YEAR FROM kbo_time(v.visited_at) + INTERVAL '7 hours')"
            " AS BIGINT) + 543 + CAST(EXTRACT(MONTH FROM kbo_time(v.visited_at) +"
            " INTERVAL '7 hours') >= 10 AS INTEGER))"
          : "(CAST(strftime('%Y', v.visited_at, '+7 hours') AS INTEGER) + 543 +"
            " (CAST(strftime('%m', v.visited_at, '+7 hours') AS INTEGER) >= 10))";
  // Whole days from the date of next_visit to today (?3), NULL when
  // next_visit holds no date.
  const bool pg = db.dialect() == SqlDialect::kPostgres;
  const std::string next_date =
      pg ? "CAST(kbo_time(substr(next_visit, 1, 10)) AS DATE)"
         : "julianday(substr(next_visit, 1, 10))";
  const std::string days_late =
      pg ? "(CAST(CAST(?3 AS TEXT) AS DATE) - " + next_date + ")"
         : "CAST(julianday(?3) - " + next_date + " AS INTEGER)";
  std::string where = live;
  if (filter.fiscal_year.has_value()) where += " AND " + fy + " = ?2";

  std::map<std::string, VisitDistrictRow> districts;
  {
    Statement st(db,
                 "SELECT COALESCE(v.district_code, p.district_code, ''),"
                 " COUNT(*), COUNT(DISTINCT v.producer_id)" +
                     where + " GROUP BY 1");
    BindScope(st, *scope);
    if (filter.fiscal_year.has_value()) st.Bind(2, *filter.fiscal_year);
    while (st.Step()) {
      VisitDistrictRow& row = districts[st.ColumnText(0)];
      row.district_code = st.ColumnText(0);
      row.visits = st.ColumnInt(1);
      row.producers_visited = st.ColumnInt(2);
      r.visits += row.visits;
    }
    if (Status s = Failed(st); !s.ok()) return s;
  }
  {
    Statement st(db, "SELECT COUNT(DISTINCT v.producer_id)" + where);
    BindScope(st, *scope);
    if (filter.fiscal_year.has_value()) st.Bind(2, *filter.fiscal_year);
    if (st.Step()) r.producers_visited = st.ColumnInt(0);
    if (Status s = Failed(st); !s.ok()) return s;
  }
  {
    // The latest live visit in scope of each producer (one sort over the
    // visits, by window), kept when its next_visit is before today.
    Statement st(
        db,
        "SELECT producer_id, producer_name, district_code, id, visited_at,"
        " next_visit, follow_up,"
        " " + days_late + " AS late"
        " FROM (SELECT v.producer_id, COALESCE(p.name, '') AS producer_name,"
        "  COALESCE(v.district_code, p.district_code, '') AS district_code,"
        "  v.id, COALESCE(v.visited_at, '') AS visited_at,"
        "  v.next_visit, COALESCE(v.follow_up, '') AS follow_up,"
        "  ROW_NUMBER() OVER (PARTITION BY v.producer_id"
        "   ORDER BY v.visited_at DESC NULLS LAST, v.id DESC) AS n" +
            live +
            " AND v.producer_id IS NOT NULL) AS latest"
            " WHERE n = 1 AND COALESCE(next_visit, '') <> ''"
            " AND " + next_date + " IS NOT NULL"
            " AND substr(next_visit, 1, 10) < ?3"
            " ORDER BY late DESC, producer_name, producer_id");
    BindScope(st, *scope);
    st.Bind(3, today);
    while (st.Step()) {
      OverdueFollowup f;
      f.producer_id = st.ColumnText(0);
      f.producer_name = st.ColumnText(1);
      f.district_code = st.ColumnText(2);
      f.visit_id = st.ColumnText(3);
      f.visited_at = st.ColumnText(4);
      f.next_visit = st.ColumnText(5);
      f.follow_up = st.ColumnText(6);
      f.days_overdue = st.ColumnInt(7);
      VisitDistrictRow& row = districts[f.district_code];
      row.district_code = f.district_code;
      ++row.overdue;
      r.overdue.push_back(std::move(f));
    }
    if (Status s = Failed(st); !s.ok()) return s;
  }
  for (auto& [code, row] : districts) r.by_district.push_back(std::move(row));
  return r;
}

// ---- JSON ---------------------------------------------------------------------

std::string ReachJson(const ReachReport& r) {
  Json j;
  j["fiscal_year"] = r.fiscal_year;
  j["target"] = Json{{"group", r.target.groups},
                     {"entrepreneur", r.target.entrepreneurs},
                     {"total", r.target.total()},
                     {"producers", r.target.producers},
                     {"is_default", r.target.is_default}};
  j["reached"] = KindJson(r.reached);
  j["producers"] = KindJson(r.producers);
  j["workshops"] = r.workshops;
  j["enrolments"] = r.enrolments;
  Json districts = Json::array();
  for (const ReachRow& row : r.by_district) {
    districts.push_back(Json{{"district_code", row.key},
                             {"producers", KindJson(row.producers)},
                             {"reached", KindJson(row.reached)}});
  }
  j["by_district"] = std::move(districts);
  Json categories = Json::array();
  for (const ReachRow& row : r.by_category) {
    categories.push_back(Json{{"category", row.key},
                              {"producers", KindJson(row.producers)},
                              {"reached", KindJson(row.reached)}});
  }
  j["by_category"] = std::move(categories);
  return j.dump();
}

std::string AttendanceJson(const AttendanceGrid& r) {
  Json j;
  j["workshop_id"] = r.workshop_id;
  j["title"] = r.title;
  j["fiscal_year"] = r.fiscal_year;
  j["district_code"] = r.district_code;
  j["venue"] = r.venue;
  j["start_date"] = r.start_date;
  j["days"] = r.days;
  j["enrolled"] = r.enrolled;
  Json people = Json::array();
  for (const AttendanceRow& row : r.participants) {
    people.push_back(Json{{"enrolment_id", row.enrolment_id},
                          {"participant_name", row.participant_name},
                          {"producer_id", row.producer_id},
                          {"producer_name", row.producer_name},
                          {"statuses", row.statuses},
                          {"days_attended", row.days_attended}});
  }
  j["participants"] = std::move(people);
  Json daily = Json::array();
  for (const AttendanceDay& d : r.daily) {
    Json day{{"day", d.day},         {"date", d.date},
             {"present", d.present}, {"late", d.late},
             {"absent", d.absent},   {"excused", d.excused},
             {"unmarked", d.unmarked}};
    day["rate"] = d.rate.has_value() ? Json(Round(*d.rate, 1e4)) : Json();
    daily.push_back(std::move(day));
  }
  j["daily"] = std::move(daily);
  return j.dump();
}

std::string CertificatesJson(const CertificateReport& r) {
  Json j;
  j["workshop_id"] = r.workshop_id;
  j["title"] = r.title;
  j["days"] = r.days;
  j["min_days"] = r.min_days;
  j["eligible"] = r.eligible;
  Json people = Json::array();
  for (const CertificateRow& c : r.participants) {
    people.push_back(Json{{"enrolment_id", c.enrolment_id},
                          {"participant_name", c.participant_name},
                          {"producer_name", c.producer_name},
                          {"days_attended", c.days_attended},
                          {"eligible", c.eligible}});
  }
  j["participants"] = std::move(people);
  return j.dump();
}

std::string ContestJson(const ContestReport& r) {
  Json j;
  j["contest"] = r.contest;
  j["contests"] = r.contests;
  Json ranking = Json::array();
  for (const ContestEntry& e : r.ranking) {
    Json criteria = Json::object();
    size_t i = 0;
    for (const Named& c : Criteria()) {
      criteria[std::string(c.value)] =
          i < e.criteria.size() ? Round(e.criteria[i], 100) : 0.0;
      ++i;
    }
    ranking.push_back(Json{{"rank", e.rank},
                           {"product_id", e.product_id},
                           {"product_name", e.product_name},
                           {"producer_name", e.producer_name},
                           {"district_code", e.district_code},
                           {"judges", e.judges},
                           {"criteria", std::move(criteria)},
                           {"mean_total", Round(e.mean_total, 100)}});
  }
  j["ranking"] = std::move(ranking);
  return j.dump();
}

std::string StagesJson(const StageReport& r) {
  Json j;
  j["fiscal_year"] = r.fiscal_year.has_value() ? Json(*r.fiscal_year) : Json();
  j["total"] = r.total;
  Json stages = Json::array();
  for (size_t i = 0; i < r.stages.size(); ++i) {
    stages.push_back(Json{{"stage", r.stages[i]}, {"count", r.counts[i]}});
  }
  j["by_stage"] = std::move(stages);
  Json districts = Json::array();
  for (const StageRow& row : r.by_district) {
    Json by = Json::object();
    for (size_t i = 0; i < r.stages.size(); ++i) by[r.stages[i]] = row.counts[i];
    districts.push_back(Json{{"district_code", row.key},
                             {"total", row.total},
                             {"by_stage", std::move(by)}});
  }
  j["by_district"] = std::move(districts);
  return j.dump();
}

std::string FollowupsJson(const FollowupReport& r) {
  Json j;
  j["fiscal_year"] = r.fiscal_year.has_value() ? Json(*r.fiscal_year) : Json();
  j["today"] = r.today;
  j["visits"] = r.visits;
  j["producers_visited"] = r.producers_visited;
  Json districts = Json::array();
  for (const VisitDistrictRow& row : r.by_district) {
    districts.push_back(Json{{"district_code", row.district_code},
                             {"visits", row.visits},
                             {"producers_visited", row.producers_visited},
                             {"overdue", row.overdue}});
  }
  j["by_district"] = std::move(districts);
  Json overdue = Json::array();
  for (const OverdueFollowup& f : r.overdue) {
    overdue.push_back(Json{{"producer_id", f.producer_id},
                           {"producer_name", f.producer_name},
                           {"district_code", f.district_code},
                           {"visit_id", f.visit_id},
                           {"visited_at", f.visited_at},
                           {"next_visit", f.next_visit},
                           {"follow_up", f.follow_up},
                           {"days_overdue", f.days_overdue}});
  }
  j["overdue"] = std::move(overdue);
  return j.dump();
}

// ---- Workshops ----------------------------------------------------------------

Result<std::vector<WorkshopSummary>> ListWorkshops(Db& db,
                                                   const ReportFilter& filter) {
  Result<Scope> scope = EffectiveScope(filter);
  if (!scope.ok()) return scope.status();
  Statement st(db,
               "SELECT w.id, COALESCE(w.title, ''), COALESCE(w.fiscal_year, 0),"
               " COALESCE(w.district_code, ''), COALESCE(w.start_date, ''),"
               " (SELECT COUNT(*) FROM enrolment e WHERE e.workshop_id = w.id"
               "  AND e.deleted = 0)"
               " FROM workshop w WHERE w.deleted = 0 AND " +
                   InScope(db, "w.district_code") +
                   " AND (CAST(?2 AS BIGINT) IS NULL OR w.fiscal_year = ?2)"
                   " ORDER BY 3 DESC, 5 DESC, 2, 1");
  BindScope(st, *scope);
  if (filter.fiscal_year) {
    st.Bind(2, *filter.fiscal_year);
  } else {
    st.BindNull(2);
  }
  std::vector<WorkshopSummary> out;
  while (st.Step()) {
    WorkshopSummary w;
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

// ---- Dates --------------------------------------------------------------------

std::string BangkokDate(int64_t unix_ms) {
  const int64_t local_ms = unix_ms + kBangkokOffsetSeconds * 1000;
  int64_t days = local_ms / 86400000;
  if (local_ms % 86400000 < 0) --days;
  return AddDays("1970-01-01", days);
}

std::string AddDaysToDate(const std::string& date, int64_t days) {
  return AddDays(date, days);
}

// ---- Settings -----------------------------------------------------------------

Status SetTarget(Db& db, int64_t fiscal_year, int64_t groups,
                 int64_t entrepreneurs, int64_t producers) {
  if (Status s = CheckFiscalYear(fiscal_year); !s.ok()) return s;
  constexpr int64_t kMaxCount = 1000000;
  for (int64_t n : {groups, entrepreneurs, producers}) {
    if (n < 0 || n > kMaxCount) {
      return Status::InvalidArgument(
          "targets must be whole numbers from 0 to 1000000");
    }
  }
  if (producers < groups + entrepreneurs) {
    return Status::InvalidArgument(
        "producers (" + std::to_string(producers) +
        ") must be at least groups + entrepreneurs (" +
        std::to_string(groups + entrepreneurs) + ")");
  }
  Statement st(db,
               "INSERT INTO fiscal_target(fiscal_year, groups, entrepreneurs,"
               " producers) VALUES (?1, ?2, ?3, ?4)"
               " ON CONFLICT(fiscal_year) DO UPDATE SET groups = ?2,"
               " entrepreneurs = ?3, producers = ?4");
  st.Bind(1, fiscal_year).Bind(2, groups).Bind(3, entrepreneurs).Bind(4, producers);
  return st.Run();
}

Status SetMinDays(Db& db, std::string_view workshop_id, int64_t n) {
  if (n < 1 || n > kMaxDays) {
    return Status::InvalidArgument("min days must be from 1 to 366, not " +
                                   std::to_string(n));
  }
  {
    Statement st(db, "SELECT 1 FROM workshop WHERE id = ?1 AND deleted = 0");
    st.Bind(1, workshop_id);
    const bool found = st.Step();
    if (Status s = Failed(st); !s.ok()) return s;
    if (!found) return Status::NotFound("no workshop " + std::string(workshop_id));
  }
  Statement st(db,
               "INSERT INTO workshop_setting(workshop_id, min_days)"
               " VALUES (?1, ?2) ON CONFLICT(workshop_id) DO UPDATE"
               " SET min_days = ?2");
  st.Bind(1, workshop_id).Bind(2, n);
  return st.Run();
}

}  // namespace kbo::server
