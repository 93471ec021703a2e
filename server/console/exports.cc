// The console's exports (issue 10, deliverable 7): the same files as
// `kbo-server export xlsx|csv`, for an office user's districts only.
//
//   GET /exports                 the filter form (fiscal year, district,
//                                language) with the two downloads
//   GET /exports/xlsx?fiscal_year=&district=&lang=
//                                the workbook (export_tables.h, xlsx_export.h)
//   GET /exports/csv?sheet=&fiscal_year=&district=&lang=[&raw=1]
//                                one sheet as a CSV file (one file per sheet,
//                                not a zip: a browser opens a CSV directly)
//
// Office and admin only (DESIGN §9: viewers read, the office exports); the
// user's Scope narrows every export, and a district outside it is refused.
// Every download is written to the audit log with its filters.

#include <string>
#include <vector>

#include "server/console/console.h"
#include "server/csv_export.h"
#include "server/export_tables.h"
#include "server/storage/report_store.h"
#include "server/xlsx_export.h"
#include "shared/entities.h"
#include "shared/sqlite/db.h"

namespace kbo::server::console {
namespace {

constexpr char kXlsxType[] =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

std::string T(Lang lang, const char* th, const char* en) {
  return lang == Lang::kTh ? th : en;
}

// The sheets a person may pick for CSV, in export order.
std::vector<std::pair<std::string, std::string>> SheetChoices(Lang lang) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Entity& e : Catalogue()) {
    out.emplace_back(std::string(e.name), EntityLabel(lang, e.name));
  }
  out.emplace_back("attendance_grid",
                   T(lang, "ตารางการเข้าอบรม", "Attendance grid"));
  out.emplace_back("contest_ranking",
                   T(lang, "อันดับการประกวด", "Contest ranking"));
  return out;
}

// The filter of the request, within the user's districts. kInvalidArgument
// for a bad year, district or language; kPermissionDenied for a district
// outside the user's scope.
Result<ExportFilter> FilterOf(const Context& ctx) {
  const std::string lang = ctx.req.Query("lang");
  Result<ExportFilter> f =
      ParseExportFilter(ctx.req.Query("fiscal_year"), ctx.req.Query("district"),
                        lang.empty() ? LangCode(ctx.lang) : lang);
  if (!f.ok()) return f.status();
  f->scope = ctx.user().scope;
  if (Status s = f->scope.CheckFilter(f->district); !s.ok()) return s;
  return f;
}

// "kbo-2567-5011-th": what the download is called.
std::string FileStem(const ExportFilter& f) {
  std::string stem = "kbo";
  if (f.fiscal_year) stem += "-" + std::to_string(*f.fiscal_year);
  if (!f.district.empty()) stem += "-" + f.district;
  stem += "-" + std::string(LangCode(f.lang));
  return stem;
}

std::string AuditDetail(const ExportFilter& f, const std::string& extra) {
  std::string d = "fiscal_year=" +
                  (f.fiscal_year ? std::to_string(*f.fiscal_year) : "all") +
                  " district=" + (f.district.empty() ? "all" : f.district) +
                  " lang=" + std::string(LangCode(f.lang)) +
                  " scope=" + f.scope.ToString();
  if (!extra.empty()) d += " " + extra;
  return d;
}

// A refused export in Thai, from the reasons ParseExportFilter and
// FilterOf give; the English message for any other.
std::string ProblemTh(const Status& s) {
  const std::string& r = s.reason();
  const std::string* code = s.TextField("code");
  const std::string named = code != nullptr ? "'" + *code + "'" : std::string();
  if (r == "bad_fiscal_year") {
    const int64_t* be = s.IntegerField("buddhist_era");
    return "ปีงบประมาณต้องเป็นปี พ.ศ. ระหว่าง 2500 ถึง 2700 เช่น 2567" +
           (be != nullptr ? " (หมายถึงปีงบประมาณ " + std::to_string(*be) + " หรือไม่)"
                          : std::string());
  }
  if (r == "bad_district") return named + " ไม่ใช่รหัสอำเภอของจังหวัดเชียงใหม่ (เช่น 5011 คืออำเภอพร้าว)";
  if (r == "district_not_yours") return "อำเภอ " + named + " ไม่ได้อยู่ในอำเภอที่คุณดูแล";
  return s.message();
}

