#ifndef KBO_SERVER_REPORT_QUERIES_H_
#define KBO_SERVER_REPORT_QUERIES_H_

// The central office's reports (issue 10, deliverable 5), computed on the
// server from the merged entity tables: reach against a fiscal year's
// targets, a workshop's attendance grid and certificates, a contest's
// ranking, products by stage, visits and overdue follow-ups.
//
// Shared rules of every report:
// - Deleted rows (tombstones) are never counted, and neither is a row whose
//   parent is deleted (an enrolment of a deleted workshop, an attendance of
//   a deleted enrolment, a score of a deleted product).
// - `ReportFilter::scope` is the signed-in user's districts (Scope{all} from
//   the shell): a row whose district_code is outside it is never read, so
//   a viewer of Phrao learns nothing of Mueang. A workshop outside the scope
//   is answered kNotFound, as an unknown one is.
// - Names are joined (producer name, workshop title, participant name);
//   codes stay codes (labels are for the page, shared/labels.h).
// - Each report is one or a few indexed queries, never one per row.
// - The JSON of each report is the contract of DESIGN §7 (`kbo-server
//   report ... --json` and the console's /api/reports/...); keys are only
//   ever added.
//
// None of these functions writes except SetTarget and SetMinDays. Not
// thread-safe: the caller holds the store's mutex (one Db, one thread).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/enrolment.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

// What a report is about. Empty strings and nullopt mean "not filtered".
struct ReportFilter {
  // Buddhist Era (2569 = 1 Oct 2025 .. 30 Sep 2026).
  std::optional<int64_t> fiscal_year;
  std::string district;     // a district code; narrows the scope
  std::string workshop_id;  // Attendance and Certificates
  std::string contest;      // Contest
  Scope scope;              // the user's districts; rows outside never count
};

// Validates the filter: `district`, if set, must be a known district code
// (kInvalidArgument otherwise); a district outside `scope` leaves an empty
// scope (reports come back empty, not as an error). A fiscal year must lie in
// 2500..2700 (kInvalidArgument: CheckFiscalYear).
Result<Scope> EffectiveScope(const ReportFilter& filter);

// ---- Reach ------------------------------------------------------------------
// A producer is reached in fiscal year Y when one of its live enrolments is in
// a live workshop of fiscal year Y. Group vs entrepreneur by producer.kind
// (a producer of neither kind counts in `total` only). Counted by the
// producer's district (the scope applies to the producer).
struct KindCounts {
  int64_t group = 0;
  int64_t entrepreneur = 0;
  int64_t total = 0;
};

struct ReachTarget {
  int64_t groups = 94;
  int64_t entrepreneurs = 206;
  int64_t producers = 1181;  // the population the targets are chosen from
  bool is_default = true;    // no fiscal_target row for the year
  int64_t total() const { return groups + entrepreneurs; }
};

struct ReachRow {
  std::string key;       // district code, or category code ("" if none)
  KindCounts producers;  // live producers registered (in scope)
  KindCounts reached;
};

struct ReachReport {
  // The filter's district ("" for every district in scope): said in the
  // heading and the JSON, so a page of one district is not read as the
  // province's (a contest's ranks are then within that district).
  std::string district;
  // The districts it counts when they are not the province's (a user of
  // some districts, or a district filter), by code; empty: every district.
  std::vector<std::string> within;
  int64_t fiscal_year = 0;
  ReachTarget target;
  KindCounts producers;  // live producers registered in scope
  KindCounts reached;
  int64_t workshops = 0;    // live workshops of the year in scope
  int64_t enrolments = 0;   // their live enrolments (participants)
  std::vector<ReachRow> by_district;  // districts with a producer; by code
  std::vector<ReachRow> by_category;  // Categories() order, then "" (none)
};

// `filter.fiscal_year` unset: the latest fiscal year of a live workshop in
// scope; kNotFound if there is none (give one). Targets from fiscal_target,
// else the programme's defaults.
Result<ReachReport> Reach(Db& db, const ReportFilter& filter);

// The targets of one fiscal year (defaults when none is set).
Result<ReachTarget> LoadTarget(Db& db, int64_t fiscal_year);

