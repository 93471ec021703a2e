#include "server/report_queries.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>

#include "server/storage/report_store.h"
#include "shared/entities.h"
#include "shared/labels.h"
#include "shared/name_match.h"

// How the reports read the store (see the header for the rules): the
// queries are storage::ReportStore's (server/storage/report_store.h: the
// scope is one bound JSON array, parents are joined so a deleted parent
// hides its rows); each report is a few grouped reads whose small results
// are folded here in C++.

namespace kbo::server {
namespace {

using Json = nlohmann::ordered_json;

// Days a grid may have: a damaged day number cannot make a huge grid.
constexpr int64_t kMaxDays = 366;
constexpr int64_t kDefaultDays = 5;
constexpr int64_t kDefaultMinDays = 4;

using storage::ReportStore;

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
    return Status::InvalidArgument("give a workshop id (--workshop ID)")
        .WithReason("workshop_needed");
  }
  Result<std::optional<storage::WorkshopRow>> row =
      ReportStore(db).FindLiveWorkshop(workshop_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) {
    return Status::NotFound("no workshop " + std::string(workshop_id))
        .WithReason("no_workshop");
  }
  const storage::WorkshopRow& found = **row;
  WorkshopHead w;
  w.title = found.title;
  w.fiscal_year = found.fiscal_year.value_or(0);
  w.district_code = found.district_code;
  w.venue = found.venue;
  w.start_date = found.start_date;
  if (found.days.has_value() && *found.days >= 1) {
    w.days = std::min(*found.days, kMaxDays);
  }
  // Out of scope reads as unknown: a viewer learns nothing of it.
  if (!scope.Contains(w.district_code)) {
    return Status::NotFound("no workshop " + std::string(workshop_id))
        .WithReason("no_workshop");
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
                                   "(e.g. 5011 is Phrao)")
        .WithReason("bad_district");
  }
  Scope narrowed;
  if (filter.scope.Contains(filter.district)) {
    narrowed.districts.push_back(filter.district);
  }
  return narrowed;
}

// ---- Reach --------------------------------------------------------------------

Result<ReachTarget> LoadTarget(Db& db, int64_t fiscal_year) {
  Result<std::optional<storage::TargetRow>> row =
      ReportStore(db).FindTarget(fiscal_year);
  if (!row.ok()) return row.status();
  ReachTarget t;
  if (row->has_value()) {
    t.groups = (*row)->groups;
    t.entrepreneurs = (*row)->entrepreneurs;
    t.producers = (*row)->producers;
    t.is_default = false;
  }
  return t;
}