Reply Problem(const Context& ctx, const Status& s) {
  const int status = s.code() == Code::kPermissionDenied  ? 403
                     : s.code() == Code::kInvalidArgument ? 400
                                                          : 500;
  const std::string message =
      status == 500 ? T(ctx.lang, "ส่งออกไม่สำเร็จ ระบบบันทึกสาเหตุไว้แล้ว",
                        "The export failed; the reason has been logged")
                    : ctx.lang == Lang::kTh ? ProblemTh(s)
                                            : s.message();
  return Reply::Html(
      Layout(ctx, T(ctx.lang, "ส่งออกข้อมูล", "Exports"),
             "<p class=\"flash error\" role=\"alert\">" + Escape(message) +
                 "</p><p><a href=\"" + Escape(WithLang(ctx, "/exports")) +
                 "\">" + T(ctx.lang, "กลับไปเลือกใหม่", "Back to the form") +
                 "</a></p>"),
      status);
}

Reply Download(std::string body, const char* type, const std::string& name) {
  Reply r;
  r.content_type = type;
  r.body = std::move(body);
  // The names are ASCII (codes and digits), so no RFC 5987 form is needed.
  r.headers.emplace("Content-Disposition",
                    "attachment; filename=\"" + name + "\"");
  r.headers.emplace("Cache-Control", "no-store");  // names, phone numbers
  r.headers.emplace("X-Content-Type-Options", "nosniff");
  return r;
}

Reply ExportsPage(Context& ctx) {
  const Lang lang = ctx.lang;
  const Scope& scope = ctx.user().scope;
  Result<std::vector<int64_t>> read_years =
      storage::ReportStore(ctx.store.db()).WorkshopFiscalYears();
  if (!read_years.ok()) {
    return Reply::Html("could not read the fiscal years", 500);
  }
  const std::vector<int64_t>& years = *read_years;
  const std::string chosen_year = ctx.req.Query("fiscal_year");
  const std::string chosen_district = ctx.req.Query("district");

  std::string b;
  b += "<p>" +
       T(lang,
         "ไฟล์ Excel มีหนึ่งแผ่นงานต่อข้อมูลแต่ละประเภท พร้อมตารางการเข้าอบรม"
         "และอันดับการประกวด หัวตารางและค่าเป็นภาษาที่เลือก วันที่เป็นพุทธศักราช"
         " เวลากรุงเทพฯ ไม่รวมรายการที่ลบแล้ว",
         "The Excel file has one sheet per kind of record, plus the attendance "
         "grid and the contest ranking; headers and values in the chosen "
         "language, dates in Bangkok time, deleted rows left out.") +
       "</p>";
  b += "<p class=\"muted\">" +
       T(lang, "เฉพาะข้อมูลในอำเภอของท่าน: ", "Only your districts: ") +
       Escape(scope.all ? T(lang, "ทุกอำเภอ", "all districts")
                        : [&] {
                            std::string names;
                            for (const std::string& d : scope.districts) {
                              names += (names.empty() ? "" : ", ") +
                                       DistrictLabel(lang, d);
                            }
                            return names;
                          }()) +
       "</p>";
  b += "<form class=\"stack\" method=\"get\" action=\"/exports/xlsx\">";
  b += "<label>" + T(lang, "ปีงบประมาณ (พ.ศ.)", "Fiscal year (Buddhist Era)") +
       "<select name=\"fiscal_year\"><option value=\"\">" +
       T(lang, "ทุกปี", "Every year") + "</option>";
  for (int64_t y : years) {
    const std::string v = std::to_string(y);
    b += "<option value=\"" + v + "\"" + (v == chosen_year ? " selected" : "") +
         ">" + v + "</option>";
  }
  b += "</select></label>";
  b += "<label>" + T(lang, "อำเภอ", "District") +
       "<select name=\"district\"><option value=\"\">" +
       T(lang, "ทุกอำเภอของท่าน", "All your districts") + "</option>";
  for (const District& d : Districts()) {
    if (!scope.Contains(d.code)) continue;
    const std::string code(d.code);
    b += "<option value=\"" + Escape(code) + "\"" +
         (code == chosen_district ? " selected" : "") + ">" +
         Escape(DistrictLabel(lang, code)) + " (" + Escape(code) + ")</option>";
  }
  b += "</select></label>";
  b += "<label>" + T(lang, "ภาษาในไฟล์", "Language of the file") +
       "<select name=\"lang\"><option value=\"th\"" +
       (lang == Lang::kTh ? " selected" : "") +
       ">ไทย</option><option value=\"en\"" +
       (lang == Lang::kEn ? " selected" : "") +
       ">English</option></select></label>";
  b += "<p><button class=\"primary\" type=\"submit\">" +
       T(lang, "ดาวน์โหลด Excel (.xlsx)", "Download Excel (.xlsx)") +
       "</button></p>";
  b += "<h2>CSV</h2><p class=\"muted\">" +
       T(lang,
         "หนึ่งไฟล์ต่อหนึ่งแผ่นงาน (UTF-8) สำหรับโปรแกรมอื่น "
         "\"รหัสสำหรับโปรแกรม\" ให้รหัสและเวลา UTC แทนชื่อ",
         "One file per sheet (UTF-8) for other programs; \"codes for "
         "scripts\" gives codes, ids and UTC times instead of names.") +
       "</p>";
  b += "<label>" + T(lang, "แผ่นงาน", "Sheet") + "<select name=\"sheet\">";
  for (const auto& [key, label] : SheetChoices(lang)) {
    b += "<option value=\"" + Escape(key) + "\">" + Escape(label) + "</option>";
  }
  b += "</select></label>";
  b += "<label><span><input type=\"checkbox\" name=\"raw\" value=\"1\"> " +
       T(lang, "รหัสสำหรับโปรแกรม", "Codes for scripts") + "</span></label>";
  b += "<p><button type=\"submit\" formaction=\"/exports/csv\">" +
       T(lang, "ดาวน์โหลด CSV", "Download CSV") + "</button></p>";
  b += "</form>";
  return Reply::Html(Layout(ctx, T(lang, "ส่งออกข้อมูล", "Exports"), b));
}