// ---- Attendance grid --------------------------------------------------------
struct AttendanceRow {
  std::string enrolment_id;
  std::string participant_name;
  std::string producer_id;
  std::string producer_name;
  // statuses[d-1] is day d's status code (present, late, absent, excused),
  // "" when not marked.
  std::vector<std::string> statuses;
  int64_t days_attended = 0;  // present + late
  // Days whose mark has a conflict the office has not decided (on its
  // status, or a delete crossing an edit): the grid shows the value that
  // wins for now, which the decision may change. Ascending.
  std::vector<int64_t> disputed_days;
};

struct AttendanceDay {
  int64_t day = 0;           // 1-based
  std::string date;          // start_date + day - 1 ("YYYY-MM-DD"), or ""
  int64_t present = 0;
  int64_t late = 0;
  int64_t absent = 0;
  int64_t excused = 0;
  int64_t unmarked = 0;
  // (present + late) / enrolled; nullopt when no one is enrolled or no one
  // is marked that day (not held yet, or its roll-call not taken).
  std::optional<double> rate;
};

struct AttendanceGrid {
  std::string workshop_id;
  std::string title;
  int64_t fiscal_year = 0;
  std::string district_code;
  std::string venue;
  std::string start_date;
  // workshop.days as merged now (5 when unset): the grid's days, whatever
  // was marked.
  int64_t days = 5;
  int64_t enrolled = 0;
  std::vector<AttendanceRow> participants;  // by participant name, then id
  std::vector<AttendanceDay> daily;         // days 1..days
  // Live marks of live participants on days after `days` (marked before
  // the workshop was shortened): kept in the store, left out of the grid,
  // the rates and days_attended, and counted here so that none disappears
  // unsaid (MarksBeyondDaysNote). 0 when there are none.
  int64_t marks_beyond_days = 0;
  // The latest day any such mark is on (0 when there are none).
  int64_t last_marked_day = 0;
  // Marks in the grid with an undecided conflict (the participants'
  // disputed_days, summed).
  int64_t disputed_marks = 0;
};

// kInvalidArgument without a workshop id; kNotFound for an unknown,
// deleted or out-of-scope workshop.
Result<AttendanceGrid> Attendance(Db& db, std::string_view workshop_id,
                                  const Scope& scope);

// ---- Certificates -----------------------------------------------------------
struct CertificateRow {
  std::string enrolment_id;
  std::string participant_name;
  std::string producer_name;
  int64_t days_attended = 0;  // distinct days marked present or late
  bool eligible = false;      // days_attended >= min_days
  std::vector<int64_t> disputed_days;  // as AttendanceRow's
  // The person's other enrolments in this workshop: the same producer and
  // name (LooseNameKey), enrolled on two devices offline. Each enrolment
  // counts its own marks; `days_together` is the distinct days attended
  // over all of them, what the person attended if they are one person (a
  // person decides: the office deletes the extra one, the Needs attention
  // page lists it). Empty, and 0, for a person enrolled once.
  std::vector<std::string> enrolled_again;
  int64_t days_together = 0;
};

struct CertificateReport {
  std::string workshop_id;
  std::string title;
  int64_t days = 5;      // as AttendanceGrid::days
  int64_t min_days = 4;  // LoadMinDays
  int64_t eligible = 0;
  // Participants enrolled more than once (CertificateRow::enrolled_again),
  // counted once each.
  int64_t enrolled_twice = 0;
  std::vector<CertificateRow> participants;  // as the attendance grid
  // As AttendanceGrid: marks after the last day, not counted.
  int64_t marks_beyond_days = 0;
  int64_t last_marked_day = 0;
  int64_t disputed_marks = 0;  // as AttendanceGrid's
};

// As Attendance for its failures.
Result<CertificateReport> Certificates(Db& db, std::string_view workshop_id,
                                       const Scope& scope);

// Days attended for a certificate: workshop_setting, else 4, or all `days`
// of a workshop shorter than that (a 3-day course needs its 3 days).
Result<int64_t> LoadMinDays(Db& db, std::string_view workshop_id,
                            int64_t days);

