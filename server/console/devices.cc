// Devices and enrolment tokens in the console (admin only): every device
// with its label, role, districts, last sync, clock, refused rows and photos
// still to come, with revoke, grant and relabel; tokens made from a form and
// shown once as a QR code, as text and as the `kbo enroll` command; live
// tokens listed with cancel. Every write is in the audit log.
//
// Routes (each page has a JSON twin under /api/; writes need the CSRF token,
// checked by the Router):
//   GET  /devices                     POST /devices/ID/revoke  (confirm=1)
//   GET  /devices/ID/revoke (confirm) POST /devices/ID/grant   (districts)
//                                     POST /devices/ID/label   (label)
//   GET  /tokens                      POST /tokens             (creates)
//                                     POST /tokens/ID/cancel
// Ids in paths are matched loosely ([^/]+) and checked by the handlers, so a
// bad id is a 404 or a message, never a 5xx.

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "server/console/console.h"
#include "server/console/qr.h"
#include "server/console/users.h"
#include "server/log.h"
#include "server/storage/overview.h"
#include "shared/entities.h"
#include "shared/error_body.h"

namespace kbo::server::console {
namespace {

using Json = nlohmann::ordered_json;

std::string T(Lang lang, const char *th, const char *en) {
  return lang == Lang::kTh ? th : en;
}

std::string JsonText(const Json &j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}


std::string ErrorJson(const Status &s, std::string message) {
  return EncodeErrorBody(
      Status::FromCode(s.code(), std::move(message)).WithReason(s.reason()));
}

// A failed store call: the person's own mistakes are told as they are, the
// rest is logged and answered 500 without detail.
Reply Failure(const Context &ctx, const Status &s, std::string_view back) {
  const int status = HttpStatusFor(s.code());
  if (status == 500)
    LogLine("error console " + ctx.req.path + ": " + s.ToString());
  const std::string message =
      status == 500 ? T(ctx.lang, "เซิร์ฟเวอร์ทำรายการนี้ไม่สำเร็จ",
                        "The server could not complete this request.")
                    : s.message();
  if (IsApi(ctx)) return Reply::Json(ErrorJson(s, message), status);
  if (status == 500 || back.empty()) {
    return Reply::Html(Layout(ctx, T(ctx.lang, "ทำรายการนี้ไม่ได้", "Not possible"),
                              "<p class=\"flash error\" role=\"alert\">" +
                                  Escape(message) + "</p>"),
                       status);
  }
  return Reply::Redirect(std::string(back) + "?error=" + UrlEncode(message));
}

std::string Flash(const Context &ctx) {
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

// Audit failures do not undo what was done (it is committed); they are
// logged for the administrator.
void AuditOrLog(const Context &ctx, std::string_view action,
                std::string_view subject, std::string_view detail) {
  Status s = ctx.Audit(action, subject, detail);
  if (!s.ok())
    LogLine("error audit " + std::string(action) + ": " + s.ToString());
}

// The form's or the JSON body's field (API writes send JSON or a form).
std::string Field(const Context &ctx, const std::string &name) {
  if (ctx.req.content_type.rfind("application/json", 0) == 0) {
    const Json j = Json::parse(ctx.req.body, nullptr, false);
    if (j.is_object()) {
      auto it = j.find(name);
      if (it != j.end() && it->is_string())
        return it->get<std::string>();
      if (it != j.end() && it->is_array()) {
        std::string joined;
        for (const auto &v : *it) {
          if (!v.is_string())
            continue;
          if (!joined.empty())
            joined += ',';
          joined += v.get<std::string>();
        }
        return joined;
      }
    }
    return "";
  }
  return ctx.req.Form(name);
}

// Districts from a form: checkboxes named "district" (codes or "all"), or a
// text field "districts" ("5011,5009" or "all").
std::string DistrictsField(const Context &ctx) {
  std::string text;
  auto [it, end] = ctx.req.form.equal_range("district");
  for (; it != end; ++it) {
    if (it->second == "all")
      return "all";
    if (!text.empty())
      text += ',';
    text += it->second;
  }
  if (text.empty())
    text = Field(ctx, "districts");
  return text;
}

std::string DistrictNames(Lang lang, const Scope &scope) {
  if (scope.all)
    return T(lang, "ทุกอำเภอ", "All districts");
  std::string out;
  for (const std::string &d : scope.districts) {
    if (!out.empty())
      out += ", ";
    out += DistrictLabel(lang, d);
  }
  return out.empty() ? "-" : out;
}

Json DistrictsJson(const Scope &scope) {
  Json a = Json::array();
  if (scope.all) {
    a.push_back("all");
  } else {
    for (const std::string &d : scope.districts)
      a.push_back(d);
  }
  return a;
}

// "+90 s", "-12 min", "+3 d" for a clock offset.
std::string OffsetText(Lang lang, int64_t ms) {
  const int64_t abs_ms = ms < 0 ? -ms : ms;
  std::string text = ms < 0 ? "-" : "+";
  if (abs_ms < 120000) {
    text += std::to_string(abs_ms / 1000) + T(lang, " วินาที", " s");
  } else if (abs_ms < 48LL * 3600000) {
    text += std::to_string(abs_ms / 60000) + T(lang, " นาที", " min");
  } else {
    text += std::to_string(abs_ms / 86400000) + T(lang, " วัน", " d");
  }
  return text;
}

// ---- The server's own address, for the enrolment URL ------------------------

// A host[:port] a browser may have sent: a DNS name or IPv4 address, or an
// IPv6 address in brackets, and a port of 1 to 5 digits.
bool IsPlainHost(const std::string &host) {
  static const std::regex kHost(
      "([A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\\[[0-9A-Fa-f:.]{2,45}\\])"
      "(:[0-9]{1,5})?");
  return !host.empty() && host.size() <= 260 && std::regex_match(host, kHost);
}

// "https://kbo.example.org" or "http://192.168.1.20:8787": the scheme the
// browser used (TLS here or at the local proxy) and the Host it sent, if it
// is plain; otherwise the address the request came in on.
std::string BaseUrl(const Request &req) {
  std::string host;
  if (IsPlainHost(req.host)) {
    host = req.host;
  } else if (IsPlainHost(req.local_address)) {
    host = req.local_address;
  } else {
    host = "127.0.0.1:8787"; // serve's default --listen
  }
  return std::string(req.tls ? "https" : "http") + "://" + host;
}

// ---- Devices
// ------------------------------------------------------------------

// Per device: rows the server refused from it, and photo rows in its
// districts whose picture the server has not yet received whole.
using DeviceCounts = storage::DeviceBacklog;

Result<std::map<std::string, DeviceCounts>> ReadDeviceCounts(Db &db) {
  return storage::OverviewStore(db).DeviceBacklogs();
}

std::string ShortId(const Uuid &id) { return id.ToString().substr(0, 8); }

std::string DeviceName(Lang lang, const DeviceRecord &d) {
  return d.label.empty() ? T(lang, "(ไม่มีชื่อ) ", "(no label) ") + ShortId(d.id)
                         : d.label;
}

constexpr char kDeviceStyle[] = R"css(<style>
.devices{display:grid;gap:.75rem;grid-template-columns:repeat(auto-fill,minmax(19rem,1fr))}
.devices .card h2{margin:0 0 .4rem;font-size:1.05rem;overflow-wrap:anywhere}
.devices dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .6rem;margin:0 0 .5rem}
.devices dt{color:var(--muted)}.devices dd{margin:0;overflow-wrap:anywhere}
.devices .card.revoked{opacity:.7}
.badge.warn{background:#fde8c8;color:var(--warn)}.badge.bad{background:#fbeaea;color:var(--bad)}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
.actions form{display:flex;flex-wrap:wrap;gap:.35rem;align-items:end;margin:0}
.actions input{width:9rem}
.districts{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.1rem .6rem;border:1px solid var(--line);border-radius:4px;padding:.4rem .6rem}
.districts label{display:flex;gap:.35rem;align-items:center}
.token{font-family:ui-monospace,monospace;overflow-wrap:anywhere;word-break:break-all;background:#fff;border:1px solid var(--line);border-radius:4px;padding:.4rem .5rem;display:block;user-select:all}
.qr-box{background:#fff;display:inline-block;padding:.5rem;border:1px solid var(--line);border-radius:6px;max-width:100%}
.qr-box svg{display:block;width:360px;max-width:100%;height:auto}
@media print{.qr-box{border:0}}
</style>)css";

Json DeviceJson(const DeviceRecord &d, const DeviceCounts &c) {
  return {{"device_id", d.id.ToString()},
          {"label", d.label},
          {"role", d.role},
          {"districts", DistrictsJson(d.scope)},
          {"enrolled_at", d.enrolled_at},
          {"last_seen_at",
           d.last_seen_at.empty() ? Json(nullptr) : Json(d.last_seen_at)},
          {"clock_offset_ms",
           d.clock_offset_ms ? Json(*d.clock_offset_ms) : Json(nullptr)},
          {"clock_off", d.clock_off()},
          {"refused_rows", c.refused_rows},
          {"pending_photos", c.pending_photos},
          {"revoked", d.revoked()},
          {"revoked_at", d.revoked() ? Json(d.revoked_at) : Json(nullptr)}};
}

Reply DevicesPage(Context &ctx) {
  const Lang lang = ctx.lang;
  Enrolment enrolment(ctx.store);
  Result<std::vector<DeviceRecord>> devices = enrolment.ListDevices();
  if (!devices.ok())
    return Failure(ctx, devices.status(), "");
  Result<std::map<std::string, DeviceCounts>> counts =
      ReadDeviceCounts(ctx.store.db());
  if (!counts.ok())
    return Failure(ctx, counts.status(), "");
  const auto counts_of = [&](const DeviceRecord &d) {
    auto it = counts->find(d.id.ToString());
    return it == counts->end() ? DeviceCounts{} : it->second;
  };
  if (IsApi(ctx)) {
    Json arr = Json::array();
    for (const DeviceRecord &d : *devices)
      arr.push_back(DeviceJson(d, counts_of(d)));
    return Reply::Json(JsonText({{"devices", arr}}));
  }
  std::string b = kDeviceStyle;
  b += Flash(ctx);
  b += "<p><a class=\"button\" href=\"/tokens\">" +
       T(lang, "ลงทะเบียนอุปกรณ์ใหม่ (สร้างรหัส)",
         "Enrol a new device (make a token)") +
       "</a></p>";
  if (devices->empty()) {
    b += "<p class=\"muted\">" +
         T(lang, "ยังไม่มีอุปกรณ์ลงทะเบียน", "No device is enrolled yet.") + "</p>";
    return Reply::Html(Layout(ctx, T(lang, "อุปกรณ์", "Devices"), b));
  }
  // Active devices first, each group in enrolment order.
  std::vector<const DeviceRecord *> order;
  for (const DeviceRecord &d : *devices)
    order.push_back(&d);
  std::stable_sort(order.begin(), order.end(),
                   [](const DeviceRecord *a, const DeviceRecord *c) {
                     return !a->revoked() && c->revoked();
                   });
  b += "<div class=\"devices\">";
  for (const DeviceRecord *dp : order) {
    const DeviceRecord &d = *dp;
    const DeviceCounts c = counts_of(d);
    const std::string id = d.id.ToString();
    b += std::string("<section class=\"card") +
         (d.revoked() ? " revoked" : "") + "\" id=\"d-" + id + "\"><h2>" +
         Escape(DeviceName(lang, d)) + "</h2><dl>";
    const auto row = [&](const std::string &term, const std::string &html) {
      b += "<dt>" + Escape(term) + "</dt><dd>" + html + "</dd>";
    };
    row(T(lang, "บทบาท", "Role"), Escape(RoleLabel(lang, d.role)));
    row(T(lang, "อำเภอ", "Districts"), Escape(DistrictNames(lang, d.scope)));
    row(T(lang, "ลงทะเบียน", "Enrolled"),
        Escape(FormatIsoBangkok(lang, d.enrolled_at)));
    row(T(lang, "ซิงค์ล่าสุด", "Last sync"),
        d.last_seen_at.empty()
            ? "<span class=\"muted\">" + T(lang, "ยังไม่เคย", "never") + "</span>"
            : Escape(FormatIsoBangkok(lang, d.last_seen_at)));
    std::string clock = "-";
    if (d.clock_offset_ms) {
      clock = Escape(OffsetText(lang, *d.clock_offset_ms));
      if (d.clock_off()) {
        clock += " <span class=\"badge warn\">" +
                 T(lang, "นาฬิกาเครื่องคลาดเคลื่อน โปรดตั้งเวลา",
                   "clock is off: set the phone's time") +
                 "</span>";
      }
    }
    row(T(lang, "นาฬิกาเครื่อง", "Clock offset"), clock);
    row(T(lang, "รายการที่ถูกปฏิเสธ", "Refused rows"),
        c.refused_rows > 0 ? "<span class=\"badge warn\">" +
                                 std::to_string(c.refused_rows) + "</span>"
                           : "0");
    row(T(lang, "ภาพที่ยังไม่ได้รับ", "Photos pending"),
        std::to_string(c.pending_photos));
    row(T(lang, "สถานะ", "Status"),
        d.revoked()
            ? "<span class=\"badge bad\">" + T(lang, "เพิกถอนแล้ว ", "revoked ") +
                  Escape(FormatIsoBangkok(lang, d.revoked_at)) + "</span>"
            : "<span class=\"badge done\">" + T(lang, "ใช้งานได้", "active") +
                  "</span>");
    row(T(lang, "รหัสอุปกรณ์", "Device id"), "<code>" + Escape(id) + "</code>");
    b += "</dl>";
    if (!d.revoked()) {
      b += "<div class=\"actions noprint\">";
      b += "<form method=\"post\" action=\"/devices/" + id + "/grant\">" +
           CsrfField(ctx) + "<label>" +
           T(lang, "เพิ่มอำเภอ (รหัส หรือ all)", "Add districts (codes or all)") +
           "<input name=\"districts\" required placeholder=\"5011,5009\" "
           "inputmode=\"numeric\" pattern=\"all|[0-9, ]+\"></label>"
           "<button type=\"submit\">" +
           T(lang, "เพิ่มอำเภอ", "Grant") + "</button></form>";
      b += "<form method=\"post\" action=\"/devices/" + id + "/label\">" +
           CsrfField(ctx) + "<label>" + T(lang, "ชื่อเรียก", "Label") +
           "<input name=\"label\" maxlength=\"" + std::to_string(kMaxLabelBytes / 3) + "\" value=\"" +
           Escape(d.label) + "\"></label><button type=\"submit\">" +
           T(lang, "บันทึกชื่อ", "Save label") + "</button></form>";
      b += "<a class=\"button\" href=\"/devices/" + id + "/revoke\">" +
           T(lang, "เพิกถอน…", "Revoke…") + "</a>";
      b += "</div>";
    }
    b += "</section>";
  }
  b += "</div>";
  return Reply::Html(Layout(ctx, T(lang, "อุปกรณ์", "Devices"), b));
}

// The device a path names; kNotFound for anything else (a malformed id
// included: to the person it is just not a device).
Result<DeviceRecord> PathDevice(Context &ctx) {
  const std::string &text = ctx.req.matches.at(0);
  Result<Uuid> id = Uuid::Parse(text);
  if (!id.ok()) {
    return Status::NotFound("no device " + text.substr(0, 40) + " is enrolled");
  }
  Result<std::optional<DeviceRecord>> d = LoadDevice(ctx.store.db(), *id);
  if (!d.ok())
    return d.status();
  if (!d->has_value()) {
    return Status::NotFound("no device " + id->ToString() + " is enrolled");
  }
  return std::move(**d);
}

Reply RevokeConfirm(Context &ctx) {
  const Lang lang = ctx.lang;
  Result<DeviceRecord> d = PathDevice(ctx);
  if (!d.ok())
    return Failure(ctx, d.status(), "");
  const std::string id = d->id.ToString();
  std::string b = kDeviceStyle;
  if (d->revoked()) {
    b += "<p>" +
         T(lang, "อุปกรณ์นี้ถูกเพิกถอนแล้วเมื่อ ",
           "This device was already revoked on ") +
         Escape(FormatIsoBangkok(lang, d->revoked_at)) + ".</p>";
  } else {
    b += "<p>" +
         T(lang,
           "เมื่อเพิกถอนแล้ว อุปกรณ์นี้จะซิงค์ไม่ได้อีก: เซิร์ฟเวอร์ปฏิเสธทุกคำขอ"
           "ที่อุปกรณ์ลงชื่อ ข้อมูลที่ยังไม่ได้ส่งจะค้างอยู่ในเครื่อง "
           "ยกเลิกการเพิกถอนไม่ได้ (ลงทะเบียนใหม่ด้วยรหัสใหม่แทน)",
           "Once revoked, this device cannot sync again: the server refuses "
           "everything it signs, and whatever it has not sent stays on the "
           "phone. This cannot be undone (enrol it again with a new token "
           "instead).") +
         "</p><dl class=\"card\">";
    b += "<dt>" + T(lang, "อุปกรณ์", "Device") + "</dt><dd>" +
         Escape(DeviceName(lang, *d)) + "</dd><dt>" + T(lang, "บทบาท", "Role") +
         "</dt><dd>" + Escape(RoleLabel(lang, d->role)) + "</dd><dt>" +
         T(lang, "อำเภอ", "Districts") + "</dt><dd>" +
         Escape(DistrictNames(lang, d->scope)) + "</dd><dt>" +
         T(lang, "รหัสอุปกรณ์", "Device id") + "</dt><dd><code>" + id +
         "</code></dd></dl>";
    b += "<form class=\"stack\" method=\"post\" action=\"/devices/" + id +
         "/revoke\">" + CsrfField(ctx) +
         "<input type=\"hidden\" name=\"confirm\" value=\"1\">"
         "<button class=\"primary\" type=\"submit\">" +
         T(lang, "ยืนยันการเพิกถอน", "Yes, revoke this device") +
         "</button></form>";
  }
  b += "<p><a href=\"/devices\">" +
       T(lang, "กลับไปหน้าอุปกรณ์", "Back to devices") + "</a></p>";
  return Reply::Html(Layout(ctx, T(lang, "เพิกถอนอุปกรณ์", "Revoke a device"), b));
}

Reply Revoke(Context &ctx) {
  const Lang lang = ctx.lang;
  Result<DeviceRecord> d = PathDevice(ctx);
  if (!d.ok())
    return Failure(ctx, d.status(), "/devices");
  const std::string id = d->id.ToString();
  if (!IsApi(ctx) && ctx.req.Form("confirm") != "1") {
    return Reply::Redirect("/devices/" + id + "/revoke");
  }
  const bool already = d->revoked();
  Enrolment enrolment(ctx.store);
  if (Status s = enrolment.Revoke(id); !s.ok())
    return Failure(ctx, s, "/devices");
  if (!already)
    AuditOrLog(ctx, "device_revoke", id, d->label);
  if (IsApi(ctx)) {
    Result<DeviceRecord> now = PathDevice(ctx);
    if (!now.ok())
      return Failure(ctx, now.status(), "");
    return Reply::Json(JsonText(DeviceJson(*now, DeviceCounts{})));
  }
  return Reply::Redirect(
      "/devices?done=" +
      UrlEncode(T(lang, "เพิกถอนอุปกรณ์แล้ว: ", "Device revoked: ") +
                DeviceName(lang, *d)));
}

Reply Grant(Context &ctx) {
  const Lang lang = ctx.lang;
  Result<DeviceRecord> d = PathDevice(ctx);
  if (!d.ok())
    return Failure(ctx, d.status(), "/devices");
  const std::string id = d->id.ToString();
  const std::string districts = DistrictsField(ctx);
  if (districts.empty()) {
    return Failure(
        ctx,
        Status::InvalidArgument(T(lang, "โปรดระบุรหัสอำเภอที่จะเพิ่ม หรือ all",
                                  "Give the district codes to add, or all.")),
        "/devices");
  }
  Enrolment enrolment(ctx.store);
  Result<Scope> scope = enrolment.Grant(id, districts);
  if (!scope.ok())
    return Failure(ctx, scope.status(), "/devices");
  if (scope->ToString() != d->scope.ToString()) {
    AuditOrLog(ctx, "device_grant", id,
               "added " + districts + "; now " + scope->ToString());
  }
  if (IsApi(ctx)) {
    return Reply::Json(
        JsonText({{"device_id", id}, {"districts", DistrictsJson(*scope)}}));
  }
  return Reply::Redirect(
      "/devices?done=" +
      UrlEncode(DeviceName(lang, *d) +
                T(lang, ": อำเภอตอนนี้ ", ": districts now ") +
                DistrictNames(lang, *scope) +
                T(lang, " (ซิงค์ครั้งถัดไปจะได้ข้อมูลของอำเภอใหม่ทั้งหมด)",
                  " (its next sync brings the new districts' rows)")));
}

Reply Relabel(Context &ctx) {
  const Lang lang = ctx.lang;
  Result<DeviceRecord> d = PathDevice(ctx);
  if (!d.ok())
    return Failure(ctx, d.status(), "/devices");
  const std::string id = d->id.ToString();
  const std::string label = Field(ctx, "label");
  Enrolment enrolment(ctx.store);
  if (Status s = enrolment.SetLabel(id, label); !s.ok()) {
    return Failure(ctx, s, "/devices");
  }
  Result<DeviceRecord> now = PathDevice(ctx);
  if (!now.ok())
    return Failure(ctx, now.status(), "");
  if (now->label != d->label) {
    AuditOrLog(ctx, "device_label", id, d->label + " -> " + now->label);
  }
  if (IsApi(ctx))
    return Reply::Json(JsonText(DeviceJson(*now, DeviceCounts{})));
  return Reply::Redirect("/devices?done=" +
                         UrlEncode(T(lang, "บันทึกชื่อแล้ว: ", "Label saved: ") +
                                   DeviceName(lang, *now)));
}

// ---- Tokens
// -------------------------------------------------------------------

Json TokenJson(const TokenInfo &t) {
  return {{"id", t.id},
          {"role", t.role},
          {"districts", DistrictsJson(t.scope)},
          {"label", t.label},
          {"created_at", t.created_at},
          {"expires_at", t.expires_at}};
}

constexpr const char *kTtlChoices[][3] = {
    {"1h", "1 ชั่วโมง", "1 hour"}, {"24h", "1 วัน", "1 day"},
    {"3d", "3 วัน", "3 days"},    {"7d", "7 วัน", "7 days"},
    {"30d", "30 วัน", "30 days"},
};

std::string TokenForm(const Context &ctx) {
  const Lang lang = ctx.lang;
  std::string b = "<form class=\"stack\" method=\"post\" action=\"/tokens\">" +
                  CsrfField(ctx);
  b += "<label>" +
       T(lang, "ชื่อเรียก (ผู้ใช้และเครื่อง เช่น สมชาย · พร้าว · Samsung A14)",
         "Label (the person and the phone, e.g. Somchai · Phrao · Samsung "
         "A14)") +
       "<input name=\"label\" maxlength=\"" + std::to_string(kMaxLabelBytes / 3) + "\" required></label>";
  b += "<label>" + T(lang, "บทบาท", "Role") + "<select name=\"role\">";
  for (std::string_view role : kRoles) {
    b += "<option value=\"" + std::string(role) + "\">" +
         Escape(RoleLabel(lang, role)) + "</option>";
  }
  b += "</select></label>";
  b += "<fieldset class=\"districts\"><legend>" +
       T(lang, "อำเภอที่บันทึกได้", "Districts it may record") + "</legend>";
  b += "<label><input type=\"checkbox\" name=\"district\" value=\"all\">" +
       T(lang, "ทุกอำเภอ", "All districts") + "</label>";
  for (const District &d : Districts()) {
    b += "<label><input type=\"checkbox\" name=\"district\" value=\"" +
         std::string(d.code) + "\">" +
         Escape(lang == Lang::kTh ? d.name_th : d.name_en) + "</label>";
  }
  b += "</fieldset>";
  b += "<label>" + T(lang, "ใช้ได้ภายใน", "Valid for") + "<select name=\"ttl\">";
  for (const auto &c : kTtlChoices) {
    b += "<option value=\"" + std::string(c[0]) + "\"" +
         (std::string_view(c[0]) == "24h" ? " selected" : "") + ">" +
         (lang == Lang::kTh ? c[1] : c[2]) + "</option>";
  }
  b += "</select></label>";
  b += "<button class=\"primary\" type=\"submit\">" +
       T(lang, "สร้างรหัสลงทะเบียน", "Make the token") + "</button></form>";
  return b;
}

Reply TokensPage(Context &ctx) {
  const Lang lang = ctx.lang;
  Enrolment enrolment(ctx.store);
  Result<std::vector<TokenInfo>> tokens = enrolment.ListTokens();
  if (!tokens.ok())
    return Failure(ctx, tokens.status(), "");
  if (IsApi(ctx)) {
    Json arr = Json::array();
    for (const TokenInfo &t : *tokens)
      arr.push_back(TokenJson(t));
    return Reply::Json(JsonText({{"tokens", arr}}));
  }
  std::string b = kDeviceStyle;
  b += Flash(ctx);
  b += "<h2>" + T(lang, "รหัสที่ยังใช้ได้", "Tokens not yet used") + "</h2>";
  if (tokens->empty()) {
    b += "<p class=\"muted\">" +
         T(lang, "ไม่มีรหัสที่รอใช้", "No token is waiting to be used.") + "</p>";
  } else {
    b += "<div class=\"scroll\"><table><thead><tr><th>" +
         T(lang, "ชื่อเรียก", "Label") + "</th><th>" + T(lang, "บทบาท", "Role") +
         "</th><th>" + T(lang, "อำเภอ", "Districts") + "</th><th>" +
         T(lang, "หมดอายุ", "Expires") + "</th><th>" + T(lang, "รหัส", "Id") +
         "</th><th></th></tr></thead><tbody>";
    for (const TokenInfo &t : *tokens) {
      b += "<tr><td>" + Escape(t.label.empty() ? "-" : t.label) + "</td><td>" +
           Escape(RoleLabel(lang, t.role)) + "</td><td>" +
           Escape(DistrictNames(lang, t.scope)) + "</td><td>" +
           Escape(FormatIsoBangkok(lang, t.expires_at)) + "</td><td><code>" +
           Escape(t.id) +
           "</code></td><td><form method=\"post\" action=\"/tokens/" +
           Escape(t.id) + "/cancel\">" + CsrfField(ctx) +
           "<button type=\"submit\">" + T(lang, "ยกเลิกรหัส", "Cancel") +
           "</button></form></td></tr>";
    }
    b += "</tbody></table></div>";
  }
  b += "<h2>" + T(lang, "สร้างรหัสลงทะเบียนใหม่", "Make an enrolment token") +
       "</h2>";
  b += TokenForm(ctx);
  return Reply::Html(
      Layout(ctx, T(lang, "รหัสลงทะเบียนอุปกรณ์", "Enrolment tokens"), b));
}

Reply CreateToken(Context &ctx) {
  const Lang lang = ctx.lang;
  const std::string role = Field(ctx, "role");
  const std::string districts = DistrictsField(ctx);
  const std::string label = Field(ctx, "label");
  std::string ttl_text = Field(ctx, "ttl");
  if (ttl_text.empty())
    ttl_text = "24h";
  Status bad;
  if (role.empty()) {
    bad = Status::InvalidArgument(T(lang, "โปรดเลือกบทบาท", "Choose a role."));
  } else if (districts.empty()) {
    bad = Status::InvalidArgument(T(lang, "โปรดเลือกอำเภออย่างน้อยหนึ่งอำเภอ",
                                    "Choose at least one district."));
  }
  Result<int64_t> ttl = ParseTtl(ttl_text);
  if (bad.ok() && !ttl.ok())
    bad = ttl.status();
  Result<std::string> token = std::string();
  Enrolment enrolment(ctx.store);
  if (bad.ok()) {
    token = enrolment.CreateToken(role, districts, *ttl, label);
    if (!token.ok())
      bad = token.status();
  }
  if (!bad.ok()) {
    if (bad.code() != Code::kInvalidArgument)
      return Failure(ctx, bad, "");
    if (IsApi(ctx))
      return Failure(ctx, bad, "");
    std::string b = kDeviceStyle;
    b += "<p class=\"flash error\" role=\"alert\">" + Escape(bad.message()) +
         "</p>" + TokenForm(ctx);
    return Reply::Html(
        Layout(ctx, T(lang, "สร้างรหัสลงทะเบียนใหม่", "Make an enrolment token"),
               b),
        400);
  }
  const std::string id = TokenId(*token);
  const Result<Scope> scope = Scope::Parse(districts); // valid: it was made
  const std::string expires = FormatIsoUtc(ctx.store.NowMillis() + *ttl);
  AuditOrLog(ctx, "token_create", id,
             "role " + role + ", districts " +
                 (scope.ok() ? scope->ToString() : districts) + ", label '" +
                 label + "', expires " + expires);
  const std::string base = BaseUrl(ctx.req);
  const std::string url = base + "/app/#/enroll?token=" + *token;
  const std::string command =
      "kbo enroll --server " + base + " --token " + *token;
  const std::string svg = QrSvg(url);
  if (IsApi(ctx)) {
    return Reply::Json(
        JsonText(
            {{"id", id},
             {"token", *token},
             {"url", url},
             {"command", command},
             {"label", label},
             {"role", role},
             {"districts", scope.ok() ? DistrictsJson(*scope) : Json::array()},
             {"expires_at", expires},
             {"app_installed", ctx.req.app_installed},
             {"qr_svg", svg}}),
        201);
  }
  std::string b = kDeviceStyle;
  // The page answers a POST: reloaded, it made a second token, live and
  // never shown to anyone. Its address becomes the list's, so a reload
  // (or a phone waking the tab) shows the list instead.
  b += "<script>if (history.replaceState) history.replaceState(null, '', '/tokens');</script>";
  b += "<p class=\"flash\" role=\"status\"><b>" +
       T(lang,
         "รหัสนี้แสดงเพียงครั้งเดียว: เซิร์ฟเวอร์เก็บไว้เพียงลายนิ้วมือของรหัส "
         "จึงแสดงซ้ำไม่ได้ สแกนหรือพิมพ์หน้านี้ก่อนออกจากหน้า",
         "This token is shown only now: the server keeps only its fingerprint "
         "and cannot show it again. Scan it or print this page before you "
         "leave it.") +
       "</b></p>";
  b += "<dl class=\"card\">";
  b += "<dt>" + T(lang, "ชื่อเรียก", "Label") + "</dt><dd>" +
       Escape(label.empty() ? "-" : label) + "</dd>";
  b += "<dt>" + T(lang, "บทบาท", "Role") + "</dt><dd>" +
       Escape(RoleLabel(lang, role)) + "</dd>";
  b += "<dt>" + T(lang, "อำเภอ", "Districts") + "</dt><dd>" +
       Escape(scope.ok() ? DistrictNames(lang, *scope) : districts) + "</dd>";
  b += "<dt>" + T(lang, "ใช้ได้ถึง", "Valid until") + "</dt><dd>" +
       Escape(FormatIsoBangkok(lang, expires)) + "</dd>";
  b += "<dt>" + T(lang, "รหัสอ้างอิง", "Token id") + "</dt><dd><code>" + id +
       "</code></dd></dl>";
  b += "<h2>" + T(lang, "สแกนด้วยโทรศัพท์", "Scan with the phone") + "</h2>";
  // The code opens the phone app on this server: say when it cannot.
  if (!ctx.req.app_installed) {
    b += "<p class=\"flash error\">" +
         T(lang,
           "เซิร์ฟเวอร์นี้ยังไม่ได้ติดตั้งแอปบนโทรศัพท์ (kbo-server serve --app) "
           "ลิงก์นี้จะเปิดได้เมื่อติดตั้งแล้ว ระหว่างนี้ลงทะเบียนด้วยรหัสหรือคำสั่งด้านล่าง",
           "This server does not serve the phone app yet (kbo-server serve --app): "
           "the link opens once it does. Meanwhile enrol with the token or the "
           "command below.") +
         "</p>";
  } else if (!ctx.req.tls && base.find("://127.") == std::string::npos &&
             base.find("://localhost") == std::string::npos &&
             base.find("://[::1]") == std::string::npos) {
    b += "<p class=\"flash\">" +
         T(lang,
           "โทรศัพท์ติดตั้งแอปได้เฉพาะเมื่อเปิดผ่าน HTTPS "
           "(docs/operations.md: ใช้ --tls-cert หรือ nginx ด้านหน้า)",
           "A phone installs the app only over HTTPS (docs/operations.md: "
           "--tls-cert, or nginx in front).") +
         "</p>";
  }
  b += "<div class=\"qr-box\">" + svg + "</div>";
  b += "<p class=\"muted\">" + Escape(url) + "</p>";
  b += "<h2>" + T(lang, "หรือพิมพ์รหัส", "Or type the token") + "</h2>";
  b += "<code class=\"token\">" + Escape(*token) + "</code>";
  b += "<h2>" +
       T(lang, "หรือลงทะเบียนจากบรรทัดคำสั่ง", "Or enrol from a command line") +
       "</h2>";
  b += "<code class=\"token\">" + Escape(command) + "</code>";
  b += "<p class=\"noprint\"><a href=\"/tokens\">" +
       T(lang, "กลับไปหน้ารหัสลงทะเบียน", "Back to tokens") + "</a></p>";
  return Reply::Html(
      Layout(ctx, T(lang, "รหัสลงทะเบียนใหม่", "New enrolment token"), b), 201);
}

Reply CancelToken(Context &ctx) {
  const Lang lang = ctx.lang;
  Enrolment enrolment(ctx.store);
  Result<TokenInfo> t = enrolment.CancelToken(ctx.req.matches.at(0));
  if (!t.ok())
    return Failure(ctx, t.status(), "/tokens");
  if (t->already_cancelled_at.empty()) AuditOrLog(ctx, "token_cancel", t->id, t->label);
  if (IsApi(ctx))
    return Reply::Json(JsonText(TokenJson(*t)));
  return Reply::Redirect(
      "/tokens?done=" +
      UrlEncode(T(lang, "ยกเลิกรหัสแล้ว: ", "Token cancelled: ") +
                (t->label.empty() ? t->id : t->label)));
}

} // namespace

void RegisterDevices(Router &router) {
  router.Page("GET", "/devices", WebRole::kAdmin, DevicesPage);
  router.Api("GET", "/api/devices", WebRole::kAdmin, DevicesPage);
  router.Page("GET", "/devices/([^/]+)/revoke", WebRole::kAdmin, RevokeConfirm);
  router.Page("POST", "/devices/([^/]+)/revoke", WebRole::kAdmin, Revoke);
  router.Api("POST", "/api/devices/([^/]+)/revoke", WebRole::kAdmin, Revoke);
  router.Page("POST", "/devices/([^/]+)/grant", WebRole::kAdmin, Grant);
  router.Api("POST", "/api/devices/([^/]+)/grant", WebRole::kAdmin, Grant);
  router.Page("POST", "/devices/([^/]+)/label", WebRole::kAdmin, Relabel);
  router.Api("POST", "/api/devices/([^/]+)/label", WebRole::kAdmin, Relabel);
  router.Page("GET", "/tokens", WebRole::kAdmin, TokensPage);
  router.Api("GET", "/api/tokens", WebRole::kAdmin, TokensPage);
  router.Page("POST", "/tokens", WebRole::kAdmin, CreateToken);
  router.Api("POST", "/api/tokens", WebRole::kAdmin, CreateToken);
  router.Page("POST", "/tokens/([^/]+)/cancel", WebRole::kAdmin, CancelToken);
  router.Api("POST", "/api/tokens/([^/]+)/cancel", WebRole::kAdmin,
             CancelToken);
}

} // namespace kbo::server::console
