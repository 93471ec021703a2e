// The conflict inbox and a row's history (issue 10, deliverables 2 and 3):
//   GET  /conflicts                       inbox: open first; ?status=open|
//                                         resolved|all, ?district=CODE
//   GET  /conflicts/ID                    one conflict, and (office) the
//                                         resolve form; ID may be a prefix
//   POST /conflicts/ID/resolve            choice=current|incoming|other,
//                                         value (other), reason (required)
//   GET  /rows/ENTITY/ID/history          the row's history
//   GET  /api/conflicts[?status&district] JSON twins of the above
//   GET  /api/conflicts/ID
//   POST /api/conflicts/ID/resolve        {"keep": "current"|"incoming"} or
//                                         {"value": "..."}, and "reason"
//   GET  /api/rows/ENTITY/ID/history
// Everything is scoped to the user's districts: a conflict or row outside
// them is answered 404, as if it did not exist.

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/conflict_view.h"
#include "server/conflicts.h"
#include "server/console/console.h"
#include "server/row_history.h"
#include "server/row_names.h"
#include "server/storage/entity_reads.h"
#include "shared/entities.h"
#include "shared/error_body.h"
#include "shared/labels.h"

namespace kbo::server::console {
namespace {

using nlohmann::json;

// Conflicts shown on one inbox page: a province has about 200 at a time.
constexpr size_t kMaxListed = 1000;

std::string T(Lang lang, const char* th, const char* en) {
  return lang == Lang::kTh ? th : en;
}

std::string JsonText(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The message a redirect carries back (?done= or ?error=).
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

bool InScope(const Context& ctx, const std::string& district) {
  const Scope& scope = ctx.user().scope;
  return scope.all || (!district.empty() && scope.Contains(district));
}

// On the box of "another value": typing or choosing in it chooses that
// option (a value typed with no option chosen was refused).
constexpr char kChoosesOther[] =
    "oninput=\"var o=this.form.querySelector('input[name=choice][value=other]');"
    "if(o)o.checked=true\"";

Reply Error(const Context& ctx, bool api, int status, const char* code,
            const std::string& message) {
  if (api) {
    return Reply::Json(EncodeErrorBody(code, message, status), status);
  }
  return Reply::Html(
      Layout(ctx, T(ctx.lang, "ทำรายการนี้ไม่ได้", "Not possible"),
             "<p class=\"flash error\" role=\"alert\">" + Escape(message) +
                 "</p>"),
      status);
}

Reply FromStatus(const Context& ctx, bool api, const Status& s) {
  switch (s.code()) {
    case Code::kNotFound:
      return Error(ctx, api, 404, "not_found",
                   T(ctx.lang, "ไม่พบข้อมูลขัดแย้งหรือรายการนี้",
                     "No such conflict or row."));
    case Code::kInvalidArgument:
    case Code::kFailedPrecondition:
    case Code::kPermissionDenied:  // a district filter outside the user's
      // The error body with the status's reason ("already_resolved",
      // "changed_since", "moves_back": server/conflicts.h) and fields
      // (field, problem, params, now_value, ...): 400 or 409.
      if (api) return Reply::Json(EncodeErrorBody(s), HttpStatusOfError(s));
      return Error(ctx, api, HttpStatusOfError(s), "invalid_argument",
                   ProblemText(ctx.lang, "", s));
    default:
      return Error(ctx, api, 500, "internal",
                   T(ctx.lang, "เกิดข้อผิดพลาดภายใน", "Internal error."));
  }
}

// The conflict named in the path, if the user may see it.
Result<ConflictRecord> Named(Context& ctx) {
  Conflicts conflicts(ctx.store);
  Result<ConflictRecord> c = conflicts.Find(ctx.req.matches.at(0));
  if (!c.ok()) return c.status();
  if (!InScope(ctx, c->district_code)) {
    return Status::NotFound("no conflict " + ctx.req.matches.at(0));
  }
  return c;
}

// The inbox's conflicts after the filters, open first, newest first.
// `open_in_scope`, if given, gets how many open conflicts the user's
// districts (and the district filter) hold, whatever the status filter.
Result<std::vector<ConflictRecord>> Listed(Context& ctx, bool* capped,
                                           size_t* open_in_scope = nullptr) {
  Conflicts conflicts(ctx.store);
  Result<std::vector<ConflictRecord>> all = conflicts.List();
  if (!all.ok()) return all.status();
  std::string status = ctx.req.Query("status");
  if (status.empty()) status = "all";
  if (status != "all" && status != "open" && status != "resolved") {
    return Status::InvalidArgument("status must be all, open or resolved");
  }
  const std::string district = ctx.req.Query("district");
  if (Status s = ctx.user().scope.CheckFilter(district); !s.ok()) return s;
  std::vector<ConflictRecord> out;
  for (ConflictRecord& c : *all) {
    if (!InScope(ctx, c.district_code)) continue;
    if (!district.empty() && c.district_code != district) continue;
    if (open_in_scope != nullptr && !c.resolved()) ++*open_in_scope;
    if (status == "open" && c.resolved()) continue;
    if (status == "resolved" && !c.resolved()) continue;
    out.push_back(std::move(c));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ConflictRecord& a, const ConflictRecord& b) {
                     if (a.resolved() != b.resolved()) return !a.resolved();
                     return a.feed_seq > b.feed_seq;
                   });
  *capped = out.size() > kMaxListed;
  if (*capped) out.resize(kMaxListed);
  return out;
}

std::string SideHtml(Lang lang, const char* th, const char* en,
                     const WriteView& w, bool shown) {
  std::string h = "<div class=\"side\"><span class=\"muted\">" +
                  T(lang, th, en) + "</span> <b class=\"value\">" +
                  Escape(w.value_null ? "—" : w.value) + "</b>";
  if (shown) {
    h += " <span class=\"badge\">" +
         T(lang, "แสดงอยู่ตอนนี้", "shown now") + "</span>";
  }
  h += "<br><span class=\"muted\">" + Escape(w.writer.who);
  if (!w.writer.role.empty()) h += " · " + Escape(w.writer.role);
  h += " · " + Escape(w.when) + "</span>";
  if (!w.with.empty()) {
    // What the writer said along with it (a mark's note): the office
    // decides on the whole of what each side meant.
    h += "<br><span class=\"muted\">" + T(lang, "บันทึกมาพร้อมกัน:", "Written with it:") +
         "</span> <span class=\"with\">";
    for (size_t i = 0; i < w.with.size(); ++i) {
      const WrittenCell& c = w.with[i];
      h += (i ? "; " : "") + Escape(c.column_label) + " " +
           (c.value.empty() ? std::string("—") : "<q>" + Escape(c.value) + "</q>");
      if (!c.applied) {
        h += " <span class=\"muted\">(" +
             T(lang, "ไม่ได้แสดง มีค่าที่ใหม่กว่า", "not shown: a newer value is held") +
             ")</span>";
      }
    }
    h += "</span>";
  }
  h += "</div>";
  return h;
}

std::string CardHtml(const Context& ctx, const ConflictView& v, bool link) {
  const Lang lang = ctx.lang;
  const ConflictRecord& c = v.conflict;
  std::string h = "<article class=\"card conflict\" data-id=\"" +
                  Escape(c.id) + "\">";
  h += "<div><span class=\"badge " +
       std::string(c.resolved() ? "done\">" : "open\">") +
       (c.resolved() ? T(lang, "ยุติแล้ว", "resolved")
                     : T(lang, "ยังไม่ยุติ", "open")) +
       "</span> ";
  const std::string title = v.subject;
  if (link) {
    h += "<a href=\"" + Escape(WithLang(ctx, "/conflicts/" + c.id)) + "\">" +
         Escape(title) + "</a>";
  } else {
    h += "<b>" + Escape(title) + "</b>";
  }
  h += "</div><div class=\"muted\">" + Escape(v.entity_label) + " · " +
       Escape(v.column_label) +
       (v.district.empty() ? "" : " · " + Escape(v.district)) + "</div>";
  if (v.row_deleted) {
    // Deciding it edits a row nobody sees: said, with the way back.
    h += "<p class=\"flash error\" role=\"status\" data-row-deleted=\"1\">" +
         T(lang,
           "รายการนี้ถูกลบไปแล้ว การตัดสินจะแก้ไขรายการที่ถูกลบ หากรายการยังสำคัญ "
           "ให้กู้คืนจากประวัติของรายการก่อน",
           "This row has been deleted since: a decision edits a deleted row. If the "
           "row still matters, restore it from its history first.") +
         "</p>";
  }
  const bool later = v.later.has_value();
  // Named by arrival at the server, not by when they were typed (the
  // first to arrive may have been typed later, on a clock behind).
  h += SideHtml(lang, "ค่าที่ได้รับก่อน", "Received first", v.current,
                !c.resolved() && !later && c.winner == "current");
  h += SideHtml(lang, "ค่าที่ได้รับทีหลัง", "Received later", v.incoming,
                !c.resolved() && !later && c.winner == "incoming");
  if (later) {
    h += SideHtml(lang, "ค่าที่บันทึกภายหลัง (หลังพบข้อขัดแย้งนี้)",
                  "Written later (after this conflict was found)", *v.later, true);
  }
  if (c.resolved()) {
    h += "<div class=\"side\"><span class=\"muted\">" +
         T(lang, "ตัดสินเป็น", "Resolved as") + "</span> <b class=\"resolved\">" +
         Escape(v.resolved_value.empty() ? "—" : v.resolved_value) +
         "</b><br><span class=\"muted\">" + Escape(v.resolved_by) + " · " +
         Escape(v.resolved_at) + "</span>";
    if (!v.reason.empty()) {
      h += "<br>" + T(lang, "เหตุผล: ", "Reason: ") + Escape(v.reason);
    }
    h += "</div>";
  }
  h += "</article>";
  return h;
}

constexpr char kCardStyle[] =
    "<style>.conflict{margin:0 0 .75rem}.conflict .side{margin-top:.4rem;"
    "overflow-wrap:anywhere}.conflict .value,.conflict .resolved{font-size:"
    "1.1rem}</style>";

Reply Inbox(Context& ctx, bool api) {
  bool capped = false;
  size_t open = 0;
  Result<std::vector<ConflictRecord>> list = Listed(ctx, &capped, &open);
  if (!list.ok()) return FromStatus(ctx, api, list.status());
  Result<std::vector<ConflictView>> views =
      DescribeConflicts(ctx.store.db(), *list, ctx.lang);
  if (!views.ok()) return FromStatus(ctx, api, views.status());
  if (api) {
    json arr = json::array();
    for (const ConflictView& v : *views) {
      arr.push_back(json::parse(ConflictViewJson(v)));
    }
    return Reply::Json(JsonText({{"conflicts", arr}, {"capped", capped}}));
  }
  const Lang lang = ctx.lang;
  const std::string status = ctx.req.Query("status");
  const std::string district = ctx.req.Query("district");
  std::string body = kCardStyle;
  body += "<form class=\"filters\" method=\"get\" action=\"/conflicts\">";
  body += "<label>" + T(lang, "สถานะ", "Status") + "<select name=\"status\">";
  const std::pair<const char*, std::string> statuses[] = {
      {"all", T(lang, "ทั้งหมด", "All")},
      {"open", T(lang, "ยังไม่ยุติ", "Open")},
      {"resolved", T(lang, "ยุติแล้ว", "Resolved")}};
  for (const auto& [code, name] : statuses) {
    body += "<option value=\"" + std::string(code) + "\"" +
            (status == code ? " selected" : "") + ">" + Escape(name) +
            "</option>";
  }
  body += "</select></label><label>" + T(lang, "อำเภอ", "District") +
          "<select name=\"district\"><option value=\"\">" +
          T(lang, "ทุกอำเภอ", "All districts") + "</option>";
  for (const District& d : Districts()) {
    if (!InScope(ctx, std::string(d.code))) continue;
    body += "<option value=\"" + std::string(d.code) + "\"" +
            (district == d.code ? " selected" : "") + ">" +
            Escape(DistrictLabel(lang, d.code)) + "</option>";
  }
  body += "</select></label><input type=\"hidden\" name=\"lang\" value=\"" +
          std::string(LangCode(lang)) + "\"><button class=\"primary\" "
          "type=\"submit\">" + T(lang, "แสดง", "Show") + "</button></form>";
  // Open: all those waiting (a "resolved" filter does not make them 0).
  body += "<p id=\"conflict-count\">" +
          T(lang, "ยังไม่ยุติ ", "Open: ") + std::to_string(open) + " · " +
          T(lang, "ทั้งหมดที่แสดง ", "shown: ") +
          std::to_string(views->size()) + "</p>";
  if (capped) {
    body += "<p class=\"muted\">" +
            T(lang, "แสดงเพียง 1,000 รายการแรก ใช้ตัวกรองเพื่อดูรายการอื่น",
              "Only the first 1,000 are shown; use the filters for the "
              "rest.") +
            "</p>";
  }
  if (views->empty()) {
    body += "<p class=\"muted\">" +
            T(lang, "ไม่มีข้อมูลขัดแย้ง", "No conflicts.") + "</p>";
  }
  for (const ConflictView& v : *views) body += CardHtml(ctx, v, true);
  return Reply::Html(
      Layout(ctx, T(lang, "ข้อมูลขัดแย้ง", "Conflicts"), body));
}

Reply Detail(Context& ctx, bool api) {
  Result<ConflictRecord> c = Named(ctx);
  if (!c.ok()) return FromStatus(ctx, api, c.status());
  Result<ConflictView> v = DescribeConflict(ctx.store.db(), *c, ctx.lang);
  if (!v.ok()) return FromStatus(ctx, api, v.status());
  if (Status s = AddWrittenWith(ctx.store, &*v, ctx.lang);
      !s.ok() && s.code() != Code::kNotFound) {
    return FromStatus(ctx, api, s);
  }
  if (api) return Reply::Json(ConflictViewJson(*v));
  const Lang lang = ctx.lang;
  std::string body = kCardStyle;
  body += Flash(ctx);
  body += CardHtml(ctx, *v, false);
  body += "<p><a href=\"" +
          Escape(WithLang(ctx, "/rows/" + c->entity + "/" + c->row_id +
                                   "/history")) +
          "\">" + T(lang, "ประวัติของรายการนี้", "This row's history") +
          "</a></p>";
  if (!c->resolved() && ctx.user().role >= WebRole::kOffice) {
    body += "<h2>" + T(lang, "ตัดสิน", "Resolve") + "</h2>";
    // The same field's other open conflicts are settled by this decision
    // (Conflicts::SettledWith): said before it is made, with their values.
    Result<std::vector<ConflictRecord>> settles = Conflicts(ctx.store).SettledWith(*c);
    if (!settles.ok()) return FromStatus(ctx, api, settles.status());
    if (!settles->empty()) {
      const size_t n = settles->size();
      std::string values;
      // Every one: each is settled, so each value is shown (ten were, of
      // any number).
      for (size_t i = 0; i < n; ++i) {
        const ConflictRecord& o = (*settles)[i];
        values += "<li>" +
                  Escape(ValueLabel(lang, o.entity, o.column_name, o.current_value)) +
                  " / " +
                  Escape(ValueLabel(lang, o.entity, o.column_name, o.incoming_value)) +
                  "</li>";
      }
      body += "<div class=\"flash\" role=\"status\" data-settles=\"" +
              std::to_string(n) + "\"><p>" +
              (lang == Lang::kTh
                   ? "ช่องนี้มีข้อมูลขัดแย้งอื่นที่ยังไม่ตัดสินอีก " + std::to_string(n) +
                         " รายการ การตัดสินครั้งนี้จะตัดสินรายการเหล่านั้นไปด้วย ค่าที่ขัดแย้งกัน:"
                   : "This field has " + std::to_string(n) +
                         (n == 1 ? " other open conflict" : " other open conflicts") +
                         "; this decision settles " + (n == 1 ? "it" : "them") +
                         " too. Their values:") +
              "</p><ul>" + values + "</ul></div>";
    }
    // multipart: a value and a reason in Thai can pass the 8 KiB the HTTP
    // library takes URL-encoded.
    body += "<form class=\"stack\" method=\"post\" enctype=\"multipart/form-data\" "
            "action=\"/conflicts/" +
            Escape(c->id) + "/resolve\">" + CsrfField(ctx);
    const auto option = [&](const char* value, const std::string& label,
                            bool enabled) {
      return "<label><span><input type=\"radio\" name=\"choice\" value=\"" +
             std::string(value) + "\"" + (enabled ? "" : " disabled") + "> " +
             label + "</span></label>";
    };
    // A column that only moves forward (a product's stage) keeps the
    // further value whatever is decided: say so, and offer only what can be
    // kept (resolving to the earlier stage is refused as moves_back).
    const Entity* entity = FindEntity(c->entity);
    const Column* column =
        entity != nullptr ? entity->FindColumn(c->column_name) : nullptr;
    const Value later_value = v->later.has_value() && !v->later->value_null
                                  ? Value::Text(v->later->value_text)
                                  : Value();
    const KeepableSides keepable =
        Keepable(*c, v->later.has_value() && !v->later->value_null ? &later_value : nullptr);
    const bool current_ok = keepable.current;
    const bool incoming_ok = keepable.incoming;
    if (keepable.forward_only) {
      body += "<p class=\"muted\">" +
              T(lang,
                "ช่องนี้เดินหน้าอย่างเดียว (ขั้นการพัฒนาผลิตภัณฑ์ย้อนกลับไม่ได้): "
                "ค่าที่ไปไกลกว่าจะถูกเก็บไว้ การตัดสินนี้บันทึกว่ารับทราบแล้วและเหตุผล",
                "This column only moves forward (a product's stage never goes "
                "back): the further value is kept. Deciding records that it "
                "was seen, and why.") +
              "</p>";
    }
    if (v->later.has_value()) {
      // Someone wrote the cell again after the conflict: whatever is decided
      // replaces that value, so it is offered too, and the form says it was
      // seen (seen_seq); a resolve without it is refused (changed_since).
      body += "<p class=\"flash\" role=\"status\">" +
              T(lang,
                "รายการนี้ถูกบันทึกอีกครั้งหลังพบข้อขัดแย้ง ค่าที่แสดงตอนนี้คือ ",
                "This row was written again after the conflict was found; it "
                "now shows ") +
              "<b>" + Escape(v->later->value_null ? "—" : v->later->value) + "</b>" +
              T(lang, " การตัดสินจะแทนค่านี้", ": deciding replaces it.") + "</p>";
      body += "<input type=\"hidden\" data-shown name=\"seen_seq\" value=\"" +
              std::to_string(v->later->seq) + "\">";
      body += option("now",
                     T(lang, "ใช้ค่าที่แสดงตอนนี้: ", "Keep the value shown now: ") +
                         Escape(v->later->value_null ? "—" : v->later->value),
                     true);
    }
    // A side a forward column cannot go back to is not offered.
    if (current_ok) {
      body += option("current",
                     T(lang, "ใช้ค่าที่ได้รับก่อน: ", "Keep the value received first: ") +
                         Escape(v->current.value_null ? "—" : v->current.value),
                     true);
    }
    if (incoming_ok) {
      body += option("incoming",
                     T(lang, "ใช้ค่าที่ได้รับทีหลัง: ", "Keep the value received later: ") +
                         Escape(v->incoming.value_null ? "—" : v->incoming.value),
                     true);
    }
    // Deleted or not has no third value to type.
    if (c->column_name != kDeletedColumn && column != nullptr &&
        column->type == ColumnType::kEnum) {
      // A list of the column's values by their names (ขาด, not absent):
      // nothing to mistype.
      body += option("other", T(lang, "ค่าอื่น (เลือก):", "Another value (choose):"), true);
      body += "<label>" + T(lang, "ค่าอื่น", "Other value") +
              "<select name=\"value\" " + kChoosesOther + "><option value=\"\"></option>";
      for (std::string_view code : column->enum_values) {
        body += "<option value=\"" + Escape(std::string(code)) + "\">" +
                Escape(ValueLabel(lang, c->entity, c->column_name,
                                  Value::Text(std::string(code)))) +
                "</option>";
      }
      body += "</select></label>";
    } else if (c->column_name != kDeletedColumn) {
      body += option("other", T(lang, "ค่าอื่น (พิมพ์):", "Another value (type it):"),
                     true);
      // The box fits the column: notes keep their lines, numbers get the
      // phone's number keys; choosing or typing here chooses "another value".
      const bool number = column != nullptr && (column->type == ColumnType::kInteger ||
                                                column->type == ColumnType::kReal);
      body += "<label>" + T(lang, "ค่าอื่น", "Other value");
      if (column != nullptr && column->type == ColumnType::kText &&
          IsLongTextColumn(column->name)) {
        body += "<textarea name=\"value\" rows=\"3\" " + std::string(kChoosesOther) +
                "></textarea></label>";
      } else {
        body += "<input name=\"value\" autocomplete=\"off\" " +
                std::string(kChoosesOther) +
                (number ? column->type == ColumnType::kInteger
                              ? " inputmode=\"numeric\""
                              : " inputmode=\"decimal\""
                        : "") +
                "></label>";
      }
    }
    body += "<label>" + T(lang, "เหตุผล (จำเป็น)", "Reason (required)") +
            // A browser counts UTF-16 units, the server bytes: a Thai
            // character is one unit and three bytes, so the box stops at
            // what always fits.
            "<textarea name=\"reason\" required maxlength=\"" +
            std::to_string(kMaxReasonBytes / 3) + "\" rows=\"3\"></textarea></label>";
    body += "<input type=\"hidden\" name=\"lang\" value=\"" +
            std::string(LangCode(lang)) + "\">";
    body += "<button class=\"primary\" type=\"submit\">" +
            T(lang, "บันทึกการตัดสิน", "Record the decision") +
            "</button></form>";
  }
  return Reply::Html(Layout(ctx, v->subject, body));
}

Reply Resolve(Context& ctx, bool api) {
  Result<ConflictRecord> c = Named(ctx);
  if (!c.ok()) return FromStatus(ctx, api, c.status());
  const Lang lang = ctx.lang;
  Resolution how;
  Resolver by;
  by.actor = ctx.user().actor();
  by.address = ctx.req.remote_addr;
  by.scope = ctx.user().scope;
  if (api) {
    json body = json::parse(ctx.req.body, nullptr, false);
    if (!body.is_object()) {
      return Error(ctx, api, 400, "invalid_argument",
                   "the body must be a JSON object");
    }
    if (auto r = body.find("reason"); r != body.end() && r->is_string()) {
      by.reason = r->get<std::string>();
    }
    if (auto seen = body.find("seen_seq"); seen != body.end()) {
      if (!seen->is_number_unsigned()) {
        return Error(ctx, api, 400, "invalid_argument",
                     "seen_seq must be a server sequence (a whole number)");
      }
      how.seen_seq = seen->get<uint64_t>();
    }
    auto keep = body.find("keep");
    auto value = body.find("value");
    if (keep != body.end() && keep->is_string() && *keep == "now") {
      // The later write the conflict's page showed ("later"), by its seq.
      if (how.seen_seq == 0) {
        return Error(ctx, api, 400, "invalid_argument",
                     "\"keep\": \"now\" needs \"seen_seq\": the later "
                     "write's seq");
      }
      how.kind = Resolution::Kind::kKeepSeq;
      how.seq = how.seen_seq;
    } else if (keep != body.end() && keep->is_string() && *keep == "current") {
      how.kind = Resolution::Kind::kKeepCurrent;
    } else if (keep != body.end() && keep->is_string() &&
               *keep == "incoming") {
      how.kind = Resolution::Kind::kKeepIncoming;
    } else if (keep == body.end() && value != body.end() &&
               value->is_string()) {
      how.kind = Resolution::Kind::kValue;
      how.text = value->get<std::string>();
    } else {
      return Error(ctx, api, 400, "invalid_argument",
                   "give \"keep\": \"current\", \"incoming\" or \"now\", "
                   "or \"value\": text");
    }
  } else {
    by.reason = ctx.req.Form("reason");
    const std::string choice = ctx.req.Form("choice");
    const std::string seen = ctx.req.Form("seen_seq");
    if (!seen.empty()) {
      char* end = nullptr;
      errno = 0;
      const unsigned long long n = std::strtoull(seen.c_str(), &end, 10);
      if (errno == 0 && end != nullptr && *end == '\0' && seen[0] != '-') {
        how.seen_seq = static_cast<uint64_t>(n);
      }
    }
    if (choice == "now" && how.seen_seq != 0) {
      how.kind = Resolution::Kind::kKeepSeq;
      how.seq = how.seen_seq;
    } else if (choice == "current") {
      how.kind = Resolution::Kind::kKeepCurrent;
    } else if (choice == "incoming") {
      how.kind = Resolution::Kind::kKeepIncoming;
    } else if (choice == "other") {
      how.kind = Resolution::Kind::kValue;
      how.text = ctx.req.Form("value");
    } else {
      return Reply::Redirect(
          WithLang(ctx, "/conflicts/" + c->id + "?error=" +
                            UrlEncode(T(lang, "โปรดเลือกค่าที่จะใช้",
                                        "Choose the value to keep."))));
    }
  }
  const bool blank =
      by.reason.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) {
    const std::string message =
        T(lang, "โปรดใส่เหตุผลของการตัดสิน", "Give a reason for the decision.");
    if (api) return Error(ctx, api, 400, "invalid_argument", message);
    return Reply::Redirect(WithLang(
        ctx, "/conflicts/" + c->id + "?error=" + UrlEncode(message)));
  }
  Conflicts conflicts(ctx.store);
  Result<ResolveOutcome> r = conflicts.Resolve(c->id, how, by);
  if (!r.ok()) {
    if (api || r.status().code() == Code::kInternal ||
        r.status().code() == Code::kIOError) {
      return FromStatus(ctx, api, r.status());
    }
    std::string message = ProblemText(ctx.lang, c->entity, r.status());
    if (r.status().reason() == "moves_back") {
      message = T(ctx.lang,
                  "ยังไม่ได้เปลี่ยนอะไร: ค่านี้แทนค่าปัจจุบันไม่ได้ "
                  "เพราะช่องนี้เดินหน้าอย่างเดียว (ขั้นการพัฒนาผลิตภัณฑ์ย้อนกลับไม่ได้)",
                  "Nothing was changed: this value cannot replace the current "
                  "one; this column only moves forward (a product's stage "
                  "never goes back).");
    } else if (r.status().reason() == kChangedSince) {
      message = T(ctx.lang,
                  "ยังไม่ได้เปลี่ยนอะไร: มีการบันทึกค่านี้อีกครั้งหลังจากที่คุณเปิดหน้านี้ "
                  "ค่าที่แสดงตอนนี้อยู่ด้านบนแล้ว โปรดตัดสินอีกครั้ง",
                  "Nothing was changed: this value was written again after you "
                  "opened the page; the value shown now is above. Decide again.");
    } else if (r.status().reason() == kAlreadyResolved) {
      // A colleague decided it while this page was open: whose decision
      // stands, in the page's language and Bangkok time.
      // The value as a label and the person by login, as the inbox shows
      // them ("สาย" by somying, not 'late' by user:somying).
      Result<ConflictRecord> now = conflicts.Get(c->id);
      Result<ConflictView> seen =
          now.ok() ? DescribeConflict(ctx.store.db(), *now, ctx.lang)
                   : Result<ConflictView>(now.status());
      if (now.ok() && now->resolved()) {
        const std::string& label =
            seen.ok() ? seen->resolved_value : now->resolved_value;
        const std::string value =
            label.empty() ? T(ctx.lang, "(ว่าง)", "(empty)") : "'" + label + "'";
        const std::string who = now->resolved_by.empty()
                                    ? "-"
                                    : ActorLabel(ctx.lang, now->resolved_by);
        message = ctx.lang == Lang::kTh
                      ? "ยังไม่ได้เปลี่ยนอะไร: ข้อมูลขัดแย้งนี้ตัดสินไปแล้วเมื่อ " +
                            FormatIsoBangkok(ctx.lang, now->resolved_at) + " โดย " + who +
                            " เป็น " + value +
                            (now->resolution_reason.empty()
                                 ? ""
                                 : " (เหตุผล: " + now->resolution_reason + ")")
                      : "Nothing was changed: this conflict was resolved on " +
                            FormatIsoBangkok(ctx.lang, now->resolved_at) + " by " + who +
                            " as " + value +
                            (now->resolution_reason.empty()
                                 ? ""
                                 : " (reason: " + now->resolution_reason + ")");
      }
    } else if (r.status().reason() == "rows_out_of_scope") {
      message = T(ctx.lang,
                  "ยังไม่ได้เปลี่ยนอะไร: การลบนี้ลบรายการในอำเภอที่คุณไม่ได้ดูแลไปด้วย "
                  "ถ้าเก็บการแก้ไขไว้ รายการเหล่านั้นจะกลับมาด้วย "
                  "จึงต้องให้ผู้ใช้ที่ดูแลอำเภอเหล่านั้นเป็นผู้ตัดสิน",
                  "Nothing was changed: this delete also took rows in districts "
                  "outside yours; keeping the edit would bring them back too, so "
                  "a user with those districts must decide it.");
    } else if (r.status().reason() == "merged_away") {
      message = T(ctx.lang,
                  "ยังไม่ได้เปลี่ยนอะไร: กลุ่มผู้ผลิตนี้ถูกรวมเข้ากับอีกกลุ่มแล้ว "
                  "ถ้านำกลับมาจะเกิดรายการซ้ำอีก (รายการใต้กลุ่มนี้ย้ายไปแล้ว) "
                  "ให้เก็บการลบไว้ แล้วแก้ไขข้อมูลที่กลุ่มที่รวมเข้าไป",
                  "Nothing was changed: this producer was merged into another; "
                  "bringing it back would make the duplicate again (its rows "
                  "are now under the other). Keep the delete, and make the "
                  "edit on that producer.");
    }
    return Reply::Redirect(WithLang(
        ctx, "/conflicts/" + c->id + "?error=" + UrlEncode(message)));
  }
  if (api) {
    // The conflict as stored, and what its delete had taken: back, or left.
    json out = json::parse(ConflictJson(r->conflict), nullptr, false);
    if (out.is_object()) {
      out["brought_back"] = r->brought_back;
      out["left_deleted"] = r->left_deleted;
      out["settled_with"] = r->settled_with;
      return Reply::Json(out.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    return Reply::Json(ConflictJson(r->conflict));
  }
  std::string done = T(lang, "บันทึกการตัดสินแล้ว อุปกรณ์จะได้รับเมื่อซิงก์",
                       "Resolved; devices receive it when they sync.");
  if (r->brought_back > 0) {
    const std::string n = std::to_string(r->brought_back);
    done += lang == Lang::kTh
                ? " รายการที่ถูกลบไปพร้อมกัน " + n + " รายการ (เช่น ภาพถ่าย) กลับมาด้วย"
                : " The " + n + (r->brought_back == 1 ? " row" : " rows") +
                      " deleted with it (photos, say) came back too.";
  }
  if (r->left_deleted > 0) {
    const std::string n = std::to_string(r->left_deleted);
    done += lang == Lang::kTh
                ? " อีก " + n + " รายการที่ถูกลบไปพร้อมกันยังคงถูกลบ "
                      "เพราะอยู่ใต้รายการอื่นที่ยังถูกลบ (ดูประวัติของรายการ)"
                : " " + n + (r->left_deleted == 1 ? " row" : " rows") +
                      " deleted with it stayed deleted: each is under another row "
                      "still deleted (see the row's history).";
  }
  if (r->settled_with > 0) {
    const std::string n = std::to_string(r->settled_with);
    done += lang == Lang::kTh
                ? " ข้อมูลขัดแย้งอื่นของช่องเดียวกันอีก " + n +
                      " รายการ ถือว่าตัดสินไปพร้อมกันด้วย"
                : " " + n +
                      (r->settled_with == 1 ? " other conflict" : " other conflicts") +
                      " on this field settled with it.";
  }
  return Reply::Redirect(
      WithLang(ctx, "/conflicts/" + c->id + "?done=" + UrlEncode(done)));
}

const char* KindLabel(Lang lang, HistoryEntry::Kind k) {
  switch (k) {
    case HistoryEntry::Kind::kConflict:
      return lang == Lang::kTh ? "ข้อมูลขัดแย้ง" : "Conflict";
    case HistoryEntry::Kind::kResolution:
      return lang == Lang::kTh ? "สำนักงานตัดสิน" : "Resolved by the office";
    case HistoryEntry::Kind::kChange:
      break;
  }
  return lang == Lang::kTh ? "แก้ไข" : "Change";
}

Reply History(Context& ctx, bool api) {
  const std::string entity = ctx.req.matches.at(0);
  const std::string row_id = ctx.req.matches.at(1);
  const Entity* ent = FindEntity(entity);
  if (ent == nullptr) {
    return FromStatus(ctx, api, Status::NotFound("no entity " + entity));
  }
  // Scope: the row's district decides (404 outside, as for no row).
  {
    Result<std::optional<std::string>> district =
        storage::EntityReads(ctx.store.db()).RowDistrict(*ent, row_id);
    if (!district.ok()) return FromStatus(ctx, api, district.status());
    if (!district->has_value() || !InScope(ctx, **district)) {
      return FromStatus(ctx, api, Status::NotFound("no row"));
    }
  }
  Result<RowHistory> h = LoadRowHistory(ctx.store, entity, row_id, ctx.lang);
  if (!h.ok()) return FromStatus(ctx, api, h.status());
  if (api) return Reply::Json(RowHistoryJson(entity, row_id, *h));
  const Lang lang = ctx.lang;
  std::string body;
  // The row by its names (the participant, the workshop, the day), the id
  // after them for whoever needs it.
  std::string named;
  {
    RowNames names(ctx.store.db());
    names.Want(entity, row_id);
    if (names.Load(3).ok()) {
      const RowNames::Context rc = names.ContextOf(entity, row_id);
      for (const std::string* part : {&rc.product_name, &rc.workshop_title,
                                      &rc.participant_name, &rc.producer_name}) {
        if (part->empty() || named.find(*part) != std::string::npos) continue;
        named += (named.empty() ? "" : " · ") + *part;
      }
      if (rc.day > 0) {
        named += (named.empty() ? "" : " · ") + T(lang, "วันที่ ", "day ") + std::to_string(rc.day);
      }
    }
  }
  body += "<p class=\"muted\">" + Escape(EntityLabel(lang, entity)) +
          (named.empty() ? "" : ": <b>" + Escape(named) + "</b>") + " · " + Escape(row_id) +
          "</p>";
  if (h->truncated) {
    body += "<p class=\"flash\">" +
            T(lang, "แสดงเฉพาะการแก้ไขล่าสุด ", "Only the latest ") +
            std::to_string(h->change_sets) +
            T(lang, " ชุด ที่เก่ากว่านั้นไม่ได้แสดง",
              " change sets are shown; older ones are left out.") +
            "</p>";
  }
  body += "<div class=\"scroll\"><table id=\"history\"><thead><tr><th>" +
          T(lang, "เมื่อ", "When") + "</th><th>" + T(lang, "ใคร", "Who") +
          "</th><th>" + T(lang, "อะไร", "What") + "</th></tr></thead><tbody>";
  for (const HistoryEntry& e : h->entries) {
    std::string who = Escape(e.writer.who);
    if (!e.writer.role.empty()) who += "<br><span class=\"muted\">" +
                                       Escape(e.writer.role) + "</span>";
    std::string what = "<b>" + std::string(KindLabel(lang, e.kind)) + "</b>";
    if (e.created) what += " (" + T(lang, "สร้าง", "created") + ")";
    if (e.kind == HistoryEntry::Kind::kConflict) {
      what += "<br>" + Escape(e.column_label) + ": " +
              Escape(e.current_value) + " / " + Escape(e.incoming_value);
    }
    if (e.kind == HistoryEntry::Kind::kResolution) {
      what += "<br>" + Escape(e.column_label) + " = " +
              Escape(e.resolved_value);
      if (!e.reason.empty()) {
        what += "<br>" + T(lang, "เหตุผล: ", "Reason: ") + Escape(e.reason);
      }
    }
    if (e.kind == HistoryEntry::Kind::kChange && !e.reason.empty()) {
      what += "<br>" + T(lang, "เหตุผล: ", "Reason: ") + Escape(e.reason);
    }
    for (const HistoryCell& c : e.cells) {
      what += "<br>" + Escape(c.column_label) + ": ";
      if (!e.created) {
        what += (c.old_known ? Escape(c.old_value.empty() ? "—" : c.old_value)
                             : std::string("?")) +
                " → ";
      }
      what += Escape(c.new_value.empty() ? "—" : c.new_value);
      if (!c.applied) {
        what += " <span class=\"muted\">(" +
                T(lang, "ไม่มีผล", "not applied") + ")</span>";
      }
    }
    body += "<tr><td>" + Escape(e.when) + "</td><td>" + who + "</td><td>" +
            what + "</td></tr>";
  }
  body += "</tbody></table></div>";
  return Reply::Html(Layout(ctx, T(lang, "ประวัติ", "History"), body));
}

}  // namespace

void RegisterConflicts(Router& router) {
  constexpr char kId[] = "([0-9A-Fa-f-]{4,36})";
  constexpr char kRow[] = "/([a-z_]{1,32})/([0-9A-Fa-f-]{36})/history";
  router.Page("GET", "/conflicts", WebRole::kViewer,
              [](Context& ctx) { return Inbox(ctx, false); });
  router.Page("GET", std::string("/conflicts/") + kId, WebRole::kViewer,
              [](Context& ctx) { return Detail(ctx, false); });
  router.Page("POST", std::string("/conflicts/") + kId + "/resolve",
              WebRole::kOffice,
              [](Context& ctx) { return Resolve(ctx, false); });
  router.Page("GET", std::string("/rows") + kRow, WebRole::kViewer,
              [](Context& ctx) { return History(ctx, false); });
  router.Api("GET", "/api/conflicts", WebRole::kViewer,
             [](Context& ctx) { return Inbox(ctx, true); });
  router.Api("GET", std::string("/api/conflicts/") + kId, WebRole::kViewer,
             [](Context& ctx) { return Detail(ctx, true); });
  router.Api("POST", std::string("/api/conflicts/") + kId + "/resolve",
             WebRole::kOffice,
             [](Context& ctx) { return Resolve(ctx, true); });
  router.Api("GET", std::string("/api/rows") + kRow, WebRole::kViewer,
             [](Context& ctx) { return History(ctx, true); });
}

}  // namespace kbo::server::console