// ---- Contest ----------------------------------------------------------------
struct ContestEntry {
  int64_t rank = 0;  // 1-based; equal mean totals share a rank
  std::string product_id;
  std::string product_name;
  std::string producer_name;
  std::string district_code;
  std::vector<std::string> judges;  // who scored it, by name
  // Each criterion (Criteria() order) averaged over the judges; a criterion
  // left empty counts 0.
  std::vector<double> criteria;
  double mean_total = 0;  // the sum of the five, averaged over the judges
  // Its counted scores with a conflict the office has not decided
  // (storage::ScoreRow::disputed): its mean, and so its rank, may change.
  int64_t disputed_scores = 0;
};

// A judge scores a product once. A second score by one judge for one
// product under another spelling (of the contest or of the judge: typed
// offline on two devices, so each derived its own row) is not counted,
// and is listed so that a person can delete the wrong one.
struct LeftOutScore {
  std::string product_id;
  std::string product_name;
  std::string score_id;  // the row left out
  std::string contest;   // its spellings
  std::string judge;
  int64_t total = 0;     // its five criteria summed
  std::string counted_id;  // the row that counts instead
  std::string counted_contest;
  std::string counted_judge;
  int64_t counted_total = 0;
};

// Of a judge's scores of one product under several spellings (of the
// contest or the judge), which counts: the first in this order -- the
// contest's spelling, then the judge's, by bytes; then the row id (the same
// on every backend and every run). The contest report and the exports'
// contest_score sheet both take it.
inline bool ScoreCountsBefore(std::string_view contest_a, std::string_view judge_a,
                              std::string_view id_a, std::string_view contest_b,
                              std::string_view judge_b, std::string_view id_b) {
  if (contest_a != contest_b) return contest_a < contest_b;
  if (judge_a != judge_b) return judge_a < judge_b;
  return id_a < id_b;
}

struct ContestReport {
  // The filter's district ("" for every district in scope): said in the
  // heading and the JSON, so a page of one district is not read as the
  // province's (a contest's ranks are then within that district).
  std::string district;
  // The districts its ranks are within when not the province's: the
  // filter's district, or a user's own districts (a Phrao officer's rank 1
  // may be the province's 2). Empty: the province.
  std::vector<std::string> within;
  std::string contest;                // "" when there are no scores at all
  std::vector<std::string> contests;  // every contest with a live score in scope
  std::vector<ContestEntry> ranking;  // highest mean_total first, then name
  std::vector<LeftOutScore> left_out;  // by product name, then judge
  int64_t disputed_scores = 0;  // summed over the ranking
};

// `filter.contest` unset: the first contest by name (an empty report if
// none). kNotFound for a contest with no live score in scope.
Result<ContestReport> Contest(Db& db, const ReportFilter& filter);

// ---- Products by stage ------------------------------------------------------
struct StageRow {
  std::string key;              // district code
  std::vector<int64_t> counts;  // Stages() order, then unknown/unset
  int64_t total = 0;
};

struct StageReport {
  // The filter's district ("" for every district in scope): said in the
  // heading and the JSON, so a page of one district is not read as the
  // province's (a contest's ranks are then within that district).
  std::string district;
  std::optional<int64_t> fiscal_year;
  std::vector<std::string> stages;  // Stages() codes, then "" (unset)
  std::vector<int64_t> counts;      // products per stage, same order
  int64_t total = 0;
  std::vector<StageRow> by_district;  // districts with a product; by code
};

// Live products in scope (of a live producer, if it has one). With a fiscal
// year: only products of producers reached in that year (Reach's rule).
Result<StageReport> Stages(Db& db, const ReportFilter& filter);

// ---- Visits and follow-ups --------------------------------------------------
struct VisitDistrictRow {
  std::string district_code;
  int64_t visits = 0;
  int64_t producers_visited = 0;  // distinct producers
  int64_t overdue = 0;
};

struct OverdueFollowup {
  std::string producer_id;
  std::string producer_name;
  std::string district_code;
  std::string visit_id;
  std::string visited_at;  // ISO 8601 UTC, as stored
  std::string next_visit;  // "YYYY-MM-DD"
  std::string follow_up;
  int64_t days_overdue = 0;  // today - next_visit
};

struct FollowupReport {
  // The filter's district ("" for every district in scope): said in the
  // heading and the JSON, so a page of one district is not read as the
  // province's (a contest's ranks are then within that district).
  std::string district;
  std::optional<int64_t> fiscal_year;  // narrows the visit counts only
  std::string today;                   // "YYYY-MM-DD", Bangkok
  int64_t visits = 0;
  int64_t producers_visited = 0;
  std::vector<VisitDistrictRow> by_district;  // by code
  // The latest live visit of each producer (by visited_at) whose next_visit
  // is before `today`: most overdue first. A later visit without a
  // next_visit settles the follow-up.
  std::vector<OverdueFollowup> overdue;
};

