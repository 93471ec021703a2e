// The console's home (an overview of what the user's districts hold), the
// audit log, and web users (admin).

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/console/console.h"
#include "server/console/users.h"
#include "server/reports.h"
#include "server/storage/overview.h"
#include "shared/encoding.h"
#include "shared/entities.h"

namespace kbo::server::console {
namespace {

using Json = nlohmann::ordered_json;

std::string T(Lang lang, const char* th, const char* en) {
  return lang == Lang::kTh ? th : en;
}

std::string JsonText(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Flash(const Context& ctx) {
  const std::string ok = ctx.req.Query("done");
  const std::string err = ctx.req.Query("error");
  std::string out;
  if (!ok.empty()) out += "<p class=\"flash\" role=\"status\">" + Escape(ok) + "</p>";
  if (!err.empty()) {
    out += "<p class=\"flash error\" role=\"alert\">" + Escape(err) + "</p>";
  }
  return out;
}

// A redirect back to `path` with a message for the person.
Reply Back(std::string_view path, std::string_view key,
           std::string_view message) {
  return Reply::Redirect(std::string(path) + "?" + std::string(key) + "=" +
                         UrlEncode(message));
}

// ---- Overview ---------------------------------------------------------------

struct Summary {
  struct Line {
    std::string entity;
    int64_t total = 0;
    std::map<std::string, int64_t> by_district;
  };
  std::vector<Line> lines;
  int64_t open_conflicts = 0;
  int64_t devices = 0;
  int64_t refused_rows = 0;
  int64_t photos_missing = 0;
};

Result<Summary> ReadSummary(Context& ctx) {
  KBO_ASSIGN_OR_RETURN(Overview o, ReadOverview(ctx.store.db()));
  const Scope& scope = ctx.user().scope;
  Summary s;
  for (const EntityCounts& e : o.entities) {
    Summary::Line line;
    line.entity = e.entity;
    for (const auto& [district, n] : e.by_district) {
      if (!scope.all && !scope.Contains(district)) continue;
      line.by_district[district] += n;
      line.total += n;
    }
    s.lines.push_back(std::move(line));
  }
  storage::OverviewStore store(ctx.store.db());
  KBO_ASSIGN_OR_RETURN(const auto conflicts, store.OpenConflictsByDistrict());
  for (const auto& [district, n] : conflicts) {
    if (scope.all || scope.Contains(district)) s.open_conflicts += n;
  }
  if (scope.all) {
    s.devices = o.devices - o.revoked_devices;
    s.photos_missing = o.photos_missing;
  } else {
    // A district office counts what is in its districts: devices that may
    // record there, photos of rows there.
    KBO_ASSIGN_OR_RETURN(const auto device_districts, store.ActiveDeviceDistricts());
    for (const std::string& text : device_districts) {
      Result<Scope> d = Scope::Parse(text);
      if (!d.ok()) continue;
      const bool overlaps =
          d->all || std::any_of(d->districts.begin(), d->districts.end(),
                                [&](const std::string& x) { return scope.Contains(x); });
      if (overlaps) ++s.devices;
    }
    KBO_ASSIGN_OR_RETURN(const auto missing, store.PhotosMissingByDistrict());
    for (const auto& [district, n] : missing) {
      if (scope.Contains(district)) s.photos_missing += n;
    }
  }
  KBO_ASSIGN_OR_RETURN(s.refused_rows, store.UnsettledRefusedRows());
  return s;
}

Reply Overview(Context& ctx) {
  const Lang lang = ctx.lang;
  Result<Summary> s = ReadSummary(ctx);
  if (!s.ok()) return Reply::Html("could not read the overview", 500);
  if (ctx.req.path.rfind("/api/", 0) == 0) {
    Json j = {{"open_conflicts", s->open_conflicts},
              {"devices", s->devices},
              {"refused_rows", s->refused_rows},
              {"photos_missing", s->photos_missing}};
    Json entities = Json::object();
    for (const auto& line : s->lines) {
      entities[line.entity] = {{"total", line.total},
                               {"by_district", line.by_district}};
    }
    j["entities"] = std::move(entities);
    return Reply::Json(JsonText(j));
  }
  std::string b = Flash(ctx);
  b += "<div class=\"cards\">";
  const auto card = [&](const std::string& label, int64_t n,
                        const std::string& href) {
    b += "<div class=\"card\">" + Escape(label) + "<b>" + std::to_string(n) +
         "</b>";
    if (!href.empty()) {
      b += "<a href=\"" + href + "\">" + T(lang, "ดู", "Open") + "</a>";
    }
    b += "</div>";
  };
  card(T(lang, "ข้อมูลขัดแย้งที่รอตัดสิน", "Open conflicts"),
       s->open_conflicts, "/conflicts");
  for (const auto& line : s->lines) {
    if (line.entity == "producer" || line.entity == "workshop" ||
        line.entity == "enrolment" || line.entity == "visit") {
      card(EntityLabel(lang, line.entity), line.total, "");
    }
  }
  card(T(lang, "อุปกรณ์ที่ใช้งาน", "Active devices"), s->devices,
       ctx.user().role >= WebRole::kAdmin ? "/devices" : "");
  card(T(lang, "รายการที่เซิร์ฟเวอร์ปฏิเสธ", "Rows the server refused"),
       s->refused_rows, "");
  card(T(lang, "ภาพที่ยังไม่ได้รับ", "Photos not yet received"),
       s->photos_missing, "");
  b += "</div>";

  // Counts by district, districts as names.
  std::map<std::string, bool> districts;
  for (const auto& line : s->lines) {
    for (const auto& [d, n] : line.by_district) districts[d] = true;
  }
  b += "<h2>" + T(lang, "จำนวนข้อมูลตามอำเภอ", "Records by district") +
       "</h2><div class=\"scroll\"><table><thead><tr><th>" +
       T(lang, "อำเภอ", "District") + "</th>";
  for (const auto& line : s->lines) {
    b += "<th class=\"num\">" + Escape(EntityLabel(lang, line.entity)) + "</th>";
  }
  b += "</tr></thead><tbody>";
  for (const auto& [d, unused] : districts) {
    (void)unused;
    b += "<tr><td>" +
         Escape(d.empty() ? std::string("-") : DistrictLabel(lang, d)) +
         "</td>";
    for (const auto& line : s->lines) {
      auto it = line.by_district.find(d);
      b += "<td class=\"num\">" +
           std::to_string(it == line.by_district.end() ? 0 : it->second) +
           "</td>";
    }
    b += "</tr>";
  }
  if (districts.empty()) {
    b += "<tr><td colspan=\"10\" class=\"muted\">" +
         T(lang, "ยังไม่มีข้อมูล", "Nothing recorded yet") + "</td></tr>";
  }
  b += "</tbody></table></div>";
  // Every row kept is counted here; the reports and exports leave out
  // those recorded under a deleted row (another device's, made offline),
  // so their numbers may be smaller: said, with where to see them.
  b += "<p class=\"muted\" id=\"counts-kept\">" +
       T(lang,
         "ตัวเลขนี้นับทุกรายการที่เก็บไว้ รวมถึงรายการที่บันทึกไว้ใต้รายการที่ถูกลบ"
         " ซึ่งรายงานและไฟล์ส่งออกไม่นับ จนกว่าจะกู้คืนรายการที่ถูกลบ ",
         "These count every row kept, rows recorded under a deleted row among "
         "them; the reports and exports leave those out until the deleted row "
         "is restored. ") +
       "<a href=\"" + Escape(WithLang(ctx, "/quality")) + "\">" +
       T(lang, "ดูรายการที่ต้องตรวจ", "See what needs attention") + "</a></p>";
  b += "<p class=\"muted\">" +
       T(lang, "อำเภอที่เห็นได้: ", "Districts you can see: ") +
       Escape(ctx.user().scope.all ? T(lang, "ทุกอำเภอ", "all")
                                   : ctx.user().scope.ToString()) +
       "</p>";
  return Reply::Html(Layout(ctx, T(lang, "ภาพรวม", "Overview"), b));
}

// ---- Audit log ----------------------------------------------------------------

constexpr size_t kAuditPage = 200;

Reply Audit(Context& ctx) {
  const Lang lang = ctx.lang;
  int64_t before = 0;
  const std::string b_param = ctx.req.Query("before");
  if (!b_param.empty()) {
    const std::optional<int64_t> b =
        b_param.size() > 18 ? std::nullopt : ParseInt64(b_param, 0);
    if (!b) return Reply::Html("before must be a whole number", 400);
    before = *b;
  }
  Result<std::vector<AuditEntry>> entries =
      ReadAudit(ctx.store, kAuditPage, before);
  if (!entries.ok()) return Reply::Html("could not read the audit log", 500);
  if (ctx.req.path.rfind("/api/", 0) == 0) {
    Json arr = Json::array();
    for (const AuditEntry& e : *entries) {
      arr.push_back({{"id", e.id},
                     {"at", e.at},
                     {"actor", e.actor},
                     {"action", e.action},
                     {"subject", e.subject},
                     {"detail", e.detail},
                     {"address", e.address}});
    }
    return Reply::Json(JsonText({{"entries", arr}}));
  }
  // An action by its words in the page's language, its code beside it
  // (what the JSON twin and scripts use).
  static const std::map<std::string, std::pair<const char*, const char*>> kActions = {
      {"sign_in", {"เข้าสู่ระบบ", "signed in"}},
      {"sign_in_failed", {"เข้าสู่ระบบไม่สำเร็จ", "sign-in failed"}},
      {"sign_in_locked", {"เข้าสู่ระบบไม่ได้: ถูกล็อกชั่วคราวเพราะใส่รหัสผิดหลายครั้ง",
                          "sign-in refused: locked for a while after failures"}},
      {"sign_out", {"ออกจากระบบ", "signed out"}},
      {"resolve", {"ตัดสินข้อมูลขัดแย้ง", "resolved a conflict"}},
      {"edit", {"แก้ไขรายการ", "edited a row"}},
      {"delete", {"ลบรายการ", "deleted a row"}},
      {"restore", {"กู้คืนรายการ", "restored a row"}},
      {"merge_producers", {"รวมผู้ผลิต", "merged producers"}},
      {"bundle_accept_revoked", {"รับไฟล์ชุดข้อมูลของอุปกรณ์ที่เพิกถอนแล้ว",
                                 "accepted a revoked device's bundle"}},
      {"target_set", {"ตั้งเป้าหมาย", "set the targets"}},
      {"min_days_set", {"ตั้งเกณฑ์วันของวุฒิบัตร", "set certificate days"}},
      {"export", {"ส่งออกข้อมูล", "exported"}},
      {"token_create", {"สร้างรหัสลงทะเบียนอุปกรณ์", "made an enrolment token"}},
      {"token_cancel", {"ยกเลิกรหัสลงทะเบียนอุปกรณ์", "cancelled an enrolment token"}},
      {"device_label", {"ตั้งชื่ออุปกรณ์", "labelled a device"}},
      {"device_revoke", {"เพิกถอนอุปกรณ์", "revoked a device"}},
      {"device_grant", {"เปลี่ยนสิทธิ์อุปกรณ์", "changed a device's rights"}},
      {"device_reenrol", {"ลงทะเบียนอุปกรณ์ใหม่", "re-enrolled a device"}},
      {"user_add", {"เพิ่มผู้ใช้", "added a user"}},
      {"user_disable", {"ระงับผู้ใช้", "disabled a user"}},
      {"user_enable", {"เปิดใช้ผู้ใช้อีกครั้ง", "enabled a user again"}},
      {"user_passwd", {"เปลี่ยนรหัสผ่านผู้ใช้", "changed a user's password"}},
      {"original_request", {"ขอภาพต้นฉบับ", "asked for an original photo"}},
      {"original_request_cancelled", {"ยกเลิกการขอภาพต้นฉบับ", "withdrew an original photo request"}},
  };
  const auto action_words = [&](const std::string& code) {
    auto it = kActions.find(code);
    if (it == kActions.end()) return Escape(code);
    return Escape(T(lang, it->second.first, it->second.second)) +
           "<br><span class=\"muted\">" + Escape(code) + "</span>";
  };
  std::string b = "<div class=\"scroll\"><table><thead><tr><th>" +
                  T(lang, "เมื่อ", "When") + "</th><th>" +
                  T(lang, "ผู้ทำ", "Who") + "</th><th>" +
                  T(lang, "การกระทำ", "Action") + "</th><th>" +
                  T(lang, "รายการ", "Subject") + "</th><th>" +
                  T(lang, "รายละเอียด", "Detail") + "</th><th>" +
                  T(lang, "ที่อยู่", "Address") + "</th></tr></thead><tbody>";
  for (const AuditEntry& e : *entries) {
    b += "<tr><td>" + Escape(FormatIsoBangkok(lang, e.at)) + "</td><td>" +
         Escape(e.actor) + "</td><td>" + action_words(e.action) + "</td><td>" +
         Escape(e.subject) + "</td><td>" + Escape(e.detail) + "</td><td>" +
         Escape(e.address) + "</td></tr>";
  }
  b += "</tbody></table></div>";
  if (entries->size() == kAuditPage) {
    b += "<p><a href=\"/audit?before=" + std::to_string(entries->back().id) +
         "\">" + T(lang, "เก่ากว่านี้", "Older") + "</a></p>";
  }
  return Reply::Html(Layout(ctx, T(lang, "บันทึกการใช้งาน", "Audit log"), b));
}

// ---- Users (admin) -------------------------------------------------------------

Json UserJson(const WebUser& u) {
  return {{"id", u.id},
          {"login", u.login},
          {"role", WebRoleName(u.role)},
          {"districts", u.scope.ToString()},
          {"created_at", u.created_at},
          {"disabled", u.disabled()}};
}

Reply UsersPage(Context& ctx) {
  const Lang lang = ctx.lang;
  Users users(ctx.store);
  Result<std::vector<WebUser>> list = users.List();
  if (!list.ok()) return Reply::Html("could not read users", 500);
  if (ctx.req.path.rfind("/api/", 0) == 0) {
    Json arr = Json::array();
    for (const WebUser& u : *list) arr.push_back(UserJson(u));
    return Reply::Json(JsonText({{"users", arr}}));
  }
  std::string b = Flash(ctx);
  b += "<div class=\"scroll\"><table><thead><tr><th>" +
       T(lang, "ชื่อผู้ใช้", "Login") + "</th><th>" + T(lang, "บทบาท", "Role") +
       "</th><th>" + T(lang, "อำเภอ", "Districts") + "</th><th>" +
       T(lang, "สร้างเมื่อ", "Created") + "</th><th></th></tr></thead><tbody>";
  for (const WebUser& u : *list) {
    // Districts by name (พร้าว, not 5011).
    std::string where = T(lang, "ทุกอำเภอ", "all");
    if (!u.scope.all) {
      where.clear();
      for (const std::string& code : u.scope.districts) {
        where += (where.empty() ? "" : ", ") + DistrictLabel(lang, code);
      }
    }
    b += "<tr><td>" + Escape(u.login) + "</td><td>" +
         Escape(RoleLabel(lang, WebRoleName(u.role))) + "</td><td>" +
         Escape(where) +
         "</td><td>" + Escape(FormatIsoBangkok(lang, u.created_at)) +
         "</td><td>";
    if (u.disabled()) {
      // A wrong click is undone here: the person keeps their login and
      // their history in the audit.
      b += "<span class=\"badge\">" + T(lang, "ระงับแล้ว", "disabled") +
           "</span> <form method=\"post\" action=\"/users/" + UrlEncode(u.login) +
           "/enable\">" + CsrfField(ctx) + "<button type=\"submit\">" +
           T(lang, "เปิดใช้อีกครั้ง", "Enable again") + "</button></form>";
    } else if (u.id != ctx.user().id) {
      // One click ends their sessions at once: asked first.
      const std::string ask = (lang == Lang::kTh ? "ระงับผู้ใช้ " + u.login +
                                                      " หรือไม่? ผู้ใช้จะออกจากระบบทันที"
                                                : "Disable " + u.login +
                                                      "? They are signed out at once.");
      b += "<form method=\"post\" action=\"/users/" + UrlEncode(u.login) +
           "/disable\" onsubmit=\"return confirm(this.dataset.ask)\" data-ask=\"" +
           Escape(ask) + "\">" + CsrfField(ctx) + "<button type=\"submit\">" +
           T(lang, "ระงับผู้ใช้", "Disable") + "</button></form>";
    }
    b += "</td></tr>";
  }
  b += "</tbody></table></div>";
  b += "<h2>" + T(lang, "เพิ่มผู้ใช้", "Add a user") + "</h2>";
  b += "<form class=\"stack\" method=\"post\" action=\"/users\">" +
       CsrfField(ctx);
  b += "<label>" + T(lang, "ชื่อผู้ใช้", "Login") +
       "<input name=\"login\" required autocapitalize=\"none\"></label>";
  b += "<label>" + T(lang, "บทบาท", "Role") + "<select name=\"role\">";
  for (WebRole r : {WebRole::kViewer, WebRole::kOffice, WebRole::kAdmin}) {
    b += "<option value=\"" + std::string(WebRoleName(r)) + "\">" +
         Escape(RoleLabel(lang, WebRoleName(r))) + "</option>";
  }
  b += "</select></label>";
  b += "<label>" + T(lang, "อำเภอ (รหัส คั่นด้วยจุลภาค หรือ all)",
                     "Districts (codes, comma-separated, or all)") +
       "<input name=\"districts\" value=\"all\" required></label>";
  b += "<label>" + T(lang, "รหัสผ่าน (อย่างน้อย 8 ตัว)",
                     "Password (at least 8 characters)") +
       "<input name=\"password\" type=\"password\" autocomplete=\"new-password\" "
       "required minlength=\"8\"></label>";
  b += "<button class=\"primary\" type=\"submit\">" +
       T(lang, "เพิ่มผู้ใช้", "Add user") + "</button></form>";
  return Reply::Html(Layout(ctx, T(lang, "ผู้ใช้", "Users"), b));
}

// Why a user could not be added, in Thai (the reasons of ValidateLogin,
// ValidatePassword, Scope::Parse and the users table); the English
// message for any other.
std::string UserProblemTh(const Status& s) {
  const std::string& r = s.reason();
  if (r == "bad_login") {
    return "ชื่อผู้ใช้ต้องยาว 2 ถึง 64 ตัว ใช้ได้เฉพาะ a-z ตัวเล็ก 0-9 และ . _ - @";
  }
  if (r == "password_short") return "รหัสผ่านต้องยาวอย่างน้อย 8 ตัวอักษร";
  if (r == "password_long") return "รหัสผ่านยาวเกินไป";
  if (r == "login_taken") return "มีผู้ใช้ชื่อนี้อยู่แล้ว";
  if (r == "bad_districts") {
    return "อำเภอต้องเป็น all หรือรหัสอำเภอคั่นด้วยจุลภาค เช่น 5011,5009";
  }
  if (r == "bad_district") {
    const std::string* code = s.TextField("code");
    return "'" + (code != nullptr ? *code : std::string()) +
           "' ไม่ใช่รหัสอำเภอของจังหวัดเชียงใหม่ (เช่น 5011 คืออำเภอพร้าว)";
  }
  if (r == "bad_role") return "บทบาทต้องเป็น admin, office หรือ viewer";
  return s.message();
}

Reply AddUser(Context& ctx) {
  const Lang lang = ctx.lang;
  Result<WebRole> role = ParseWebRole(ctx.req.Form("role"));
  Result<Scope> scope = Scope::Parse(ctx.req.Form("districts"));
  Status bad = !role.ok() ? role.status() : scope.status();
  if (bad.ok()) {
    Users users(ctx.store);
    Result<WebUser> u = users.Add(ctx.req.Form("login"), *role, *scope,
                                  ctx.req.Form("password"), ctx.user().actor());
    if (u.ok()) {
      return Back("/users", "done",
                  T(lang, "เพิ่มผู้ใช้แล้ว: ", "User added: ") + u->login);
    }
    bad = u.status();
  }
  if (bad.code() != Code::kInvalidArgument &&
      bad.code() != Code::kAlreadyExists) {
    return Reply::Html("could not add the user", 500);
  }
  return Back("/users", "error", lang == Lang::kTh ? UserProblemTh(bad) : bad.message());
}

Reply DisableUser(Context& ctx) {
  const Lang lang = ctx.lang;
  const std::string login = ctx.req.matches.at(0);
  if (login == ctx.user().login) {
    return Back("/users", "error",
                T(lang, "ระงับบัญชีของตนเองไม่ได้",
                  "You cannot disable yourself."));
  }
  Users users(ctx.store);
  Status s = users.Disable(login, ctx.user().actor());
  if (s.code() == Code::kNotFound) return Back("/users", "error", s.message());
  if (!s.ok()) return Reply::Html("could not disable the user", 500);
  return Back("/users", "done",
              T(lang, "ระงับผู้ใช้แล้ว: ", "User disabled: ") + login);
}

Reply EnableUser(Context& ctx) {
  const Lang lang = ctx.lang;
  const std::string login = ctx.req.matches.at(0);
  Users users(ctx.store);
  Status s = users.Enable(login, ctx.user().actor());
  if (s.code() == Code::kNotFound) return Back("/users", "error", s.message());
  if (!s.ok()) return Reply::Html("could not enable the user", 500);
  return Back("/users", "done",
              T(lang, "เปิดใช้ผู้ใช้อีกครั้งแล้ว (เข้าสู่ระบบด้วยรหัสผ่านเดิม): ",
                "User enabled again (they sign in with the password they had): ") +
                  login);
}

Reply Me(Context& ctx) {
  Json j = UserJson(ctx.user());
  j["csrf"] = ctx.session.csrf;
  j["lang"] = LangCode(ctx.lang);
  return Reply::Json(JsonText(j));
}

}  // namespace

void RegisterHome(Router& router) {
  router.Page("GET", "/", WebRole::kViewer, Overview);
  router.Api("GET", "/api/overview", WebRole::kViewer, Overview);
  router.Api("GET", "/api/me", WebRole::kViewer, Me);
  router.Page("GET", "/audit", WebRole::kAdmin, Audit);
  router.Api("GET", "/api/audit", WebRole::kAdmin, Audit);
  router.Page("GET", "/users", WebRole::kAdmin, UsersPage);
  router.Api("GET", "/api/users", WebRole::kAdmin, UsersPage);
  router.Page("POST", "/users", WebRole::kAdmin, AddUser);
  router.Page("POST", "/users/([a-z0-9._@-]{2,64})/disable", WebRole::kAdmin,
              DisableUser);
  router.Page("POST", "/users/([a-z0-9._@-]{2,64})/enable", WebRole::kAdmin,
              EnableUser);
}

}  // namespace kbo::server::console
