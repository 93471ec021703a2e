#include "server/console/console.h"

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "server/console/users.h"
#include "server/pull_service.h"
#include "server/push_service.h"
#include "shared/encoding.h"
#include "tests/server/console_client.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

using console::Console;
using console::Reply;
using console::Request;
using console::Users;
using console::WebRole;

constexpr char kPassword[] = "ผ้าทอพร้าว-2569";

// The console as a browser meets it (tests/server/console_client.h).
using Browser = ConsoleClient;

// A path the route's pattern matches: each capture group replaced by the
// first of a few samples ("zz", a uuid, a SHA-256, a district code) that
// makes the whole pattern match.
std::string SamplePath(const console::Route& r) {
  static const char* const kSamples[] = {
      "zz", "00000000-0000-0000-0000-000000000000",
      "0000000000000000000000000000000000000000000000000000000000000000",
      "5011", "producer"};
  std::vector<std::string> parts;  // literal, group, literal, group, ...
  const std::regex group("\\([^)]*\\)(\\{[0-9,]*\\}|[*+?])?");
  std::string rest = r.pattern;
  std::smatch m;
  std::vector<std::string> literals;
  while (std::regex_search(rest, m, group)) {
    literals.push_back(m.prefix().str());
    rest = m.suffix().str();
  }
  literals.push_back(rest);
  const size_t groups = literals.size() - 1;
  std::vector<size_t> pick(groups, 0);
  const size_t n = std::size(kSamples);
  for (;;) {
    std::string path = literals[0];
    for (size_t g = 0; g < groups; ++g) {
      path += kSamples[pick[g]];
      path += literals[g + 1];
    }
    if (std::regex_match(path, r.re)) return path;
    size_t g = 0;
    while (g < groups && ++pick[g] == n) pick[g++] = 0;
    if (g == groups) break;
  }
  FAIL("no sample path matches " + r.pattern);
  return "";
}

