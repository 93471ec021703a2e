#ifndef KBO_SERVER_STORAGE_REPORT_STORE_H_
#define KBO_SERVER_STORAGE_REPORT_STORE_H_

// The report queries' reads and their two settings tables (fiscal_target,
// workshop_setting), for server/report_queries.cc. Every read takes the
// caller's Scope: a row whose district is outside it is never read (the
// scope is one bound JSON array, SqlFlavor::InJsonArrayOrNull). Deleted rows
// are never read, nor a row whose parent is deleted (parents joined with
// LEFT JOIN and COALESCE(parent.deleted, 0) = 0: a row whose parent has not
// arrived yet still counts). The rows come back as the database groups
// them; server/report_queries.cc folds them into reports.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/enrolment.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server::storage {

struct TargetRow {
  int64_t groups = 0;
  int64_t entrepreneurs = 0;
  int64_t producers = 0;
};

// Live producers in scope of one (district, category, kind), "" for NULL.
struct ProducerGroupRow {
  std::string district_code;
  std::string category;
  std::string kind;
  int64_t producers = 0;
  int64_t reached = 0;  // with a live enrolment in a live workshop of the year
};

struct WorkshopRow {
  std::string title;  // "" for NULL, as are the other texts
  std::optional<int64_t> fiscal_year;
  std::string district_code;
  std::string venue;
  std::string start_date;
  std::optional<int64_t> days;
};

struct EnrolmentRow {
  std::string id;
  std::string participant_name;
  std::string producer_id;
  std::string producer_name;
};

struct AttendanceMarkRow {
  std::string enrolment_id;
  int64_t day = 0;
  std::string status;
};

struct ScoreRow {
  std::string id;  // the score's own row id
  std::string product_id;
  std::string product_name;
  std::string producer_name;
  std::string district_code;
  std::string judge;
  int64_t criteria[5] = {0, 0, 0, 0, 0};  // Criteria() order; NULL as 0
  // An open conflict on one of its criteria, its judge, contest or product,
  // or its deletion: what it counts for may change when the office decides.
  bool disputed = false;
};

struct StageCountRow {
  std::string district_code;
  std::string stage;
  int64_t products = 0;
};

struct VisitCountRow {
  std::string district_code;
  int64_t visits = 0;
  int64_t producers_visited = 0;
};

struct OverdueRow {
  std::string producer_id;
  std::string producer_name;
  std::string district_code;
  std::string visit_id;
  std::string visited_at;
  std::string next_visit;
  std::string follow_up;
  int64_t days_overdue = 0;
};

struct WorkshopListRow {
  std::string id;
  std::string title;
  int64_t fiscal_year = 0;
  std::string district_code;
  std::string start_date;
  int64_t enrolled = 0;
};

class ReportStore {
 public:
  explicit ReportStore(Db& db) : db_(db) {}

  // ---- Reach
  // The latest fiscal year of a live workshop in scope; nullopt if none.
  Result<std::optional<int64_t>> LatestFiscalYear(const Scope& scope);
  // The fiscal_target row of a year; nullopt if none is set.
  Result<std::optional<TargetRow>> FindTarget(int64_t fiscal_year);
  // Live producers in scope grouped by district, category and kind.
  Result<std::vector<ProducerGroupRow>> ProducerGroups(const Scope& scope,
                                                       int64_t fiscal_year);
  // Live workshops of the year in scope and their live enrolments (of a
  // live or absent producer).
  struct WorkshopTotals {
    int64_t workshops = 0;
    int64_t enrolments = 0;
  };
  Result<WorkshopTotals> CountWorkshops(const Scope& scope, int64_t fiscal_year);

  // ---- Attendance and certificates
  // A live workshop by id (whatever its district); nullopt if none.
  Result<std::optional<WorkshopRow>> FindLiveWorkshop(std::string_view id);
  // The ids of live workshops starting with `prefix` (lowercase), in order,
  // at most 4 (a command's "give more of the id" needs no more).
  Result<std::vector<std::string>> LiveWorkshopIdsStartingWith(std::string_view prefix);
  // Its live enrolments in scope (a row without a district takes
  // `workshop_district`), by participant name, then id.
  Result<std::vector<EnrolmentRow>> Enrolments(const Scope& scope,
                                               std::string_view workshop_id,
                                               std::string_view workshop_district);
  // Its live attendance marks with a status on days 1..max_day in scope,
  // by enrolment, day, then id.
  Result<std::vector<AttendanceMarkRow>> AttendanceMarks(
      const Scope& scope, std::string_view workshop_id,
      std::string_view workshop_district, int64_t max_day);
  // (enrolment_id, day) of the workshop's marks, deleted or not, with a
  // conflict on their status or their deletion the office has not decided:
  // what the grid shows there may change. Ordered, each once.
  Result<std::vector<std::pair<std::string, int64_t>>> DisputedMarks(
      const Scope& scope, std::string_view workshop_id,
      std::string_view workshop_district, int64_t max_day);
  // workshop_setting.min_days; nullopt if none is set.
  Result<std::optional<int64_t>> FindMinDays(std::string_view workshop_id);

  // ---- Contest
  // Contests with a live score (of a live product) in scope, by name.
  Result<std::vector<std::string>> Contests(const Scope& scope);
  Result<std::vector<ScoreRow>> Scores(const Scope& scope,
                                       std::string_view contest);

  // ---- Stages
  // Live products in scope (of a live producer, if any), grouped by
  // district and stage, by district; with a fiscal year only products of
  // producers reached in that year.
  Result<std::vector<StageCountRow>> ProductsByStage(
      const Scope& scope, std::optional<int64_t> fiscal_year);

  // ---- Visits
  // Live visits in scope (of the Bangkok fiscal year of visited_at, if
  // given) grouped by district, and the distinct producers they visited.
  Result<std::vector<VisitCountRow>> VisitsByDistrict(
      const Scope& scope, std::optional<int64_t> fiscal_year);
  Result<int64_t> ProducersVisited(const Scope& scope,
                                   std::optional<int64_t> fiscal_year);
  // The latest live visit in scope of each producer whose next_visit is a
  // date before `today`: most overdue first, then producer name and id.
  Result<std::vector<OverdueRow>> Overdue(const Scope& scope,
                                          std::string_view today);

  // ---- Workshops to choose from: newest first.
  Result<std::vector<WorkshopListRow>> Workshops(
      const Scope& scope, std::optional<int64_t> fiscal_year);

  // The fiscal years of live workshops (whatever their district), newest
  // first.
  Result<std::vector<int64_t>> WorkshopFiscalYears();

  // ---- Settings (upserts)
  Status UpsertTarget(int64_t fiscal_year, const TargetRow& target);
  Status UpsertMinDays(std::string_view workshop_id, int64_t min_days);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_REPORT_STORE_H_
