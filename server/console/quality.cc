// The console's "needs attention" page (issue 10, deliverable 9): likely
// duplicate producers with a merge, duplicate enrolments, workshops whose
// fiscal year does not match their start date, attendance not marked for
// days already past, and rows recorded under a deleted row with a restore
// of that row. The findings, the merge and the restore are server/
// data_quality.h; this file only shows them and takes the forms.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/console/console.h"
#include "server/data_quality.h"
#include "server/report_queries.h"
#include "shared/error_body.h"
#include "shared/labels.h"
#include "shared/value.h"

namespace kbo::server::console {
namespace {

std::string T(Lang lang, const char* th, const char* en) {
  return lang == Lang::kTh ? th : en;
}


std::string Flash(const Context& ctx) {
  const std::string ok = ctx.req.Query("done");
  const std::string err = ctx.req.Query("error");
  std::string out;
  if (!ok.empty()) {
    out += "<p class=\"flash\" role=\"status\">" + Escape(ok) + "</p>";
  }
  if (!err.empty()) {
    out += "<p class=\"flash error\" role=\"alert\">" + Escape(err) + "</p>";
  }
  return out;
}

std::string Link(const std::string& href, const std::string& text) {
  return "<a href=\"" + Escape(href) + "\">" + Escape(text) + "</a>";
}

std::string Num(int64_t n) { return "<td class=\"num\">" + std::to_string(n) + "</td>"; }

std::string ProducerGroups(const Context& ctx, const QualityReport& r) {
  const Lang lang = ctx.lang;
  std::string b = "<h2 id=\"producers\">" +
                  T(lang, "ผู้ผลิตที่อาจซ้ำกัน", "Likely duplicate producers") +
                  " (" + std::to_string(r.duplicate_producers.size()) + ")</h2>";
  if (r.duplicate_producers.empty()) {
    return b + "<p class=\"muted\">" + T(lang, "ไม่พบ", "None found.") + "</p>";
  }
  b += "<p class=\"muted\">" +
       T(lang,
         "ชื่อเดียวกัน (ไม่นับช่องว่าง ตัวพิมพ์ คำนำหน้าชื่อ และคำว่า "
         "กลุ่ม/วิสาหกิจชุมชน) ในตำบลเดียวกัน หรือเบอร์โทรเดียวกัน",
         "The same name (ignoring spacing, case, titles and words such as "
         "กลุ่ม / วิสาหกิจชุมชน) in the same tambon, or the same phone "
         "number.") +
       "</p>";
  const bool office = ctx.user().role >= WebRole::kOffice;
  for (const DuplicateProducers& d : r.duplicate_producers) {
    std::string why;
    for (const std::string& reason : d.reasons) {
      why += "<span class=\"badge open\">" +
             (reason == "name" ? T(lang, "ชื่อและตำบลเดียวกัน", "same name and tambon")
                               : T(lang, "เบอร์โทรเดียวกัน", "same phone")) +
             "</span> ";
    }
    b += "<section class=\"dup\"><p>" + why + "</p><div class=\"scroll\"><table><thead><tr><th>" +
         T(lang, "ชื่อ", "Name") + "</th><th>" + T(lang, "อำเภอ", "District") +
         "</th><th>" + T(lang, "ตำบล", "Tambon") + "</th><th>" +
         T(lang, "โทรศัพท์", "Phone") + "</th><th class=\"num\">" +
         T(lang, "ลงทะเบียนอบรม", "Enrolments") + "</th><th class=\"num\">" +
         T(lang, "ผลิตภัณฑ์", "Products") + "</th><th class=\"num\">" +
         T(lang, "การเยี่ยม", "Visits") + "</th></tr></thead><tbody>";
    for (const QualityProducer& p : d.members) {
      b += "<tr><td>" + Link("/data/producer/" + p.id, p.name) +
           " <span class=\"muted\">" + Escape(p.id.substr(0, 8)) +
           "</span></td><td>" + Escape(DistrictLabel(lang, p.district_code)) +
           "</td><td>" + Escape(p.tambon) + "</td><td>" + Escape(p.phone) +
           "</td>" + Num(p.enrolments) + Num(p.products) + Num(p.visits) +
           "</tr>";
    }
    b += "</tbody></table></div>";
    if (!office) {
      b += "</section>";
      continue;
    }
    if (!d.same_district) {
      b += "<p class=\"muted\">" +
           T(lang, "อยู่ต่างอำเภอ รวมกันไม่ได้", "In different districts: cannot be merged.") +
           "</p></section>";
      continue;
    }
    // Keep the one with the most references by default.
    size_t keep = 0;
    for (size_t i = 1; i < d.members.size(); ++i) {
      const QualityProducer& a = d.members[i];
      const QualityProducer& k = d.members[keep];
      if (a.enrolments + a.products + a.visits >
          k.enrolments + k.products + k.visits) {
        keep = i;
      }
    }
    const size_t drop = keep == 0 ? 1 : 0;
    auto options = [&](size_t selected) {
      std::string o;
      for (size_t i = 0; i < d.members.size(); ++i) {
        const QualityProducer& p = d.members[i];
        o += "<option value=\"" + Escape(p.id) + "\"" +
             (i == selected ? " selected" : "") + ">" + Escape(p.name) + " (" +
             Escape(p.id.substr(0, 8)) + ")</option>";
      }
      return o;
    };
    // `group` names which group's form it is (ignored by the merge): a
    // reason kept after a refusal goes back into this group's form only.
    b += "<form class=\"filters\" method=\"post\" action=\"/quality/merge\">" +
         CsrfField(ctx) + "<input type=\"hidden\" name=\"group\" value=\"" +
         Escape(d.members.front().id) + "\"><label>" + T(lang, "เก็บไว้", "Keep") +
         "<select name=\"keep\">" + options(keep) + "</select></label><label>" +
         T(lang, "รวมเข้าแล้วลบ", "Merge in and delete") +
         "<select name=\"drop\">" + options(drop) + "</select></label><label>" +
         T(lang, "เหตุผล", "Reason") +
         "<input name=\"reason\" required maxlength=\"500\"></label>"
         "<button class=\"primary\" type=\"submit\">" +
         T(lang, "รวมผู้ผลิต", "Merge producers") + "</button></form></section>";
  }
  return b;
}

std::string EnrolmentTable(const Context& ctx, const QualityReport& r) {
  const Lang lang = ctx.lang;
  std::string b = "<h2 id=\"enrolments\">" +
                  T(lang, "ลงทะเบียนซ้ำ", "Duplicate enrolments") + " (" +
                  std::to_string(r.duplicate_enrolments.size()) + ")</h2>";
  if (r.duplicate_enrolments.empty()) {
    return b + "<p class=\"muted\">" + T(lang, "ไม่พบ", "None found.") + "</p>";
  }
  b += "<p class=\"muted\">" +
       T(lang,
         "ผู้เข้าอบรมคนเดียวกันของผู้ผลิตเดียวกันถูกลงทะเบียนในการอบรมเดียวกันมากกว่าหนึ่งครั้ง "
         "เก็บรายการที่มีการเช็กชื่อไว้ แล้วเปิดรายการอื่นและลบที่หน้ารายการนั้น",
         "One participant of one producer enrolled more than once in one "
         "workshop: keep the one with attendance marks, open the others and "
         "delete them on their pages.") +
       "</p><div class=\"scroll\"><table><thead><tr><th>" +
       T(lang, "การอบรม", "Workshop") + "</th><th>" +
       T(lang, "ผู้ผลิต", "Producer") + "</th><th>" +
       T(lang, "ผู้เข้าอบรม", "Participant") + "</th><th class=\"num\">" +
       T(lang, "เช็กชื่อ (วัน)", "Marks (days)") + "</th></tr></thead><tbody>";
  for (const DuplicateEnrolments& d : r.duplicate_enrolments) {
    for (size_t i = 0; i < d.enrolments.size(); ++i) {
      const auto& e = d.enrolments[i];
      b += "<tr>";
      if (i == 0) {
        const std::string span =
            " rowspan=\"" + std::to_string(d.enrolments.size()) + "\"";
        b += "<td" + span + ">" + Link("/data/workshop/" + d.workshop_id, d.workshop_title) +
             "</td><td" + span + ">" +
             Link("/data/producer/" + d.producer_id, d.producer_name) + "</td>";
      }
      b += "<td>" + Link("/data/enrolment/" + e.id, e.participant_name) +
           " <span class=\"muted\">" + Escape(e.id.substr(0, 8)) + "</span></td>" +
           Num(e.marks) + "</tr>";
    }
  }
  return b + "</tbody></table></div>";
}

std::string FiscalYearTable(const Context& ctx, const QualityReport& r) {
  const Lang lang = ctx.lang;
  std::string b = "<h2 id=\"fiscal-years\">" +
                  T(lang, "ปีงบประมาณไม่ตรงกับวันเริ่มอบรม",
                    "Fiscal year does not match the start date") +
                  " (" + std::to_string(r.fiscal_year_mismatches.size()) + ")</h2>";
  if (r.fiscal_year_mismatches.empty()) {
    return b + "<p class=\"muted\">" + T(lang, "ไม่พบ", "None found.") + "</p>";
  }
  b += "<p class=\"muted\">" +
       T(lang, "ปีงบประมาณเริ่ม 1 ตุลาคม",
         "Thai fiscal years start on 1 October.") +
       "</p><div class=\"scroll\"><table><thead><tr><th>" +
       T(lang, "การอบรม", "Workshop") + "</th><th>" +
       T(lang, "อำเภอ", "District") + "</th><th>" +
       T(lang, "วันเริ่ม", "Start date") + "</th><th class=\"num\">" +
       T(lang, "ปีงบประมาณที่บันทึก", "Fiscal year recorded") +
       "</th><th class=\"num\">" +
       T(lang, "ปีงบประมาณตามวันเริ่ม", "Fiscal year of the start date") +
       "</th></tr></thead><tbody>";
  for (const FiscalYearMismatch& m : r.fiscal_year_mismatches) {
    b += "<tr><td>" + Link("/data/workshop/" + m.workshop_id, m.title) +
         "</td><td>" + Escape(DistrictLabel(lang, m.district_code)) +
         "</td><td>" + Escape(FormatDateLabel(lang, m.start_date)) + "</td>" +
         Num(m.fiscal_year) + Num(m.expected_fiscal_year) + "</tr>";
  }
  return b + "</tbody></table></div>";
}

std::string DistrictMismatchTable(const Context& ctx, const QualityReport& r) {
  const Lang lang = ctx.lang;
  std::string b = "<h2 id=\"districts\">" +
                  T(lang, "อยู่คนละอำเภอกับรายการที่บันทึกไว้ใต้",
                    "In another district than the row it is recorded under") +
                  " (" + std::to_string(r.district_mismatches.size()) + ")</h2>";
  if (r.district_mismatches.empty()) {
    return b + "<p class=\"muted\">" + T(lang, "ไม่พบ", "None found.") + "</p>";
  }
  b += "<p class=\"muted\">" +
       T(lang,
         "ผู้ผลิตหรือการอบรมถูกย้ายอำเภอบนเครื่องหนึ่ง ขณะที่อีกเครื่องบันทึกรายการไว้ใต้ "
         "รายงานนับรายการนี้ในอำเภอของมันเอง เครื่องที่ดูแลทั้งสองอำเภอแก้ได้ด้วย "
         "kbo edit ENTITY ID --set district=รหัสอำเภอ",
         "A producer or workshop was moved on one device while another recorded "
         "under it. The reports count the row in its own district; a device of "
         "both districts sets it to its parent's: kbo edit ENTITY ID --set "
         "district=CODE.") +
       "</p><div class=\"scroll\"><table><thead><tr><th>" +
       T(lang, "รายการ", "Row") + "</th><th>" + T(lang, "อำเภอ", "District") +
       "</th><th>" + T(lang, "บันทึกไว้ใต้", "Recorded under") + "</th><th>" +
       T(lang, "อำเภอของรายการนั้น", "Its district") + "</th></tr></thead><tbody>";
  for (const DistrictMismatch& m : r.district_mismatches) {
    b += "<tr><td>" +
         Link("/data/" + m.entity + "/" + m.id,
              EntityLabel(lang, m.entity) + " " + m.id.substr(0, 8)) +
         "</td><td>" + Escape(DistrictLabel(lang, m.district_code)) + "</td><td>" +
         Link("/data/" + m.parent_entity + "/" + m.parent_id,
              EntityLabel(lang, m.parent_entity) + " " + m.parent_name) +
         "</td><td>" + Escape(DistrictLabel(lang, m.parent_district)) +
         "</td></tr>";
  }
  return b + "</tbody></table></div>";
}

std::string AttendanceTable(const Context& ctx, const QualityReport& r) {
  const Lang lang = ctx.lang;
  std::string b = "<h2 id=\"attendance\">" +
                  T(lang, "ยังไม่ได้เช็กชื่อวันที่ผ่านมาแล้ว",
                    "Attendance missing for days already past") +
                  " (" + std::to_string(r.missing_attendance.size()) + ")</h2>";
  if (r.missing_attendance.empty()) {
    return b + "<p class=\"muted\">" + T(lang, "ไม่พบ", "None found.") + "</p>";
  }
  b += "<div class=\"scroll\"><table><thead><tr><th>" +
       T(lang, "การอบรม", "Workshop") + "</th><th class=\"num\">" +
       T(lang, "วันอบรม", "Day") + "</th><th>" + T(lang, "วันที่", "Date") +
       "</th><th class=\"num\">" + T(lang, "ยังไม่เช็กชื่อ", "Not marked") +
       "</th><th class=\"num\">" + T(lang, "ลงทะเบียน", "Enrolled") +
       "</th></tr></thead><tbody>";
  for (const MissingAttendance& m : r.missing_attendance) {
    b += "<tr><td>" +
         Link("/data/attendance?workshop=" + UrlEncode(m.workshop_id), m.title) +
         "</td>" + Num(m.day) + "<td>" + Escape(FormatDateLabel(lang, m.date)) +
         "</td>" + Num(m.missing) + Num(m.enrolled) + "</tr>";
  }
  return b + "</tbody></table></div>";
}

std::string FutureTable(const Context& ctx, const QualityReport& r) {
  const Lang lang = ctx.lang;
  std::string b = "<h2 id=\"future\">" +
                  T(lang, "เช็กชื่อไว้ล่วงหน้าสำหรับวันที่ยังไม่ถึง",
                    "Attendance marked for days still to come") +
                  " (" + std::to_string(r.future_attendance.size()) + ")</h2>";
  if (r.future_attendance.empty()) {
    return b + "<p class=\"muted\">" + T(lang, "ไม่พบ", "None found.") + "</p>";
  }
  b += "<p class=\"muted\">" +
       T(lang,
         "อาจกดผิดวัน รายงานและวุฒิบัตรนับรวมไว้แล้ว โปรดตรวจกับวิทยากร",
         "Most likely a tap on the wrong day; the reports and certificates "
         "count them: check with the trainer.") +
       "</p>";
  b += "<div class=\"scroll\"><table><thead><tr><th>" +
       T(lang, "การอบรม", "Workshop") + "</th><th class=\"num\">" +
       T(lang, "วันอบรม", "Day") + "</th><th>" + T(lang, "วันที่", "Date") +
       "</th><th class=\"num\">" + T(lang, "เช็กชื่อแล้ว", "Marked") +
       "</th></tr></thead><tbody>";
  for (const FutureAttendance& m : r.future_attendance) {
    b += "<tr><td>" +
         Link("/data/attendance?workshop=" + UrlEncode(m.workshop_id), m.title) +
         "</td>" + Num(m.day) + "<td>" + Escape(FormatDateLabel(lang, m.date)) +
         "</td>" + Num(m.marked) + "</tr>";
  }
  return b + "</tbody></table></div>";
}

// A row under a deleted one as a person reads it: the day of a mark, a
// visit's Bangkok time, a stage's name; its id's start if it has no label.
std::string UnderLabel(Lang lang, const RowsUnderDeleted::Row& row) {
  if (row.label.empty()) return row.id.substr(0, 8);
  if (row.entity == "attendance") return T(lang, "วันที่ ", "Day ") + row.label;
  if (row.entity == "visit") return FormatIsoBangkok(lang, row.label);
  if (row.entity == "progress") {
    return ValueLabel(lang, "progress", "stage", Value::Text(row.label));
  }
  return row.label;
}

std::string UnderDeletedSection(const Context& ctx, const QualityReport& r) {
  const Lang lang = ctx.lang;
  std::string b = "<h2 id=\"under-deleted\">" +
                  T(lang, "บันทึกไว้ใต้รายการที่ถูกลบ", "Recorded under a deleted row") +
                  " (" + std::to_string(r.under_deleted.size()) + ")</h2>";
  if (r.under_deleted.empty()) {
    return b + "<p class=\"muted\">" + T(lang, "ไม่พบ", "None found.") + "</p>";
  }
  b += "<p class=\"muted\">" +
       T(lang,
         "รายการเหล่านี้บันทึกไว้ใต้รายการที่ถูกลบไปแล้ว (มักเกิดเมื่อเครื่องหนึ่งลบ "
         "ขณะที่อีกเครื่องบันทึกเพิ่มโดยไม่มีสัญญาณ) รายงานจะไม่นับรายการเหล่านี้"
         "ตราบที่รายการหลักยังถูกลบอยู่ กู้คืนรายการหลัก "
         "หรือเปิดรายการที่อยู่ใต้แล้วลบที่หน้ารายการนั้น (\"ลบรายการนี้\")",
         "These rows were recorded under a row that has since been deleted "
         "(usually one device deleted it while another, offline, recorded "
         "under it); the reports leave them out while their parent is "
         "deleted. Restore the parent, or open a row under it and delete it "
         "on its page (\"Delete this row\"), with what is under it.") +
       "</p>";
  const bool office = ctx.user().role >= WebRole::kOffice;
  for (const RowsUnderDeleted& g : r.under_deleted) {
    const std::string entity = EntityLabel(lang, g.entity);
    const std::string name = g.name.empty() ? g.id.substr(0, 8) : g.name;
    b += "<section class=\"dup\"><p><span class=\"badge\">" +
         T(lang, "ลบแล้ว", "deleted") + "</span> " + Escape(entity) + ": " +
         Link("/data/" + g.entity + "/" + g.id, name) +
         " <span class=\"muted\">" + Escape(g.id.substr(0, 8)) + " · " +
         Escape(DistrictLabel(lang, g.district_code)) +
         "</span></p><div class=\"scroll\"><table><thead><tr><th>" +
         T(lang, "ประเภท", "Kind") + "</th><th>" + T(lang, "รายการ", "Row") +
         "</th><th>" + T(lang, "บันทึกไว้ใต้", "Recorded under") +
         "</th></tr></thead><tbody>";
    for (const RowsUnderDeleted::Row& row : g.rows) {
      std::string parent;
      if (row.parent_entity == g.entity && row.parent_id == g.id) {
        parent = Escape(name) + " <span class=\"badge\">" +
                 T(lang, "ลบแล้ว", "deleted") + "</span>";
      } else {
        std::string shown = row.parent_id.substr(0, 8);
        for (const RowsUnderDeleted::Row& p : g.rows) {
          if (p.entity == row.parent_entity && p.id == row.parent_id) {
            shown = UnderLabel(lang, p);
            break;
          }
        }
        parent = Escape(EntityLabel(lang, row.parent_entity)) + ": " +
                 Link("/data/" + row.parent_entity + "/" + row.parent_id, shown);
      }
      b += "<tr><td>" + Escape(EntityLabel(lang, row.entity)) + "</td><td>" +
           Link("/data/" + row.entity + "/" + row.id, UnderLabel(lang, row)) +
           "</td><td>" + parent + "</td></tr>";
    }
    b += "</tbody></table></div>";
    if (office) {
      b += "<form class=\"filters\" method=\"post\" action=\"/quality/restore\">" +
           CsrfField(ctx) + "<input type=\"hidden\" name=\"entity\" value=\"" +
           Escape(g.entity) + "\"><input type=\"hidden\" name=\"id\" value=\"" +
           Escape(g.id) + "\"><label>" + T(lang, "เหตุผล", "Reason") +
           "<input name=\"reason\" required maxlength=\"500\"></label>"
           "<button class=\"primary\" type=\"submit\">" +
           T(lang, "กู้คืน", "Restore") + " " + Escape(entity) + "</button></form>";
    }
    b += "</section>";
  }
  return b;
}

// GET /quality, /api/quality (and ?format=json).
Reply Quality(Context& ctx) {
  const Lang lang = ctx.lang;
  Result<QualityReport> r = FindQualityIssues(
      ctx.store.db(), ctx.user().scope, BangkokDate(ctx.store.NowMillis()));
  if (!r.ok()) {
    if (IsApi(ctx)) {
      return Reply::Json(EncodeErrorBody(Status::Internal("could not read the data")), 500);
    }
    return Reply::Html("could not read the data", 500);
  }
  if (IsApi(ctx) || ctx.req.Query("format") == "json") {
    return Reply::Json(QualityReportJson(*r));
  }
  std::string b = Flash(ctx);
  b += "<div class=\"cards\">";
  const auto card = [&](const char* anchor, const std::string& label, size_t n) {
    b += std::string("<a class=\"card\" href=\"#") + anchor + "\"><b>" +
         std::to_string(n) + "</b>" + Escape(label) + "</a>";
  };
  card("producers", T(lang, "ผู้ผลิตที่อาจซ้ำ", "Likely duplicate producers"),
       r->duplicate_producers.size());
  card("enrolments", T(lang, "ลงทะเบียนซ้ำ", "Duplicate enrolments"),
       r->duplicate_enrolments.size());
  card("fiscal-years", T(lang, "ปีงบประมาณไม่ตรง", "Fiscal year mismatches"),
       r->fiscal_year_mismatches.size());
  card("attendance", T(lang, "วันที่ยังไม่เช็กชื่อ", "Days not marked"),
       r->missing_attendance.size());
  card("future", T(lang, "เช็กชื่อวันที่ยังไม่ถึง", "Marked ahead of the day"),
       r->future_attendance.size());
  card("under-deleted",
       T(lang, "บันทึกไว้ใต้รายการที่ถูกลบ", "Recorded under a deleted row"),
       r->under_deleted.size());
  card("districts", T(lang, "คนละอำเภอกับรายการหลัก", "In another district"),
       r->district_mismatches.size());
  b += "</div><p class=\"muted\">" +
       Escape(T(lang, "ข้อมูล ณ ", "As of ") + FormatDateLabel(lang, r->today)) +
       "</p>";
  b += ProducerGroups(ctx, *r);
  b += EnrolmentTable(ctx, *r);
  b += FiscalYearTable(ctx, *r);
  b += AttendanceTable(ctx, *r);
  b += FutureTable(ctx, *r);
  b += UnderDeletedSection(ctx, *r);
  b += DistrictMismatchTable(ctx, *r);
  return Reply::Html(Layout(ctx, T(lang, "ต้องตรวจสอบ", "Needs attention"), b));
}

// POST /quality/merge: keep=ID drop=ID reason=R (CSRF checked by the
// Router). Errors redirect back with the message (400/404 for the API).
Reply Merge(Context& ctx) {
  const Lang lang = ctx.lang;
  const std::string keep = PostField(ctx, "keep");
  const std::string drop = PostField(ctx, "drop");
  const std::string reason = PostField(ctx, "reason");
  Transaction tx(ctx.store.db());
  if (!tx.status().ok()) return Reply::Html("could not start a write", 500);
  Result<MergeCounts> m =
      MergeProducers(ctx.store, ctx.user().scope, keep, drop, reason,
                     ctx.user().actor(), ctx.req.remote_addr);
  if (!m.ok()) {
    const Code code = m.status().code();
    if (code == Code::kInvalidArgument || code == Code::kNotFound ||
        code == Code::kPermissionDenied) {
      if (IsApi(ctx)) {
        // With its reason ("merge_self", "rows_out_of_scope", …).
        return Reply::Json(EncodeErrorBody(m.status()), HttpStatusOfError(m.status()));
      }
      // In the page's language where the refusal has a reason for it.
      std::string said = m.status().message();
      if (code == Code::kPermissionDenied) {
        // Rows under the one to drop lie in districts outside the user's.
        said = T(lang,
                 "ยังไม่ได้รวม: มีรายการภายใต้ผู้ผลิตที่จะรวมอยู่ในอำเภอที่คุณไม่ได้ดูแล "
                 "ต้องให้ผู้ใช้ที่ดูแลอำเภอเหล่านั้น (หรือสำนักงานจังหวัด) เป็นผู้รวม",
                 "Not merged: rows recorded under the producer to drop are in "
                 "districts outside yours; a user with those districts (or the "
                 "central office) must merge them.");
      } else if (lang == Lang::kTh && m.status().reason() == "merge_self") {
        said = "รวมผู้ผลิตเข้ากับตัวเองไม่ได้ โปรดเลือกผู้ผลิตสองรายที่ต่างกัน";
      } else if (lang == Lang::kTh && m.status().reason() == "no_reason") {
        said = "โปรดใส่เหตุผลที่ผู้ผลิตสองรายนี้เป็นรายเดียวกัน";
      }
      Reply back = Reply::Redirect("/quality?error=" + UrlEncode(said));
      back.status = 303;
      return back;
    }
    return IsApi(ctx) ? Reply::Json(EncodeErrorBody(Status::Internal("could not merge")), 500)
                      : Reply::Html("could not merge the producers", 500);
  }
  if (Status s = tx.Commit(); !s.ok()) {
    return IsApi(ctx) ? Reply::Json(EncodeErrorBody(Status::Internal("could not merge")), 500)
                      : Reply::Html("could not merge the producers", 500);
  }
  ctx.store.NoteCommittedSequences();
  const std::string done =
      T(lang, "รวมแล้ว: ", "Merged: ") + m->drop_name + " → " + m->keep_name +
      " (" +
      (lang == Lang::kTh
           ? "ย้ายผลิตภัณฑ์ " + std::to_string(m->products) + ", ผู้เข้าอบรม " +
                 std::to_string(m->enrolments) + ", การเยี่ยม " +
                 std::to_string(m->visits) + ", ภาพ " + std::to_string(m->photos)
           : "moved " + std::to_string(m->products) + " products, " +
                 std::to_string(m->enrolments) + " enrolments, " +
                 std::to_string(m->visits) + " visits, " +
                 std::to_string(m->photos) + " photos") +
      "). " +
      (m->fields_taken.empty()
           ? std::string()
           : (lang == Lang::kTh ? "ข้อมูลที่ " + m->keep_name + " ยังไม่มีแต่ " +
                                      m->drop_name + " มี ได้นำมาใส่แล้ว: "
                                : m->keep_name + " took what only " + m->drop_name +
                                      " held: ") +
                 [&] {
                   std::string list;
                   for (const std::string& c : m->fields_taken) {
                     list += (list.empty() ? "" : ", ") + ColumnLabel(lang, "producer", c);
                   }
                   return list;
                 }() +
                 ". ") +
      T(lang, "อุปกรณ์จะได้รับเมื่อซิงก์ครั้งถัดไป",
        "Devices receive it when they next sync.");
  if (IsApi(ctx)) {
    return Reply::Json(nlohmann::json{{"keep", keep},
                                      {"drop", drop},
                                      {"products", m->products},
                                      {"enrolments", m->enrolments},
                                      {"visits", m->visits},
                                      {"photos", m->photos},
                                      {"fields_taken", m->fields_taken}}
                           .dump(-1, ' ', false,
                                 nlohmann::json::error_handler_t::replace));
  }
  return Reply::Redirect("/quality?done=" + UrlEncode(done));
}

// What was done instead of restoring a producer merged away.
std::string MovedText(Lang lang, const RestoredRow& r) {
  const std::string into = r.moved_into_name.empty() ? r.moved_into : r.moved_into_name;
  return lang == Lang::kTh
             ? "ไม่ได้กู้คืน " + r.name + " เพราะรวมเข้ากับ " + into +
               " แล้ว (กู้คืนจะเกิดรายการซ้ำอีก) ย้ายรายการที่บันทึกไว้ใต้รายการนี้หลังการรวม " +
               std::to_string(r.moved) + " รายการไปที่ " + into +
               " แล้ว อุปกรณ์จะได้รับเมื่อซิงก์ครั้งถัดไป"
             : "Not restored: " + r.name + " was merged into " + into +
                   " (restoring it would make the duplicate again). The " +
                   std::to_string(r.moved) +
                   " rows recorded under it since the merge were moved to " + into +
                   "; devices receive it when they next sync.";
}

// POST /quality/restore: entity=E id=ID reason=R (CSRF checked by the
// Router); /api/quality/restore takes the same as form fields or a JSON
// object. Errors redirect back with the message (400/404 for the API).
Reply Restore(Context& ctx) {
  const Lang lang = ctx.lang;
  const std::string entity = PostField(ctx, "entity");
  const std::string id = PostField(ctx, "id");
  const std::string reason = PostField(ctx, "reason");
  const auto failed = [&] {
    return IsApi(ctx) ? Reply::Json(EncodeErrorBody(Status::Internal("could not restore")), 500)
                      : Reply::Html("could not restore the row", 500);
  };
  Transaction tx(ctx.store.db());
  if (!tx.status().ok()) return Reply::Html("could not start a write", 500);
  Result<RestoredRow> restored =
      RestoreDeletedRow(ctx.store, ctx.user().scope, entity, id, reason,
                        ctx.user().actor(), ctx.req.remote_addr);
  if (!restored.ok()) {
    const Code code = restored.status().code();
    if (code == Code::kInvalidArgument || code == Code::kNotFound ||
        code == Code::kPermissionDenied) {
      if (IsApi(ctx)) {
        return Reply::Json(EncodeErrorBody(restored.status()),
                           HttpStatusOfError(restored.status()));
      }
      // Rows the delete took lie in districts outside the user's: said in
      // the page's language.
      const std::string message =
          code == Code::kPermissionDenied
              ? T(lang,
                  "ยังไม่ได้กู้คืน: การลบนี้ลบรายการในอำเภอที่คุณไม่ได้ดูแลไปด้วย "
                  "ต้องให้ผู้ใช้ที่ดูแลอำเภอเหล่านั้นเป็นผู้กู้คืน",
                  "Not restored: this delete also took rows in districts outside "
                  "yours; a user with those districts must restore it.")
              : restored.status().message();
      return Reply::Redirect("/quality?error=" + UrlEncode(message) + "#under-deleted");
    }
    return failed();
  }
  if (Status s = tx.Commit(); !s.ok()) return failed();
  ctx.store.NoteCommittedSequences();
  if (IsApi(ctx)) {
    return Reply::Json(nlohmann::json{{"entity", restored->entity},
                                      {"id", restored->id},
                                      {"name", restored->name},
                                      {"district_code", restored->district_code},
                                      {"rows_under", restored->rows_under},
                                      {"undone", restored->undone},
                                      {"restored_with", restored->restored_with},
                                      {"moved_into", restored->moved_into.empty()
                                                         ? nlohmann::json(nullptr)
                                                         : nlohmann::json(restored->moved_into)},
                                      {"moved", restored->moved}}
                           .dump(-1, ' ', false,
                                 nlohmann::json::error_handler_t::replace));
  }
  if (!restored->moved_into.empty()) {
    // Not what was asked (red), with what was done instead.
    return Reply::Redirect("/quality?error=" + UrlEncode(MovedText(lang, *restored)));
  }
  const std::string done =
      T(lang, "กู้คืนแล้ว: ", "Restored: ") + EntityLabel(lang, restored->entity) +
      " " + restored->name + ". " +
      T(lang, "รายงานนับรายการที่อยู่ใต้อีกครั้ง อุปกรณ์จะได้รับเมื่อซิงก์ครั้งถัดไป",
        "The reports count the rows under it again; devices receive it when "
        "they next sync.");
  return Reply::Redirect("/quality?done=" + UrlEncode(done));
}

}  // namespace

void RegisterQuality(Router& router) {
  router.Page("GET", "/quality", WebRole::kViewer, Quality);
  router.Api("GET", "/api/quality", WebRole::kViewer, Quality);
  router.Page("POST", "/quality/merge", WebRole::kOffice, Merge);
  router.Api("POST", "/api/quality/merge", WebRole::kOffice, Merge);
  router.Page("POST", "/quality/restore", WebRole::kOffice, Restore);
  router.Api("POST", "/api/quality/restore", WebRole::kOffice, Restore);
}

}  // namespace kbo::server::console