std::string Header(const Reply& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

struct ConsoleFixture {
  ServerFixture f;
  Console console{*f.store};

  void AddUser(const std::string& login, WebRole role,
               const std::string& districts = "all") {
    Users users(*f.store);
    auto scope = Scope::Parse(districts);
    REQUIRE(scope.ok());
    REQUIRE(users.Add(login, role, *scope, kPassword, "test").ok());
  }
};

TEST_CASE("console: another province's database behind this server (a restore that kept "
          "the connection) is 503, said, until it is this server's again",
          "[console][attack]") {
  ConsoleFixture cf;
  cf.AddUser("somying", WebRole::kOffice);
  Browser b{cf.console};
  REQUIRE(b.Get("/login").status == 200);
  Db& db = cf.f.store->db();
  const std::string mine = cf.f.store->server_id().ToString();
  Statement other(db, "UPDATE server_state SET server_id = ?1");
  other.Bind(1, Uuid::Random().ToString());
  REQUIRE(other.Run().ok());
  SetLogEnabled(false);
  Reply page = b.Get("/login", {{"lang", "en"}});
  CHECK(page.status == 503);
  CHECK_THAT(page.body, Catch::Contains("is not this province"));
  Reply api = b.Get("/api/overview");
  CHECK(api.status == 503);
  Statement back(db, "UPDATE server_state SET server_id = ?1");
  back.Bind(1, mine);
  REQUIRE(back.Run().ok());
  CHECK(b.Get("/login").status == 200);
}

TEST_CASE("console: nothing without a session (pages go to /login, the API gets 401)",
          "[console]") {
  ConsoleFixture cf;
  Browser b{cf.console};
  Reply page = b.Get("/");
  CHECK(page.status == 303);
  CHECK(Header(page, "Location") == "/login");
  Reply deep = b.Get("/conflicts", {{"district", "5011"}});
  CHECK(deep.status == 303);
  CHECK(Header(deep, "Location") == "/login?next=%2Fconflicts%3Fdistrict%3D5011");
  Reply api = b.Get("/api/overview");
  CHECK(api.status == 401);
  CHECK_THAT(api.body, Catch::Contains("\"error\":\"unauthenticated\""));
  // Every registered route, both kinds, refuses a stranger.
  for (const console::Route& r : cf.console.router().routes()) {
    INFO(r.method + " " + r.pattern);
    Request req;
    req.method = r.method;
    req.path = SamplePath(r);
    Reply reply = b.Send(req);
    CHECK((reply.status == 401 || reply.status == 303));
  }
  Reply login = b.Get("/login");
  CHECK(login.status == 200);
  CHECK_THAT(login.body, Catch::Contains("name=\"login\"") &&
                             Catch::Contains("name=\"password\"") &&
                             Catch::Contains("viewport"));
}

TEST_CASE("console: a district office's overview counts the devices and missing "
          "photos of its districts only",
          "[console]") {
  ConsoleFixture cf;
  TestDevice phrao1, phrao2, fang, office;
  cf.f.Enroll(phrao1, kPhrao);
  cf.f.Enroll(phrao2, kPhrao);
  cf.f.Enroll(fang, kFang);
  cf.f.Enroll(office, "all", "central_office");
  REQUIRE(Enrolment(*cf.f.store).Revoke(phrao2.id.ToString()).ok());
  // A Fang photo row whose file never came.
  PushService push(*cf.f.store);
  const Uuid group = Uuid::Random();
  REQUIRE(push.Push(cf.f.Record(fang.id),
                    fang.SealNext({Producer(group, fang.HlcAt(kT0), kFang),
                                   Row("photo", Uuid::Random(), fang.HlcAt(kT0),
                                       {{"subject_type", T("producer"), 0},
                                        {"subject_id", T(group.ToString()), 0},
                                        {"sha256", T(std::string(64, 'a')), 0},
                                        {"bytes", I(1000), 0},
                                        {"mime", T("image/jpeg"), 0},
                                        {"district_code", T(kFang), 0}})}))
              .ok());
  cf.AddUser("phrao_office", WebRole::kOffice, kPhrao);
  cf.AddUser("central", WebRole::kOffice, "all");
  Browser phrao{cf.console};
  REQUIRE(phrao.SignIn("phrao_office", kPassword).status == 303);
  auto mine = nlohmann::json::parse(phrao.Get("/api/overview").body);
  CHECK(mine["devices"] == 2);  // phrao1 and the central office's; not Fang's
  CHECK(mine["photos_missing"] == 0);
  // Its counts are of rows kept: said to differ from the reports (rows
  // under a deleted row), with the page that lists those.
  const Reply page = phrao.Get("/");
  CHECK_THAT(page.body, Catch::Contains("id=\"counts-kept\"") &&
                            Catch::Contains("รายงานและไฟล์ส่งออกไม่นับ") &&
                            Catch::Contains("href=\"/quality"));
  Browser central{cf.console};
  REQUIRE(central.SignIn("central", kPassword).status == 303);
  auto all = nlohmann::json::parse(central.Get("/api/overview").body);
  CHECK(all["devices"] == 3);
  CHECK(all["photos_missing"] == 1);
}

TEST_CASE("console: sign-in sets an HttpOnly SameSite=Strict session, sign-out ends it",
          "[console]") {
  ConsoleFixture cf;
  cf.AddUser("somchai", WebRole::kOffice);
  Browser b{cf.console};
  Reply wrong = b.SignIn("somchai", "not the password");
  CHECK(wrong.status == 401);
  CHECK(b.cookies.count("kbo_session") == 0);
  Reply nobody = b.SignIn("nobody", kPassword);
  CHECK(nobody.status == 401);
  // One answer for both: the page differs only in the login typed back.
  CHECK_THAT(wrong.body, Catch::Contains("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"));
  CHECK_THAT(nobody.body, Catch::Contains("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"));

  Reply ok = b.SignIn("somchai", kPassword, "/reports?x=1");
  REQUIRE(ok.status == 303);
  CHECK(Header(ok, "Location") == "/reports?x=1");
  std::string cookie;
  for (auto [it, end] = ok.headers.equal_range("Set-Cookie"); it != end; ++it) {
    if (it->second.rfind("kbo_session=", 0) == 0) cookie = it->second;
  }
  CHECK_THAT(cookie, Catch::Contains("HttpOnly") &&
                         Catch::Contains("SameSite=Strict") &&
                         !Catch::Contains("Secure"));
  Reply home = b.Get("/");
  CHECK(home.status == 200);
  CHECK_THAT(home.body, Catch::Contains("ภาพรวม") && Catch::Contains("somchai"));
  Reply en = b.Get("/", {{"lang", "en"}});
  CHECK_THAT(en.body, Catch::Contains("Overview"));
  CHECK(b.Get("/").body.find("Overview") != std::string::npos);  // remembered

  // Sign-out needs the CSRF token, then the session is gone for good.
  const std::string session = b.cookies["kbo_session"];
  CHECK(b.Post("/logout", {}).status == 403);
  Reply out = b.Post("/logout", {{"csrf", b.Csrf()}});
  CHECK(out.status == 303);
  CHECK(b.cookies.count("kbo_session") == 0);
  b.cookies["kbo_session"] = session;  // a copied cookie is worth nothing
  CHECK(b.Get("/api/me").status == 401);

  // Under TLS the cookie is Secure.
  Browser tls{cf.console};
  tls.tls = true;
  Reply secure = tls.SignIn("somchai", kPassword);
  bool saw_secure = false;
  for (auto [it, end] = secure.headers.equal_range("Set-Cookie"); it != end;
       ++it) {
    if (it->second.rfind("kbo_session=", 0) == 0) {
      saw_secure = it->second.find("; Secure") != std::string::npos;
    }
  }
  CHECK(saw_secure);
}

TEST_CASE("console: sign-in refuses a forged form and never redirects off-site",
          "[console]") {
  ConsoleFixture cf;
  cf.AddUser("somchai", WebRole::kViewer);
  Browser b{cf.console};
  // No pre-session token (a form posted from another site).
  Reply forged = b.Post("/login", {{"login", "somchai"},
                                   {"password", kPassword},
                                   {"login_token", std::string(32, 'a')}});
  CHECK(forged.status == 403);
  CHECK(b.cookies.count("kbo_session") == 0);
  // A browser drops a tab or line break from a Location: "/\t/evil" is
  // "//evil", another site (it was let through); every control character
  // and space is refused.
  for (const std::string& next : {std::string("//evil.example/x"), std::string("https://evil.example/"),
                                 std::string("/\\evil.example"), std::string("javascript:alert(1)"),
                                 std::string("/\t/evil.example/x"), std::string("/\x0b/evil.example"),
                                 std::string("/\r/evil.example"), std::string("/ /evil.example"),
                                 std::string("/\x7f/evil.example"), std::string("/\0/evil", 8)}) {
    INFO(next);
    Browser other{cf.console};
    Reply r = other.SignIn("somchai", kPassword, next);
    REQUIRE(r.status == 303);
    CHECK(Header(r, "Location") == "/");
  }
  // Signed in already, GET /login?next= redirects at once: the same check.
  Browser signed_in{cf.console};
  REQUIRE(signed_in.SignIn("somchai", kPassword).status == 303);
  Reply again = signed_in.Get("/login", {{"next", "/\t/evil.example/x"}});
  CHECK(again.status == 303);
  CHECK(Header(again, "Location") == "/");
  CHECK(Header(signed_in.Get("/login", {{"next", "/reports?district=5011"}}), "Location") ==
        "/reports?district=5011");
}

TEST_CASE("console: every state-changing request needs the session's CSRF token",
          "[console]") {
  ConsoleFixture cf;
  cf.AddUser("admin", WebRole::kAdmin);
  Browser b{cf.console};
  REQUIRE(b.SignIn("admin", kPassword).status == 303);
  const std::string csrf = b.Csrf();
  for (const console::Route& r : cf.console.router().routes()) {
    if (r.method == "GET") continue;
    INFO(r.method + " " + r.pattern);
    Request req;
    req.method = r.method;
    req.path = SamplePath(r);
    Reply none = b.Send(req);
    CHECK(none.status == 403);
    req.form.emplace("csrf", std::string(csrf.size(), '0'));
    CHECK(b.Send(req).status == 403);
  }
  // The right token goes through (a user added from the form).
  Reply added = b.Post("/users", {{"csrf", csrf},
                                  {"login", "malee"},
                                  {"role", "viewer"},
                                  {"districts", "5011"},
                                  {"password", kPassword}});
  CHECK(added.status == 303);
  CHECK_THAT(Header(added, "Location"), Catch::Contains("done="));
  CHECK(Users(*cf.f.store).Find("malee").ok());
  // The users page names her district and asks before disabling her.
  const std::string users_page = b.Get("/users").body;
  CHECK_THAT(users_page, Catch::Contains("พร้าว") && Catch::Contains("ระงับผู้ใช้ malee หรือไม่?"));
  // A script may send it as X-CSRF-Token instead.
  Request api;
  api.method = "POST";
  api.path = "/users/malee/disable";
  api.csrf_header = csrf;
  CHECK(b.Send(api).status == 303);
  CHECK(Users(*cf.f.store).Find("malee")->disabled());
  // A disable clicked by mistake is undone on the same page (nothing could
  // undo it: the person needed a new login), and she signs in as before.
  CHECK_THAT(b.Get("/users").body, Catch::Contains("/users/malee/enable"));
  Reply enabled = b.Post("/users/malee/enable", {{"csrf", csrf}});
  CHECK(enabled.status == 303);
  CHECK_FALSE(Users(*cf.f.store).Find("malee")->disabled());
  Browser malee{cf.console};
  CHECK(malee.SignIn("malee", kPassword).status == 303);
  CHECK(cf.f.Count("SELECT COUNT(*) FROM audit_log WHERE action = 'user_enable'") == 1);
}

TEST_CASE("console: the add-user form says in Thai why a user was not added, "
          "in English with lang=en, and adds nobody",
          "[console]") {
  ConsoleFixture cf;
  cf.AddUser("admin", WebRole::kAdmin);
  Browser b{cf.console};
  REQUIRE(b.SignIn("admin", kPassword).status == 303);
  const std::string csrf = b.Csrf();
  const auto add = [&](const std::string& login, const std::string& role,
                       const std::string& districts, const std::string& password,
                       const std::string& lang = "") {
    std::multimap<std::string, std::string> form{{"csrf", csrf},
                                            {"login", login},
                                            {"role", role},
                                            {"districts", districts},
                                            {"password", password}};
    if (!lang.empty()) form.emplace("lang", lang);
    Reply r = b.Post("/users", form);
    CHECK(r.status == 303);
    return Header(r, "Location");
  };
  const auto says = [](const std::string& location, const std::string& text) {
    return location.find(console::UrlEncode(text)) != std::string::npos;
  };
  CHECK(says(add("Malee!", "viewer", "5011", kPassword), "ชื่อผู้ใช้ต้องยาว 2 ถึง 64 ตัว"));
  CHECK(says(add("malee", "viewer", "5011", "short"), "รหัสผ่านต้องยาวอย่างน้อย 8 ตัวอักษร"));
  CHECK(says(add("malee", "viewer", "9999", kPassword),
             "'9999' ไม่ใช่รหัสอำเภอของจังหวัดเชียงใหม่"));
  CHECK(says(add("malee", "owner", "5011", kPassword), "บทบาทต้องเป็น admin, office หรือ viewer"));
  CHECK(says(add("admin", "viewer", "5011", kPassword), "มีผู้ใช้ชื่อนี้อยู่แล้ว"));
  CHECK(says(add("malee", "viewer", "5011", "short", "en"), "the password must be at least"));
  CHECK_FALSE(Users(*cf.f.store).Find("malee").ok());
}

TEST_CASE("console: the role matrix is enforced on every route", "[console]") {
  ConsoleFixture cf;
  cf.AddUser("viewer", WebRole::kViewer, "5011");
  cf.AddUser("office", WebRole::kOffice);
  cf.AddUser("admin", WebRole::kAdmin);
  for (WebRole role : {WebRole::kViewer, WebRole::kOffice, WebRole::kAdmin}) {
    Browser b{cf.console};
    const std::string login(console::WebRoleName(role));
    REQUIRE(b.SignIn(login, kPassword).status == 303);
    const std::string csrf = b.Csrf();
    for (const console::Route& r : cf.console.router().routes()) {
      INFO(login + ": " + r.method + " " + r.pattern);
      Request req;
      req.method = r.method;
      req.path = SamplePath(r);
      if (r.method != "GET") req.csrf_header = csrf;
      Reply reply = b.Send(req);
      if (role < r.least) {
        CHECK(reply.status == 403);
      } else {
        CHECK(reply.status != 403);
        CHECK(reply.status != 401);
        CHECK(reply.status < 500);
      }
    }
  }
}

TEST_CASE("console: sessions end when idle, when the user is disabled or gets a new password",
          "[console]") {
  ConsoleFixture cf;
  cf.AddUser("office", WebRole::kOffice);
  Browser b{cf.console};
  REQUIRE(b.SignIn("office", kPassword).status == 303);
  cf.f.wall.Advance(console::kSessionIdleMs - 1000);
  CHECK(b.Get("/").status == 200);  // in use: the idle timer restarts
  cf.f.wall.Advance(console::kSessionIdleMs - 1000);
  CHECK(b.Get("/").status == 200);
  cf.f.wall.Advance(console::kSessionIdleMs + 1);
  CHECK(b.Get("/").status == 303);

  REQUIRE(b.SignIn("office", kPassword).status == 303);
  Users users(*cf.f.store);
  REQUIRE(users.SetPassword("office", "a new password", "test").ok());
  CHECK(b.Get("/api/me").status == 401);
  CHECK(b.SignIn("office", kPassword).status == 401);
  REQUIRE(b.SignIn("office", "a new password").status == 303);
  REQUIRE(users.Disable("office", "test").ok());
  CHECK(b.Get("/api/me").status == 401);
  CHECK(b.SignIn("office", "a new password").status == 401);
}

TEST_CASE("console: a database that does not answer is said as such, not as 'sign in'",
          "[console]") {
  ConsoleFixture cf;
  cf.AddUser("office", WebRole::kOffice);
  Browser b{cf.console};
  REQUIRE(b.SignIn("office", kPassword).status == 303);
  REQUIRE(b.Get("/").status == 200);
  // The session can no longer be read (PostgreSQL restarting, a disk gone:
  // here its table is).
  REQUIRE(cf.f.store->db().Exec("ALTER TABLE web_session RENAME TO web_session_gone").ok());
  Reply page = b.Get("/");
  CHECK(page.status == 503);  // it was a redirect to /login, for good
  CHECK(page.body.find("id=\"db-unavailable\"") != std::string::npos);
  Reply api = b.Get("/api/me");
  CHECK(api.status == 503);
  CHECK(api.body.find("\"error\":\"unavailable\"") != std::string::npos);
  REQUIRE(cf.f.store->db().Exec("ALTER TABLE web_session_gone RENAME TO web_session").ok());
  CHECK(b.Get("/").status == 200);  // back: the same session
}

TEST_CASE("console: failed sign-ins are limited per login and per address",
          "[console]") {
  ConsoleFixture cf;
  cf.AddUser("office", WebRole::kOffice);
  Browser guesser{cf.console};
  for (int i = 0; i < console::kLoginFailures; ++i) {
    CHECK(guesser.SignIn("office", "guess " + std::to_string(i)).status == 401);
  }
  // The guessing address waits, even with the right password ...
  Reply locked = guesser.SignIn("office", kPassword);
  CHECK(locked.status == 429);
  CHECK_THAT(locked.body, Catch::Contains("5"));
  // ... but the office, elsewhere, still gets in.
  Browser office{cf.console};
  office.address = "192.0.2.77";
  CHECK(office.SignIn("office", kPassword).status == 303);
  // After the lock, the guesser may try again.
  cf.f.wall.Advance(console::kLockMs + 1);
  CHECK(guesser.SignIn("office", kPassword).status == 303);

  // One address guessing many logins is stopped too.
  Browser sprayer{cf.console};
  sprayer.address = "198.51.100.9";
  for (int i = 0; i < console::kAddressFailures; ++i) {
    CHECK(sprayer.SignIn("user" + std::to_string(i), "x").status == 401);
  }
  CHECK(sprayer.SignIn("office", kPassword).status == 429);

  auto audit = console::ReadAudit(*cf.f.store, 1000);
  REQUIRE(audit.ok());
  int failed = 0, signed_in = 0, refused = 0;
  for (const auto& e : *audit) {
    failed += e.action == "sign_in_failed";
    signed_in += e.action == "sign_in";
    refused += e.action == "sign_in_locked";
  }
  CHECK(failed == console::kLoginFailures + console::kAddressFailures);
  CHECK(signed_in == 2);
  CHECK(refused == 2);

  // The audit page names every one of those actions in words (a refused
  // sign-in was once shown as its bare code).
  cf.AddUser("admin", WebRole::kAdmin);
  Browser admin{cf.console};
  admin.address = "192.0.2.99";
  REQUIRE(admin.SignIn("admin", kPassword).status == 303);
  const std::string page = admin.Get("/audit", {{"lang", "th"}}).body;
  for (const char* action : {"sign_in_failed", "sign_in", "sign_in_locked"}) {
    INFO(action);
    CHECK_THAT(page, Catch::Contains(std::string("<br><span class=\"muted\">") +
                                     action + "</span>"));
  }
  CHECK_THAT(page, Catch::Contains("ถูกล็อก"));
}

TEST_CASE("console: users are validated and their passwords kept only as Argon2id",
          "[console]") {
  ConsoleFixture cf;
  Users users(*cf.f.store);
  auto all = Scope::Parse("all");
  REQUIRE(all.ok());
  CHECK(users.Add("Somchai", WebRole::kAdmin, *all, kPassword, "t")
            .status()
            .code() == Code::kInvalidArgument);
  CHECK(users.Add("a", WebRole::kAdmin, *all, kPassword, "t").status().code() ==
        Code::kInvalidArgument);
  CHECK(users.Add("somchai", WebRole::kAdmin, *all, "short", "t")
            .status()
            .code() == Code::kInvalidArgument);
  REQUIRE(users.Add("somchai", WebRole::kAdmin, *all, kPassword, "t").ok());
  CHECK(users.Add("somchai", WebRole::kViewer, *all, kPassword, "t")
            .status()
            .code() == Code::kAlreadyExists);
  Statement st(cf.f.store->db(), "SELECT password_hash FROM web_user");
  REQUIRE(st.Step());
  const std::string hash = st.ColumnText(0);
  CHECK(hash.rfind("$argon2id$", 0) == 0);
  CHECK(hash.find(kPassword) == std::string::npos);
}

}  // namespace
}  // namespace kbo::server::testing

