#ifndef KBO_SERVER_CONSOLE_CONSOLE_H_
#define KBO_SERVER_CONSOLE_CONSOLE_H_

// The central office's console (docs/console.md): web pages and a JSON API
// on `kbo-server serve`, behind sign-in. Free of HTTP types like the phone
// UI's API: server/http_api.cc turns an httplib request into a
// console::Request and the Reply back, so every route, the role matrix and
// CSRF are tested without a socket.
//
// Each area registers its routes on the Router (console/*.cc): a route
// names the least role that may use it; the Router checks the session,
// the role and (for every method but GET/HEAD) the CSRF token before the
// handler runs, so no handler can forget to.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "server/enrolment.h"
#include "server/server_store.h"
#include "shared/labels.h"
#include "shared/status.h"

namespace kbo::server::console {

// Web user roles, ordered: each may do what the ones before it may.
//   viewer: reads reports and data in its districts;
//   office: also resolves conflicts, edits and exports;
//   admin:  also manages users, devices and tokens.
enum class WebRole { kViewer = 1, kOffice = 2, kAdmin = 3 };
std::string_view WebRoleName(WebRole role);
// "viewer", "office", "admin"; kInvalidArgument otherwise.
Result<WebRole> ParseWebRole(std::string_view text);

struct WebUser {
  std::string id;     // uuid
  std::string login;
  WebRole role = WebRole::kViewer;
  Scope scope;        // the districts whose data the user sees
  std::string created_at;
  std::string disabled_at;  // empty unless disabled

  bool disabled() const { return !disabled_at.empty(); }
  // "user:LOGIN", as the audit log and conflict resolutions name people.
  std::string actor() const { return "user:" + login; }
};

struct Request {
  std::string method;  // "GET", "POST"
  std::string path;    // without the query
  std::multimap<std::string, std::string> query;
  // application/x-www-form-urlencoded fields of a POST (also multipart text
  // fields), decoded; repeated names keep every value.
  std::multimap<std::string, std::string> form;
  std::string content_type;
  std::string body;  // as sent (JSON for the API)
  std::map<std::string, std::string> cookies;
  std::string csrf_header;  // X-CSRF-Token, for API writes from scripts
  std::string remote_addr;
  bool tls = false;
  // The Host header as sent (unchecked; "" if none), and the address the
  // request came in on ("127.0.0.1:8787", "[::1]:8787"): pages that print
  // the server's own address (enrolment QR codes) use the host when it is
  // a plain host[:port], else the local address.
  std::string host;
  std::string local_address;
  // Whether this server serves the phone app at /app/ (serve --app): the
  // enrolment QR code opens it.
  bool app_installed = true;
  // Set by the Router: the route pattern's capture groups.
  std::vector<std::string> matches;

  // The first value of a query or form field; "" if absent.
  std::string Query(const std::string& name) const;
  std::string Form(const std::string& name) const;
};

struct Reply {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  // Extra headers (Location, Set-Cookie, Content-Disposition, ...).
  std::multimap<std::string, std::string> headers;
  // Work that needs no store: run by Console::Handle after it releases the
  // store's mutex, to fill this reply in (a photo's bytes read, a thumbnail
  // decoded: seconds for a hostile image, which must not hold up every
  // device's sync). The handler checks everything the store knows first.
  std::function<void(Reply&)> unlocked;

  static Reply Html(std::string body, int status = 200);
  static Reply Json(std::string body, int status = 200);
  // 303 See Other to `location`.
  static Reply Redirect(std::string location);
  // An error as the route's kind wants it: JSON {"error","message"} for the
  // API, a page with the message otherwise.
};

// One signed-in browser (table web_session).
struct Session {
  std::string token_hash;
  std::string csrf;
  WebUser user;
};

// What a handler gets: the store (its mutex held by the caller), the
// signed-in user, the chosen language, the request.
struct Context {
  ServerStore& store;
  const Session& session;
  Lang lang;
  const Request& req;

  const WebUser& user() const { return session.user; }
  // Appends to the audit log as this user, from this address.
  Status Audit(std::string_view action, std::string_view subject,
               std::string_view detail) const;
};

using Handler = std::function<Reply(Context&)>;

enum class RouteKind { kPage, kApi };

struct Route {
  std::string method;      // "GET" or "POST"
  std::string pattern;     // ECMAScript regex on the whole path
  WebRole least = WebRole::kViewer;
  RouteKind kind = RouteKind::kPage;
  Handler handler;
  std::regex re;
};

class Router {
 public:
  void Page(std::string method, std::string pattern, WebRole least,
            Handler handler);
  void Api(std::string method, std::string pattern, WebRole least,
           Handler handler);
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Each area's routes (server/console/<area>.cc). Console's constructor calls
// every one of them.
void RegisterHome(Router& router);       // home.cc: /, /audit, users
void RegisterReports(Router& router);    // reports.cc: /reports/...
void RegisterExports(Router& router);    // exports.cc: /exports/...
void RegisterConflicts(Router& router);  // conflicts.cc: /conflicts/..., history
void RegisterDevices(Router& router);    // devices.cc: /devices, /tokens
void RegisterData(Router& router);       // data.cc: /data/..., /blob/SHA
void RegisterQuality(Router& router);    // quality.cc: /quality, merge
void RegisterPhotos(Router& router);     // photos.cc: /photos, /thumb/SHA

// The page frame every console page uses: the header with the navigation
// (what the user's role may open), the language switch and sign-out (a POST
// with the CSRF token), then `body_html`. `title` is plain text (escaped
// here). Inline CSS only (no CDN), readable at 360 px and in print.
std::string Layout(const Context& ctx, std::string_view title,
                   std::string_view body_html);

// Escapes & < > " ' for HTML text and attributes.
std::string Escape(std::string_view text);
// A hidden CSRF field for a form: <input type=hidden name=csrf value=...>.
std::string CsrfField(const Context& ctx);
// Whether the request came to an /api/ route (JSON answers, no redirects).
bool IsApi(const Context& ctx);
// A refusal as the route's kind wants it: for the API the error body with
// the status's reason and fields, at its HTTP status (HttpStatusOfError);
// for a page, one titled `title` saying it in the page's language
// (ProblemText), at that status.
Reply Refusal(const Context& ctx, const Status& s, std::string_view title);
// A field of a POST: the form's, else (an /api/ route) the JSON body's
// string, or "1" for its `true`; "" if absent.
std::string PostField(const Context& ctx, const std::string& name);
// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view text);
// The page's URL with lang=... set (for links that keep the language).
std::string WithLang(const Context& ctx, std::string_view url);

// Answers console requests: /login, /logout, / and everything the areas
// register. Thread-safe: holds store.mutex() for the whole of each request
// but a reply's `unlocked` part.
class Console {
 public:
  explicit Console(ServerStore& store);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // True if `path` is the console's (not the sync protocol's /v1/... nor
  // the phone app's /app/...).
  static bool Owns(std::string_view path);
  Reply Handle(const Request& request);

  const Router& router() const { return router_; }

 private:
  Reply HandleLocked(const Request& request);
  ServerStore& store_;
  Router router_;
};

}  // namespace kbo::server::console

#endif  // KBO_SERVER_CONSOLE_CONSOLE_H_