Result<ReachReport> Reach(Db& db, const ReportFilter& filter) {
  Result<Scope> scope = EffectiveScope(filter);
  if (!scope.ok()) return scope.status();
  ReportStore store(db);
  ReachReport r;
  r.district = filter.district;
  if (!scope->all) r.within = scope->districts;
  if (filter.fiscal_year.has_value()) {
    r.fiscal_year = *filter.fiscal_year;
  } else {
    Result<std::optional<int64_t>> latest = store.LatestFiscalYear(*scope);
    if (!latest.ok()) return latest.status();
    r.fiscal_year = latest->value_or(0);
    if (r.fiscal_year == 0) {
      return Status::NotFound(
                 "no workshop in scope to take a fiscal year from: give one "
                 "(--fiscal-year BE)")
          .WithReason("no_fiscal_year");
    }
  }
  Result<ReachTarget> target = LoadTarget(db, r.fiscal_year);
  if (!target.ok()) return target.status();
  r.target = *target;

  // Producers grouped by district, category and kind, with how many of
  // them were reached.
  Result<std::vector<storage::ProducerGroupRow>> groups =
      store.ProducerGroups(*scope, r.fiscal_year);
  if (!groups.ok()) return groups.status();
  std::map<std::string, ReachRow> districts;
  std::map<std::string, ReachRow> categories;
  for (const storage::ProducerGroupRow& g : *groups) {
    const std::string& district = g.district_code;
    std::string category = g.category;
    if (Categories().Find(category) == nullptr) category.clear();
    const std::string& kind = g.kind;
    const int64_t n = g.producers;
    const int64_t reached = g.reached;
    for (auto* row : {&districts[district], &categories[category]}) {
      AddKind(row->producers, kind, n);
      AddKind(row->reached, kind, reached);
    }
    AddKind(r.producers, kind, n);
    AddKind(r.reached, kind, reached);
  }
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

  Result<ReportStore::WorkshopTotals> totals =
      store.CountWorkshops(*scope, r.fiscal_year);
  if (!totals.ok()) return totals.status();
  r.workshops = totals->workshops;
  r.enrolments = totals->enrolments;
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

  ReportStore store(db);
  Result<std::vector<storage::EnrolmentRow>> enrolments =
      store.Enrolments(scope, workshop_id, head->district_code);
  if (!enrolments.ok()) return enrolments.status();
  std::map<std::string, size_t> index;
  for (storage::EnrolmentRow& e : *enrolments) {
    AttendanceRow row;
    row.enrolment_id = std::move(e.id);
    row.participant_name = std::move(e.participant_name);
    row.producer_id = std::move(e.producer_id);
    row.producer_name = std::move(e.producer_name);
    index[row.enrolment_id] = g.participants.size();
    g.participants.push_back(std::move(row));
  }
  g.enrolled = static_cast<int64_t>(g.participants.size());

  struct Mark {
    size_t row;
    int64_t day;
    std::string status;
  };
  std::vector<Mark> marks;
  Result<std::vector<storage::AttendanceMarkRow>> rows =
      store.AttendanceMarks(scope, workshop_id, head->district_code, kMaxDays);
  if (!rows.ok()) return rows.status();
  for (const storage::AttendanceMarkRow& m : *rows) {
    auto it = index.find(m.enrolment_id);
    if (it == index.end()) continue;  // a deleted or other enrolment
    if (StatusIndex(m.status) < 0) continue;
    if (m.day > g.days) {
      // Marked before the workshop was shortened: the grid follows the
      // workshop's days now; the mark is kept, and said (not counted).
      ++g.marks_beyond_days;
      g.last_marked_day = std::max(g.last_marked_day, m.day);
      continue;
    }
    marks.push_back({it->second, m.day, m.status});
  }

  for (AttendanceRow& row : g.participants) {
    row.statuses.assign(static_cast<size_t>(g.days), "");
  }
  for (const Mark& m : marks) {
    // One live row per (enrolment, day) by its derived id; were there two,
    // the first by id stands.
    std::string& cell = g.participants[m.row].statuses[m.day - 1];
    if (cell.empty()) cell = m.status;
  }
  Result<std::vector<std::pair<std::string, int64_t>>> disputed =
      store.DisputedMarks(scope, workshop_id, head->district_code, g.days);
  if (!disputed.ok()) return disputed.status();
  for (const auto& [enrolment_id, day] : *disputed) {
    auto it = index.find(enrolment_id);
    if (it == index.end()) continue;  // a deleted or other enrolment
    g.participants[it->second].disputed_days.push_back(day);
    ++g.disputed_marks;
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
    // A day nobody is marked on (not held yet, or its roll-call not taken)
    // has no rate: 0 % would read as "nobody came".
    if (g.enrolled > 0 && day.unmarked < g.enrolled) {
      day.rate = static_cast<double>(day.present + day.late) /
                 static_cast<double>(g.enrolled);
    }
  }
  return g;
}

// ---- Certificates -------------------------------------------------------------

Result<int64_t> LoadMinDays(Db& db, std::string_view workshop_id,
                            int64_t days) {
  Result<std::optional<int64_t>> n = ReportStore(db).FindMinDays(workshop_id);
  if (!n.ok()) return n.status();
  // The default asks 4 of the KBO course's 5 days; of a shorter workshop,
  // all of its days. Never more days than it has: SetMinDays refuses that,
  // and a workshop shortened after the office set its minimum asks all of
  // its days.
  const int64_t all_days = std::max<int64_t>(days, 1);
  return std::min(n->value_or(kDefaultMinDays), all_days);
}