namespace kbo::server::testing {
namespace {

TEST_CASE("console data: a visit is found by its purpose as the table shows it, Thai or "
          "English, not only by the code it is stored as",
          "[console]") {
  ServerFixture f;
  console::Console console(*f.store);
  TestDevice officer;
  f.Enroll(officer, "all", "central_office");
  const Uuid producer = Uuid::Random(), follow = Uuid::Random(), typed = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext(
                        {Producer(producer, officer.HlcAt(kT0), kPhrao),
                         Row("visit", follow, officer.HlcAt(kT0 + 1),
                             {{"producer_id", T(producer.ToString()), 0},
                              {"visited_at", T("2026-11-05T03:00:00Z"), 0},
                              {"purpose", T("follow_up"), 0},
                              {"district_code", T(kPhrao), 0}}),
                         Row("visit", typed, officer.HlcAt(kT0 + 2),
                             {{"producer_id", T(producer.ToString()), 0},
                              {"visited_at", T("2026-11-06T03:00:00Z"), 0},
                              {"purpose", T("ดูงานแสดงสินค้า"), 0},
                              {"district_code", T(kPhrao), 0}})}))
              .ok());
  Users users(*f.store);
  REQUIRE(users.Add("viewer", WebRole::kViewer, *Scope::Parse("all"), kPassword, "t").ok());
  Browser viewer(console);
  REQUIRE(viewer.SignIn("viewer", kPassword).status == 303);
  const auto found = [&](const std::string& q) {
    Reply r = viewer.Get("/api/data/visit", {{"q", q}});
    REQUIRE(r.status == 200);
    return std::make_pair(r.body.find(follow.ToString()) != std::string::npos,
                          r.body.find(typed.ToString()) != std::string::npos);
  };
  // "ติดตาม" found nothing: the table shows ติดตามผล, the row holds follow_up.
  CHECK(found("ติดตาม") == std::make_pair(true, false));
  CHECK(found("FOLLOW") == std::make_pair(true, false));
  CHECK(found("follow_up") == std::make_pair(true, false));
  CHECK(found("แสดงสินค้า") == std::make_pair(false, true));  // free text as typed
  CHECK(found("ไม่มีแบบนี้") == std::make_pair(false, false));
}

