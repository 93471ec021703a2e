#include "server/console/console.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "server/console/users.h"
#include "server/reports.h"
#include "server/log.h"
#include "shared/encoding.h"
#include "shared/error_body.h"
#include "shared/labels.h"
#include "shared/secrets.h"
#include "shared/version.h"

namespace kbo::server::console {
namespace {

constexpr char kSessionCookie[] = "kbo_session";
constexpr char kLoginCookie[] = "kbo_login";  // double-submit for /login
constexpr char kLangCookie[] = "kbo_lang";

bool IsApi(std::string_view path) { return path.rfind("/api/", 0) == 0; }

std::string ErrorJson(std::string_view error, std::string message, int status) {
  return EncodeErrorBody(error, std::move(message), status);
}

std::string Cookie(std::string_view name, std::string_view value,
                   const Request& req, int64_t max_age_s) {
  std::string c = std::string(name) + "=" + std::string(value) +
                  "; Path=/; HttpOnly; SameSite=Strict";
  if (max_age_s >= 0) c += "; Max-Age=" + std::to_string(max_age_s);
  if (req.tls) c += "; Secure";
  return c;
}

// A local path to go back to after sign-in; "/" for anything else (an
// absolute or protocol-relative URL would be an open redirect).
std::string SafeNext(const std::string& next) {
  if (next.empty() || next[0] != '/' || next.rfind("//", 0) == 0 ||
      next.find('\\') != std::string::npos || next.size() > 1000) {
    return "/";
  }
  // No control character or space anywhere: a browser drops a tab or a
  // line break from a Location ("/\t/evil.example" is "//evil.example", a
  // page of another site); a page of this console never needs one.
  for (char c : next) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) return "/";
  }
  return next;
}