// Visits counted by the Bangkok date of visited_at (fiscal year from it).
// kInvalidArgument if `today` is not "YYYY-MM-DD".
Result<FollowupReport> Followups(Db& db, const ReportFilter& filter,
                                 std::string_view today);

// ---- JSON (DESIGN §7) -------------------------------------------------------
// reach: {"fiscal_year", "target": {"group","entrepreneur","total",
//   "producers","is_default"}, "reached": {"group","entrepreneur","total"},
//   "producers": {...}, "workshops", "enrolments",
//   "by_district": [{"district_code","producers":{...},"reached":{...}}],
//   "by_category": [{"category","producers":{...},"reached":{...}}]}
std::string ReachJson(const ReachReport& r);
// {"workshop_id","title","fiscal_year","district_code","venue","start_date",
//  "days","enrolled","participants":[{"enrolment_id","participant_name",
//  "producer_id","producer_name","statuses":[...],"days_attended"}],
//  "daily":[{"day","date","present","late","absent","excused","unmarked",
//  "rate" (null when no one is enrolled)}],"marks_beyond_days",
//  "last_marked_day"}
std::string AttendanceJson(const AttendanceGrid& r);
// {"workshop_id","title","days","min_days","eligible","participants":
//  [{"enrolment_id","participant_name","producer_name","days_attended",
//  "eligible"}],"marks_beyond_days","last_marked_day"}
std::string CertificatesJson(const CertificateReport& r);
// {"contest","contests":[...],"ranking":[{"rank","product_id",
//  "product_name","producer_name","district_code","judges":[names],
//  "criteria":{"identity",...},"mean_total"}]}
std::string ContestJson(const ContestReport& r);
// {"fiscal_year" (or null),"total","by_stage":[{"stage","count"}],
//  "by_district":[{"district_code","total","by_stage":{"idea":N,...}}]}
std::string StagesJson(const StageReport& r);
// {"fiscal_year","today","visits","producers_visited","by_district":
//  [{"district_code","visits","producers_visited","overdue"}],"overdue":
//  [{"producer_id","producer_name","district_code","visit_id","visited_at",
//  "next_visit","follow_up","days_overdue"}]}
std::string FollowupsJson(const FollowupReport& r);

// ---- Workshops to choose from ----------------------------------------------
struct WorkshopSummary {
  std::string id;
  std::string title;
  int64_t fiscal_year = 0;
  std::string district_code;
  std::string start_date;
  int64_t enrolled = 0;  // live enrolments
};
// Live workshops in the filter's scope (and fiscal year, if set), newest
// first, for the pages that ask "which workshop?".
Result<std::vector<WorkshopSummary>> ListWorkshops(Db& db,
                                                   const ReportFilter& filter);

// ---- Dates ------------------------------------------------------------------
// The Bangkok date ("YYYY-MM-DD") of a Unix time in milliseconds: "today"
// for Followups and the default fiscal year.
std::string BangkokDate(int64_t unix_ms);
// "YYYY-MM-DD" plus `days` (may be negative); "" if `date` does not parse.
std::string AddDaysToDate(const std::string& date, int64_t days);

// ---- Settings ---------------------------------------------------------------
// Sets a fiscal year's targets (upsert). kInvalidArgument for a year outside
// 2500..2700 or a negative count, or producers < groups + entrepreneurs.
Status SetTarget(Db& db, int64_t fiscal_year, int64_t groups,
                 int64_t entrepreneurs, int64_t producers);
// Sets a workshop's days for a certificate (upsert). kInvalidArgument unless
// 1 <= n <= 366, or for more days than the workshop has (field "field":
// "min_days"); kNotFound for an unknown or deleted workshop. (LoadMinDays
// caps a minimum set before the workshop was shortened at its days.)
Status SetMinDays(Db& db, std::string_view workshop_id, int64_t n);

}  // namespace kbo::server

#endif  // KBO_SERVER_REPORT_QUERIES_H_