TEST_CASE("console data: rows by name in the user's districts, office edits go out as the server's signed change",
          "[console]") {
  ServerFixture f;
  console::Console console(*f.store);
  TestDevice officer;
  f.Enroll(officer, "all", "central_office");
  const Uuid phrao = Uuid::Random(), fang = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Producer(phrao, officer.HlcAt(kT0), kPhrao),
                                      Producer(fang, officer.HlcAt(kT0 + 1), kFang)}))
              .ok());
  Users users(*f.store);
  auto phrao_only = Scope::Parse(kPhrao);
  auto all = Scope::Parse("all");
  REQUIRE(users.Add("viewer", WebRole::kViewer, *phrao_only, kPassword, "t").ok());
  REQUIRE(users.Add("office", WebRole::kOffice, *all, kPassword, "t").ok());

  Browser viewer(console);
  REQUIRE(viewer.SignIn("viewer", kPassword).status == 303);
  Reply list = viewer.Get("/api/data/producer");
  REQUIRE(list.status == 200);
  CHECK_THAT(list.body, Catch::Contains(phrao.ToString()) &&
                            !Catch::Contains(fang.ToString()));
  // A page that is not one is refused, not read as the first.
  for (const char* page : {"-1", "99999999999999999999", "x", "1000000"}) {
    INFO(page);
    CHECK(viewer.Get("/api/data/producer", {{"page", page}}).status == 400);
  }
  CHECK(viewer.Get("/api/data/producer", {{"page", "0"}}).status == 200);
  CHECK(viewer.Get("/data/producer/" + fang.ToString()).status == 404);
  Reply page = viewer.Get("/data/producer/" + phrao.ToString());
  REQUIRE(page.status == 200);
  CHECK_THAT(page.body, Catch::Contains("พร้าว"));  // the district, by name
  CHECK(page.body.find("name=\"set_phone\"") == std::string::npos);  // viewers only read

  Browser office(console);
  REQUIRE(office.SignIn("office", kPassword).status == 303);
  const std::string csrf = office.Csrf();
  const std::string url = "/data/producer/" + phrao.ToString();
  // Numbers get a phone's number keys; text does not.
  const std::string form = office.Get(url).body;
  CHECK_THAT(form, Catch::Contains("name=\"set_members\" inputmode=\"numeric\""));
  CHECK_THAT(form, Catch::Contains("name=\"set_phone\" aria-label"));
  // A reason is required, and a bad value changes nothing.
  Reply no_reason = office.Post(url, {{"csrf", csrf}, {"set_phone", "0899999999"}});
  CHECK_THAT(Header(no_reason, "Location"), Catch::Contains("error="));
  Reply bad = office.Post(url, {{"csrf", csrf}, {"set_otop_stars", "9"}, {"reason", "x"}});
  CHECK_THAT(Header(bad, "Location"), Catch::Contains("error="));
  Reply edited = office.Post(url, {{"csrf", csrf},
                                   {"set_phone", "0899999999"},
                                   {"reason", "โทรยืนยันกับประธานกลุ่ม"}});
  REQUIRE(edited.status == 303);
  CHECK_THAT(Header(edited, "Location"), Catch::Contains("done="));
  Statement st(f.store->db(), "SELECT phone FROM producer WHERE id = ?1");
  st.Bind(1, std::string_view(phrao.ToString()));
  REQUIRE(st.Step());
  CHECK(st.ColumnText(0) == "0899999999");
  // The change is the server's own, signed and in the log, so devices pull it.
  Statement log(f.store->db(),
                "SELECT COUNT(*) FROM change_set_log WHERE device_id = ?1");
  log.Bind(1, std::string_view(f.store->server_id().ToString()));
  REQUIRE(log.Step());
  CHECK(log.ColumnInt(0) == 1);
  PullService pull(*f.store);
  f.PulledTo(officer.id, 2);
  auto page1 = pull.Pull(f.Record(officer.id), 2, 100);
  REQUIRE(page1.ok());
  CHECK_THAT(page1->body, Catch::Contains("0899999999"));
  auto audit = console::ReadAudit(*f.store, 10);
  REQUIRE(audit.ok());
  REQUIRE(!audit->empty());
  CHECK(audit->front().action == "edit");
  CHECK_THAT(audit->front().detail, Catch::Contains("โทรยืนยันกับประธานกลุ่ม"));

  // The page carries what it showed; a field left as shown is not written,
  // even when a device changed it since the page opened.
  Reply opened = office.Get(url);
  REQUIRE(opened.status == 200);
  CHECK_THAT(opened.body, Catch::Contains("name=\"was_phone\" value=\"0899999999\""));
  // The officer pulled the office's edit, then changed the phone again.
  Statement high(f.store->db(), "SELECT MAX(first_server_seq) FROM change_set_log");
  REQUIRE(high.Step());
  const auto pulled = static_cast<uint64_t>(high.ColumnInt(0));
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Row("producer", phrao, officer.HlcAt(kT0 + 5),
                                          {{"phone", T("0811111111"), pulled}})}))
              .ok());
  const auto phone_now = [&] {
    Statement q(f.store->db(), "SELECT phone, name FROM producer WHERE id = ?1");
    q.Bind(1, std::string_view(phrao.ToString()));
    REQUIRE(q.Step());
    return q.ColumnText(0) + "|" + q.ColumnText(1);
  };
  const std::string before = phone_now();
  REQUIRE(before.rfind("0811111111|", 0) == 0);
  Reply renamed = office.Post(url, {{"csrf", csrf},
                                    {"set_phone", "0899999999"},
                                    {"was_phone", "0899999999"},
                                    {"set_name", "กลุ่มทอผ้า (วิสาหกิจชุมชน)"},
                                    {"was_name", before.substr(before.find('|') + 1)},
                                    {"reason", "ชื่อตามทะเบียน"}});
  CHECK_THAT(Header(renamed, "Location"), Catch::Contains("done="));
  CHECK(phone_now() == "0811111111|กลุ่มทอผ้า (วิสาหกิจชุมชน)");
  // Changing a value someone changed since the page showed it is refused,
  // and nothing of the form is written.
  Reply stale = office.Post(url, {{"csrf", csrf},
                                  {"set_phone", "0822222222"},
                                  {"was_phone", "0899999999"},
                                  {"set_name", "ชื่ออื่น"},
                                  {"was_name", "กลุ่มทอผ้า (วิสาหกิจชุมชน)"},
                                  {"reason", "x"}});
  CHECK_THAT(Header(stale, "Location"), Catch::Contains("error="));
  CHECK_THAT(httplib::detail::decode_url(Header(stale, "Location"), true),
             Catch::Contains("0811111111"));
  CHECK(phone_now() == "0811111111|กลุ่มทอผ้า (วิสาหกิจชุมชน)");

  // A product with a two-line description and no category: the page shows
  // the description in a box that keeps lines, and "none" as a category;
  // the form as a browser sends it back (line breaks as CRLF, the empty
  // choice) with only the name changed writes only the name.
  const Uuid product = Uuid::Random();
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Row("product", product, officer.HlcAt(kT0 + 6),
                                          {{"producer_id", T(phrao.ToString()), 0},
                                           {"name", T("ผ้าฝ้าย"), 0},
                                           {"description", T("บรรทัดแรก\nบรรทัดสอง"), 0},
                                           {"district_code", T(kPhrao), 0}})}))
              .ok());
  const std::string product_url = "/data/product/" + product.ToString();
  Reply product_page = office.Get(product_url);
  REQUIRE(product_page.status == 200);
  CHECK_THAT(product_page.body,
             Catch::Contains("<textarea name=\"set_description\"") &&
                 Catch::Contains("บรรทัดแรก\nบรรทัดสอง</textarea>") &&
                 Catch::Contains("<option value=\"\" selected>"));
  Reply renamed_product =
      office.Post(product_url, {{"csrf", csrf},
                                {"set_name", "ผ้าฝ้ายทอมือ"},
                                {"was_name", "ผ้าฝ้าย"},
                                {"set_description", "บรรทัดแรก\r\nบรรทัดสอง"},
                                {"was_description", "บรรทัดแรก\r\nบรรทัดสอง"},
                                {"set_category", ""},
                                {"was_category", ""},
                                {"reason", "ชื่อเต็ม"}});
  CHECK_THAT(Header(renamed_product, "Location"), Catch::Contains("done="));
  Statement product_now(f.store->db(),
                        "SELECT name, description, category FROM product WHERE id = ?1");
  product_now.Bind(1, std::string_view(product.ToString()));
  REQUIRE(product_now.Step());
  CHECK(product_now.ColumnText(0) == "ผ้าฝ้ายทอมือ");
  CHECK(product_now.ColumnText(1) == "บรรทัดแรก\nบรรทัดสอง");
  CHECK(product_now.IsNull(2));

  // A photo's file facts are the system's: not offered, and refused if sent.
  const Uuid photo = Uuid::Random();
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Row("photo", photo, officer.HlcAt(kT0 + 7),
                                          {{"subject_type", T("product"), 0},
                                           {"subject_id", T(product.ToString()), 0},
                                           {"sha256", T(std::string(64, 'a')), 0},
                                           {"bytes", I(1000), 0},
                                           {"mime", T("image/jpeg"), 0},
                                           {"width", I(1600), 0},
                                           {"height", I(1200), 0},
                                           {"district_code", T(kPhrao), 0}})}))
              .ok());
  const std::string photo_url = "/data/photo/" + photo.ToString();
  Reply photo_page = office.Get(photo_url);
  REQUIRE(photo_page.status == 200);
  CHECK_THAT(photo_page.body, Catch::Contains("name=\"set_caption\""));
  for (const char* fact : {"sha256", "bytes", "mime", "width", "height"}) {
    CAPTURE(fact);
    CHECK_THAT(photo_page.body, !Catch::Contains("name=\"set_" + std::string(fact) + "\""));
  }
  Reply resized = office.Post(photo_url, {{"csrf", csrf},
                                          {"set_width", "99999"},
                                          {"was_width", "1600"},
                                          {"reason", "x"}});
  CHECK_THAT(Header(resized, "Location"), Catch::Contains("error="));
  Statement photo_now(f.store->db(), "SELECT width FROM photo WHERE id = ?1");
  photo_now.Bind(1, std::string_view(photo.ToString()));
  REQUIRE(photo_now.Step());
  CHECK(photo_now.ColumnInt(0) == 1600);
}