constexpr char kStyle[] = R"css(
:root{--ink:#1c2430;--muted:#5b6573;--line:#d8dde3;--brand:#7a3e12;--bg:#faf8f5;--ok:#236b2f;--warn:#9a5b00;--bad:#a4262c}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 "Noto Sans Thai","Loma","Garuda",system-ui,sans-serif;color:var(--ink);background:var(--bg)}
header{background:var(--brand);color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
header a,header button{color:#fff}
header .brand{font-weight:700;text-decoration:none;margin-right:auto}
nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem}
nav a{text-decoration:none;padding:.15rem 0}
nav a.here{border-bottom:2px solid #fff}
header form{display:inline;margin:0}
header button{background:none;border:1px solid #fff;border-radius:4px;padding:.1rem .5rem;font:inherit;cursor:pointer}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.2rem 0 1rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid var(--line);padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f0ece6}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
.muted{color:var(--muted)}
.flash{padding:.6rem .8rem;border-radius:4px;margin:0 0 1rem;background:#e8f3ea;border:1px solid #b9dbbf}
.flash.error{background:#fbeaea;border-color:#e6b7b9}
.disputed-mark{color:#a4262c;margin-left:.2rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:.75rem;margin-bottom:1rem}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem}
.card b{display:block;font-size:1.6rem}
form.stack{display:grid;grid-template-columns:minmax(0,1fr);gap:.6rem;max-width:28rem}
form.stack>*{min-width:0}
label{display:grid;gap:.15rem;overflow-wrap:anywhere}
input,select,textarea{font:inherit;padding:.35rem .45rem;border:1px solid #aab2bd;border-radius:4px;background:#fff;max-width:100%}
button.primary,a.button{background:var(--brand);color:#fff;border:0;border-radius:4px;padding:.45rem .9rem;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin-bottom:1rem}
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.85em;background:#eee}
.badge.open{background:#fde8c8}.badge.done{background:#dcefdc}
svg{max-width:100%;height:auto}
p,dd,code,figcaption{overflow-wrap:anywhere}
@media (max-width:40rem){main{padding:.6rem}table{font-size:.9rem}}
@media print{header,.noprint,form.filters{display:none}body{background:#fff}main{max-width:none;padding:0}a{color:inherit;text-decoration:none}}
)css";

// What a person typed into a form the server then refused comes back:
// each POST form's fields are kept in the tab's sessionStorage as it is sent
// (never a password, the CSRF token or a hidden field), with whose typing
// it is (<html data-user>), and a page of that same user that answers with
// an error puts them back into the same form -- each only where the page
// still offers what the person had in front of them (its default is
// unchanged), so a value someone else changed meanwhile is not covered over
// by the old one. A form is known by its action and the hidden fields that
// say which row or group, not those that say what the page showed
// (data-shown: a colleague's edit changes them, and that is just when the
// typing must come back). A session that ended under the form (the sign-in
// page says so: #session-ended): the sign-in page keeps them and sends the
// person back to the page they were on, which puts them back to be sent
// again -- if the same user signed in; anyone else gets nothing of them.
// Signing out, and any other page, forgets them.
constexpr char kKeepTyped[] = R"js(
(function () {
  var KEY = 'kbo-typed:', PAGE = 'kbo-typed-page', WHO = 'kbo-typed-user', RESUME = 'kbo-typed-resume';
  var th = document.documentElement.lang === 'th';
  var me = document.documentElement.getAttribute('data-user') || '';
  function fields(f) {
    return Array.prototype.filter.call(f.elements, function (e) {
      return e.name && e.name !== 'csrf' && e.type !== 'password' && e.type !== 'hidden' &&
        e.type !== 'file' && e.type !== 'submit' && e.type !== 'button';
    });
  }
  function keyOf(f) {
    var k = KEY + f.getAttribute('action');
    Array.prototype.forEach.call(f.elements, function (e) {
      if (e.type === 'hidden' && e.name && e.name !== 'csrf' && !e.hasAttribute('data-shown')) {
        k += '|' + e.name + '=' + e.value;
      }
    });
    return k;
  }
  function shown(e) {
    if (e.type === 'radio' || e.type === 'checkbox') return e.defaultChecked;
    if (e.tagName === 'SELECT') {
      var d = Array.prototype.filter.call(e.options, function (o) { return o.defaultSelected; })[0];
      return d ? d.value : (e.options[0] ? e.options[0].value : '');
    }
    return e.defaultValue;
  }
  function action(f) { return f ? f.getAttribute('action') : null; }
  function forget(keep) {
    try {
      for (var i = sessionStorage.length - 1; i >= 0; i--) {
        var k = sessionStorage.key(i);
        if (k && k.indexOf('kbo-typed') === 0 && !(keep && keep(k))) sessionStorage.removeItem(k);
      }
    } catch (x) {}
  }
  document.addEventListener('submit', function (ev) {
    var f = ev.target;
    if (!f || (f.method || '').toLowerCase() !== 'post') return;
    // Signing out: nothing of this person's typing stays in the tab.
    if (action(f) === '/logout') { forget(); return; }
    var kept = fields(f).map(function (e) {
      var box = e.type === 'radio' || e.type === 'checkbox';
      return { n: e.name, v: e.value, c: box ? e.checked : null, d: shown(e) };
    });
    if (!kept.length) return;
    try {
      sessionStorage.setItem(keyOf(f), JSON.stringify(kept));
      if (action(f) !== '/login') {
        // The page without a flash message it was showing.
        var q = new URLSearchParams(location.search);
        ['error', 'done', 'fm'].forEach(function (n) { q.delete(n); });
        var rest = q.toString();
        sessionStorage.setItem(PAGE, location.pathname + (rest ? '?' + rest : ''));
        sessionStorage.setItem(WHO, me);
      }
    } catch (x) {}
  }, true);
  function note(text) {
    var p = document.createElement('p');
    p.className = 'flash';
    p.setAttribute('role', 'status');
    p.id = 'typed-kept';
    p.textContent = text;
    var at = document.querySelector('main h1') || document.querySelector('main');
    if (at && at.parentNode) at.parentNode.insertBefore(p, at.nextSibling);
  }
  document.addEventListener('DOMContentLoaded', function () {
    var failed = !!document.querySelector('.flash.error');
    var login = document.querySelector('form[action="/login"]');
    var ended = !!document.getElementById('session-ended');
    var store = {}, others = 0, page = null, who = null, resume = false;
    try {
      page = sessionStorage.getItem(PAGE);
      who = sessionStorage.getItem(WHO);
      resume = sessionStorage.getItem(RESUME) === '1';
      for (var i = 0; i < sessionStorage.length; i++) {
        var k = sessionStorage.key(i);
        if (!k || k.indexOf(KEY) !== 0) continue;
        store[k] = sessionStorage.getItem(k);
        if (k.indexOf(KEY + '/login') !== 0) others++;
      }
    } catch (x) {}
    if (login) {
      if (others > 0 && (ended || resume)) {
        // Typing a session's end interrupted: kept until the page it was on
        // (through a mistyped password too).
        forget(function (k) { return k.indexOf(KEY + '/login') !== 0; });
        try {
          sessionStorage.setItem(RESUME, '1');
          var next = login.querySelector('input[name="next"]');
          if (next && (next.value === '' || next.value === '/') && page) next.value = page;
        } catch (x) {}
        note(th ? 'สิ่งที่คุณพิมพ์ไว้ยังอยู่ในหน้าต่างนี้ เข้าสู่ระบบด้วยชื่อผู้ใช้เดิมแล้วจะกลับไปที่หน้าเดิมพร้อมข้อความนั้น ให้ตรวจแล้วส่งอีกครั้ง'
                : 'What you typed is kept in this window: sign in again as the same user and it is back in its form, to check and send again.');
      } else {
        forget();
      }
      if (!failed) return;
    } else {
      forget();
      // Only this user's typing comes back (a shared computer: another
      // person signing in after gets nothing of it).
      if (who !== me) return;
      if (!failed && !resume) return;
    }
    var back = 0;
    Array.prototype.forEach.call(document.querySelectorAll('form[method="post"]'), function (f) {
      if (login && f !== login) return;
      var text = store[keyOf(f)];
      if (!text) return;
      var kept = [];
      try { kept = JSON.parse(text) || []; } catch (x) { return; }
      var els = fields(f), put = 0;
      kept.forEach(function (k) {
        els.forEach(function (e) {
          if (e.name !== k.n || e.disabled || shown(e) !== k.d) return;
          if (e.type === 'radio' || e.type === 'checkbox') {
            if (e.value === k.v) { e.checked = k.c; put++; }
          } else {
            e.value = k.v;
            if (k.v !== '') put++;
          }
        });
      });
      f.dataset.restored = '1';
      if (put > 0) back++;
    });
    if (resume && !login && !failed && back > 0) {
      note(th ? 'สิ่งที่คุณพิมพ์ไว้ก่อนเข้าสู่ระบบกลับมาแล้ว ยังไม่ได้ส่ง ตรวจแล้วกดส่งอีกครั้ง'
              : 'What you typed before signing in is back; it is not sent yet: check it and send it again.');
    }
  });
})();
)js";

// `user`: the signed-in user's id, on <html data-user> (kKeepTyped gives
// typing back only to the user who typed it); "" on the sign-in page.
std::string Page(Lang lang, std::string_view title, std::string_view header,
                 std::string_view body, std::string_view user = {}) {
  std::string out;
  out.reserve(body.size() + 4096);
  out += "<!doctype html><html lang=\"";
  out += LangCode(lang);
  out += "\"";
  if (!user.empty()) out += " data-user=\"" + Escape(user) + "\"";
  // An icon of nothing: browsers ask for /favicon.ico otherwise, a 404
  // logged as an error on every page.
  out += "><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width,initial-scale=1\"><link rel=\"icon\" "
         "href=\"data:,\"><title>";
  out += Escape(title);
  out += " · KBO Field</title><style>";
  out += kStyle;
  out += "</style><script>";
  out += kKeepTyped;
  out += "</script></head><body>";
  out += header;
  out += "<main>";
  out += body;
  out += "</main></body></html>";
  return out;
}

std::string T(Lang lang, const char* th, const char* en) {
  return lang == Lang::kTh ? th : en;
}

struct NavItem {
  const char* path;
  const char* th;
  const char* en;
};
constexpr NavItem kNav[] = {
    {"/", "ภาพรวม", "Overview"},
    {"/conflicts", "ข้อมูลขัดแย้ง", "Conflicts"},
    {"/reports", "รายงาน", "Reports"},
    {"/data", "ข้อมูล", "Data"},
    {"/photos", "ภาพถ่าย", "Photos"},
    {"/quality", "ต้องตรวจสอบ", "Needs attention"},
    {"/exports", "ส่งออก", "Exports"},
    {"/devices", "อุปกรณ์", "Devices"},
    {"/users", "ผู้ใช้", "Users"},
    {"/audit", "บันทึกการใช้งาน", "Audit log"},
};

const Route* FindRoute(const Router& router, std::string_view method,
                       const std::string& path, std::smatch* m,
                       bool* path_known) {
  *path_known = false;
  for (const Route& r : router.routes()) {
    if (!std::regex_match(path, *m, r.re)) continue;
    *path_known = true;
    if (r.method == method || (method == "HEAD" && r.method == "GET")) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace

std::string_view WebRoleName(WebRole role) {
  switch (role) {
    case WebRole::kViewer:
      return "viewer";
    case WebRole::kOffice:
      return "office";
    case WebRole::kAdmin:
      return "admin";
  }
  return "viewer";
}

Result<WebRole> ParseWebRole(std::string_view text) {
  if (text == "viewer") return WebRole::kViewer;
  if (text == "office") return WebRole::kOffice;
  if (text == "admin") return WebRole::kAdmin;
  return Status::InvalidArgument("a user's role is admin, office or viewer, got '" +
                                 std::string(text.substr(0, 40)) + "'")
      .WithReason("bad_role");
}

std::string Request::Query(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

std::string Request::Form(const std::string& name) const {
  auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

Reply Reply::Html(std::string body, int status) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Reply Reply::Json(std::string body, int status) {
  Reply r;
  r.status = status;
  r.content_type = "application/json; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Reply Reply::Redirect(std::string location) {
  Reply r;
  r.status = 303;
  r.headers.emplace("Location", std::move(location));
  return r;
}

Status Context::Audit(std::string_view action, std::string_view subject,
                      std::string_view detail) const {
  return AppendAudit(store, user().actor(), action, subject, detail,
                     req.remote_addr);
}

void Router::Page(std::string method, std::string pattern, WebRole least,
                  Handler handler) {
  Route r;
  r.method = std::move(method);
  r.re = std::regex(pattern, std::regex::ECMAScript);
  r.pattern = std::move(pattern);
  r.least = least;
  r.kind = RouteKind::kPage;
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::Api(std::string method, std::string pattern, WebRole least,
                 Handler handler) {
  Page(std::move(method), std::move(pattern), least, std::move(handler));
  routes_.back().kind = RouteKind::kApi;
}

std::string Escape(std::string_view text) {
  return HtmlEscape(std::string(text));
}

std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CsrfField(const Context& ctx) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" +
         Escape(ctx.session.csrf) + "\">";
}

bool IsApi(const Context& ctx) { return IsApi(ctx.req.path); }

std::string PostField(const Context& ctx, const std::string& name) {
  std::string v = ctx.req.Form(name);
  if (!v.empty() || !IsApi(ctx.req.path) || ctx.req.body.empty()) return v;
  const nlohmann::json body =
      nlohmann::json::parse(ctx.req.body, nullptr, false);
  if (!body.is_object() || !body.contains(name)) return v;
  const nlohmann::json& f = body[name];
  if (f.is_string()) return f.get<std::string>();
  if (f.is_boolean() && f.get<bool>()) return "1";
  return v;
}

std::string WithLang(const Context& ctx, std::string_view url) {
  const std::string u(url);
  return u + (u.find('?') == std::string::npos ? "?" : "&") +
         "lang=" + std::string(LangCode(ctx.lang));
}

// The routes the frame links to are the ones registered; Layout needs the
// router, so Console publishes it for the duration of a request.
namespace {
thread_local const Router* t_router = nullptr;
}

std::string Layout(const Context& ctx, std::string_view title,
                   std::string_view body_html) {
  const Lang lang = ctx.lang;
  std::string h = "<header><a class=\"brand\" href=\"/\">KBO Field</a><nav>";
  for (const NavItem& item : kNav) {
    bool allowed = false;
    if (t_router != nullptr) {
      for (const Route& r : t_router->routes()) {
        if (r.method == "GET" && r.kind == RouteKind::kPage &&
            r.pattern == item.path && ctx.user().role >= r.least) {
          allowed = true;
        }
      }
    }
    if (!allowed) continue;
    const std::string path = item.path;
    const bool here = ctx.req.path == path ||
                      (path != "/" && ctx.req.path.rfind(path + "/", 0) == 0);
    h += "<a href=\"" + path + "\"" + (here ? " class=\"here\"" : "") + ">" +
         T(lang, item.th, item.en) + "</a>";
  }
  h += "</nav>";
  // The language switch keeps the page (and its query).
  std::string other = ctx.req.path + "?";
  for (const auto& [k, v] : ctx.req.query) {
    if (k == "lang") continue;
    other += UrlEncode(k) + "=" + UrlEncode(v) + "&";
  }
  other += std::string("lang=") + (lang == Lang::kTh ? "en" : "th");
  h += "<a href=\"" + Escape(other) + "\">" +
       (lang == Lang::kTh ? "English" : "ภาษาไทย") + "</a>";
  h += "<span>" + Escape(ctx.user().login) + " (" +
       Escape(RoleLabel(lang, WebRoleName(ctx.user().role))) + ")</span>";
  h += "<form method=\"post\" action=\"/logout\">" + CsrfField(ctx) +
       "<button type=\"submit\">" + T(lang, "ออกจากระบบ", "Sign out") +
       "</button></form></header>";
  return Page(lang, title,
              h, "<h1>" + Escape(title) + "</h1>" + std::string(body_html),
              ctx.user().id);
}

Reply Refusal(const Context& ctx, const Status& s, std::string_view title) {
  const int http = HttpStatusOfError(s);
  if (IsApi(ctx)) return Reply::Json(EncodeErrorBody(s), http);
  return Reply::Html(Layout(ctx, title,
                            "<p class=\"flash error\" role=\"alert\">" +
                                Escape(ProblemText(ctx.lang, "", s)) + "</p>"),
                     http);
}

// ---- Console -------------------------------------------------------------

Console::Console(ServerStore& store) : store_(store) {
  RegisterHome(router_);
  RegisterConflicts(router_);
  RegisterReports(router_);
  RegisterExports(router_);
  RegisterDevices(router_);
  RegisterData(router_);
  RegisterQuality(router_);
  RegisterPhotos(router_);
}

// 503 for a database that does not answer (PostgreSQL restarting, a disk
// gone), or that is not this province's (ServerStore::CheckStillOurs): said
// as such, never as "sign in".
Reply DatabaseUnavailable(Lang lang, bool api, bool wrong_database) {
  const std::string said =
      wrong_database
          ? T(lang, "ฐานข้อมูลที่เซิร์ฟเวอร์นี้ใช้ไม่ใช่ของจังหวัดนี้ (ดูบันทึกของเซิร์ฟเวอร์) ไม่มีการอ่านหรือเขียนข้อมูลใดจนกว่าจะแก้",
              "The database this server uses is not this province's (see the server's log); nothing is read or written until it is put right.")
          : T(lang, "ฐานข้อมูลของเซิร์ฟเวอร์ไม่ตอบในขณะนี้ ไม่มีข้อมูลใดหาย โปรดลองอีกครั้งในอีกสักครู่",
              "The server's database is not answering just now; nothing is lost. Try again in a minute.");
  if (api) return Reply::Json(ErrorJson("unavailable", said, 503), 503);
  return Reply::Html(Page(lang, T(lang, "ยังใช้งานไม่ได้", "Not available"),
                          "<header><span class=\"brand\">KBO Field</span></header>",
                          "<p class=\"flash error\" role=\"alert\" id=\"db-unavailable\">" +
                              Escape(said) + "</p>"),
                     503);
}

Console::~Console() = default;

bool Console::Owns(std::string_view path) {
  // /v1/: the sync protocol; /app/: the phone app's files (server/app_files.h).
  return path.rfind("/v1/", 0) != 0 && path != "/v1" &&
         path.rfind("/app/", 0) != 0 && path != "/app";
}

Reply Console::Handle(const Request& request) {
  std::unique_lock<std::timed_mutex> lock(store_.mutex());
  t_router = &router_;
  Reply reply;
  try {
    // The database still this server's, not restored under it (another
    // province's was shown as this one's): 503, said, until it is.
    if (Status s = store_.CheckStillOurs(); !s.ok()) {
      Lang lang = Lang::kTh;
      if (auto l = ParseLang(request.Query("lang"))) {
        lang = *l;
      } else if (auto it = request.cookies.find(kLangCookie); it != request.cookies.end()) {
        if (auto c = ParseLang(it->second)) lang = *c;
      }
      return DatabaseUnavailable(lang, IsApi(request.path), s.reason() == "wrong_database");
    }
    reply = HandleLocked(request);
    if (reply.unlocked) {
      t_router = nullptr;
      lock.unlock();
      const std::function<void(Reply&)> rest = std::move(reply.unlocked);
      reply.unlocked = nullptr;
      rest(reply);
    }
  } catch (const std::exception& e) {
    LogLine(std::string("error console ") + request.path + ": " + e.what());
    reply = IsApi(request.path)
                ? Reply::Json(ErrorJson("internal",
                                        "the server could not "
                                        "complete this request",
                                        500),
                              500)
                : Reply::Html(
                      "<!doctype html><p>The server could not "
                      "complete this request; it has been logged.",
                      500);
  }
  t_router = nullptr;
  // Pages are private and change: never cached by a shared proxy, and
  // never framed by another site.
  reply.headers.emplace("Cache-Control", "no-store");
  reply.headers.emplace("X-Frame-Options", "DENY");
  reply.headers.emplace("X-Content-Type-Options", "nosniff");
  reply.headers.emplace("Referrer-Policy", "same-origin");
  reply.headers.emplace(
      "Content-Security-Policy",
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "
      "data:; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
      "form-action 'self'");
  return reply;
}

namespace {

// `ended`: the request that led here carried a session that has ended
// (60 minutes unused, signed out in another tab, the user disabled): said,
// so a person is not left wondering why the page asks again.
std::string LoginPage(Lang lang, const std::string& login_token,
                      const std::string& next, const std::string& login,
                      const std::string& error, bool ended = false) {
  std::string b;
  if (!error.empty()) b += "<p class=\"flash error\" role=\"alert\">" + Escape(error) + "</p>";
  if (ended && error.empty()) {
    b += "<p class=\"flash\" role=\"status\" id=\"session-ended\">" +
         T(lang, "การเข้าสู่ระบบครั้งก่อนสิ้นสุดแล้ว (ไม่ได้ใช้งานนานเกินไป ครบ 12 ชั่วโมง ออกจากระบบในหน้าต่างอื่น หรือรหัสผ่านถูกเปลี่ยน) โปรดเข้าสู่ระบบอีกครั้ง",
           "Your session has ended (unused too long, 12 hours old, signed out in another window, or the password changed); please sign in again.") +
         "</p>";
  }
  b += "<form class=\"stack\" method=\"post\" action=\"/login\">";
  b += "<input type=\"hidden\" name=\"login_token\" value=\"" +
       Escape(login_token) + "\">";
  b += "<input type=\"hidden\" name=\"next\" value=\"" + Escape(next) + "\">";
  b += "<input type=\"hidden\" name=\"lang\" value=\"" +
       std::string(LangCode(lang)) + "\">";
  b += "<label>" + T(lang, "ชื่อผู้ใช้", "Login") +
       "<input name=\"login\" autocomplete=\"username\" autocapitalize=\"none\" "
       "required value=\"" + Escape(login) + "\"></label>";
  b += "<label>" + T(lang, "รหัสผ่าน", "Password") +
       "<input name=\"password\" type=\"password\" "
       "autocomplete=\"current-password\" required></label>";
  b += "<button class=\"primary\" type=\"submit\">" +
       T(lang, "เข้าสู่ระบบ", "Sign in") + "</button></form>";
  b += std::string("<p class=\"muted\"><a href=\"/login?lang=") +
       (lang == Lang::kTh ? "en\">English" : "th\">ภาษาไทย") + "</a></p>";
  const std::string header =
      "<header><span class=\"brand\">KBO Field</span></header>";
  return Page(lang,
              T(lang, "เข้าสู่ระบบ", "Sign in"), header,
              "<h1>" + T(lang, "สำนักงานจังหวัด: เข้าสู่ระบบ",
                         "Central office: sign in") +
                  "</h1>" + b);
}

}  // namespace

namespace {

// The flash messages a page shows (?done=, ?error=) come only from this
// console's own redirects: each carries fm=, a MAC of both texts keyed by
// the session's CSRF token, and a page shows them only when it matches. A
// link from elsewhere (?error=Your session expired, sign in at evil...)
// cannot make the console say anything.
std::string FlashMac(const std::string& key, const std::string& done,
                     const std::string& error) {
  return KeyedHashHex(key, done + std::string(1, '\0') + error, 16);
}

// A redirect to this console with a flash message gets its fm=.
void SignFlash(const std::string& key, Reply* r) {
  if (r->status != 303) return;
  auto it = r->headers.find("Location");
  if (it == r->headers.end()) return;
  std::string& location = it->second;
  if (location.empty() || location[0] != '/') return;
  const size_t hash = location.find('#');
  const std::string fragment = hash == std::string::npos ? "" : location.substr(hash);
  std::string target = location.substr(0, hash);
  const size_t q = target.find('?');
  if (q == std::string::npos) return;
  std::string done, error;
  bool any = false;
  size_t at = q + 1;
  while (at <= target.size()) {
    size_t end = target.find('&', at);
    if (end == std::string::npos) end = target.size();
    const std::string pair = target.substr(at, end - at);
    const size_t eq = pair.find('=');
    const std::string name = pair.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1));
    if (name == "done" && done.empty()) done = value, any = true;
    if (name == "error" && error.empty()) error = value, any = true;
    at = end + 1;
  }
  if (!any) return;
  location = target + "&fm=" + FlashMac(key, done, error) + fragment;
}

}  // namespace

Reply Console::HandleLocked(const Request& req) {
  // The language: ?lang= (remembered in a cookie), else the cookie, else Thai.
  Lang lang = Lang::kTh;
  bool set_lang = false;
  std::string lang_param = req.Query("lang");
  if (lang_param.empty()) lang_param = req.Form("lang");
  if (auto l = ParseLang(lang_param)) {
    lang = *l;
    set_lang = true;
  } else if (auto it = req.cookies.find(kLangCookie); it != req.cookies.end()) {
    if (auto c = ParseLang(it->second)) lang = *c;
  }
  const auto finish = [&](Reply r) {
    if (set_lang) {
      r.headers.emplace("Set-Cookie",
                        std::string(kLangCookie) + "=" +
                            std::string(LangCode(lang)) +
                            "; Path=/; SameSite=Strict; Max-Age=31536000");
    }
    return r;
  };

  Users users(store_);
  const auto cookie_of = [&](const char* name) {
    auto it = req.cookies.find(name);
    return it == req.cookies.end() ? std::string() : it->second;
  };

  if (req.path == "/login") {
    if (req.method == "GET" || req.method == "HEAD") {
      if (users.SessionFor(cookie_of(kSessionCookie)).ok()) {
        return finish(Reply::Redirect(SafeNext(req.Query("next"))));
      }
      // A session cookie the server no longer knows: the session ended
      // (told by the browser's own cookie, which no link can set; a
      // sign-out clears it, so a fresh visit is not told anything).
      const bool ended = !cookie_of(kSessionCookie).empty();
      std::string token = cookie_of(kLoginCookie);
      Reply r;
      if (token.size() != 32) token = RandomHex(16);
      r = Reply::Html(LoginPage(lang, token, SafeNext(req.Query("next")), "",
                                "", ended));
      r.headers.emplace("Set-Cookie", Cookie(kLoginCookie, token, req, 3600));
      return finish(std::move(r));
    }
    if (req.method != "POST") {
      return finish(Reply::Html("method not allowed", 405));
    }
    const std::string token = cookie_of(kLoginCookie);
    const std::string next = SafeNext(req.Form("next"));
    const std::string login = req.Form("login");
    if (token.size() != 32 ||
        !ConstantTimeEqual(token, req.Form("login_token"))) {
      // No matching pre-session token: a form posted from another site, or
      // cookies off. Show a fresh form.
      const std::string fresh = RandomHex(16);
      Reply r = Reply::Html(
          LoginPage(lang, fresh, next, login,
                    T(lang,
                      "แบบฟอร์มหมดอายุหรือเบราว์เซอร์ไม่รับคุกกี้ "
                      "โปรดลองเข้าสู่ระบบอีกครั้ง",
                      "The form expired or the browser refused its cookie; "
                      "please sign in again.")),
          403);
      r.headers.emplace("Set-Cookie", Cookie(kLoginCookie, fresh, req, 3600));
      return finish(std::move(r));
    }
    Result<SignInResult> s =
        users.SignIn(login, req.Form("password"), req.remote_addr);
    if (!s.ok()) {
      const bool locked = s.status().code() == Code::kResourceExhausted;
      std::string message;
      if (locked) {
        const int64_t* minutes = s.status().IntegerField("minutes");
        const std::string n = std::to_string(minutes != nullptr ? *minutes : 5);
        message = lang == Lang::kTh
                      ? "ใส่รหัสผ่านผิดหลายครั้งเกินไป โปรดลองอีกครั้งใน " + n + " นาที"
                      : "Too many failed sign-ins; try again in " + n +
                            (n == "1" ? " minute." : " minutes.");
      } else if (s.status().code() == Code::kUnauthenticated) {
        message = T(lang, "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง",
                    "Wrong login or password.");
      } else {
        LogLine("error sign-in: " + s.status().ToString());
        message = T(lang, "เข้าสู่ระบบไม่ได้ในขณะนี้ โปรดลองใหม่",
                    "Signing in failed; please try again.");
      }
      Reply r = Reply::Html(LoginPage(lang, token, next, login, message),
                            locked ? 429 : 401);
      return finish(std::move(r));
    }
    Reply r = Reply::Redirect(next);
    r.headers.emplace("Set-Cookie",
                      Cookie(kSessionCookie, s->cookie, req, -1));
    r.headers.emplace("Set-Cookie", Cookie(kLoginCookie, "", req, 0));
    return finish(std::move(r));
  }

  const bool api = IsApi(req.path);
  Result<Session> session = users.SessionFor(cookie_of(kSessionCookie));
  if (!session.ok()) {
    if (!session.status().ok() &&
        session.status().code() != Code::kUnauthenticated) {
      LogLine("error console session: " + session.status().ToString());
      // The database not answering (PostgreSQL restarting, a disk gone) is
      // said as such, not as "sign in" (which then failed too).
      return finish(DatabaseUnavailable(lang, api, /*wrong_database=*/false));
    }
    if (api) {
      return finish(Reply::Json(
          ErrorJson("unauthenticated", "sign in first (POST /login)", 401),
          401));
    }
    if (req.method == "GET" || req.method == "HEAD") {
      std::string target = req.path;
      if (!req.query.empty()) {
        target += "?";
        bool first = true;
        for (const auto& [k, v] : req.query) {
          if (!first) target += "&";
          first = false;
          target += UrlEncode(k) + "=" + UrlEncode(v);
        }
      }
      return finish(Reply::Redirect(
          target == "/" ? "/login" : "/login?next=" + UrlEncode(target)));
    }
    // A form sent after its session ended: the sign-in page (which says the
    // session ended), then back to the page it came from with what was
    // typed (kKeepTyped).
    return finish(Reply::Redirect("/login"));
  }

  Context ctx{store_, *session, lang, req};
  const auto refuse = [&](int status, const char* error,
                          const std::string& message) {
    if (api) return Reply::Json(ErrorJson(error, message, status), status);
    return Reply::Html(
        Layout(ctx, T(lang, "ทำรายการนี้ไม่ได้", "Not possible"),
               "<p class=\"flash error\">" + Escape(message) + "</p>"),
        status);
  };
  // Every field a page or a form sends is text a person typed: bytes that
  // are not UTF-8 (a forged request; no browser sends them) are refused
  // here, before anything is read or written, so that no reason, label or
  // search echoes them into a page, the audit log or a JSON answer.
  for (const auto* fields : {&req.query, &req.form}) {
    for (const auto& [name, value] : *fields) {
      if (!IsValidUtf8(name) || !IsValidUtf8(value)) {
        return finish(refuse(
            400, "bad_request",
            T(lang, "คำขอมีข้อความที่ไม่ใช่ UTF-8 (ช่อง ",
              "The request holds text that is not UTF-8 (field ") +
                (IsValidUtf8(name) ? name : std::string("?")) +
                T(lang, ") ยังไม่ได้บันทึกอะไร", "); nothing was saved")));
      }
    }
  }
  const bool writes = req.method != "GET" && req.method != "HEAD";
  if (writes) {
    const std::string sent =
        !req.csrf_header.empty() ? req.csrf_header : req.Form("csrf");
    if (!ConstantTimeEqual(sent, session->csrf)) {
      return finish(refuse(
          403, "csrf",
          T(lang,
            "แบบฟอร์มนี้หมดอายุ (รหัสป้องกันการปลอมคำขอไม่มีหรือไม่ถูกต้อง) "
            "โปรดเปิดหน้าใหม่แล้วลองอีกครั้ง",
            "This form has expired (its anti-forgery token is missing or "
            "wrong); reload the page and try again.")));
    }
  }
  if (req.path == "/logout") {
    if (!writes) return finish(refuse(405, "method_not_allowed", "POST only"));
    Status s = users.SignOut(*session, req.remote_addr);
    if (!s.ok()) LogLine("error sign-out: " + s.ToString());
    Reply r = Reply::Redirect("/login");
    r.headers.emplace("Set-Cookie", Cookie(kSessionCookie, "", req, 0));
    return finish(std::move(r));
  }

  std::smatch m;
  bool known = false;
  const Route* route = FindRoute(router_, req.method, req.path, &m, &known);
  if (route == nullptr) {
    if (known) {
      return finish(refuse(405, "method_not_allowed",
                           "this address does not take that method"));
    }
    return finish(refuse(404, "not_found",
                         T(lang, "ไม่มีหน้านี้", "There is no such page.")));
  }
  if (session->user.role < route->least) {
    return finish(refuse(
        403, "permission_denied",
        T(lang, "บทบาทของท่านไม่มีสิทธิ์ทำรายการนี้ (ต้องเป็น ",
          "Your role may not do this (it needs ") +
            RoleLabel(lang, WebRoleName(route->least)) + ")"));
  }
  Request routed = req;
  for (size_t i = 1; i < m.size(); ++i) routed.matches.push_back(m[i].str());
  if (routed.query.count("done") != 0 || routed.query.count("error") != 0) {
    if (!ConstantTimeEqual(routed.Query("fm"),
                           FlashMac(session->csrf, routed.Query("done"),
                                    routed.Query("error")))) {
      routed.query.erase("done");
      routed.query.erase("error");
    }
  }
  Context routed_ctx{store_, *session, lang, routed};
  Reply reply = route->handler(routed_ctx);
  SignFlash(session->csrf, &reply);
  return finish(std::move(reply));
}

}  // namespace kbo::server::console