Result<CertificateReport> Certificates(Db& db, std::string_view workshop_id,
                                       const Scope& scope) {
  Result<AttendanceGrid> grid = Attendance(db, workshop_id, scope);
  if (!grid.ok()) return grid.status();
  Result<int64_t> min_days = LoadMinDays(db, workshop_id, grid->days);
  if (!min_days.ok()) return min_days.status();
  CertificateReport r;
  r.workshop_id = grid->workshop_id;
  r.title = grid->title;
  r.days = grid->days;
  r.min_days = *min_days;
  r.marks_beyond_days = grid->marks_beyond_days;
  r.last_marked_day = grid->last_marked_day;
  r.disputed_marks = grid->disputed_marks;
  for (const AttendanceRow& row : grid->participants) {
    CertificateRow c;
    c.enrolment_id = row.enrolment_id;
    c.participant_name = row.participant_name;
    c.producer_name = row.producer_name;
    c.days_attended = row.days_attended;
    c.eligible = c.days_attended >= r.min_days;
    c.disputed_days = row.disputed_days;
    if (c.eligible) ++r.eligible;
    r.participants.push_back(std::move(c));
  }
  // One person enrolled twice (two devices offline): each enrolment alone
  // may fall short of the minimum the person met. Said, not merged.
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> people;
  for (size_t i = 0; i < grid->participants.size(); ++i) {
    const AttendanceRow& row = grid->participants[i];
    // A person's name: a title one device typed and another did not
    // ("นายใหม่ ทดสอบ", "ใหม่  ทดสอบ") is one person, as Needs attention
    // (data_quality) and the phone take it.
    people[{row.producer_id, PersonNameKey(row.participant_name)}].push_back(i);
  }
  for (const auto& [key, rows] : people) {
    if (rows.size() < 2) continue;
    ++r.enrolled_twice;
    std::set<size_t> days;
    for (size_t i : rows) {
      const std::vector<std::string>& statuses = grid->participants[i].statuses;
      for (size_t d = 0; d < statuses.size(); ++d) {
        if (statuses[d] == "present" || statuses[d] == "late") days.insert(d);
      }
    }
    for (size_t i : rows) {
      CertificateRow& c = r.participants[i];
      c.days_together = static_cast<int64_t>(days.size());
      for (size_t j : rows) {
        if (j != i) c.enrolled_again.push_back(grid->participants[j].enrolment_id);
      }
    }
  }
  return r;
}

// ---- Contest ------------------------------------------------------------------

Result<ContestReport> Contest(Db& db, const ReportFilter& filter) {
  Result<Scope> scope = EffectiveScope(filter);
  if (!scope.ok()) return scope.status();
  ReportStore store(db);
  ContestReport r;
  r.district = filter.district;
  if (!filter.district.empty()) {
    r.within = {filter.district};
  } else if (!filter.scope.all) {
    r.within = filter.scope.districts;
  }
  Result<std::vector<std::string>> contests = store.Contests(*scope);
  if (!contests.ok()) return contests.status();
  // One contest however its name was typed (spacing, ASCII case: devices
  // offline typed it before either had seen the other's): its spellings by
  // LooseNameKey, the first (in name order) naming it.
  std::map<std::string, std::vector<std::string>> spellings;
  for (std::string& name : *contests) {
    std::vector<std::string>& group = spellings[LooseNameKey(name)];
    if (group.empty()) r.contests.push_back(name);
    group.push_back(std::move(name));
  }
  const std::vector<std::string>* chosen = nullptr;
  if (filter.contest.empty()) {
    if (r.contests.empty()) return r;
    chosen = &spellings[LooseNameKey(r.contests.front())];
  } else if (auto it = spellings.find(LooseNameKey(filter.contest));
             it != spellings.end()) {
    chosen = &it->second;
  } else {
    return Status::NotFound("no scores for contest '" + filter.contest + "'")
        .WithReason("no_scores")
        .With("contest", filter.contest);
  }
  r.contest = chosen->front();

  struct Sum {
    ContestEntry entry;
    int64_t total = 0;   // sum over judges of the five criteria
    int64_t scores = 0;  // rows
    std::vector<int64_t> criteria = std::vector<int64_t>(5, 0);
    std::set<std::string> judges;
  };
  std::map<std::string, Sum> sums;
  // Each score with the spelling of the contest it was recorded under.
  std::vector<std::pair<storage::ScoreRow, const std::string*>> scores;
  for (const std::string& spelling : *chosen) {
    Result<std::vector<storage::ScoreRow>> some = store.Scores(*scope, spelling);
    if (!some.ok()) return some.status();
    for (storage::ScoreRow& row : *some) scores.emplace_back(std::move(row), &spelling);
  }
  // A judge scores a product once: of two spellings of the contest (or of
  // the judge) by one judge for one product, the first spelling's counts
  // (contest, then judge, by bytes; then row id: the same on every backend
  // and every run) and the other is listed as left out.
  std::stable_sort(scores.begin(), scores.end(), [](const auto& a, const auto& b) {
    return ScoreCountsBefore(*a.second, a.first.judge, a.first.id, *b.second,
                             b.first.judge, b.first.id);
  });
  auto total_of = [](const storage::ScoreRow& row) {
    int64_t t = 0;
    for (int64_t v : row.criteria) t += v;
    return t;
  };
  std::map<std::pair<std::string, std::string>, size_t> scored;  // → index
  for (size_t i = 0; i < scores.size(); ++i) {
    const storage::ScoreRow& score = scores[i].first;
    const auto [it, first] =
        scored.emplace(std::make_pair(score.product_id, LooseNameKey(score.judge)), i);
    if (!first) {
      const auto& [counted, counted_contest] = scores[it->second];
      // Another card of this judge with other scores: which stands is for
      // the office to decide (delete one), and the rank may change when it
      // does: its product's rank is starred as for an open conflict (a
      // walk-through: "Dr. Anan" and "dr.  anan" decided the winner by
      // the order of their letters, with nothing to say so).
      if (!std::equal(std::begin(score.criteria), std::end(score.criteria),
                      std::begin(counted.criteria))) {
        ++sums[score.product_id].entry.disputed_scores;
      }
      r.left_out.push_back(LeftOutScore{score.product_id, score.product_name, score.id,
                                        *scores[i].second, score.judge, total_of(score),
                                        counted.id, *counted_contest, counted.judge,
                                        total_of(counted)});
      continue;
    }
    Sum& sum = sums[score.product_id];
    if (sum.scores == 0) {
      sum.entry.product_id = score.product_id;
      sum.entry.product_name = score.product_name;
      sum.entry.producer_name = score.producer_name;
      sum.entry.district_code = score.district_code;
    }
    ++sum.scores;
    if (score.disputed) ++sum.entry.disputed_scores;
    sum.judges.insert(score.judge);
    for (int c = 0; c < 5; ++c) {
      const int64_t v = score.criteria[c];
      sum.criteria[c] += v;
      sum.total += v;
    }
  }

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
    r.disputed_scores += ranked[i].entry.disputed_scores;
    r.ranking.push_back(ranked[i].entry);
  }
  std::sort(r.left_out.begin(), r.left_out.end(),
            [](const LeftOutScore& a, const LeftOutScore& b) {
              return std::tie(a.product_name, a.product_id, a.judge, a.score_id) <
                     std::tie(b.product_name, b.product_id, b.judge, b.score_id);
            });
  return r;
}