TEST_CASE("console data: a visit's time is shown and typed in Bangkok time and kept "
          "as UTC, and a row with long Thai notes is edited by a multipart form",
          "[console]") {
  ServerFixture f;
  console::Console console(*f.store);
  TestDevice officer;
  f.Enroll(officer, "all", "field_officer");
  const Uuid producer = Uuid::Random(), visit = Uuid::Random();
  std::string notes;
  for (int i = 0; i < 700; ++i) notes += "ก";  // 2,100 bytes, 6,300 URL-encoded
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Producer(producer, officer.HlcAt(kT0), kPhrao),
                                      Row("visit", visit, officer.HlcAt(kT0),
                                          {{"producer_id", T(producer.ToString()), 0},
                                           {"visited_at", T("2026-09-01T03:00:00Z"), 0},
                                           {"purpose", T("follow_up"), 0},
                                           {"notes", T(notes), 0},
                                           {"district_code", T(kPhrao), 0}})}))
              .ok());
  Users users(*f.store);
  auto all = Scope::Parse("all");
  REQUIRE(users.Add("office", WebRole::kOffice, *all, kPassword, "t").ok());
  Browser office(console);
  REQUIRE(office.SignIn("office", kPassword).status == 303);
  const std::string csrf = office.Csrf();
  const std::string url = "/data/visit/" + visit.ToString();
  Reply page = office.Get(url);
  REQUIRE(page.status == 200);
  // 03:00 UTC is 10:00 in Chiang Mai: the box holds what the page says.
  CHECK_THAT(page.body,
             Catch::Contains("type=\"datetime-local\" step=\"1\" name=\"set_visited_at\"") &&
                 Catch::Contains("value=\"2026-09-01T10:00:00\"") &&
                 Catch::Contains("name=\"was_visited_at\" value=\"2026-09-01T10:00:00\"") &&
                 Catch::Contains("enctype=\"multipart/form-data\" action=\"/data/visit/"));
  const auto visited_at = [&] {
    Statement st(f.store->db(), "SELECT visited_at FROM visit WHERE id = ?1");
    st.Bind(1, std::string_view(visit.ToString()));
    REQUIRE(st.Step());
    return st.ColumnText(0);
  };
  // Saved as shown (a browser drops ":00" seconds): nothing changed.
  // The form as a browser posts it: the time typed, the one the page showed.
  const auto set_time = [&](const std::string& typed, const std::string& shown,
                            const std::string& reason) {
    return office.Post(url, {{"csrf", csrf},
                             {"set_visited_at", typed},
                             {"was_visited_at", shown},
                             {"reason", reason}});
  };
  Reply same = set_time("2026-09-01T10:00", "2026-09-01T10:00:00", "ตรวจ");
  CHECK_THAT(PercentDecode(Header(same, "Location")), Catch::Contains("ไม่มีอะไรเปลี่ยน"));
  CHECK(visited_at() == "2026-09-01T03:00:00Z");
  // 10:30 typed is 10:30 in Chiang Mai; 00:30 on the 2nd there is 17:30
  // on the 1st in UTC.
  Reply later = set_time("2026-09-01T10:30", "2026-09-01T10:00:00", "เวลาตามสมุดบันทึก");
  CHECK_THAT(Header(later, "Location"), Catch::Contains("done="));
  CHECK(visited_at() == "2026-09-01T03:30:00Z");
  Reply small_hours = set_time("2026-09-02T00:30:15", "2026-09-01T10:30:00", "เวลาตามสมุดบันทึก");
  CHECK_THAT(Header(small_hours, "Location"), Catch::Contains("done="));
  CHECK(visited_at() == "2026-09-01T17:30:15Z");
  // A time that is no time is refused in the column's words.
  Reply bad = set_time("2026-02-30T10:00", "2026-09-02T00:30:15", "x");
  CHECK_THAT(Header(bad, "Location"), Catch::Contains("error="));
  CHECK(visited_at() == "2026-09-01T17:30:15Z");
}

}  // namespace
}  // namespace kbo::server::testing
