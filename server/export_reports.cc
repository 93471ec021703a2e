// The report sheets of a people's export: the attendance grid and the
// contest ranking, laid out from server/report_queries.h so an export and
// the console's reports never disagree.
//
// attendance_grid: one row per participant of every exported workshop,
//   title | fiscal year | district | start | participant | producer |
//   day 1 .. day D (status labels: มา สาย ขาด ลา) | days attended | id
// and after each workshop's participants a row of its daily rates
// ((present + late) / enrolled) in the day columns. D is the most days of
// any exported workshop; a shorter workshop leaves its later days empty.
// contest_ranking: one row per product of every contest in scope,
//   contest | rank | product | producer | district | five criteria
//   (means over judges) | mean total | judges | number of judges |
//   disputed scores (empty when none) | id.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "server/export_tables.h"
#include "server/report_queries.h"

namespace kbo::server {

namespace {

const char* Pick(Lang lang, const char* th, const char* en) {
  return lang == Lang::kTh ? th : en;
}

ExportCell TextOrEmpty(std::string text) {
  return text.empty() ? ExportCell::Empty() : ExportCell::Text(std::move(text));
}

// One decimal, as the reports and the console print a rate ("85.7%").
std::string PercentText(double fraction) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", fraction * 100);
  return buf;
}

// Means of the ranking, to two places (as the console shows them).
ExportCell Mean(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return ExportCell::Number(std::round(v * 100) / 100, buf);
}

Result<ExportSheet> AttendanceSheet(Db& db, const ExportFilter& filter,
                                    const Scope& scope) {
  const Lang lang = filter.lang;
  Result<std::vector<std::string>> ids = ExportedWorkshopIds(db, filter);
  if (!ids.ok()) return ids.status();
  std::vector<AttendanceGrid> grids;
  int64_t days = 0;
  for (const std::string& id : *ids) {
    Result<AttendanceGrid> grid = Attendance(db, id, scope);
    if (!grid.ok()) {
      if (grid.status().code() == Code::kNotFound) continue;  // out of scope
      return grid.status();
    }
    days = std::max(days, grid->days);
    grids.push_back(std::move(grid).value());
  }

  ExportSheet sheet;
  sheet.key = std::string(kAttendanceGridSheet);
  sheet.title = Pick(lang, "ตารางการเข้าอบรม", "Attendance grid");
  sheet.header = {ColumnLabel(lang, "workshop", "title"),
                  ColumnLabel(lang, "workshop", "fiscal_year"),
                  ColumnLabel(lang, "workshop", "district_code"),
                  ColumnLabel(lang, "workshop", "start_date"),
                  ColumnLabel(lang, "enrolment", "participant_name"),
                  ColumnLabel(lang, "enrolment", "producer_id")};
  for (int64_t d = 1; d <= days; ++d) {
    sheet.header.push_back(Pick(lang, "วันที่ ", "Day ") + std::to_string(d));
  }
  sheet.header.push_back(Pick(lang, "จำนวนวันที่มา", "Days attended"));
  // The days whose mark has a conflict the office has not decided: their
  // value, and the days attended, may change.
  sheet.header.push_back(Pick(lang, "วันที่มีข้อขัดแย้ง (ยังไม่ตัดสิน)",
                              "Disputed days (not decided)"));
  sheet.header.push_back(ColumnLabel(lang, "attendance", "id"));

  for (const AttendanceGrid& g : grids) {
    auto lead = [&](std::vector<ExportCell>* row) {
      row->push_back(ExportCell::Text(g.title));
      row->push_back(
          g.fiscal_year ? ExportCell::Number(static_cast<double>(g.fiscal_year),
                                             std::to_string(g.fiscal_year))
                        : ExportCell::Empty());
      row->push_back(TextOrEmpty(DistrictLabel(lang, g.district_code)));
      row->push_back(TextOrEmpty(FormatDateLabel(lang, g.start_date)));
    };
    for (const AttendanceRow& p : g.participants) {
      std::vector<ExportCell> row;
      lead(&row);
      row.push_back(ExportCell::Text(p.participant_name));
      row.push_back(TextOrEmpty(p.producer_name));
      for (int64_t d = 0; d < days; ++d) {
        const std::string code =
            static_cast<size_t>(d) < p.statuses.size() ? p.statuses[d] : "";
        const Named* status = Statuses().Find(code);
        row.push_back(status ? ExportCell::Text(std::string(status->name(lang)))
                             : TextOrEmpty(code));
      }
      row.push_back(ExportCell::Number(static_cast<double>(p.days_attended),
                                       std::to_string(p.days_attended)));
      std::string disputed;
      for (int64_t d : p.disputed_days) {
        disputed += (disputed.empty() ? "" : ", ") + std::to_string(d);
      }
      row.push_back(TextOrEmpty(disputed));
      row.push_back(ExportCell::Text(p.enrolment_id));
      sheet.rows.push_back(std::move(row));
    }
    std::vector<ExportCell> rates;
    lead(&rates);
    rates.push_back(ExportCell::Text(Pick(lang, "อัตราการเข้าอบรม (มา + สาย)",
                                          "Attendance rate (present + late)")));
    rates.push_back(ExportCell::Text(std::to_string(g.enrolled) +
                                     Pick(lang, " คน", " enrolled")));
    for (int64_t d = 0; d < days; ++d) {
      const AttendanceDay* day =
          static_cast<size_t>(d) < g.daily.size() ? &g.daily[d] : nullptr;
      rates.push_back(
          day && day->rate
              ? ExportCell::Percent(*day->rate, PercentText(*day->rate))
              : ExportCell::Empty());
    }
    rates.push_back(ExportCell::Empty());
    rates.push_back(ExportCell::Empty());
    rates.push_back(ExportCell::Text(g.workshop_id));
    sheet.rows.push_back(std::move(rates));
  }
  return sheet;
}

Result<ExportSheet> ContestSheet(Db& db, const ExportFilter& filter,
                                 const Scope& scope) {
  const Lang lang = filter.lang;
  ExportSheet sheet;
  sheet.key = std::string(kContestRankingSheet);
  sheet.title = Pick(lang, "อันดับการประกวด", "Contest ranking");
  // A user of some districts ranks within them, not the province: said
  // in the rank's heading.
  const std::string within =
      scope.all ? std::string() : DistrictLabels(lang, scope.districts);
  sheet.header = {ColumnLabel(lang, "contest_score", "contest"),
                  within.empty() ? Pick(lang, "อันดับ", "Rank")
                                 : Pick(lang, "อันดับในอำเภอ ", "Rank within ") + within,
                  ColumnLabel(lang, "product", "name"),
                  ColumnLabel(lang, "product", "producer_id"),
                  ColumnLabel(lang, "product", "district_code")};
  for (const Named& c : Criteria()) {
    sheet.header.push_back(std::string(c.name(lang)) +
                           Pick(lang, " (เฉลี่ย)", " (mean)"));
  }
  sheet.header.push_back(Pick(lang, "คะแนนรวมเฉลี่ย", "Mean total"));
  sheet.header.push_back(ColumnLabel(lang, "contest_score", "judge"));
  sheet.header.push_back(Pick(lang, "จำนวนกรรมการ", "Judges"));
  // Its scores with a conflict the office has not decided: its mean, and
  // its rank, may change.
  sheet.header.push_back(Pick(lang, "คะแนนที่มีข้อขัดแย้ง (ยังไม่ตัดสิน)",
                              "Disputed scores (not decided)"));
  sheet.header.push_back(Pick(lang, "รหัสผลิตภัณฑ์", "Product ID"));

  ReportFilter rf;
  rf.scope = scope;
  Result<ContestReport> first = Contest(db, rf);
  if (!first.ok()) return first.status();
  for (const std::string& contest : first->contests) {
    rf.contest = contest;
    Result<ContestReport> report = Contest(db, rf);
    if (!report.ok()) {
      if (report.status().code() == Code::kNotFound) continue;
      return report.status();
    }
    for (const ContestEntry& e : report->ranking) {
      std::vector<ExportCell> row;
      row.push_back(ExportCell::Text(contest));
      row.push_back(ExportCell::Number(static_cast<double>(e.rank),
                                       std::to_string(e.rank)));
      row.push_back(TextOrEmpty(e.product_name));
      row.push_back(TextOrEmpty(e.producer_name));
      row.push_back(TextOrEmpty(DistrictLabel(lang, e.district_code)));
      for (size_t c = 0; c < Criteria().size; ++c) {
        row.push_back(c < e.criteria.size() ? Mean(e.criteria[c])
                                            : ExportCell::Empty());
      }
      row.push_back(Mean(e.mean_total));
      std::string judges;
      for (const std::string& j : e.judges) {
        judges += (judges.empty() ? "" : ", ") + j;
      }
      row.push_back(TextOrEmpty(judges));
      row.push_back(ExportCell::Number(static_cast<double>(e.judges.size()),
                                       std::to_string(e.judges.size())));
      row.push_back(e.disputed_scores > 0
                        ? ExportCell::Number(static_cast<double>(e.disputed_scores),
                                             std::to_string(e.disputed_scores))
                        : ExportCell::Empty());
      row.push_back(ExportCell::Text(e.product_id));
      sheet.rows.push_back(std::move(row));
    }
  }
  return sheet;
}

}  // namespace

Result<std::vector<ExportSheet>> BuildReportSheets(Db& db,
                                                   const ExportFilter& filter) {
  // The reports' own scope: the viewer's districts, narrowed to the
  // district asked for (an empty scope when it lies outside them).
  ReportFilter rf;
  rf.district = filter.district;
  rf.scope = filter.scope;
  Result<Scope> scope = EffectiveScope(rf);
  if (!scope.ok()) return scope.status();
  std::vector<ExportSheet> sheets;
  Result<ExportSheet> attendance = AttendanceSheet(db, filter, *scope);
  if (!attendance.ok()) return attendance.status();
  sheets.push_back(std::move(attendance).value());
  Result<ExportSheet> contest = ContestSheet(db, filter, *scope);
  if (!contest.ok()) return contest.status();
  sheets.push_back(std::move(contest).value());
  return sheets;
}

}  // namespace kbo::server