// ---- Stages -------------------------------------------------------------------

Result<StageReport> Stages(Db& db, const ReportFilter& filter) {
  Result<Scope> scope = EffectiveScope(filter);
  if (!scope.ok()) return scope.status();
  StageReport r;
  r.district = filter.district;
  r.fiscal_year = filter.fiscal_year;
  for (const Named& s : kbo::Stages()) r.stages.emplace_back(s.value);
  r.stages.emplace_back("");
  r.counts.assign(r.stages.size(), 0);
  Result<std::vector<storage::StageCountRow>> counts =
      ReportStore(db).ProductsByStage(*scope, filter.fiscal_year);
  if (!counts.ok()) return counts.status();
  std::map<std::string, StageRow> districts;
  for (const storage::StageCountRow& c : *counts) {
    const std::string& district = c.district_code;
    const std::string& stage = c.stage;
    const int64_t n = c.products;
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
  r.district = filter.district;
  r.fiscal_year = filter.fiscal_year;
  r.today = std::string(today);

  ReportStore store(db);
  std::map<std::string, VisitDistrictRow> districts;
  Result<std::vector<storage::VisitCountRow>> visits =
      store.VisitsByDistrict(*scope, filter.fiscal_year);
  if (!visits.ok()) return visits.status();
  for (const storage::VisitCountRow& v : *visits) {
    VisitDistrictRow& row = districts[v.district_code];
    row.district_code = v.district_code;
    row.visits = v.visits;
    row.producers_visited = v.producers_visited;
    r.visits += row.visits;
  }
  Result<int64_t> producers = store.ProducersVisited(*scope, filter.fiscal_year);
  if (!producers.ok()) return producers.status();
  r.producers_visited = *producers;
  // The latest live visit of each producer, kept when its next_visit is
  // before today.
  Result<std::vector<storage::OverdueRow>> overdue = store.Overdue(*scope, today);
  if (!overdue.ok()) return overdue.status();
  for (storage::OverdueRow& o : *overdue) {
    OverdueFollowup f;
    f.producer_id = std::move(o.producer_id);
    f.producer_name = std::move(o.producer_name);
    f.district_code = std::move(o.district_code);
    f.visit_id = std::move(o.visit_id);
    f.visited_at = std::move(o.visited_at);
    f.next_visit = std::move(o.next_visit);
    f.follow_up = std::move(o.follow_up);
    f.days_overdue = o.days_overdue;
    VisitDistrictRow& row = districts[f.district_code];
    row.district_code = f.district_code;
    ++row.overdue;
    r.overdue.push_back(std::move(f));
  }
  for (auto& [code, row] : districts) r.by_district.push_back(std::move(row));
  return r;
}

// ---- JSON ---------------------------------------------------------------------

std::string ReachJson(const ReachReport& r) {
  Json j;
  j["district"] = r.district.empty() ? Json() : Json(r.district);
  // [] : the province's figures; else only these districts' (a script must
  // not read a Phrao user's reach as the province's).
  j["within"] = r.within;
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
                          {"days_attended", row.days_attended},
                          {"disputed_days", row.disputed_days}});
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
  j["marks_beyond_days"] = r.marks_beyond_days;
  j["last_marked_day"] = r.last_marked_day;
  j["disputed_marks"] = r.disputed_marks;
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
                          {"eligible", c.eligible},
                          {"disputed_days", c.disputed_days},
                          {"enrolled_again", c.enrolled_again},
                          {"days_together", c.days_together}});
  }
  j["participants"] = std::move(people);
  j["enrolled_twice"] = r.enrolled_twice;
  j["marks_beyond_days"] = r.marks_beyond_days;
  j["last_marked_day"] = r.last_marked_day;
  j["disputed_marks"] = r.disputed_marks;
  return j.dump();
}

