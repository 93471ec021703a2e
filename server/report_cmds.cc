#include "server/report_cmds.h"

#include "server/cli_args.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "server/conflicts.h"
#include "server/enrolment.h"
#include "server/report_queries.h"
#include "server/storage/report_store.h"
#include "shared/csv.h"
#include "shared/entities.h"
#include "server/storage/users.h"
#include "shared/labels.h"
#include "shared/sqlite/db.h"

// Text output: one heading line, then tab-separated rows (Thai text does not
// align in fixed-width columns, and tabs paste into a spreadsheet), numbers
// as digits, dates in Bangkok time with the Buddhist Era in Thai.

namespace kbo::server {

namespace {

struct Words {
  const char* th;
  const char* en;
};

// The reports' own words (the data's words come from shared/labels.h).
const std::map<std::string, Words, std::less<>>& WordTable() {
  static const auto* table = new std::map<std::string, Words, std::less<>>{
      {"reach", {"การเข้าถึงผู้ผลิต", "Producers reached"}},
      {"fiscal_year", {"ปีงบประมาณ", "Fiscal year"}},
      {"target", {"เป้าหมาย", "Target"}},
      {"reached", {"เข้าถึงแล้ว", "Reached"}},
      {"registered", {"ผู้ผลิตที่ลงทะเบียน", "Producers registered"}},
      {"percent", {"ร้อยละของเป้าหมาย", "% of target"}},
      {"total", {"รวม", "Total"}},
      {"default_target",
       {"เป้าหมายตั้งต้นของโครงการ", "the programme's default targets"}},
      {"of_producers", {"จากผู้ผลิตทั้งหมด", "of producers"}},
      {"workshops", {"การอบรม", "Workshops"}},
      {"enrolments", {"ผู้เข้าอบรม", "Participants"}},
      {"by_district", {"ตามอำเภอ", "By district"}},
      {"province_target",
       {"เป้าหมายเป็นของทั้งจังหวัด ตัวเลขที่เข้าถึงนับเฉพาะอำเภอนี้",
        "the target is the whole province's; the producers reached are "
        "counted in this district only"}},
      {"ranks_within",
       {"อันดับในอำเภอนี้ ไม่ใช่อันดับของจังหวัด",
        "ranks within this district, not the province's"}},
      {"by_category", {"ตามหมวดผลิตภัณฑ์ OTOP", "By OTOP category"}},
      {"district", {"อำเภอ", "District"}},
      {"category", {"หมวด", "Category"}},
      {"none", {"ไม่ระบุ", "None"}},
      {"attendance", {"การเข้าอบรมรายวัน", "Attendance by day"}},
      {"participant", {"ผู้เข้าอบรม", "Participant"}},
      {"producer", {"ผู้ผลิต", "Producer"}},
      {"day", {"วันที่", "Day"}},
      {"days_attended", {"จำนวนวันที่เข้าอบรม", "Days attended"}},
      {"rate", {"อัตราการเข้าอบรม", "Attendance rate"}},
      {"unmarked", {"ยังไม่บันทึก", "Not marked"}},
      {"start", {"เริ่ม", "Starts"}},
      {"certificates", {"ผู้มีสิทธิ์ได้รับวุฒิบัตร", "Certificate eligibility"}},
      {"min_days", {"ต้องเข้าอบรมอย่างน้อย (วัน)", "Days required"}},
      {"eligible", {"มีสิทธิ์", "Eligible"}},
      {"not_eligible", {"ไม่มีสิทธิ์", "Not eligible"}},
      {"contest", {"ผลการประกวด", "Contest ranking"}},
      {"contests", {"การประกวดทั้งหมด", "All contests"}},
      {"rank", {"อันดับ", "Rank"}},
      {"product", {"ผลิตภัณฑ์", "Product"}},
      {"mean_total", {"คะแนนเฉลี่ย (เต็ม 100)", "Mean total (of 100)"}},
      {"judges", {"กรรมการ", "Judges"}},
      {"judge", {"กรรมการ", "Judge"}},
      {"no_scores", {"ยังไม่มีคะแนน", "No scores yet"}},
      {"left_out",
       {"คะแนนที่ไม่นับ: กรรมการคนเดียวให้คะแนนผลิตภัณฑ์เดียวกันสองครั้ง "
        "โดยสะกดชื่อการประกวดหรือชื่อกรรมการต่างกัน ให้ลบรายการที่ผิดออกในเครื่องที่บันทึกคะแนน "
        "(kbo delete contest_score รหัสคะแนน)",
        "Scores not counted: one judge scored one product twice, the contest "
        "or the judge spelled another way; delete the wrong one on a device that "
        "records scores (kbo delete contest_score SCORE-ID)"}},
      {"in_contest", {"ในการประกวด", "in"}},
      {"counted", {"ที่นับ", "counted"}},
      {"score_id", {"รหัสคะแนน", "score id"}},
      {"stages", {"ผลิตภัณฑ์ตามขั้นการพัฒนา", "Products by stage"}},
      {"stage", {"ขั้น", "Stage"}},
      {"products", {"ผลิตภัณฑ์", "Products"}},
      {"followups", {"การลงพื้นที่และการติดตามผล", "Visits and follow-ups"}},
      {"visits", {"การลงพื้นที่", "Visits"}},
      {"producers_visited", {"ผู้ผลิตที่ได้เยี่ยม", "Producers visited"}},
      {"overdue", {"ติดตามผลเกินกำหนด", "Follow-ups overdue"}},
      {"next_visit", {"นัดครั้งถัดไป", "Next visit"}},
      {"last_visit", {"เยี่ยมล่าสุด", "Last visit"}},
      {"days_overdue", {"เกินกำหนด (วัน)", "Days overdue"}},
      {"follow_up", {"สิ่งที่ต้องติดตาม", "Follow-up"}},
      {"as_of", {"ณ วันที่", "As of"}},
      {"all_years", {"ทุกปี", "all years"}},
      {"groups", {"กลุ่มผู้ผลิต", "Producer groups"}},
      {"entrepreneurs", {"ผู้ประกอบการ", "Entrepreneurs"}},
      // The reach tables' split is of the producers reached, not of those
      // registered: said so in the column.
      {"groups_reached", {"กลุ่มที่เข้าถึง", "Groups reached"}},
      {"entrepreneurs_reached", {"ผู้ประกอบการที่เข้าถึง", "Entrepreneurs reached"}},
  };
  return *table;
}

// "x/y" as a percentage with one decimal; "-" when y is 0.
std::string Percent(double part, double whole) {
  if (whole <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * part / whole);
  return buf;
}

std::string Fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string NamedLabel(NamedList list, Lang lang, std::string_view code) {
  if (code.empty()) return ReportWord(lang, "none");
  const Named* n = list.Find(code);
  return n ? std::string(n->name(lang)) : std::string(code);
}

std::string District(Lang lang, const std::string& code) {
  return code.empty() ? ReportWord(lang, "none") : DistrictLabel(lang, code);
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// ---- Arguments ------------------------------------------------------------------

// One workshop's report with a --fiscal-year it is not of: refused (the
// year would otherwise be silently ignored).
Status SameFiscalYear(const ReportFilter& filter, int64_t workshop_year) {
  if (!filter.fiscal_year || *filter.fiscal_year == workshop_year) return Status();
  return Status::InvalidArgument(
      "workshop " + filter.workshop_id + " is of fiscal year " +
      std::to_string(workshop_year) + ", not " +
      std::to_string(*filter.fiscal_year) +
      " (leave out --fiscal-year for one workshop's report)");
}

// One workshop's report with a --district it is not in: said as such (it
// read "no workshop ID", of a workshop that is there). Other refusals as
// they are.
Status OutsideDistrict(Db& db, const ReportFilter& filter, Status refused) {
  if (refused.reason() != "no_workshop" || filter.district.empty()) return refused;
  Result<std::optional<storage::WorkshopRow>> row =
      storage::ReportStore(db).FindLiveWorkshop(filter.workshop_id);
  if (!row.ok() || !row->has_value() ||
      !filter.scope.Contains((*row)->district_code)) {
    return refused;
  }
  const std::string& in = (*row)->district_code;
  return Status::InvalidArgument("workshop " + filter.workshop_id + " is in district " +
                                 in + ", not " + filter.district +
                                 " (leave out --district for one workshop's report)")
      .WithReason("workshop_not_in_district");
}

// --workshop ID, or a unique start of it (at least kMinIdPrefix characters,
// any case), as `conflicts resolve` takes a conflict's: the id a workshop
// list prints is 36 characters. A start no live workshop has is left as
// given (the report says "no workshop"); one several have is refused,
// naming them.
Result<std::string> WorkshopIdOrPrefix(Db& db, const std::string& given) {
  std::string prefix = given;
  for (char& ch : prefix) {
    if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
  }
  storage::ReportStore store(db);
  Result<std::optional<storage::WorkshopRow>> exact = store.FindLiveWorkshop(prefix);
  if (!exact.ok()) return exact.status();
  if (exact->has_value() || prefix.size() < kMinIdPrefix || prefix.size() >= 36) {
    return prefix;
  }
  Result<std::vector<std::string>> found = store.LiveWorkshopIdsStartingWith(prefix);
  if (!found.ok()) return found.status();
  if (found->size() == 1) return found->front();
  if (found->empty()) return prefix;
  std::string names;
  for (size_t i = 0; i < found->size() && i < 3; ++i) {
    names += (i ? ", " : "") + (*found)[i];
  }
  return Status::InvalidArgument(
      "--workshop " + given + " is the start of " +
      (found->size() > 3 ? std::string("more than 3") : std::to_string(found->size())) +
      " workshops' ids (" + names + (found->size() > 3 ? ", ..." : "") +
      "); give more of the id");
}

Status Usage(bool* usage_error, std::string message) {
  *usage_error = true;
  return Status::InvalidArgument(std::move(message));
}

// A whole number in [lo, hi]; nullopt otherwise.
std::optional<int64_t> Number(const std::string& text, int64_t lo, int64_t hi) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

// ---- Text renderers -------------------------------------------------------------

void ReachText(const ReachReport& r, Lang lang, std::ostream& out) {
  auto w = [lang](const char* k) { return ReportWord(lang, k); };
  out << w("reach") << " — " << w("fiscal_year") << " " << r.fiscal_year;
  if (!r.district.empty()) {
    out << " — " << District(lang, r.district) << "\n(" << w("province_target")
        << ")";
  }
  out << "\n\n";
  out << "\t" << w("target") << "\t" << w("reached") << "\t" << w("percent")
      << "\n";
  auto line = [&](const std::string& label, int64_t target, int64_t reached) {
    out << label << "\t" << target << "\t" << reached << "\t"
        << Percent(static_cast<double>(reached), static_cast<double>(target))
        << "\n";
  };
  line(w("groups"), r.target.groups, r.reached.group);
  line(w("entrepreneurs"), r.target.entrepreneurs, r.reached.entrepreneur);
  line(w("total"), r.target.total(), r.reached.total);
  out << "(" << (r.target.is_default ? w("default_target") + ", " : "")
      << w("of_producers") << " " << r.target.producers << ")\n";
  out << w("registered") << ": " << r.producers.total << "; "
      << w("workshops") << ": " << r.workshops << "; " << w("enrolments")
      << ": " << r.enrolments << "\n";
  auto table = [&](const char* title, const char* key_word,
                   const std::vector<ReachRow>& rows, bool districts) {
    out << "\n" << w(title) << "\n"
        << w(key_word) << "\t" << w("registered") << "\t" << w("groups_reached")
        << "\t" << w("entrepreneurs_reached") << "\t" << w("reached") << "\n";
    for (const ReachRow& row : rows) {
      out << (districts ? District(lang, row.key)
                        : NamedLabel(Categories(), lang, row.key))
          << "\t" << row.producers.total << "\t" << row.reached.group << "\t"
          << row.reached.entrepreneur << "\t" << row.reached.total << "\n";
    }
  };
  table("by_district", "district", r.by_district, true);
  table("by_category", "category", r.by_category, false);
}

std::string WorkshopLine(Lang lang, const std::string& title, int64_t fy,
                         const std::string& district,
                         const std::string& start) {
  std::string s = TextCell(title) + " — " + ReportWord(lang, "fiscal_year") + " " +
                  std::to_string(fy) + ", " + District(lang, district);
  if (!start.empty()) {
    s += ", " + ReportWord(lang, "start") + " " + FormatDateLabel(lang, start);
  }
  return s;
}

void AttendanceText(const AttendanceGrid& g, Lang lang, std::ostream& out) {
  auto w = [lang](const char* k) { return ReportWord(lang, k); };
  out << w("attendance") << ": "
      << WorkshopLine(lang, g.title, g.fiscal_year, g.district_code,
                      g.start_date)
      << "\n" << w("enrolments") << ": " << g.enrolled << "\n\n";
  out << w("participant");
  for (const AttendanceDay& d : g.daily) {
    out << "\t" << w("day") << " " << d.day;
    if (!d.date.empty()) out << " (" << FormatDateLabel(lang, d.date) << ")";
  }
  out << "\t" << w("days_attended") << "\n";
  for (const AttendanceRow& row : g.participants) {
    out << TextCell(row.participant_name);
    for (size_t d = 0; d < row.statuses.size(); ++d) {
      const std::string& s = row.statuses[d];
      const bool disputed =
          std::find(row.disputed_days.begin(), row.disputed_days.end(),
                    static_cast<int64_t>(d + 1)) != row.disputed_days.end();
      out << "\t" << (s.empty() ? "-" : NamedLabel(Statuses(), lang, s))
          << (disputed ? "*" : "");
    }
    out << "\t" << row.days_attended << "/" << g.days << "\n";
  }
  out << w("rate");
  for (const AttendanceDay& d : g.daily) {
    out << "\t"
        << (d.rate ? Percent(static_cast<double>(d.present + d.late),
                             static_cast<double>(g.enrolled))
                   : "-");
  }
  out << "\n";
  for (const Named& st : Statuses()) {
    out << st.name(lang);
    for (const AttendanceDay& d : g.daily) {
      const int64_t n = st.value == "present" ? d.present
                        : st.value == "late"  ? d.late
                        : st.value == "absent" ? d.absent
                                               : d.excused;
      out << "\t" << n;
    }
    out << "\n";
  }
  out << w("unmarked");
  for (const AttendanceDay& d : g.daily) out << "\t" << d.unmarked;
  out << "\n";
  if (g.disputed_marks > 0) {
    out << "\n" << DisputedMarksNote(lang, g.disputed_marks) << "\n";
  }
  if (g.marks_beyond_days > 0) {
    out << "\n"
        << MarksBeyondDaysNote(lang, g.marks_beyond_days, g.days,
                               g.last_marked_day)
        << "\n";
  }
}

void CertificatesText(const CertificateReport& r, Lang lang,
                      std::ostream& out) {
  auto w = [lang](const char* k) { return ReportWord(lang, k); };
  out << w("certificates") << ": " << TextCell(r.title) << "\n"
      << w("min_days") << ": " << r.min_days << "/" << r.days << "; "
      << w("eligible") << ": " << r.eligible << "/" << r.participants.size()
      << "\n\n"
      << w("participant") << "\t" << w("producer") << "\t"
      << w("days_attended") << "\t" << w("eligible") << "\n";
  for (const CertificateRow& c : r.participants) {
    out << TextCell(c.participant_name) << (c.enrolled_again.empty() ? "" : "†") << "\t"
        << TextCell(c.producer_name) << "\t" << c.days_attended
        << (c.enrolled_again.empty() ? std::string()
                                     : " " + DaysTogether(lang, c.days_together))
        << "\t"
        << (c.eligible ? w("eligible") : w("not_eligible"))
        << (c.disputed_days.empty() ? "" : "*") << "\n";
  }
  if (r.disputed_marks > 0) {
    out << "\n" << DisputedMarksNote(lang, r.disputed_marks) << "\n";
  }
  if (r.enrolled_twice > 0) {
    out << "\n" << EnrolledTwiceNote(lang, r.enrolled_twice) << "\n";
  }
  if (r.marks_beyond_days > 0) {
    out << "\n"
        << MarksBeyondDaysNote(lang, r.marks_beyond_days, r.days,
                               r.last_marked_day)
        << "\n";
  }
}

void ContestText(const ContestReport& r, Lang lang, std::ostream& out) {
  auto w = [lang](const char* k) { return ReportWord(lang, k); };
  if (r.contest.empty()) {
    out << w("contest") << ": " << w("no_scores") << "\n";
    return;
  }
  out << w("contest") << ": " << TextCell(r.contest);
  if (!r.district.empty()) {
    out << " — " << District(lang, r.district) << " (" << w("ranks_within") << ")";
  }
  out << "\n";
  if (r.contests.size() > 1) {
    out << w("contests") << ": " << Join(r.contests, ", ") << "\n";
  }
  out << "\n" << w("rank") << "\t" << w("product") << "\t" << w("producer")
      << "\t" << w("district");
  for (const Named& c : Criteria()) out << "\t" << c.name(lang);
  out << "\t" << w("mean_total") << "\t" << w("judges") << "\n";
  for (const ContestEntry& e : r.ranking) {
    out << e.rank << (e.disputed_scores > 0 ? "*" : "") << "\t"
        << TextCell(e.product_name) << "\t" << TextCell(e.producer_name) << "\t"
        << District(lang, e.district_code);
    for (double c : e.criteria) out << "\t" << Fixed(c, 2);
    out << "\t" << Fixed(e.mean_total, 2) << "\t" << e.judges.size() << ": "
        << TextCell(Join(e.judges, ", ")) << "\n";
  }
  if (r.disputed_scores > 0) {
    out << "\n" << DisputedScoresNote(lang, r.disputed_scores) << "\n";
  }
  if (!r.left_out.empty()) out << "\n" << w("left_out") << ":\n";
  for (const LeftOutScore& l : r.left_out) {
    out << "  " << TextCell(l.product_name) << ": " << w("judge") << " '"
        << TextCell(l.judge) << "' " << w("in_contest") << " '" << TextCell(l.contest)
        << "' = " << l.total << " (" << w("score_id") << " " << l.score_id << "); "
        << w("counted") << ": '" << TextCell(l.counted_judge) << "' " << w("in_contest")
        << " '" << TextCell(l.counted_contest) << "' = " << l.counted_total << " ("
        << w("score_id") << " " << l.counted_id << ")\n";
  }
}

void StagesText(const StageReport& r, Lang lang, std::ostream& out) {
  auto w = [lang](const char* k) { return ReportWord(lang, k); };
  out << w("stages");
  if (r.fiscal_year) out << " — " << w("fiscal_year") << " " << *r.fiscal_year;
  if (!r.district.empty()) out << " — " << District(lang, r.district);
  out << "\n\n" << w("stage") << "\t" << w("products") << "\n";
  for (size_t i = 0; i < r.stages.size(); ++i) {
    out << NamedLabel(kbo::Stages(), lang, r.stages[i]) << "\t" << r.counts[i]
        << "\n";
  }
  out << w("total") << "\t" << r.total << "\n\n" << w("by_district") << "\n"
      << w("district");
  for (const std::string& s : r.stages) {
    out << "\t" << NamedLabel(kbo::Stages(), lang, s);
  }
  out << "\t" << w("total") << "\n";
  for (const StageRow& row : r.by_district) {
    out << District(lang, row.key);
    for (int64_t n : row.counts) out << "\t" << n;
    out << "\t" << row.total << "\n";
  }
}

void FollowupsText(const FollowupReport& r, Lang lang, std::ostream& out) {
  auto w = [lang](const char* k) { return ReportWord(lang, k); };
  out << w("followups") << " — " << w("as_of") << " "
      << FormatDateLabel(lang, r.today);
  if (r.fiscal_year) {
    out << "; " << w("visits") << " " << w("fiscal_year") << " "
        << *r.fiscal_year;
  }
  if (!r.district.empty()) out << " — " << District(lang, r.district);
  out << "\n" << w("visits") << ": " << r.visits << "; "
      << w("producers_visited") << ": " << r.producers_visited << "; "
      << w("overdue") << ": " << r.overdue.size() << "\n\n"
      << w("district") << "\t" << w("visits") << "\t"
      << w("producers_visited") << "\t" << w("overdue") << "\n";
  for (const VisitDistrictRow& row : r.by_district) {
    out << District(lang, row.district_code) << "\t" << row.visits << "\t"
        << row.producers_visited << "\t" << row.overdue << "\n";
  }
  out << "\n" << w("overdue") << "\n"
      << w("producer") << "\t" << w("district") << "\t" << w("last_visit")
      << "\t" << w("next_visit") << "\t" << w("days_overdue") << "\t"
      << w("follow_up") << "\n";
  for (const OverdueFollowup& f : r.overdue) {
    out << TextCell(f.producer_name) << "\t" << District(lang, f.district_code) << "\t"
        << FormatIsoBangkok(lang, f.visited_at) << "\t"
        << FormatDateLabel(lang, f.next_visit.substr(0, 10)) << "\t"
        << f.days_overdue << "\t" << TextCell(f.follow_up) << "\n";
  }
}

Status Audit(Db& db, const std::string& at, std::string_view action,
             std::string_view subject, const std::string& detail) {
  storage::AuditEntry e;
  e.at = at;
  e.actor = "cli";
  e.action = std::string(action);
  e.subject = std::string(subject);
  e.detail = detail;
  return storage::AuditLog(db).Append(e);
}

// ---- Commands -------------------------------------------------------------------

Status Report(const std::vector<std::string>& args,
              const std::function<Result<ServerStore*>()>& store,
              std::ostream& out, bool* usage_error) {
  if (args.empty()) {
    return Usage(usage_error,
                 "report needs a kind: reach, attendance, certificates, "
                 "contest, stages or followups");
  }
  const std::string& kind = args[0];
  static const std::set<std::string, std::less<>> kKinds = {
      "reach", "attendance", "certificates", "contest", "stages", "followups"};
  if (!kKinds.count(kind)) {
    return Usage(usage_error, "unknown report '" + kind +
                                  "' (reach, attendance, certificates, "
                                  "contest, stages, followups)");
  }
  CliArgs p;
  if (Status s = ParseCliArgs(args, 1,
                              {"fiscal-year", "district", "workshop", "contest",
                               "lang", "today"},
                              {"json"}, 0, &p, usage_error);
      !s.ok()) {
    return s;
  }
  auto flag = [&](std::string_view name) { return p.ValueOr(name); };
  ReportFilter filter;
  filter.scope.all = true;  // a shell on the server sees every district
  if (const std::string fy = flag("fiscal-year"); !fy.empty()) {
    Result<int64_t> n = ParseFiscalYear(fy);
    if (!n.ok()) return Usage(usage_error, "--fiscal-year: " + n.status().message());
    filter.fiscal_year = *n;
  }
  filter.district = flag("district");
  if (!filter.district.empty()) {
    Result<Scope> d = Scope::Parse(filter.district);
    if (!d.ok() || d->all || d->districts.size() != 1) {
      return Usage(usage_error, "--district takes one district, by code or name, e.g. "
                                "5011 or Phrao (พร้าว), not '" + filter.district + "'");
    }
  }
  filter.workshop_id = flag("workshop");
  filter.contest = flag("contest");
  Lang lang = Lang::kTh;
  if (const std::string l = flag("lang"); !l.empty()) {
    std::optional<Lang> parsed = ParseLang(l);
    if (!parsed) return Usage(usage_error, "--lang must be th or en");
    lang = *parsed;
  }
  const bool needs_workshop = kind == "attendance" || kind == "certificates";
  if (needs_workshop && filter.workshop_id.empty()) {
    return Usage(usage_error, "report " + kind + " needs --workshop ID");
  }
  std::string today = flag("today");
  if (!today.empty() && (today.size() != 10 || AddDaysToDate(today, 0) != today)) {
    return Usage(usage_error, "--today must be a date YYYY-MM-DD");
  }

  Result<ServerStore*> opened = store();
  if (!opened.ok()) return opened.status();
  ServerStore& st = **opened;
  Db& db = st.db();
  if (today.empty()) today = BangkokDate(st.NowMillis());
  if (!filter.workshop_id.empty()) {
    Result<std::string> id = WorkshopIdOrPrefix(db, filter.workshop_id);
    if (!id.ok()) return Usage(usage_error, id.status().message());
    filter.workshop_id = std::move(id).value();
  }
  Result<Scope> scope = EffectiveScope(filter);
  if (!scope.ok()) return Usage(usage_error, scope.status().message());

  if (kind == "reach") {
    Result<ReachReport> r = Reach(db, filter);
    if (!r.ok() && r.status().code() == Code::kNotFound &&
        !filter.fiscal_year) {
      // No workshop yet: this fiscal year, with nothing reached.
      filter.fiscal_year = FiscalYearOfDate(today);
      r = Reach(db, filter);
    }
    if (!r.ok()) return r.status();
    if (p.Has("json")) {
      out << ReachJson(*r) << "\n";
    } else {
      ReachText(*r, lang, out);
    }
  } else if (kind == "attendance") {
    Result<AttendanceGrid> r = Attendance(db, filter.workshop_id, *scope);
    if (!r.ok()) return OutsideDistrict(db, filter, r.status());
    if (Status s = SameFiscalYear(filter, r->fiscal_year); !s.ok()) return s;
    if (p.Has("json")) {
      out << AttendanceJson(*r) << "\n";
    } else {
      AttendanceText(*r, lang, out);
    }
  } else if (kind == "certificates") {
    Result<CertificateReport> r = Certificates(db, filter.workshop_id, *scope);
    if (!r.ok()) return OutsideDistrict(db, filter, r.status());
    if (filter.fiscal_year) {
      Result<AttendanceGrid> head = Attendance(db, filter.workshop_id, *scope);
      if (!head.ok()) return head.status();
      if (Status s = SameFiscalYear(filter, head->fiscal_year); !s.ok()) return s;
    }
    if (p.Has("json")) {
      out << CertificatesJson(*r) << "\n";
    } else {
      CertificatesText(*r, lang, out);
    }
  } else if (kind == "contest") {
    Result<ContestReport> r = Contest(db, filter);
    if (!r.ok()) return r.status();
    if (p.Has("json")) {
      out << ContestJson(*r) << "\n";
    } else {
      ContestText(*r, lang, out);
    }
  } else if (kind == "stages") {
    Result<StageReport> r = Stages(db, filter);
    if (!r.ok()) return r.status();
    if (p.Has("json")) {
      out << StagesJson(*r) << "\n";
    } else {
      StagesText(*r, lang, out);
    }
  } else {
    Result<FollowupReport> r = Followups(db, filter, today);
    if (!r.ok()) return r.status();
    if (p.Has("json")) {
      out << FollowupsJson(*r) << "\n";
    } else {
      FollowupsText(*r, lang, out);
    }
  }
  return Status();
}

Status TargetSet(const std::vector<std::string>& args,
                 const std::function<Result<ServerStore*>()>& store,
                 std::ostream& out, bool* usage_error) {
  if (args.empty() || args[0] != "set") {
    return Usage(usage_error, "target needs 'set'");
  }
  CliArgs p;
  if (Status s = ParseCliArgs(args, 1,
                              {"fiscal-year", "groups", "entrepreneurs", "producers"},
                              {}, 0, &p, usage_error);
      !s.ok()) {
    return s;
  }
  auto need = [&](const char* name, int64_t lo,
                  int64_t hi) -> std::optional<int64_t> {
    auto it = p.values.find(name);
    if (it == p.values.end()) return std::nullopt;
    return Number(it->second, lo, hi);
  };
  std::optional<int64_t> fy;
  if (auto it = p.values.find("fiscal-year"); it != p.values.end()) {
    Result<int64_t> year = ParseFiscalYear(it->second);
    if (!year.ok()) {
      return Usage(usage_error, "--fiscal-year: " + year.status().message());
    }
    fy = *year;
  }
  const std::optional<int64_t> groups = need("groups", 0, 1000000);
  const std::optional<int64_t> ents = need("entrepreneurs", 0, 1000000);
  if (!fy || !groups || !ents) {
    return Usage(usage_error,
                 "target set needs --fiscal-year BE (e.g. 2569) and "
                 "--groups N --entrepreneurs N (whole numbers)");
  }
  Result<ServerStore*> opened = store();
  if (!opened.ok()) return opened.status();
  Db& db = (*opened)->db();
  int64_t producers = 0;
  if (p.values.count("producers")) {
    std::optional<int64_t> n = need("producers", 0, 1000000);
    if (!n) return Usage(usage_error, "--producers must be a whole number");
    producers = *n;
  } else {
    Result<ReachTarget> current = LoadTarget(db, *fy);
    if (!current.ok()) return current.status();
    producers = std::max(current->producers, *groups + *ents);
  }
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  if (Status s = SetTarget(db, *fy, *groups, *ents, producers); !s.ok()) {
    if (s.code() == Code::kInvalidArgument) *usage_error = true;
    return s;
  }
  const std::string detail = "groups " + std::to_string(*groups) +
                             ", entrepreneurs " + std::to_string(*ents) +
                             ", producers " + std::to_string(producers);
  if (Status s = Audit(db, (*opened)->NowIso(), "target_set",
                       "fiscal_year:" + std::to_string(*fy), detail);
      !s.ok()) {
    return s;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  out << "fiscal year " << *fy << ": " << detail << " (target "
      << (*groups + *ents) << ")\n";
  return Status();
}

Status WorkshopMinDays(const std::vector<std::string>& args,
                       const std::function<Result<ServerStore*>()>& store,
                       std::ostream& out, bool* usage_error) {
  if (args.empty() || args[0] != "min-days") {
    return Usage(usage_error, "workshop needs 'min-days ID N'");
  }
  CliArgs p;
  if (Status s = ParseCliArgs(args, 1, {}, {}, 2, &p, usage_error); !s.ok()) {
    return s;
  }
  if (p.positional.size() != 2) {
    return Usage(usage_error, "workshop min-days needs a workshop id and N");
  }
  const std::optional<int64_t> n = Number(p.positional[1], 1, 366);
  if (!n) {
    return Usage(usage_error, "N must be a whole number of days from 1 to "
                              "366, not '" + p.positional[1] + "'");
  }
  Result<ServerStore*> opened = store();
  if (!opened.ok()) return opened.status();
  Db& db = (*opened)->db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  if (Status s = SetMinDays(db, p.positional[0], *n); !s.ok()) return s;
  if (Status s = Audit(db, (*opened)->NowIso(), "min_days_set",
                       "workshop:" + p.positional[0],
                       "min days " + std::to_string(*n));
      !s.ok()) {
    return s;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  out << "workshop " << p.positional[0] << ": min days " << *n << "\n";
  return Status();
}

}  // namespace

std::string ReportWord(Lang lang, std::string_view key) {
  const auto& table = WordTable();
  auto it = table.find(key);
  if (it == table.end()) return std::string(key);
  return lang == Lang::kTh ? it->second.th : it->second.en;
}

std::string DisputedMarksNote(Lang lang, int64_t marks) {
  if (marks <= 0) return "";
  const std::string n = std::to_string(marks);
  if (lang == Lang::kTh) {
    return "* การบันทึกการเข้าอบรม " + n +
           " รายการยังมีข้อขัดแย้งที่สำนักงานยังไม่ได้ตัดสิน ค่าที่แสดงอาจเปลี่ยน "
           "และจำนวนวันที่มากับสิทธิ์รับวุฒิบัตรอาจเปลี่ยนตาม "
           "(ดูหน้าข้อขัดแย้ง หรือ kbo-server conflicts list)";
  }
  return "* " + n + (marks == 1 ? " mark has" : " marks have") +
         " a conflict the office has not decided: the value shown may "
         "change, and with it the days attended and the certificate "
         "(the conflicts page, or kbo-server conflicts list)";
}

std::string DaysTogether(Lang lang, int64_t days) {
  const std::string n = std::to_string(days);
  return lang == Lang::kTh ? "(รวม " + n + " วัน)" : "(" + n + " together)";
}

std::string EnrolledTwiceNote(Lang lang, int64_t people) {
  if (people <= 0) return "";
  const std::string n = std::to_string(people);
  if (lang == Lang::kTh) {
    return "† ผู้เข้าอบรม " + n +
           " คนมีชื่อลงทะเบียนซ้ำในการอบรมนี้ (ลงทะเบียนจากสองเครื่องขณะออฟไลน์) "
           "แต่ละรายการนับวันที่มาของตัวเอง ถ้าเป็นคนเดียวกัน จำนวนวันที่มารวมกันแสดงในวงเล็บ "
           "สำนักงานตัดสินวุฒิบัตรจากวันรวมนั้น หากจะเหลือไว้รายการเดียว ให้บันทึกวันที่มา"
           "ของรายการที่ซ้ำลงในอีกรายการจากเครื่องก่อน แล้วจึงลบรายการที่ซ้ำ (ดูหน้าต้องตรวจสอบ)";
  }
  return "† " + n + (people == 1 ? " participant is" : " participants are") +
         " enrolled more than once in this workshop (enrolled on two devices "
         "offline): each enrolment counts its own marks; if one person, the days "
         "together are in brackets, and the office decides the certificate on "
         "them. To keep one enrolment, mark the other's days on it from a device "
         "first, then delete the other (the Needs attention page lists it)";
}

std::string DisputedScoresNote(Lang lang, int64_t scores) {
  if (scores <= 0) return "";
  const std::string n = std::to_string(scores);
  if (lang == Lang::kTh) {
    return "* คะแนน " + n +
           " รายการยังมีข้อขัดแย้งที่สำนักงานยังไม่ได้ตัดสิน หรือกรรมการคนเดียวกันให้คะแนนไว้อีกใบ"
           "ด้วยชื่อที่สะกดต่างกันและคะแนนไม่เท่ากัน (ไม่นับ แสดงไว้ด้านล่าง) คะแนนเฉลี่ยที่แสดง"
           "อาจเปลี่ยน และอันดับอาจเปลี่ยนตาม "
           "(ดูหน้าข้อขัดแย้ง หรือ kbo-server conflicts list)";
  }
  return "* " + n + (scores == 1 ? " score has" : " scores have") +
         " a conflict the office has not decided, or another card by the same "
         "judge under another spelling with other scores (not counted, listed "
         "below): the mean shown may change, and with it the rank "
         "(the conflicts page, or kbo-server conflicts list)";
}

std::string TextCell(std::string_view text) {
  std::string flat(text);
  for (char& c : flat) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return GuardFormula(flat);
}

std::string MarksBeyondDaysNote(Lang lang, int64_t marks, int64_t days,
                                int64_t last_marked_day) {
  if (marks <= 0) return "";
  const std::string n = std::to_string(marks);
  const std::string d = std::to_string(days);
  const std::string last = std::to_string(last_marked_day);
  if (lang == Lang::kTh) {
    return "มีการบันทึกการเข้าอบรม " + n + " รายการหลังวันที่ " + d +
           " ซึ่งเป็นวันสุดท้ายของการอบรม (ถึงวันที่ " + last +
           ") จึงไม่นับในรายงานนี้ ข้อมูลยังเก็บไว้ "
           "และจะนับอีกครั้งหากเพิ่มจำนวนวันของการอบรม";
  }
  return n + (marks == 1 ? " mark" : " marks") + " after day " + d +
         ", the workshop's last day (up to day " + last +
         "), not counted here: kept, and counted again if the workshop is "
         "lengthened";
}

Status ReportCommand(std::string_view noun,
                     const std::vector<std::string>& args,
                     const std::function<Result<ServerStore*>()>& store,
                     std::ostream& out, bool* usage_error) {
  if (noun == "report") return Report(args, store, out, usage_error);
  if (noun == "target") return TargetSet(args, store, out, usage_error);
  if (noun == "workshop") return WorkshopMinDays(args, store, out, usage_error);
  return Usage(usage_error, "unknown command '" + std::string(noun) + "'");
}

}  // namespace kbo::server