Reply ExportXlsxRoute(Context& ctx) {
  Result<ExportFilter> f = FilterOf(ctx);
  if (!f.ok()) return Problem(ctx, f.status());
  Result<std::string> bytes = XlsxBytes(ctx.store.db(), *f);
  if (!bytes.ok()) return Problem(ctx, bytes.status());
  const std::string name = FileStem(*f) + ".xlsx";
  if (Status s = ctx.Audit("export", "xlsx", AuditDetail(*f, name)); !s.ok()) {
    return Problem(ctx, s);  // no unrecorded export
  }
  return Download(std::move(bytes).value(), kXlsxType, name);
}

Reply ExportCsvRoute(Context& ctx) {
  Result<ExportFilter> f = FilterOf(ctx);
  if (!f.ok()) return Problem(ctx, f.status());
  CsvExportOptions options;
  options.filter = *f;
  options.raw = ctx.req.Query("raw") == "1";
  std::string key = ctx.req.Query("sheet");
  if (key.empty()) key = "producer";
  Result<std::vector<ExportSheet>> sheets =
      BuildCsvSheets(ctx.store.db(), options);
  if (!sheets.ok()) return Problem(ctx, sheets.status());
  for (const ExportSheet& sheet : *sheets) {
    if (sheet.key != key) continue;
    const std::string name =
        FileStem(*f) + "-" + key + (options.raw ? "-raw" : "") + ".csv";
    if (Status s = ctx.Audit(
            "export", "csv",
            AuditDetail(*f,
                        name + " rows=" + std::to_string(sheet.rows.size())));
        !s.ok()) {
      return Problem(ctx, s);
    }
    return Download(SheetCsv(sheet, options.raw), "text/csv; charset=utf-8",
                    name);
  }
  return Problem(ctx, Status::InvalidArgument(
                          "no sheet '" + key.substr(0, 40) +
                          "' in this export (codes for scripts have no "
                          "attendance grid or contest ranking)"));
}

}  // namespace

void RegisterExports(Router& router) {
  router.Page("GET", "/exports", WebRole::kOffice, ExportsPage);
  router.Page("GET", "/exports/xlsx", WebRole::kOffice, ExportXlsxRoute);
  router.Page("GET", "/exports/csv", WebRole::kOffice, ExportCsvRoute);
}

}  // namespace kbo::server::console