std::string ContestJson(const ContestReport& r) {
  Json j;
  j["district"] = r.district.empty() ? Json() : Json(r.district);
  j["ranks_within"] = r.within;  // [] : the province's ranks
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
                           {"mean_total", Round(e.mean_total, 100)},
                           {"disputed_scores", e.disputed_scores}});
  }
  j["ranking"] = std::move(ranking);
  j["disputed_scores"] = r.disputed_scores;
  Json left_out = Json::array();
  for (const LeftOutScore& l : r.left_out) {
    left_out.push_back(Json{{"product_id", l.product_id},
                            {"product_name", l.product_name},
                            {"score_id", l.score_id},
                            {"contest", l.contest},
                            {"judge", l.judge},
                            {"total", l.total},
                            {"counted", Json{{"score_id", l.counted_id},
                                             {"contest", l.counted_contest},
                                             {"judge", l.counted_judge},
                                             {"total", l.counted_total}}}});
  }
  j["left_out"] = std::move(left_out);
  return j.dump();
}

std::string StagesJson(const StageReport& r) {
  Json j;
  j["district"] = r.district.empty() ? Json() : Json(r.district);
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
  j["district"] = r.district.empty() ? Json() : Json(r.district);
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
  Result<std::vector<storage::WorkshopListRow>> rows =
      ReportStore(db).Workshops(*scope, filter.fiscal_year);
  if (!rows.ok()) return rows.status();
  std::vector<WorkshopSummary> out;
  for (storage::WorkshopListRow& row : *rows) {
    WorkshopSummary w;
    w.id = std::move(row.id);
    w.title = std::move(row.title);
    w.fiscal_year = row.fiscal_year;
    w.district_code = std::move(row.district_code);
    w.start_date = std::move(row.start_date);
    w.enrolled = row.enrolled;
    out.push_back(std::move(w));
  }
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
                 "targets must be whole numbers from 0 to 1000000")
          .WithReason("bad_target");
    }
  }
  if (producers < groups + entrepreneurs) {
    return Status::InvalidArgument(
        "producers (" + std::to_string(producers) +
        ") must be at least groups + entrepreneurs (" +
        std::to_string(groups + entrepreneurs) + ")")
        .WithReason("targets_below_sum")
        .With("producers", producers)
        .With("sum", groups + entrepreneurs);
  }
  return ReportStore(db).UpsertTarget(
      fiscal_year, storage::TargetRow{groups, entrepreneurs, producers});
}

Status SetMinDays(Db& db, std::string_view workshop_id, int64_t n) {
  if (n < 1 || n > kMaxDays) {
    return Status::InvalidArgument("min days must be from 1 to 366, not " +
                                   std::to_string(n))
        .WithReason("bad_min_days");
  }
  ReportStore store(db);
  Result<std::optional<storage::WorkshopRow>> w =
      store.FindLiveWorkshop(workshop_id);
  if (!w.ok()) return w.status();
  if (!w->has_value()) {
    return Status::NotFound("no workshop " + std::string(workshop_id))
        .WithReason("no_workshop");
  }
  const int64_t days = (*w)->days.value_or(kDefaultDays);
  if (days >= 1 && n > days) {
    return Status::InvalidArgument(
               "the workshop has " + std::to_string(days) +
               " days: a certificate cannot ask for " + std::to_string(n))
        .WithReason("min_days_over")
        .With(field::kField, "min_days")
        .With("days", days);
  }
  return store.UpsertMinDays(workshop_id, n);
}

}  // namespace kbo::server
