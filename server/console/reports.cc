// The console's reports (issue 10, deliverable 5): /reports and one page per
// report, each also as JSON (?format=json, or its /api/reports/... twin),
// computed by server/report_queries.h within the signed-in user's districts;
// Thai by default, Buddhist Era dates, charts as inline SVG
// (console/svg_chart.h), print styles for a committee meeting. Office users
// and up edit a fiscal year's targets and a workshop's min days here; each
// edit is audited.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/console/console.h"
#include "server/console/svg_chart.h"
#include "server/report_cmds.h"
#include "server/report_queries.h"
#include "shared/encoding.h"
#include "shared/entities.h"
#include "shared/error_body.h"
#include "shared/labels.h"

namespace kbo::server::console {
namespace {

// Print: no navigation or forms, tables that keep their rows whole, charts
// at the page's width.
constexpr char kReportStyle[] =
    "<style>"
    ".report-note{font-size:.9rem}"
    ".grid td.s-present{background:#e3f1e5}.grid td.s-late{background:#fff3d6}"
    ".grid td.s-absent{background:#f9e0e0}.grid td.s-excused{background:#e8eaf3}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1rem}"
    "@media print{form,.noprint{display:none}h1{font-size:16pt}"
    "table{font-size:10pt}tr{break-inside:avoid}svg.chart{max-width:100%!important}"
    ".grid td.s-present,.grid td.s-late,.grid td.s-absent,.grid td.s-excused"
    "{-webkit-print-color-adjust:exact;print-color-adjust:exact}}"
    "</style>";

std::string W(const Context& ctx, const char* key) {
  return ReportWord(ctx.lang, key);
}
std::string T(const Context& ctx, const char* th, const char* en) {
  return ctx.lang == Lang::kTh ? th : en;
}

bool WantsJson(const Context& ctx) {
  return ctx.req.path.rfind("/api/", 0) == 0 ||
         ctx.req.Query("format") == "json";
}

// A report's refusal in the page's language: Thai for each reason the
// report queries give (server/report_queries.cc), the message otherwise.
std::string ProblemWords(const Context& ctx, const Status& s) {
  if (ctx.lang != Lang::kTh) return s.message();
  const std::string& r = s.reason();
  if (s.TextField(field::kProblem) != nullptr) return ProblemText(ctx.lang, "", s);
  if (r == "bad_fiscal_year") {
    const int64_t* be = s.IntegerField("buddhist_era");
    return "ปีงบประมาณต้องเป็นปี พ.ศ. ระหว่าง 2500 ถึง 2700 (เช่น 2569)" +
           (be != nullptr ? " หมายถึงปีงบประมาณ " + std::to_string(*be) + " หรือไม่"
                          : std::string());
  }
  if (r == "workshop_needed") return "โปรดเลือกการอบรม";
  if (r == "no_workshop") return "ไม่พบการอบรมนี้";
  if (r == "bad_district") {
    return "รหัสอำเภอนี้ไม่ใช่อำเภอของจังหวัดเชียงใหม่ (เช่น 5011 คืออำเภอพร้าว)";
  }
  if (r == "no_fiscal_year") {
    return "ยังไม่มีการอบรมในอำเภอที่คุณดูแล จึงยังไม่รู้ปีงบประมาณ โปรดเลือกปีงบประมาณ";
  }
  if (r == "no_scores") {
    const std::string* contest = s.TextField("contest");
    return "ยังไม่มีคะแนนของการประกวด" +
           (contest != nullptr ? " '" + *contest + "'" : std::string());
  }
  if (r == "bad_target") return "เป้าหมายต้องเป็นจำนวนเต็มตั้งแต่ 0 ถึง 1000000";
  if (r == "targets_below_sum") {
    const int64_t* producers = s.IntegerField("producers");
    const int64_t* sum = s.IntegerField("sum");
    return "เป้าหมายผู้ผลิต (" + (producers != nullptr ? std::to_string(*producers) : std::string("?")) +
           ") ต้องไม่น้อยกว่ากลุ่มผู้ผลิตรวมกับผู้ประกอบการ (" +
           (sum != nullptr ? std::to_string(*sum) : std::string("?")) + ")";
  }
  if (r == "bad_min_days") return "จำนวนวันขั้นต่ำต้องอยู่ระหว่าง 1 ถึง 366 วัน";
  if (r == "min_days_over") {
    const int64_t* days = s.IntegerField("days");
    return "การอบรมนี้มี " + (days != nullptr ? std::to_string(*days) : std::string("?")) +
           " วัน เกณฑ์วันเข้าอบรมของวุฒิบัตรจะมากกว่านั้นไม่ได้";
  }
  return s.message();
}

// The JSON twins keep the English message (scripts read it) and the reason.
Reply Fail(const Context& ctx, const Status& s) {
  int http = 500;
  std::string error = "internal";
  std::string message = "the report could not be read";
  std::string shown = T(ctx, "อ่านรายงานไม่ได้", "The report could not be read.");
  if (s.code() == Code::kInvalidArgument || s.code() == Code::kNotFound) {
    const bool invalid = s.code() == Code::kInvalidArgument;
    http = invalid ? 400 : 404;
    error = invalid ? "invalid_argument" : "not_found";
    message = s.message();
    shown = ProblemWords(ctx, s);
  }
  if (s.code() == Code::kPermissionDenied) {  // a district not the user's
    shown = ProblemWords(ctx, s);
    http = 403;
  }
  if (WantsJson(ctx)) {
    // A refusal with its reason and fields (bad_district, workshop_needed,
    // no_scores ...), as the other pages' JSON gives them; a fault of the
    // server's only as "internal" (its words are logged, not shown).
    if (http == 500) return Reply::Json(EncodeErrorBody(error, message, http), http);
    return Reply::Json(EncodeErrorBody(s), http);
  }
  return Reply::Html(
      Layout(ctx, T(ctx, "รายงาน", "Reports"),
             "<p class=\"flash error\" role=\"alert\">" + Escape(shown) +
                 "</p><p><a href=\"/reports\">" +
                 T(ctx, "กลับไปที่รายงาน", "Back to reports") + "</a></p>"),
      http);
}

// The filter from the query string, within the user's districts.
Result<ReportFilter> FilterOf(const Context& ctx) {
  // The command line's spelling (--fiscal-year) in a URL was ignored, and
  // the report of another year came back as if asked for: refused, naming
  // the parameter's spelling here.
  for (const auto& [key, value] : ctx.req.query) {
    (void)value;
    std::string underscored = key;
    std::replace(underscored.begin(), underscored.end(), '-', '_');
    if (underscored != key && (underscored == "fiscal_year" || underscored == "district" ||
                               underscored == "workshop" || underscored == "contest")) {
      return Status::InvalidArgument("unknown parameter '" + key + "': did you mean '" +
                                     underscored + "'?")
          .WithReason("invalid_argument");
    }
  }
  ReportFilter f;
  f.scope = ctx.user().scope;
  const std::string fy = ctx.req.Query("fiscal_year");
  if (!fy.empty()) {
    Result<int64_t> year = ParseFiscalYear(fy);
    if (!year.ok()) return year.status();
    f.fiscal_year = *year;
  }
  f.district = ctx.req.Query("district");
  f.workshop_id = ctx.req.Query("workshop");
  f.contest = ctx.req.Query("contest");
  if (Status s = f.scope.CheckFilter(f.district); !s.ok()) return s;
  if (Result<Scope> s = EffectiveScope(f); !s.ok()) return s.status();
  return f;
}

std::string Today(Context& ctx) { return BangkokDate(ctx.store.NowMillis()); }

std::string District(const Context& ctx, const std::string& code) {
  return code.empty() ? W(ctx, "none") : DistrictLabel(ctx.lang, code);
}

// " — พร้าว" after a report's title when it is of one district; "".
std::string InDistrict(const Context& ctx, const std::string& code) {
  return code.empty() ? std::string() : " — " + DistrictLabel(ctx.lang, code);
}

std::string NamedLabel(NamedList list, const Context& ctx,
                       std::string_view code) {
  if (code.empty()) return W(ctx, "none");
  const Named* n = list.Find(code);
  return n ? std::string(n->name(ctx.lang)) : std::string(code);
}

std::string Pct(double part, double whole) {
  if (whole <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * part / whole);
  return buf;
}

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string Num(int64_t n) { return std::to_string(n); }

std::string Td(const std::string& text) { return "<td>" + Escape(text) + "</td>"; }
std::string TdNum(const std::string& text) {
  return "<td class=\"num\">" + Escape(text) + "</td>";
}
std::string Th(const std::string& text) { return "<th>" + Escape(text) + "</th>"; }
std::string ThNum(const std::string& text) {
  return "<th class=\"num\">" + Escape(text) + "</th>";
}

std::string Flash(const Context& ctx) {
  std::string out;
  if (const std::string ok = ctx.req.Query("done"); !ok.empty()) {
    out += "<p class=\"flash\" role=\"status\">" + Escape(ok) + "</p>";
  }
  if (const std::string err = ctx.req.Query("error"); !err.empty()) {
    out += "<p class=\"flash error\" role=\"alert\">" + Escape(err) + "</p>";
  }
  return out;
}

// The GET form of filters every report page starts with.
std::string FilterForm(const Context& ctx, const std::string& action,
                       const ReportFilter& f, bool year, bool extra_workshop,
                       bool extra_contest) {
  std::string b = "<form class=\"filters noprint\" method=\"get\" action=\"" +
                  Escape(action) + "\">";
  b += "<input type=\"hidden\" name=\"lang\" value=\"" +
       std::string(LangCode(ctx.lang)) + "\">";
  if (year) {
    b += "<label>" + Escape(W(ctx, "fiscal_year")) +
         "<input name=\"fiscal_year\" inputmode=\"numeric\" size=\"5\" value=\"" +
         (f.fiscal_year ? Num(*f.fiscal_year) : std::string()) + "\"></label>";
  }
  const Scope& scope = ctx.user().scope;
  if (scope.all || scope.districts.size() > 1) {
    b += "<label>" + Escape(W(ctx, "district")) + "<select name=\"district\">"
         "<option value=\"\">" + T(ctx, "ทุกอำเภอที่เห็นได้", "All your districts") +
         "</option>";
    for (const auto& d : Districts()) {
      const std::string code(d.code);
      if (!scope.Contains(code)) continue;
      b += "<option value=\"" + Escape(code) + "\"" +
           (f.district == code ? " selected" : "") + ">" +
           Escape(DistrictLabel(ctx.lang, code)) + "</option>";
    }
    b += "</select></label>";
  }
  if (extra_workshop) {
    b += "<input type=\"hidden\" name=\"workshop\" value=\"" +
         Escape(f.workshop_id) + "\">";
  }
  if (extra_contest) {
    b += "<input type=\"hidden\" name=\"contest\" value=\"" +
         Escape(f.contest) + "\">";
  }
  b += "<button class=\"primary\" type=\"submit\">" + T(ctx, "แสดง", "Show") +
       "</button></form>";
  return b;
}

std::string JsonLink(const Context& ctx, const std::string& api_path) {
  std::string q;
  for (const auto& [k, v] : ctx.req.query) {
    if (k == "lang" || k == "format" || k == "done" || k == "error") continue;
    q += (q.empty() ? "?" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
  }
  return "<p class=\"noprint report-note\"><a href=\"" + Escape(api_path + q) +
         "\">JSON</a></p>";
}

// The frame gives the page its <h1> (the title); a body that starts with its
// own heading loses it.
Reply Page(Context& ctx, const std::string& title, const std::string& body) {
  std::string b = body;
  if (b.rfind("<h1>", 0) == 0) {
    const size_t end = b.find("</h1>");
    if (end != std::string::npos) b.erase(0, end + 5);
  }
  return Reply::Html(Layout(ctx, title, kReportStyle + Flash(ctx) + b));
}

// ---- Index ----------------------------------------------------------------------

Reply Index(Context& ctx) {
  struct Item {
    const char* path;
    const char* word;
    const char* th;
    const char* en;
  };
  const Item items[] = {
      {"/reports/reach", "reach", "ผู้ผลิตที่เข้าถึงเทียบกับเป้าหมาย ตามอำเภอและหมวด OTOP",
       "Producers reached against the targets, by district and OTOP category"},
      {"/reports/attendance", "attendance", "ตารางการเข้าอบรมรายวันของแต่ละหลักสูตร",
       "Each workshop's attendance grid and daily rates"},
      {"/reports/certificates", "certificates", "ผู้เข้าอบรมครบตามจำนวนวันที่กำหนด",
       "Participants who attended the required days"},
      {"/reports/contest", "contest", "อันดับคะแนนเฉลี่ยจากกรรมการ",
       "Ranking by the judges' mean totals"},
      {"/reports/stages", "stages", "ผลิตภัณฑ์ในแต่ละขั้นการพัฒนา",
       "Products at each stage of development"},
      {"/reports/followups", "followups", "การลงพื้นที่ตามอำเภอ และนัดติดตามที่เลยกำหนด",
       "Visits by district and follow-ups overdue"},
  };
  if (WantsJson(ctx)) {
    nlohmann::json j = nlohmann::json::array();
    for (const Item& i : items) {
      j.push_back({{"report", i.word},
                   {"page", i.path},
                   {"api", std::string("/api") + i.path}});
    }
    return Reply::Json(j.dump());
  }
  std::string b = "<h1>" + T(ctx, "รายงาน", "Reports") + "</h1><div class=\"cards\">";
  for (const Item& i : items) {
    b += "<div class=\"card\"><a href=\"" + Escape(WithLang(ctx, i.path)) +
         "\"><b style=\"font-size:1.1rem\">" + Escape(W(ctx, i.word)) +
         "</b></a><span class=\"muted\">" + T(ctx, i.th, i.en) + "</span></div>";
  }
  b += "</div>";
  return Page(ctx, T(ctx, "รายงาน", "Reports"), b);
}

// ---- Reach ----------------------------------------------------------------------

Reply ReachPage(Context& ctx) {
  Result<ReportFilter> f = FilterOf(ctx);
  if (!f.ok()) return Fail(ctx, f.status());
  Result<ReachReport> r = Reach(ctx.store.db(), *f);
  if (!r.ok() && r.status().code() == Code::kNotFound && !f->fiscal_year) {
    f->fiscal_year = FiscalYearOfDate(Today(ctx));
    r = Reach(ctx.store.db(), *f);
  }
  if (!r.ok()) return Fail(ctx, r.status());
  if (WantsJson(ctx)) return Reply::Json(ReachJson(*r));
  const std::string title =
      W(ctx, "reach") + " " + W(ctx, "fiscal_year") + " " + Num(r->fiscal_year) +
      InDistrict(ctx, r->district);
  std::string b = "<h1>" + Escape(title) + "</h1>";
  ReportFilter shown = *f;
  shown.fiscal_year = r->fiscal_year;
  b += FilterForm(ctx, "/reports/reach", shown, true, false, false);
  b += "<div class=\"cards\">";
  auto card = [&](const std::string& label, const std::string& value) {
    b += "<div class=\"card\">" + Escape(label) + "<b>" + Escape(value) + "</b></div>";
  };
  card(W(ctx, "target"), Num(r->target.total()));
  card(W(ctx, "reached"), Num(r->reached.total));
  card(W(ctx, "percent"), Pct(static_cast<double>(r->reached.total),
                              static_cast<double>(r->target.total())));
  card(W(ctx, "registered"), Num(r->producers.total));
  b += "</div>";
  // A user of some districts sees their districts reached against the
  // province's target: said, so 3 of 300 is not read as a district's 1 %.
  if (!ctx.user().scope.all || !f->district.empty()) {
    b += "<p class=\"muted report-note\">" +
         T(ctx, "เป้าหมายเป็นของทั้งจังหวัด ตัวเลขที่เข้าถึงนับเฉพาะอำเภอที่แสดง",
           "The target is the whole province's; the producers reached are counted in the "
           "districts shown only") +
         "</p>";
  }

  ChartOptions o;
  o.title = title;
  o.value_legend = W(ctx, "reached");
  o.target_legend = W(ctx, "target");
  std::vector<ChartBar> bars = {
      {W(ctx, "groups"), static_cast<double>(r->reached.group),
       static_cast<double>(r->target.groups),
       Num(r->reached.group) + "/" + Num(r->target.groups)},
      {W(ctx, "entrepreneurs"), static_cast<double>(r->reached.entrepreneur),
       static_cast<double>(r->target.entrepreneurs),
       Num(r->reached.entrepreneur) + "/" + Num(r->target.entrepreneurs)},
      {W(ctx, "total"), static_cast<double>(r->reached.total),
       static_cast<double>(r->target.total()),
       Num(r->reached.total) + "/" + Num(r->target.total())}};
  b += "<div class=\"charts\"><div>" + HorizontalBarChart(bars, o) + "</div>";
  std::vector<ChartBar> cats;
  for (const ReachRow& row : r->by_category) {
    cats.push_back({NamedLabel(Categories(), ctx, row.key),
                    static_cast<double>(row.reached.total), std::nullopt, ""});
  }
  ChartOptions co;
  co.title = W(ctx, "by_category");
  b += "<div>" + HorizontalBarChart(cats, co) + "</div></div>";
  b += "<p class=\"muted report-note\">" +
       Escape((r->target.is_default ? W(ctx, "default_target") + "; " : "") +
              W(ctx, "of_producers") + " " + Num(r->target.producers) + "; " +
              W(ctx, "workshops") + " " + Num(r->workshops) + "; " +
              W(ctx, "enrolments") + " " + Num(r->enrolments)) +
       "</p>";

  auto table = [&](const char* heading, const char* key_word,
                   const std::vector<ReachRow>& rows, bool districts) {
    b += "<h2>" + Escape(W(ctx, heading)) + "</h2><div class=\"scroll\"><table><thead><tr>" +
         Th(W(ctx, key_word)) + ThNum(W(ctx, "registered")) +
         ThNum(W(ctx, "groups_reached")) + ThNum(W(ctx, "entrepreneurs_reached")) +
         ThNum(W(ctx, "reached")) + "</tr></thead><tbody>";
    for (const ReachRow& row : rows) {
      b += "<tr>" +
           Td(districts ? District(ctx, row.key)
                        : NamedLabel(Categories(), ctx, row.key)) +
           TdNum(Num(row.producers.total)) + TdNum(Num(row.reached.group)) +
           TdNum(Num(row.reached.entrepreneur)) + TdNum(Num(row.reached.total)) +
           "</tr>";
    }
    b += "</tbody></table></div>";
  };
  table("by_district", "district", r->by_district, true);
  table("by_category", "category", r->by_category, false);

  // The targets are the province's: set by an office user of every
  // district (one district's clerk would change every district's figures).
  if (ctx.user().role >= WebRole::kOffice && ctx.user().scope.all) {
    b += "<h2 class=\"noprint\">" + T(ctx, "แก้ไขเป้าหมาย", "Edit the targets") +
         "</h2><form class=\"stack noprint\" method=\"post\" action=\"/reports/targets\">" +
         CsrfField(ctx) + "<input type=\"hidden\" name=\"lang\" value=\"" +
         std::string(LangCode(ctx.lang)) + "\">";
    auto field = [&](const char* name, const std::string& label, int64_t v) {
      b += "<label>" + Escape(label) + "<input name=\"" + name +
           "\" inputmode=\"numeric\" required value=\"" + Num(v) + "\"></label>";
    };
    field("fiscal_year", W(ctx, "fiscal_year"), r->fiscal_year);
    field("groups", W(ctx, "groups"), r->target.groups);
    field("entrepreneurs", W(ctx, "entrepreneurs"), r->target.entrepreneurs);
    field("producers", W(ctx, "of_producers"), r->target.producers);
    b += "<button class=\"primary\" type=\"submit\">" + T(ctx, "บันทึก", "Save") +
         "</button></form>";
  }
  b += JsonLink(ctx, "/api/reports/reach");
  return Page(ctx, title, b);
}

// A whole number form field in [lo, hi].
std::optional<int64_t> FormNumber(const Context& ctx, const char* name,
                                  int64_t lo, int64_t hi) {
  const std::string v = ctx.req.Form(name);
  // No sign: a form's numbers here are counts and years.
  if (v.size() > 9) return std::nullopt;
  return ParseInt64(v, std::max<int64_t>(lo, 0), hi);
}

Reply Back(const Context& ctx, const std::string& path, const char* key,
           const std::string& message) {
  return Reply::Redirect(WithLang(ctx, path + (path.find('?') == std::string::npos ? "?" : "&") +
                                           key + "=" + UrlEncode(message)));
}

Reply SaveTargets(Context& ctx) {
  if (!ctx.user().scope.all) {
    const std::string message = T(ctx,
        "เป้าหมายเป็นของทั้งจังหวัด ผู้ใช้ที่ดูแลทุกอำเภอเท่านั้นที่แก้ไขได้ ยังไม่ได้แก้ไขอะไร",
        "The targets are the whole province's: only a user of every district may set "
        "them; nothing was changed");
    if (WantsJson(ctx)) {
      return Reply::Json(EncodeErrorBody("permission_denied",
                                         "the targets are the province's: only a user of "
                                         "every district may set them",
                                         403),
                         403);
    }
    return Reply::Html(
        Layout(ctx, T(ctx, "แก้ไขเป้าหมายไม่ได้", "Targets not changed"),
               "<p class=\"flash error\" role=\"alert\">" + Escape(message) +
                   "</p><p><a href=\"" + Escape(WithLang(ctx, "/reports/reach")) + "\">" +
                   T(ctx, "กลับไปที่รายงาน", "Back to the report") + "</a></p>"),
        403);
  }
  // Any number: SetTarget says what is wrong with a year (CheckFiscalYear).
  const std::optional<int64_t> fy = FormNumber(ctx, "fiscal_year", 0, 999999);
  const std::optional<int64_t> g = FormNumber(ctx, "groups", 0, 1000000);
  const std::optional<int64_t> e = FormNumber(ctx, "entrepreneurs", 0, 1000000);
  const std::optional<int64_t> p = FormNumber(ctx, "producers", 0, 1000000);
  const std::string back =
      "/reports/reach" + (fy ? "?fiscal_year=" + Num(*fy) : std::string());
  if (!fy || !g || !e || !p) {
    return Back(ctx, back, "error",
                T(ctx, "กรอกปีงบประมาณ (พ.ศ.) และจำนวนเป็นตัวเลขจำนวนเต็ม",
                  "Give the fiscal year (BE) and whole numbers"));
  }
  Transaction txn(ctx.store.db());
  if (!txn.status().ok()) return Fail(ctx, txn.status());
  if (Status s = SetTarget(ctx.store.db(), *fy, *g, *e, *p); !s.ok()) {
    if (s.code() == Code::kInvalidArgument) return Back(ctx, back, "error", ProblemWords(ctx, s));
    return Fail(ctx, s);
  }
  const std::string detail = "groups " + Num(*g) + ", entrepreneurs " + Num(*e) +
                             ", producers " + Num(*p);
  if (Status s = ctx.Audit("target_set", "fiscal_year:" + Num(*fy), detail);
      !s.ok()) {
    return Fail(ctx, s);
  }
  if (Status s = txn.Commit(); !s.ok()) return Fail(ctx, s);
  return Back(ctx, back, "done", T(ctx, "บันทึกเป้าหมายแล้ว", "Targets saved"));
}

// ---- Attendance and certificates ---------------------------------------------

std::string WorkshopList(Context& ctx, const ReportFilter& f,
                         const std::string& page) {
  Result<std::vector<WorkshopSummary>> list = ListWorkshops(ctx.store.db(), f);
  if (!list.ok()) return "";
  std::string b = FilterForm(ctx, page, f, true, false, false);
  b += "<div class=\"scroll\"><table><thead><tr>" + Th(W(ctx, "workshops")) +
       Th(W(ctx, "fiscal_year")) + Th(W(ctx, "district")) + Th(W(ctx, "start")) +
       ThNum(W(ctx, "enrolments")) + "</tr></thead><tbody>";
  for (const WorkshopSummary& w : *list) {
    b += "<tr><td><a href=\"" +
         Escape(WithLang(ctx, page + "?workshop=" + UrlEncode(w.id))) + "\">" +
         Escape(w.title.empty() ? w.id : w.title) + "</a></td>" +
         TdNum(Num(w.fiscal_year)) + Td(District(ctx, w.district_code)) +
         Td(FormatDateLabel(ctx.lang, w.start_date)) + TdNum(Num(w.enrolled)) +
         "</tr>";
  }
  if (list->empty()) {
    b += "<tr><td colspan=\"5\" class=\"muted\">" +
         T(ctx, "ยังไม่มีการอบรม", "No workshops yet") + "</td></tr>";
  }
  b += "</tbody></table></div>";
  return b;
}

Result<Scope> ScopeOf(const ReportFilter& f) { return EffectiveScope(f); }

// The note under a grid or list with disputed marks (DisputedMarksNote) or
// a ranking with disputed scores (DisputedScoresNote), its conflicts page a
// link away.
std::string DisputedNote(const Context& ctx, const std::string& note,
                         const std::string& district) {
  if (note.empty()) return "";
  std::string href = "/conflicts?status=open";
  if (!district.empty()) href += "&district=" + UrlEncode(district);
  return "<p class=\"flash error\" role=\"note\" id=\"disputed-note\">" +
         Escape(note) + " <a href=\"" +
         Escape(WithLang(ctx, href)) + "\">" +
         T(ctx, "ไปหน้าข้อขัดแย้ง", "Open the conflicts") + "</a></p>";
}

Reply AttendancePage(Context& ctx) {
  Result<ReportFilter> f = FilterOf(ctx);
  if (!f.ok()) return Fail(ctx, f.status());
  if (f->workshop_id.empty()) {
    if (WantsJson(ctx)) {
      return Fail(ctx, Status::InvalidArgument("give ?workshop=ID").WithReason("workshop_needed"));
    }
    return Page(ctx, W(ctx, "attendance"),
                "<h1>" + Escape(W(ctx, "attendance")) + "</h1>" +
                    WorkshopList(ctx, *f, "/reports/attendance"));
  }
  Result<Scope> scope = ScopeOf(*f);
  if (!scope.ok()) return Fail(ctx, scope.status());
  Result<AttendanceGrid> g = Attendance(ctx.store.db(), f->workshop_id, *scope);
  if (!g.ok()) return Fail(ctx, g.status());
  if (WantsJson(ctx)) return Reply::Json(AttendanceJson(*g));
  const std::string title = W(ctx, "attendance") + ": " + g->title;
  std::string b = "<h1>" + Escape(title) + "</h1><p class=\"report-note\">" +
                  Escape(W(ctx, "fiscal_year") + " " + Num(g->fiscal_year) + " · " +
                         District(ctx, g->district_code) +
                         (g->venue.empty() ? "" : " · " + g->venue) + " · " +
                         W(ctx, "start") + " " +
                         FormatDateLabel(ctx.lang, g->start_date) + " · " +
                         W(ctx, "enrolments") + " " + Num(g->enrolled)) +
                  "</p>";
  std::vector<ChartBar> bars;
  for (const AttendanceDay& d : g->daily) {
    bars.push_back({W(ctx, "day") + " " + Num(d.day), d.rate.value_or(0),
                    std::nullopt,
                    d.rate ? Pct(static_cast<double>(d.present + d.late),
                                 static_cast<double>(g->enrolled))
                           : "-"});
  }
  ChartOptions o;
  o.title = W(ctx, "rate");
  o.max = 1;
  b += "<div style=\"max-width:40rem\">" + ColumnChart(bars, o) + "</div>";
  b += "<div class=\"scroll\"><table class=\"grid\"><thead><tr>" +
       Th(W(ctx, "participant"));
  for (const AttendanceDay& d : g->daily) {
    b += "<th>" + Escape(W(ctx, "day") + " " + Num(d.day)) +
         (d.date.empty() ? "" : "<br><span class=\"muted\">" +
                                    Escape(FormatDateLabel(ctx.lang, d.date)) +
                                    "</span>") +
         "</th>";
  }
  b += ThNum(W(ctx, "days_attended")) + "</tr></thead><tbody>";
  for (const AttendanceRow& row : g->participants) {
    b += "<tr><td>" + Escape(row.participant_name) +
         (row.producer_name.empty() ? ""
                                    : "<br><span class=\"muted\">" +
                                          Escape(row.producer_name) + "</span>") +
         "</td>";
    for (size_t d = 0; d < row.statuses.size(); ++d) {
      const std::string& s = row.statuses[d];
      const bool disputed =
          std::find(row.disputed_days.begin(), row.disputed_days.end(),
                    static_cast<int64_t>(d + 1)) != row.disputed_days.end();
      b += "<td class=\"s-" + Escape(s.empty() ? "none" : s) +
           (disputed ? " disputed\" title=\"" +
                           T(ctx, "มีข้อขัดแย้งที่ยังไม่ตัดสิน",
                             "a conflict not decided yet")
                     : std::string()) +
           "\">" + Escape(s.empty() ? "-" : NamedLabel(Statuses(), ctx, s)) +
           (disputed ? "<b class=\"disputed-mark\">*</b>" : "") + "</td>";
    }
    b += TdNum(Num(row.days_attended) + "/" + Num(g->days)) + "</tr>";
  }
  if (g->participants.empty()) {
    b += "<tr><td colspan=\"" + Num(g->days + 2) + "\" class=\"muted\">" +
         T(ctx, "ยังไม่มีผู้เข้าอบรม", "No participants yet") + "</td></tr>";
  }
  b += "</tbody><tfoot><tr>" + Th(W(ctx, "rate"));
  for (const AttendanceDay& d : g->daily) {
    b += ThNum(d.rate ? Pct(static_cast<double>(d.present + d.late),
                            static_cast<double>(g->enrolled))
                      : "-");
  }
  b += "<th></th></tr></tfoot></table></div>";
  b += DisputedNote(ctx, DisputedMarksNote(ctx.lang, g->disputed_marks), g->district_code);
  // Marks after the workshop's last day (it was shortened): not in the
  // grid, said here.
  if (g->marks_beyond_days > 0) {
    b += "<p class=\"flash\" role=\"note\">" +
         Escape(MarksBeyondDaysNote(ctx.lang, g->marks_beyond_days, g->days,
                                    g->last_marked_day)) +
         "</p>";
  }
  b += "<p class=\"noprint\"><a href=\"" +
       Escape(WithLang(ctx, "/reports/certificates?workshop=" +
                                UrlEncode(g->workshop_id))) +
       "\">" + Escape(W(ctx, "certificates")) + "</a></p>";
  b += JsonLink(ctx, "/api/reports/attendance");
  return Page(ctx, title, b);
}

Reply CertificatesPage(Context& ctx) {
  Result<ReportFilter> f = FilterOf(ctx);
  if (!f.ok()) return Fail(ctx, f.status());
  if (f->workshop_id.empty()) {
    if (WantsJson(ctx)) {
      return Fail(ctx, Status::InvalidArgument("give ?workshop=ID").WithReason("workshop_needed"));
    }
    return Page(ctx, W(ctx, "certificates"),
                "<h1>" + Escape(W(ctx, "certificates")) + "</h1>" +
                    WorkshopList(ctx, *f, "/reports/certificates"));
  }
  Result<Scope> scope = ScopeOf(*f);
  if (!scope.ok()) return Fail(ctx, scope.status());
  Result<CertificateReport> r =
      Certificates(ctx.store.db(), f->workshop_id, *scope);
  if (!r.ok()) return Fail(ctx, r.status());
  if (WantsJson(ctx)) return Reply::Json(CertificatesJson(*r));
  const std::string title = W(ctx, "certificates") + ": " + r->title;
  std::string b = "<h1>" + Escape(title) + "</h1><div class=\"cards\">";
  b += "<div class=\"card\">" + Escape(W(ctx, "min_days")) + "<b>" +
       Num(r->min_days) + "/" + Num(r->days) + "</b></div>";
  b += "<div class=\"card\">" + Escape(W(ctx, "eligible")) + "<b>" +
       Num(r->eligible) + "/" + Num(static_cast<int64_t>(r->participants.size())) +
       "</b></div></div>";
  b += "<div class=\"scroll\"><table><thead><tr>" + Th(W(ctx, "participant")) +
       Th(W(ctx, "producer")) + ThNum(W(ctx, "days_attended")) +
       Th(W(ctx, "eligible")) + "</tr></thead><tbody>";
  for (const CertificateRow& c : r->participants) {
    b += "<tr>" +
         (c.enrolled_again.empty()
              ? Td(c.participant_name)
              : "<td class=\"enrolled-again\">" + Escape(c.participant_name) +
                    "<b class=\"disputed-mark\">†</b></td>") +
         Td(c.producer_name) +
         (c.enrolled_again.empty()
              ? TdNum(Num(c.days_attended))
              : "<td class=\"num\">" + Escape(Num(c.days_attended)) +
                    " <span class=\"muted\">" +
                    Escape(DaysTogether(ctx.lang, c.days_together)) + "</span></td>") +
         "<td>" +
         (c.eligible ? "<span class=\"badge done\">" + Escape(W(ctx, "eligible"))
                     : "<span class=\"badge\">" + Escape(W(ctx, "not_eligible"))) +
         "</span>" +
         (c.disputed_days.empty() ? "" : "<b class=\"disputed-mark\">*</b>") +
         "</td></tr>";
  }
  if (r->participants.empty()) {
    b += "<tr><td colspan=\"4\" class=\"muted\">" +
         T(ctx, "ยังไม่มีผู้เข้าอบรม", "No participants yet") + "</td></tr>";
  }
  b += "</tbody></table></div>";
  b += DisputedNote(ctx, DisputedMarksNote(ctx.lang, r->disputed_marks), "");
  if (r->enrolled_twice > 0) {
    b += "<p class=\"flash\" role=\"note\" id=\"enrolled-twice\">" +
         Escape(EnrolledTwiceNote(ctx.lang, r->enrolled_twice)) + " <a href=\"" +
         Escape(WithLang(ctx, "/quality")) + "\">" +
         T(ctx, "ดูรายการที่ต้องตรวจ", "See what needs attention") + "</a></p>";
  }
  if (r->marks_beyond_days > 0) {
    b += "<p class=\"flash\" role=\"note\">" +
         Escape(MarksBeyondDaysNote(ctx.lang, r->marks_beyond_days, r->days,
                                    r->last_marked_day)) +
         "</p>";
  }
  if (ctx.user().role >= WebRole::kOffice) {
    b += "<form class=\"filters noprint\" method=\"post\" action=\"/reports/min-days\">" +
         CsrfField(ctx) + "<input type=\"hidden\" name=\"workshop\" value=\"" +
         Escape(r->workshop_id) + "\"><label>" + Escape(W(ctx, "min_days")) +
         "<input name=\"min_days\" inputmode=\"numeric\" size=\"4\" required value=\"" +
         Num(r->min_days) + "\"></label><button class=\"primary\" type=\"submit\">" +
         T(ctx, "บันทึก", "Save") + "</button></form>";
  }
  b += JsonLink(ctx, "/api/reports/certificates");
  return Page(ctx, title, b);
}

Reply SaveMinDays(Context& ctx) {
  const std::string workshop = ctx.req.Form("workshop");
  const std::string back =
      "/reports/certificates?workshop=" + UrlEncode(workshop);
  const std::optional<int64_t> n = FormNumber(ctx, "min_days", 1, 366);
  if (workshop.empty()) return Fail(ctx, Status::InvalidArgument("no workshop").WithReason("workshop_needed"));
  // Only a workshop the user can see.
  Scope scope = ctx.user().scope;
  Result<AttendanceGrid> seen = Attendance(ctx.store.db(), workshop, scope);
  if (!seen.ok()) return Fail(ctx, seen.status());
  if (!n) {
    return Back(ctx, back, "error",
                T(ctx, "จำนวนวันต้องเป็นตัวเลข 1 ถึง 366",
                  "Days must be a whole number from 1 to 366"));
  }
  Transaction txn(ctx.store.db());
  if (!txn.status().ok()) return Fail(ctx, txn.status());
  if (Status s = SetMinDays(ctx.store.db(), workshop, *n); !s.ok()) {
    if (s.code() == Code::kInvalidArgument && seen->days < *n) {
      return Back(ctx, back, "error",
                  T(ctx, "การอบรมนี้มี ", "This workshop has ") +
                      Num(seen->days) +
                      T(ctx, " วัน เกณฑ์วันเข้าอบรมของวุฒิบัตรจะมากกว่านั้นไม่ได้",
                        " days: a certificate cannot ask for more"));
    }
    return Fail(ctx, s);
  }
  if (Status s = ctx.Audit("min_days_set", "workshop:" + workshop,
                           "min days " + Num(*n));
      !s.ok()) {
    return Fail(ctx, s);
  }
  if (Status s = txn.Commit(); !s.ok()) return Fail(ctx, s);
  return Back(ctx, back, "done", T(ctx, "บันทึกแล้ว", "Saved"));
}

// ---- Contest ----------------------------------------------------------------------

Reply ContestPage(Context& ctx) {
  Result<ReportFilter> f = FilterOf(ctx);
  if (!f.ok()) return Fail(ctx, f.status());
  Result<ContestReport> r = Contest(ctx.store.db(), *f);
  if (!r.ok()) return Fail(ctx, r.status());
  if (WantsJson(ctx)) return Reply::Json(ContestJson(*r));
  // Ranks within one district (the filter's, or a user's only one) or a
  // user's few: said in the heading and a note, not read as the province's.
  const std::string within = DistrictLabels(ctx.lang, r->within);
  const std::string title =
      W(ctx, "contest") + (r->contest.empty() ? "" : ": " + r->contest) +
      (within.empty() ? "" : " — " + within);
  std::string b = "<h1>" + Escape(title) + "</h1>";
  if (!r->within.empty()) {
    b += "<p class=\"report-note\" id=\"ranks-within\">" + Escape(W(ctx, "ranks_within")) + "</p>";
  }
  ReportFilter shown = *f;
  shown.contest = r->contest;
  b += FilterForm(ctx, "/reports/contest", shown, false, false, true);
  if (r->contests.size() > 1) {
    b += "<p class=\"noprint\">" + Escape(W(ctx, "contests")) + ": ";
    for (size_t i = 0; i < r->contests.size(); ++i) {
      if (i) b += " · ";
      const std::string& c = r->contests[i];
      b += c == r->contest
               ? "<b>" + Escape(c) + "</b>"
               : "<a href=\"" +
                     Escape(WithLang(ctx, "/reports/contest?contest=" + UrlEncode(c) +
                                              (f->district.empty()
                                                   ? ""
                                                   : "&district=" + UrlEncode(f->district)))) +
                     "\">" + Escape(c) + "</a>";
    }
    b += "</p>";
  }
  if (r->ranking.empty()) {
    b += "<p class=\"muted\">" + Escape(W(ctx, "no_scores")) + "</p>";
  } else {
    b += "<div class=\"scroll\"><table><thead><tr>" + ThNum(W(ctx, "rank")) +
         Th(W(ctx, "product")) + Th(W(ctx, "district"));
    for (const Named& c : Criteria()) b += ThNum(std::string(c.name(ctx.lang)));
    b += ThNum(W(ctx, "mean_total")) + Th(W(ctx, "judges")) +
         "</tr></thead><tbody>";
    for (const ContestEntry& e : r->ranking) {
      b += "<tr>" +
           (e.disputed_scores > 0
                ? "<td class=\"num disputed\" title=\"" +
                      Escape(T(ctx, "มีคะแนนที่ยังมีข้อขัดแย้ง",
                               "a score here has an open conflict")) +
                      "\">" + Escape(Num(e.rank)) + "<b class=\"disputed-mark\">*</b></td>"
                : TdNum(Num(e.rank))) +
           "<td>" + Escape(e.product_name) +
           (e.producer_name.empty() ? ""
                                    : "<br><span class=\"muted\">" +
                                          Escape(e.producer_name) + "</span>") +
           "</td>" + Td(District(ctx, e.district_code));
      for (double c : e.criteria) b += TdNum(Fixed(c));
      std::string judges;
      for (size_t i = 0; i < e.judges.size(); ++i) {
        judges += (i ? ", " : "") + e.judges[i];
      }
      b += "<td class=\"num\"><b>" + Escape(Fixed(e.mean_total)) + "</b></td>" +
           Td(Num(static_cast<int64_t>(e.judges.size())) + ": " + judges) + "</tr>";
    }
    b += "</tbody></table></div>";
    b += DisputedNote(ctx, DisputedScoresNote(ctx.lang, r->disputed_scores), f->district);
  }
  if (!r->left_out.empty()) {
    b += "<div class=\"report-note\" id=\"left-out\"><p>" +
         Escape(W(ctx, "left_out")) + ":</p><ul>";
    for (const LeftOutScore& l : r->left_out) {
      b += "<li>" + Escape(l.product_name) + ": " + Escape(W(ctx, "judge")) + " “" +
           Escape(l.judge) + "” " + Escape(W(ctx, "in_contest")) + " “" +
           Escape(l.contest) + "” = " + Num(l.total) + " <span class=\"muted\">(" +
           Escape(W(ctx, "score_id")) + " <code>" + Escape(l.score_id) +
           "</code>)</span>; " + Escape(W(ctx, "counted")) + ": “" +
           Escape(l.counted_judge) + "” " + Escape(W(ctx, "in_contest")) + " “" +
           Escape(l.counted_contest) + "” = " + Num(l.counted_total) +
           " <span class=\"muted\">(" + Escape(W(ctx, "score_id")) + " <code>" +
           Escape(l.counted_id) + "</code>)</span></li>";
    }
    b += "</ul></div>";
  }
  b += JsonLink(ctx, "/api/reports/contest");
  return Page(ctx, title, b);
}

// ---- Stages ----------------------------------------------------------------------

Reply StagesPage(Context& ctx) {
  Result<ReportFilter> f = FilterOf(ctx);
  if (!f.ok()) return Fail(ctx, f.status());
  Result<StageReport> r = Stages(ctx.store.db(), *f);
  if (!r.ok()) return Fail(ctx, r.status());
  if (WantsJson(ctx)) return Reply::Json(StagesJson(*r));
  const std::string title =
      W(ctx, "stages") +
      (r->fiscal_year ? " " + W(ctx, "fiscal_year") + " " + Num(*r->fiscal_year)
                      : std::string()) +
      InDistrict(ctx, r->district);
  std::string b = "<h1>" + Escape(title) + "</h1>";
  b += FilterForm(ctx, "/reports/stages", *f, true, false, false);
  std::vector<ChartBar> bars;
  for (size_t i = 0; i < r->stages.size(); ++i) {
    bars.push_back({NamedLabel(kbo::Stages(), ctx, r->stages[i]),
                    static_cast<double>(r->counts[i]), std::nullopt, ""});
  }
  ChartOptions o;
  o.title = W(ctx, "stages") + " (" + W(ctx, "total") + " " + Num(r->total) + ")";
  b += "<div style=\"max-width:40rem\">" + HorizontalBarChart(bars, o) + "</div>";
  b += "<h2>" + Escape(W(ctx, "by_district")) +
       "</h2><div class=\"scroll\"><table><thead><tr>" + Th(W(ctx, "district"));
  for (const std::string& s : r->stages) {
    b += ThNum(NamedLabel(kbo::Stages(), ctx, s));
  }
  b += ThNum(W(ctx, "total")) + "</tr></thead><tbody>";
  for (const StageRow& row : r->by_district) {
    b += "<tr>" + Td(District(ctx, row.key));
    for (int64_t n : row.counts) b += TdNum(Num(n));
    b += TdNum(Num(row.total)) + "</tr>";
  }
  b += "</tbody></table></div>";
  b += JsonLink(ctx, "/api/reports/stages");
  return Page(ctx, title, b);
}

// ---- Follow-ups -----------------------------------------------------------------

Reply FollowupsPage(Context& ctx) {
  Result<ReportFilter> f = FilterOf(ctx);
  if (!f.ok()) return Fail(ctx, f.status());
  Result<FollowupReport> r = Followups(ctx.store.db(), *f, Today(ctx));
  if (!r.ok()) return Fail(ctx, r.status());
  if (WantsJson(ctx)) return Reply::Json(FollowupsJson(*r));
  const std::string title = W(ctx, "followups") + InDistrict(ctx, r->district);
  std::string b = "<h1>" + Escape(title) + "</h1>";
  b += FilterForm(ctx, "/reports/followups", *f, true, false, false);
  b += "<p class=\"report-note\">" +
       Escape(W(ctx, "as_of") + " " + FormatDateLabel(ctx.lang, r->today)) +
       "</p><div class=\"cards\">";
  b += "<div class=\"card\">" + Escape(W(ctx, "visits")) + "<b>" +
       Num(r->visits) + "</b></div>";
  b += "<div class=\"card\">" + Escape(W(ctx, "producers_visited")) + "<b>" +
       Num(r->producers_visited) + "</b></div>";
  b += "<div class=\"card\">" + Escape(W(ctx, "overdue")) + "<b>" +
       Num(static_cast<int64_t>(r->overdue.size())) + "</b></div></div>";
  b += "<h2>" + Escape(W(ctx, "by_district")) +
       "</h2><div class=\"scroll\"><table><thead><tr>" + Th(W(ctx, "district")) +
       ThNum(W(ctx, "visits")) + ThNum(W(ctx, "producers_visited")) +
       ThNum(W(ctx, "overdue")) + "</tr></thead><tbody>";
  for (const VisitDistrictRow& row : r->by_district) {
    b += "<tr>" + Td(District(ctx, row.district_code)) + TdNum(Num(row.visits)) +
         TdNum(Num(row.producers_visited)) + TdNum(Num(row.overdue)) + "</tr>";
  }
  b += "</tbody></table></div><h2>" + Escape(W(ctx, "overdue")) +
       "</h2><div class=\"scroll\"><table><thead><tr>" + Th(W(ctx, "producer")) +
       Th(W(ctx, "district")) + Th(W(ctx, "last_visit")) +
       Th(W(ctx, "next_visit")) + ThNum(W(ctx, "days_overdue")) +
       Th(W(ctx, "follow_up")) + "</tr></thead><tbody>";
  for (const OverdueFollowup& o : r->overdue) {
    b += "<tr>" + Td(o.producer_name) + Td(District(ctx, o.district_code)) +
         Td(FormatIsoBangkok(ctx.lang, o.visited_at)) +
         Td(FormatDateLabel(ctx.lang, o.next_visit.substr(0, 10))) +
         TdNum(Num(o.days_overdue)) + Td(o.follow_up) + "</tr>";
  }
  if (r->overdue.empty()) {
    b += "<tr><td colspan=\"6\" class=\"muted\">" +
         T(ctx, "ไม่มีนัดที่เลยกำหนด", "Nothing overdue") + "</td></tr>";
  }
  b += "</tbody></table></div>";
  b += JsonLink(ctx, "/api/reports/followups");
  return Page(ctx, title, b);
}

}  // namespace

void RegisterReports(Router& router) {
  struct R {
    const char* name;
    Reply (*handler)(Context&);
  };
  const R pages[] = {{"reach", ReachPage},       {"attendance", AttendancePage},
                     {"certificates", CertificatesPage},
                     {"contest", ContestPage},   {"stages", StagesPage},
                     {"followups", FollowupsPage}};
  router.Page("GET", "/reports", WebRole::kViewer, Index);
  router.Api("GET", "/api/reports", WebRole::kViewer, Index);
  for (const R& r : pages) {
    router.Page("GET", std::string("/reports/") + r.name, WebRole::kViewer,
                r.handler);
    router.Api("GET", std::string("/api/reports/") + r.name, WebRole::kViewer,
               r.handler);
  }
  router.Page("POST", "/reports/targets", WebRole::kOffice, SaveTargets);
  router.Page("POST", "/reports/min-days", WebRole::kOffice, SaveMinDays);
}

}  // namespace kbo::server::console
