// Devices and enrolment tokens: labels, the live-token list, cancelling, the
// console's /devices and /tokens (with their JSON twins and audit lines), the
// command line's token and device commands, and the enrolment QR code,
// rendered from its SVG and decoded by zbarimg.

#include <catch2/catch.hpp>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "shared/encoding.h"
#include "server/cli.h"
#include "server/console/console.h"
#include "server/console/qr.h"
#include "server/console/users.h"
#include "tests/server/server_fixture.h"
#include "tests/support/run_cli.h"

namespace kbo::server::testing {
namespace {

using console::Console;
using console::Reply;
using console::Request;
using console::Users;
using console::WebRole;
using nlohmann::json;

constexpr char kPassword[] = "ผ้าทอพร้าว-2569";
constexpr char kLabel[] = "สมชาย · Phrao · Samsung A14";

// A browser (as in console_test.cc): keeps cookies, follows nothing.
struct Browser {
  explicit Browser(Console &c) : console(c) {}
  Console &console;
  std::string address = "192.0.2.10";
  bool tls = false;
  std::string host;
  std::string local_address;
  bool app_installed = true;
  std::map<std::string, std::string> cookies;
  std::string csrf;

  Reply Send(Request r) {
    r.cookies = cookies;
    r.remote_addr = address;
    r.app_installed = app_installed;
    r.tls = tls;
    r.host = host;
    r.local_address = local_address;
    Reply reply = console.Handle(r);
    for (auto [it, end] = reply.headers.equal_range("Set-Cookie"); it != end;
         ++it) {
      const std::string &c = it->second;
      const size_t eq = c.find('='), semi = c.find(';');
      const std::string name = c.substr(0, eq);
      const std::string value = c.substr(eq + 1, semi - eq - 1);
      if (c.find("Max-Age=0") != std::string::npos) {
        cookies.erase(name);
      } else {
        cookies[name] = value;
      }
    }
    return reply;
  }
  Reply Get(const std::string &path,
            std::multimap<std::string, std::string> query = {}) {
    Request r;
    r.method = "GET";
    r.path = path;
    r.query = std::move(query);
    return Send(r);
  }
  // A form post with the session's CSRF token unless `with_csrf` is false.
  Reply Post(const std::string &path,
             std::multimap<std::string, std::string> form,
             bool with_csrf = true) {
    Request r;
    r.method = "POST";
    r.path = path;
    r.content_type = "application/x-www-form-urlencoded";
    r.form = std::move(form);
    if (with_csrf)
      r.form.emplace("csrf", csrf);
    return Send(r);
  }
  Reply PostJson(const std::string &path, const json &body) {
    Request r;
    r.method = "POST";
    r.path = path;
    r.content_type = "application/json";
    r.body = body.dump();
    r.csrf_header = csrf;
    return Send(r);
  }
  void SignIn(const std::string &login) {
    Reply form = Get("/login");
    REQUIRE(form.status == 200);
    std::smatch m;
    REQUIRE(std::regex_search(
        form.body, m,
        std::regex("name=\"login_token\" value=\"([0-9a-f]+)\"")));
    Request r;
    r.method = "POST";
    r.path = "/login";
    r.content_type = "application/x-www-form-urlencoded";
    r.form = {
        {"login", login}, {"password", kPassword}, {"login_token", m[1].str()}};
    REQUIRE(Send(r).status == 303);
    Reply me = Get("/api/me");
    REQUIRE(me.status == 200);
    csrf = json::parse(me.body)["csrf"].get<std::string>();
  }
};

std::string Header(const Reply &r, const std::string &name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

struct Fixture {
  ServerFixture f;
  Console console{*f.store};
  Browser admin{console};

  Fixture() {
    Users users(*f.store);
    REQUIRE(
        users.Add("admin", WebRole::kAdmin, Scope{true, {}}, kPassword, "test")
            .ok());
    REQUIRE(
        users
            .Add("office", WebRole::kOffice, Scope{true, {}}, kPassword, "test")
            .ok());
    admin.SignIn("admin");
  }

  // The audit log's lines with `action`, as "actor subject detail".
  std::vector<std::string> Audit(const std::string &action) {
    Statement st(
        f.store->db(),
        "SELECT actor, subject, detail FROM audit_log WHERE action = '" +
            action + "' ORDER BY id");
    REQUIRE(st.status().ok());
    std::vector<std::string> out;
    while (st.Step()) {
      out.push_back(st.ColumnText(0) + " " + st.ColumnText(1) + " " +
                    st.ColumnText(2));
    }
    return out;
  }
};

EnrollRequest RequestFor(const TestDevice &d, const std::string &token) {
  EnrollRequest r;
  r.token = token;
  r.device_id = d.id;
  r.public_key = d.key.public_key();
  return r;
}

// What zbarimg reads from `svg` once rsvg-convert has drawn it `width_px`
// wide (a real SVG renderer, then a real QR decoder).
std::string DecodeSvg(const kbo::testing::TempDir &tmp, const std::string &svg,
                      int width_px) {
  const std::string svg_path = tmp.File("qr.svg");
  const std::string png_path = tmp.File("qr.png");
  {
    std::ofstream out(svg_path, std::ios::binary);
    out << svg;
  }
  kbo::testing::CliResult drawn = kbo::testing::RunBinary(
      "/usr/bin/rsvg-convert", {"-w", std::to_string(width_px), "-b", "white",
                                "-o", png_path, svg_path});
  INFO("rsvg-convert (tools/install-deps installs librsvg2-bin): " + drawn.err);
  REQUIRE(drawn.exit_code == 0);
  kbo::testing::CliResult read = kbo::testing::RunBinary(
      "/usr/bin/zbarimg",
      {"--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", png_path});
  INFO("zbarimg (tools/install-deps installs zbar-tools): " + read.err);
  REQUIRE(read.exit_code == 0);
  std::string text = read.out;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

// ---- Enrolment: labels, the list, cancelling
// ---------------------------------

TEST_CASE("Tokens: a device takes its token's label when it enrols",
          "[server][enrol][devices]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  auto token =
      enrolment.CreateToken("field_officer", "5011", Enrolment::kDefaultTtlMs,
                            std::string("  ") + kLabel + " ");
  REQUIRE(token.ok());
  TestDevice d;
  REQUIRE(enrolment.Enroll(RequestFor(d, *token)).ok());
  CHECK(f.Record(d.id).label == kLabel); // trimmed

  // A later token without a label keeps the device's; one with a label
  // replaces it.
  auto plain =
      enrolment.CreateToken("trainer", "5011,5009", Enrolment::kDefaultTtlMs);
  REQUIRE(plain.ok());
  REQUIRE(enrolment.Enroll(RequestFor(d, *plain)).ok());
  CHECK(f.Record(d.id).label == kLabel);
  CHECK(f.Record(d.id).role == "trainer");
  auto relabel = enrolment.CreateToken("trainer", "5011",
                                       Enrolment::kDefaultTtlMs, "สมศรี · Fang");
  REQUIRE(relabel.ok());
  REQUIRE(enrolment.Enroll(RequestFor(d, *relabel)).ok());
  CHECK(f.Record(d.id).label == "สมศรี · Fang");

  REQUIRE(enrolment.SetLabel(d.id.ToString(), "โทรศัพท์ศูนย์").ok());
  CHECK(f.Record(d.id).label == "โทรศัพท์ศูนย์");
  CHECK(enrolment.SetLabel(Uuid::Random().ToString(), "x").code() ==
        Code::kNotFound);
  CHECK(enrolment.SetLabel("zz", "x").code() == Code::kInvalidArgument);
}

TEST_CASE("Tokens: a label is one line of UTF-8 of at most 200 bytes",
          "[server][enrol][devices]") {
  CHECK(*CleanLabel("  สมชาย  ") == "สมชาย");
  CHECK(*CleanLabel("") == "");
  CHECK(CleanLabel("a\nb").status().code() == Code::kInvalidArgument);
  CHECK(CleanLabel("a\x7f").status().code() == Code::kInvalidArgument);
  CHECK(CleanLabel("\xff\xfe").status().code() == Code::kInvalidArgument);
  CHECK(CleanLabel(std::string(kMaxLabelBytes, 'a')).ok());
  CHECK(CleanLabel(std::string(kMaxLabelBytes + 1, 'a')).status().code() ==
        Code::kInvalidArgument);
  ServerFixture f;
  Enrolment enrolment(*f.store);
  CHECK(
      enrolment.CreateToken("trainer", "5011", Enrolment::kDefaultTtlMs, "a\tb")
          .status()
          .code() == Code::kInvalidArgument);
  CHECK(f.Count("SELECT COUNT(*) FROM enrol_token") == 0);
}

TEST_CASE("Tokens: listed until used, expired or cancelled",
          "[server][enrol][devices]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  auto used = enrolment.CreateToken("trainer", "5011", Enrolment::kDefaultTtlMs,
                                    "used");
  auto expiring = enrolment.CreateToken("trainer", "5011", 60 * 1000, "short");
  auto cancelled = enrolment.CreateToken("trainer", "5011",
                                         Enrolment::kDefaultTtlMs, "cancelled");
  f.wall.Advance(1000);
  auto live = enrolment.CreateToken("central_office", "all",
                                    Enrolment::kDefaultTtlMs, kLabel);
  REQUIRE((used.ok() && expiring.ok() && cancelled.ok() && live.ok()));

  auto all = enrolment.ListTokens();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 4);
  CHECK(all->front().id == TokenId(*live)); // newest first
  CHECK(all->front().id.size() == 12);
  CHECK(all->front().role == "central_office");
  CHECK(all->front().scope.all);
  CHECK(all->front().label == kLabel);
  CHECK(all->front().created_at == "2024-03-10T02:00:01Z");
  CHECK(all->front().expires_at == "2024-03-11T02:00:01Z");
  // The id is the hash's prefix, never the token.
  CHECK(all->front().id != live->substr(0, 12));

  TestDevice d;
  REQUIRE(enrolment.Enroll(RequestFor(d, *used)).ok());
  REQUIRE(enrolment.CancelToken(TokenId(*cancelled)).ok());
  f.wall.Advance(60 * 1000);
  all = enrolment.ListTokens();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(all->front().id == TokenId(*live));
}

TEST_CASE("Tokens: a cancelled token enrols no device",
          "[server][enrol][devices]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  auto token = enrolment.CreateToken("trainer", "5011",
                                     Enrolment::kDefaultTtlMs, kLabel);
  REQUIRE(token.ok());
  const std::string id = TokenId(*token);
  // By a prefix of its id, in either case.
  auto cancelled = enrolment.CancelToken(id.substr(0, 6));
  REQUIRE(cancelled.ok());
  CHECK(cancelled->id == id);
  CHECK(cancelled->label == kLabel);
  CHECK(f.Text("SELECT cancelled_at FROM enrol_token") ==
        "2024-03-10T02:00:00Z");
  f.wall.Advance(5000);
  auto twice = enrolment.CancelToken(id);  // twice keeps the first time
  REQUIRE(twice.ok());
  CHECK(twice->already_cancelled_at == "2024-03-10T02:00:00Z");  // and says so
  CHECK(cancelled->already_cancelled_at.empty());
  CHECK(f.Text("SELECT cancelled_at FROM enrol_token") ==
        "2024-03-10T02:00:00Z");

  TestDevice d;
  auto r = enrolment.Enroll(RequestFor(d, *token));
  CHECK(r.status().code() == Code::kUnauthenticated);
  CHECK_THAT(r.status().message(), Catch::Contains("cancelled"));
  CHECK(f.Count("SELECT COUNT(*) FROM device") == 0);
  CHECK(f.Count("SELECT COUNT(*) FROM enrol_token WHERE used_at IS NULL") == 1);

  // A used token cannot be cancelled (revoke the device instead).
  auto other =
      enrolment.CreateToken("trainer", "5011", Enrolment::kDefaultTtlMs);
  REQUIRE(other.ok());
  REQUIRE(enrolment.Enroll(RequestFor(d, *other)).ok());
  CHECK(enrolment.CancelToken(TokenId(*other)).status().code() ==
        Code::kFailedPrecondition);
  // The device asking again after a lost answer still gets it.
  CHECK(enrolment.Enroll(RequestFor(d, *other)).ok());

  CHECK(enrolment.CancelToken("abc").status().code() == Code::kInvalidArgument);
  CHECK(enrolment.CancelToken("zzzzzzzz").status().code() ==
        Code::kInvalidArgument);
  CHECK(enrolment.CancelToken("000000000000").status().code() ==
        Code::kNotFound);
}

TEST_CASE("Tokens: an ambiguous id prefix cancels nothing",
          "[server][enrol][devices]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  // Two tokens whose hashes share 6 hex digits: made by hand (the hashes
  // of real tokens almost never do).
  REQUIRE(f.store->db()
              .Exec("INSERT INTO enrol_token (token_hash, role, districts, "
                    "created_at, expires_at) VALUES ('abcdef01" +
                    std::string(56, '0') +
                    "', 'trainer', '5011', '2024-03-10T02:00:00Z', "
                    "'2024-03-11T02:00:00Z'), ('abcdef02" +
                    std::string(56, '0') +
                    "', 'trainer', '5011', '2024-03-10T02:00:00Z', "
                    "'2024-03-11T02:00:00Z')")
              .ok());
  CHECK(enrolment.CancelToken("abcdef").status().code() ==
        Code::kInvalidArgument);
  CHECK(f.Count("SELECT COUNT(*) FROM enrol_token WHERE cancelled_at IS NOT "
                "NULL") == 0);
  CHECK(enrolment.CancelToken("ABCDEF02").ok());
  CHECK(f.Count("SELECT COUNT(*) FROM enrol_token WHERE cancelled_at IS NOT "
                "NULL") == 1);
}

// ---- The QR code
// ---------------------------------------------------------------

TEST_CASE("QR: the SVG decodes to the exact enrolment URL",
          "[console][qr][devices]") {
  kbo::testing::TempDir tmp;
  const std::string url =
      "https://kbo.example.org:8443/app/#/enroll?token=" +
      std::string(
          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  const std::string svg = console::QrSvg(url);
  REQUIRE_FALSE(svg.empty());
  CHECK_THAT(svg, Catch::StartsWith("<svg ") &&
                      Catch::Contains("viewBox=\"0 0 ") &&
                      Catch::Contains("width=\"360\"") &&
                      Catch::Contains("shape-rendering=\"crispEdges\"") &&
                      Catch::Contains("fill=\"#fff\""));
  // The viewBox is the symbol plus a 4-module quiet zone each side.
  auto m = console::QrEncode(url);
  REQUIRE(m.has_value());
  CHECK((m->size - 17) % 4 == 0);
  CHECK_THAT(svg,
             Catch::Contains("viewBox=\"0 0 " + std::to_string(m->size + 8) +
                             " " + std::to_string(m->size + 8) + "\""));
  CHECK(DecodeSvg(tmp, svg, 360) == url);
  // Still readable drawn small (a phone screen, a printout).
  CHECK(DecodeSvg(tmp, svg, 150) == url);
  const std::string http = "http://192.168.1.20:8787/app/#/enroll?token=ab";
  CHECK(DecodeSvg(tmp, console::QrSvg(http), 360) == http);
}

TEST_CASE("QR: nothing for empty or overlong text", "[console][qr][devices]") {
  CHECK(console::QrSvg("").empty());
  CHECK(console::QrSvg(std::string(console::kQrMaxBytes + 1, 'a')).empty());
  CHECK_FALSE(console::QrSvg(std::string(console::kQrMaxBytes, 'a')).empty());
  // The title is escaped.
  CHECK_THAT(console::QrSvg("<b>&"), Catch::Contains("<title>&lt;b&gt;&amp;"));
}

// ---- The console: tokens
// --------------------------------------------------------

std::string TokenIn(const std::string &body) {
  std::smatch m;
  if (!std::regex_search(
          body, m, std::regex("<code class=\"token\">([0-9a-f]{64})</code>"))) {
    return "";
  }
  return m[1].str();
}

TEST_CASE("Console tokens: a server without the phone app says the code opens "
          "nothing yet, and plain HTTP to a phone's address says phones need HTTPS",
          "[console][devices]") {
  Fixture fx;
  Browser &b = fx.admin;
  // A server without the phone app says the code opens nothing yet; one
  // reached over plain HTTP by a phone's address says a phone needs HTTPS.
  b.app_installed = false;
  Reply no_app = b.Post("/tokens", {{"role", "trainer"}, {"district", "5011"}});
  REQUIRE(no_app.status == 201);
  CHECK_THAT(no_app.body, Catch::Contains("kbo-server serve --app") &&
                              Catch::Contains("<svg "));
  b.app_installed = true;
  b.tls = false;
  b.host = "192.168.1.20:8787";
  Reply plain = b.Post("/tokens", {{"role", "trainer"}, {"district", "5011"}});
  REQUIRE(plain.status == 201);
  CHECK_THAT(plain.body, Catch::Contains("HTTPS"));
  b.host = "127.0.0.1:8787";
  Reply local = b.Post("/tokens", {{"role", "trainer"}, {"district", "5011"}});
  CHECK(local.body.find("HTTPS") == std::string::npos);

}

TEST_CASE(
    "Console tokens: made from the form, shown once as QR, text and command",
    "[console][devices]") {
  Fixture fx;
  Browser &b = fx.admin;
  b.tls = true;
  b.host = "kbo.example.org:8443";

  Reply page = b.Get("/tokens");
  REQUIRE(page.status == 200);
  CHECK_THAT(page.body,
             Catch::Contains("name=\"label\"") &&
                 Catch::Contains("name=\"role\"") &&
                 Catch::Contains("name=\"district\" value=\"5011\"") &&
                 Catch::Contains("name=\"ttl\"") && Catch::Contains("พร้าว") &&
                 Catch::Contains("name=\"csrf\""));

  // No CSRF token: refused by the Router, nothing made.
  CHECK(b.Post("/tokens", {{"role", "trainer"}, {"district", "5011"}}, false)
            .status == 403);
  CHECK(fx.f.Count("SELECT COUNT(*) FROM enrol_token") == 0);

  Reply made = b.Post("/tokens", {{"label", kLabel},
                                  {"role", "field_officer"},
                                  {"district", "5011"},
                                  {"district", "5009"},
                                  {"ttl", "3d"}});
  REQUIRE(made.status == 201);
  const std::string token = TokenIn(made.body);
  REQUIRE(token.size() == 64);
  const std::string url =
      "https://kbo.example.org:8443/app/#/enroll?token=" + token;
  const std::string command =
      "kbo enroll --server https://kbo.example.org:8443 --token " + token;
  CHECK_THAT(made.body, Catch::Contains(command) && Catch::Contains(url) &&
                            Catch::Contains("แสดงเพียงครั้งเดียว") &&
                            Catch::Contains(kLabel) &&
                            Catch::Contains("พร้าว") && Catch::Contains("ฝาง"));
  CHECK(Header(made, "Cache-Control") == "no-store");
  // The QR on the page is the URL.
  const size_t from = made.body.find("<svg ");
  const size_t to = made.body.find("</svg>", from);
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  kbo::testing::TempDir tmp;
  CHECK(DecodeSvg(tmp, made.body.substr(from, to + 6 - from), 360) == url);

  CHECK(made.body.find("serve --app") == std::string::npos);
  CHECK(made.body.find("HTTPS") == std::string::npos);

  // Never shown again: the list has its id and label, not the token.
  Reply list = b.Get("/tokens");
  CHECK_THAT(list.body, Catch::Contains(kLabel) &&
                            Catch::Contains(TokenId(token)) &&
                            !Catch::Contains(token));
  Reply api = b.Get("/api/tokens");
  REQUIRE(api.status == 200);
  const json j = json::parse(api.body);
  REQUIRE(j["tokens"].size() == 1);
  CHECK(j["tokens"][0]["id"] == TokenId(token));
  CHECK(j["tokens"][0]["label"] == kLabel);
  CHECK(j["tokens"][0]["role"] == "field_officer");
  CHECK(j["tokens"][0]["districts"] == json::array({"5009", "5011"}));
  CHECK(j["tokens"][0]["expires_at"] == "2024-03-13T02:00:00Z");

  const auto audit = fx.Audit("token_create");
  REQUIRE(audit.size() == 1);
  CHECK_THAT(audit[0], Catch::StartsWith("user:admin " + TokenId(token)) &&
                           Catch::Contains(kLabel));

  // The device that enrols with it takes the label.
  TestDevice d;
  Enrolment enrolment(*fx.f.store);
  REQUIRE(enrolment.Enroll(RequestFor(d, token)).ok());
  CHECK(fx.f.Record(d.id).label == kLabel);
  CHECK(json::parse(b.Get("/api/tokens").body)["tokens"].empty());
}

TEST_CASE("Console tokens: a bad form is shown again, a JSON twin makes one",
          "[console][devices]") {
  Fixture fx;
  Browser &b = fx.admin;
  Reply no_district = b.Post("/tokens", {{"role", "trainer"}, {"label", "x"}});
  CHECK(no_district.status == 400);
  CHECK_THAT(no_district.body, Catch::Contains("flash error") &&
                                   Catch::Contains("name=\"label\""));
  CHECK(b.Post("/tokens", {{"role", "boss"}, {"district", "5011"}}).status ==
        400);
  CHECK(b.Post("/tokens", {{"role", "trainer"}, {"district", "9999"}}).status ==
        400);
  CHECK(b.Post("/tokens",
               {{"role", "trainer"}, {"district", "5011"}, {"ttl", "99d"}})
            .status == 400);
  CHECK(fx.f.Count("SELECT COUNT(*) FROM enrol_token") == 0);

  // The API: JSON in, JSON out; no Host: the address the request came in on.
  b.local_address = "192.168.1.20:8787";
  Reply made = b.PostJson("/api/tokens", {{"role", "trainer"},
                                          {"districts", json::array({"5011"})},
                                          {"label", "ครู · Phrao"}});
  REQUIRE(made.status == 201);
  const json j = json::parse(made.body);
  const std::string token = j["token"];
  CHECK(j["url"] == "http://192.168.1.20:8787/app/#/enroll?token=" + token);
  CHECK(j["command"] ==
        "kbo enroll --server http://192.168.1.20:8787 --token " + token);
  CHECK(j["id"] == TokenId(token));
  CHECK_THAT(j["qr_svg"].get<std::string>(), Catch::StartsWith("<svg"));
  CHECK(b.PostJson("/api/tokens", {{"role", "trainer"}}).status == 400);
}

TEST_CASE("Console tokens: a Host that is not a plain host is not printed",
          "[console][devices]") {
  Fixture fx;
  Browser &b = fx.admin;
  b.local_address = "10.0.0.5:8787";
  for (const char *host : {"evil.example/\"><script>", "a b", "host:port",
                           "[::1", "-x.example", ""}) {
    INFO(host);
    b.host = host;
    Reply made =
        b.PostJson("/api/tokens", {{"role", "trainer"}, {"districts", "5011"}});
    REQUIRE(made.status == 201);
    CHECK_THAT(json::parse(made.body)["url"].get<std::string>(),
               Catch::StartsWith("http://10.0.0.5:8787/app/#/enroll?token="));
  }
  for (const char *host : {"kbo.example.org", "192.168.1.20:8787", "[::1]:8787",
                           "localhost:8787"}) {
    INFO(host);
    b.host = host;
    Reply made =
        b.PostJson("/api/tokens", {{"role", "trainer"}, {"districts", "5011"}});
    REQUIRE(made.status == 201);
    CHECK_THAT(json::parse(made.body)["url"].get<std::string>(),
               Catch::StartsWith(std::string("http://") + host + "/app/"));
  }
}

TEST_CASE("Console tokens: cancel from the list, then it enrols no one",
          "[console][devices]") {
  Fixture fx;
  Browser &b = fx.admin;
  Enrolment enrolment(*fx.f.store);
  auto token = enrolment.CreateToken("trainer", "5011",
                                     Enrolment::kDefaultTtlMs, kLabel);
  REQUIRE(token.ok());
  const std::string id = TokenId(*token);
  Reply list = b.Get("/tokens");
  CHECK_THAT(list.body,
             Catch::Contains("action=\"/tokens/" + id + "/cancel\""));
  CHECK(b.Post("/tokens/" + id + "/cancel", {}, false).status == 403);
  Reply done = b.Post("/tokens/" + id + "/cancel", {});
  REQUIRE(done.status == 303);
  CHECK_THAT(Header(done, "Location"), Catch::StartsWith("/tokens?done="));
  CHECK(fx.Audit("token_cancel") ==
        std::vector<std::string>{"user:admin " + id + " " + kLabel});
  CHECK_THAT(b.Get("/tokens").body, !Catch::Contains(id));
  TestDevice d;
  CHECK(enrolment.Enroll(RequestFor(d, *token)).status().code() ==
        Code::kUnauthenticated);

  // An unknown or malformed id is a message, not a failure.
  Reply unknown = b.Post("/tokens/000000000000/cancel", {});
  CHECK(unknown.status == 303);
  CHECK_THAT(Header(unknown, "Location"), Catch::StartsWith("/tokens?error="));
  CHECK(b.PostJson("/api/tokens/zz/cancel", json::object()).status == 400);
  CHECK(b.PostJson("/api/tokens/000000000000/cancel", json::object()).status ==
        404);
}

// ---- The console: devices
// --------------------------------------------------------

TEST_CASE("Console devices: label, role, districts, last sync, clock, refused "
          "rows, pending photos",
          "[console][devices]") {
  Fixture fx;
  Browser &b = fx.admin;
  Enrolment enrolment(*fx.f.store);
  auto token = enrolment.CreateToken("field_officer", "5011",
                                     Enrolment::kDefaultTtlMs, kLabel);
  REQUIRE(token.ok());
  TestDevice phrao;
  EnrollRequest req = RequestFor(phrao, *token);
  req.clock_ms = kT0 + 25 * 60 * 1000; // 25 minutes fast
  REQUIRE(enrolment.Enroll(req).ok());
  TestDevice office;
  fx.f.Enroll(office, "all", "central_office");

  Db &db = fx.f.store->db();
  // Two refused rows from the Phrao phone; photos: two in Phrao without
  // their picture (one begun), one in Phrao received, one in Fang missing,
  // one deleted.
  REQUIRE(
      db.Exec("INSERT INTO refused_row (device_id, seq, row_index, entity, "
              "row_id, reason, message, cells, refused_at) VALUES ('" +
              phrao.id.ToString() +
              "', 1, 0, 'visit', 'r1', 'out_of_scope', 'm', '{}', 'x'), ('" +
              phrao.id.ToString() +
              "', 1, 1, 'visit', 'r2', 'out_of_scope', 'm', '{}', 'x')")
          .ok());
  const auto photo = [&](const std::string &id, const std::string &sha,
                         const std::string &district, int deleted) {
    REQUIRE(db.Exec("INSERT INTO photo (id, sha256, district_code, deleted) "
                    "VALUES ('" +
                    id + "', '" + sha + "', '" + district + "', " +
                    std::to_string(deleted) + ")")
                .ok());
  };
  photo("p1", std::string(64, 'a'), "5011", 0);
  photo("p2", std::string(64, 'b'), "5011", 0);
  photo("p3", std::string(64, 'c'), "5011", 0);
  photo("p4", std::string(64, 'd'), "5009", 0);
  photo("p5", std::string(64, 'e'), "5011", 1);
  REQUIRE(db.Exec("INSERT INTO blob_upload (sha256, uploader, bytes, received_bytes, "
                  "started_at, updated_at) VALUES ('" +
                  std::string(64, 'b') + "', 'server', 10, 5, '2024-03-10T01:00:00Z', "
                  "'2024-03-10T01:00:00Z')")
              .ok());
  REQUIRE(db.Exec("INSERT INTO blob (sha256, bytes, received_bytes, "
                  "complete_at) VALUES ('" +
                  std::string(64, 'c') + "', 10, 10, '2024-03-10T02:00:00Z')")
              .ok());

  Reply api = b.Get("/api/devices");
  REQUIRE(api.status == 200);
  const json list = json::parse(api.body)["devices"];
  REQUIRE(list.size() == 2);
  json p, o;
  for (const json &d : list) {
    (d["device_id"] == phrao.id.ToString() ? p : o) = d;
  }
  CHECK(p["label"] == kLabel);
  CHECK(p["role"] == "field_officer");
  CHECK(p["districts"] == json::array({"5011"}));
  CHECK(p["clock_offset_ms"] == 25 * 60 * 1000);
  CHECK(p["clock_off"] == true);
  CHECK(p["refused_rows"] == 2);
  CHECK(p["pending_photos"] == 2);
  CHECK(p["last_seen_at"] == "2024-03-10T02:00:00Z");
  CHECK(p["revoked"] == false);
  CHECK(o["label"] == "");
  CHECK(o["refused_rows"] == 0);
  CHECK(o["pending_photos"] == 3); // every district
  CHECK(o["clock_off"] == false);

  Reply page = b.Get("/devices");
  REQUIRE(page.status == 200);
  CHECK_THAT(
      page.body,
      Catch::Contains(kLabel) && Catch::Contains("เจ้าหน้าที่") &&
          Catch::Contains("พร้าว") &&
          Catch::Contains("10 มี.ค. 2567 09:00") && // Bangkok, BE
          Catch::Contains("นาฬิกาเครื่องคลาดเคลื่อน") &&
          Catch::Contains("/devices/" + phrao.id.ToString() + "/revoke") &&
          Catch::Contains("action=\"/devices/" + phrao.id.ToString() +
                          "/grant\"") &&
          Catch::Contains("viewport"));
  Reply en = b.Get("/devices", {{"lang", "en"}});
  CHECK_THAT(en.body, Catch::Contains("Phrao") && Catch::Contains("2024") &&
                          Catch::Contains("clock is off"));

  // Not for the office role (nor viewers).
  Browser officer{fx.console};
  officer.SignIn("office");
  CHECK(officer.Get("/devices").status == 403);
  CHECK(officer.Get("/api/devices").status == 403);
  CHECK(officer.Get("/tokens").status == 403);
}

TEST_CASE(
    "Console devices: revoke asks first, grant adds districts, both audited",
    "[console][devices]") {
  Fixture fx;
  Browser &b = fx.admin;
  Enrolment enrolment(*fx.f.store);
  auto token = enrolment.CreateToken("trainer", "5011",
                                     Enrolment::kDefaultTtlMs, kLabel);
  REQUIRE(token.ok());
  TestDevice d;
  REQUIRE(enrolment.Enroll(RequestFor(d, *token)).ok());
  const std::string id = d.id.ToString();

  Reply grant = b.Post("/devices/" + id + "/grant", {{"districts", "5009"}});
  REQUIRE(grant.status == 303);
  CHECK_THAT(Header(grant, "Location"), Catch::StartsWith("/devices?done="));
  CHECK(fx.f.Record(d.id).scope.ToString() == "5009,5011");
  CHECK(fx.Audit("device_grant") ==
        std::vector<std::string>{"user:admin " + id +
                                 " added 5009; now 5009,5011"});
  Reply again = b.Post("/devices/" + id + "/grant", {{"districts", "5009"}});
  CHECK(again.status == 303);
  CHECK(fx.Audit("device_grant").size() == 1); // nothing changed
  Reply bad = b.Post("/devices/" + id + "/grant", {{"districts", "9999"}});
  CHECK(bad.status == 303);
  CHECK_THAT(Header(bad, "Location"), Catch::StartsWith("/devices?error="));

  Reply relabel = b.Post("/devices/" + id + "/label", {{"label", "ครูสมศรี"}});
  CHECK(relabel.status == 303);
  CHECK(fx.f.Record(d.id).label == "ครูสมศรี");
  CHECK(fx.Audit("device_label").size() == 1);

  // Revoking: the link shows a confirmation; a post without it asks again.
  Reply ask = b.Get("/devices/" + id + "/revoke");
  REQUIRE(ask.status == 200);
  CHECK_THAT(ask.body, Catch::Contains("name=\"confirm\" value=\"1\"") &&
                           Catch::Contains("ครูสมศรี"));
  Reply unconfirmed = b.Post("/devices/" + id + "/revoke", {});
  CHECK(unconfirmed.status == 303);
  CHECK(Header(unconfirmed, "Location") == "/devices/" + id + "/revoke");
  CHECK_FALSE(fx.f.Record(d.id).revoked());
  CHECK(
      b.Post("/devices/" + id + "/revoke", {{"confirm", "1"}}, false).status ==
      403);
  CHECK_FALSE(fx.f.Record(d.id).revoked());
  Reply revoked = b.Post("/devices/" + id + "/revoke", {{"confirm", "1"}});
  REQUIRE(revoked.status == 303);
  CHECK(fx.f.Record(d.id).revoked());
  CHECK(fx.Audit("device_revoke") ==
        std::vector<std::string>{"user:admin " + id + " ครูสมศรี"});
  CHECK(b.Post("/devices/" + id + "/revoke", {{"confirm", "1"}}).status == 303);
  CHECK(fx.Audit("device_revoke").size() == 1);
  // A revoked device gets no more districts.
  CHECK(b.PostJson("/api/devices/" + id + "/grant", {{"districts", "5013"}})
            .status == 409);
  CHECK_THAT(b.Get("/devices").body, Catch::Contains("เพิกถอนแล้ว"));

  // Unknown and malformed ids.
  CHECK(b.Get("/devices/zz/revoke").status == 404);
  CHECK(b.PostJson("/api/devices/zz/revoke", json::object()).status == 404);
  CHECK(b.PostJson("/api/devices/" + Uuid::Random().ToString() + "/grant",
                   {{"districts", "5011"}})
            .status == 404);
}

// ---- The command line
// -------------------------------------------------------------

struct Cli {
  int code = 0;
  std::string out, err;
};

Cli RunServer(const std::string &data, std::vector<std::string> args) {
  args.insert(args.begin(), {"--data", data});
  args = kbo::testing::WithTestDb(std::move(args));
  std::ostringstream out, err;
  Cli r;
  r.code = RunCli(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST_CASE("kbo-server token create --label, token list, token cancel, device "
          "list, all audited",
          "[server][cli][devices]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  Cli made = RunServer(data, {"token", "create", "--role", "field_officer",
                              "--districts", "5011", "--label", kLabel});
  REQUIRE(made.code == 0);
  const std::string token = made.out.substr(0, 64);
  CHECK(made.out == token + "\n");
  const std::string id = TokenId(token);

  Cli list = RunServer(data, {"token", "list"});
  REQUIRE(list.code == 0);
  CHECK_THAT(list.out, Catch::Contains(id) && Catch::Contains(kLabel) &&
                           !Catch::Contains(token));
  Cli listed = RunServer(data, {"token", "list", "--json"});
  REQUIRE(listed.code == 0);
  const json j = json::parse(listed.out);
  REQUIRE(j.size() == 1);
  CHECK(j[0]["id"] == id);
  CHECK(j[0]["label"] == kLabel);
  CHECK(j[0]["districts"] == json::array({"5011"}));

  // Enrol a device with it; device list shows the label.
  {
    auto opened = ServerStore::Open(data, SystemWallClock::Default(),
                                    kbo::testing::TestDbUrlFor(data));
    REQUIRE(opened.ok());
    Enrolment enrolment(**opened);
    TestDevice d;
    auto enrolled = enrolment.Enroll(RequestFor(d, token));
    INFO(enrolled.status().message());
    REQUIRE(enrolled.ok());
  }
  // A second token of a label a device has: made, with a note.
  Cli same = RunServer(data, {"token", "create", "--role", "field_officer",
                              "--districts", "5011", "--label", kLabel});
  CHECK(same.code == 0);
  CHECK_THAT(same.err, Catch::Contains("is labelled '" + std::string(kLabel) +
                                       "' already"));
  const std::string same_id = TokenId(same.out.substr(0, 64));
  RunServer(data, {"token", "cancel", same_id});
  // Cancelled again: said, nothing written or audited again.
  Cli cancelled_again = RunServer(data, {"token", "cancel", same_id});
  CHECK(cancelled_again.code == 0);
  CHECK_THAT(cancelled_again.out, Catch::Contains("was cancelled already") &&
                            Catch::Contains("nothing changed"));
  Cli devices = RunServer(data, {"device", "list"});
  REQUIRE(devices.code == 0);
  CHECK_THAT(devices.out, Catch::Contains("LABEL") && Catch::Contains(kLabel));
  Cli devices_json = RunServer(data, {"device", "list", "--json"});
  REQUIRE(devices_json.code == 0);
  const json dj = json::parse(devices_json.out);
  REQUIRE(dj.size() == 1);
  CHECK(dj[0]["label"] == kLabel);
  const std::string device = dj[0]["device_id"];

  // A long Thai label is cut to its column, and the columns after it stay
  // under their headings (a label of 30 letters once pushed them right).
  CHECK(RunServer(data, {"device", "label", device,
                         "วิทยากร อ.พร้าว (แท็บเล็ตห้องอบรม ชั้นสอง อาคารใหม่)"})
            .code == 0);
  {
    Cli table = RunServer(data, {"device", "list"});
    std::istringstream lines(table.out);
    std::string head, row;
    REQUIRE(std::getline(lines, head));
    REQUIRE(std::getline(lines, row));
    const size_t role_at = TerminalColumns(head.substr(0, head.find("ROLE")));
    const size_t role_in_row = row.find(" field_officer");
    REQUIRE(role_in_row != std::string::npos);
    CHECK(TerminalColumns(row.substr(0, role_in_row + 1)) == role_at);
    CHECK_THAT(row, Catch::Contains("\u2026"));
  }
  CHECK(RunServer(data, {"device", "label", device, "โทรศัพท์ศูนย์"}).code == 0);
  CHECK(RunServer(data, {"device", "grant", device, "--districts", "5009"})
            .code == 0);
  // The start of its id, in any case, names it, as for a token or a
  // conflict; the answer names it whole with its label. Again: said, and
  // nothing changes.
  std::string start = device.substr(0, 8);
  for (char& ch : start) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  Cli revoked = RunServer(data, {"device", "revoke", start});
  INFO(revoked.err);
  REQUIRE(revoked.code == 0);
  CHECK_THAT(revoked.out, Catch::StartsWith("revoked " + device + " 'โทรศัพท์ศูนย์'"));
  Cli again = RunServer(data, {"device", "revoke", device});
  CHECK(again.code == 0);
  CHECK_THAT(again.out, Catch::Contains("was revoked already") &&
                            Catch::Contains("nothing changed"));
  CHECK(RunServer(data, {"device", "revoke", "abc"}).code == 2);       // too short
  CHECK(RunServer(data, {"device", "revoke", device.substr(0, 6)}).code == 2);  // for a revoke
  CHECK(RunServer(data, {"device", "revoke", "ครูสมศรี"}).code == 2);  // not an id
  CHECK(RunServer(data, {"token", "cancel", id}).code != 0); // used

  Cli second = RunServer(
      data, {"token", "create", "--role", "trainer", "--districts", "all"});
  REQUIRE(second.code == 0);
  const std::string second_id = TokenId(second.out.substr(0, 64));
  Cli cancel = RunServer(data, {"token", "cancel", second_id.substr(0, 8)});
  CHECK(cancel.code == 0);
  CHECK(cancel.out == "cancelled " + second_id + "\n");
  CHECK(RunServer(data, {"token", "list"}).out ==
        "no tokens waiting to be used\n");
  CHECK(RunServer(data, {"token", "cancel"}).code == 2);
  CHECK(RunServer(data, {"token", "cancel", "000000000000"}).code == 3);
  CHECK(RunServer(data, {"token", "create", "--role", "trainer", "--districts",
                         "5011", "--label", "a\nb"})
            .code == 2);

  auto opened = ServerStore::Open(data, SystemWallClock::Default(),
                                    kbo::testing::TestDbUrlFor(data));
  REQUIRE(opened.ok());
  Statement st((*opened)->db(),
               "SELECT actor, action, subject FROM audit_log ORDER BY id");
  std::vector<std::string> lines;
  while (st.Step()) {
    lines.push_back(st.ColumnText(0) + " " + st.ColumnText(1) + " " +
                    st.ColumnText(2));
  }
  CHECK(lines == std::vector<std::string>{
                     "cli token_create " + id,
                     "cli token_create " + same_id,
                     "cli token_cancel " + same_id,
                     "cli device_label " + device,  // the long label
                     "cli device_label " + device,
                     "cli device_grant " + device,
                     "cli device_revoke " + device,
                     "cli token_create " + second_id,
                     "cli token_cancel " + second_id,
                 });
}

TEST_CASE("kbo-server device grant refuses garbage with nothing stored",
          "[server][cli][devices]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  // Two devices of Phrao; the second is revoked.
  TestDevice phone, gone;
  for (TestDevice *d : {&phone, &gone}) {
    Cli made = RunServer(data, {"token", "create", "--role", "field_officer",
                                "--districts", kPhrao});
    REQUIRE(made.code == 0);
    auto opened = ServerStore::Open(data, SystemWallClock::Default(),
                                    kbo::testing::TestDbUrlFor(data));
    REQUIRE(opened.ok());
    Enrolment enrolment(**opened);
    REQUIRE(enrolment.Enroll(RequestFor(*d, made.out.substr(0, 64)))
                .ok());
  }
  const std::string id = phone.id.ToString();
  REQUIRE(RunServer(data, {"device", "revoke", gone.id.ToString()}).code == 0);
  // What a grant stores: the districts, the restart mark, the audit line.
  const auto stored = [&data](const TestDevice &d) {
    auto opened = ServerStore::Open(data, SystemWallClock::Default(),
                                    kbo::testing::TestDbUrlFor(data));
    REQUIRE(opened.ok());
    Statement st((*opened)->db(),
                 "SELECT districts || ' grant_seq=' || grant_seq || ' audits=' "
                 "|| (SELECT COUNT(*) FROM audit_log WHERE action = "
                 "'device_grant' AND subject = device_id) FROM device WHERE "
                 "device_id = '" +
                     d.id.ToString() + "'");
    REQUIRE(st.Step());
    return st.ColumnText(0);
  };
  const std::string before = stored(phone);
  const std::string gone_before = stored(gone);
  CHECK(before == "5011 grant_seq=0 audits=0");

  struct Bad {
    std::vector<std::string> args;  // after "device grant"
    int code;
    std::string says;
  };
  const std::string random = Uuid::Random().ToString();
  const Bad bad[] = {
      {{"--districts", kFang}, 2, "needs a device id"},
      {{}, 2, "needs a device id"},
      {{random, "--districts", kFang}, 3, "no device " + random},
      {{"phone-1", "--districts", kFang}, 2, "is not a device id"},
      {{id, "--districts", "9999"}, 2, "'9999' is not a Chiang Mai district"},
      {{id}, 2, "--districts"},
      {{id, "--districts"}, 2, "--districts needs a value"},
      {{id, "--districts", kFang, "--districts", "5001"}, 2,
       "--districts given twice"},
      {{id, "--districts", kFang, "now"}, 2, "unexpected argument 'now'"},
      {{id, "now", "--districts", kFang}, 2, "unexpected argument"},
      {{id, "--districts", ""}, 2, "district codes separated by commas"},
      {{id, "--districts", "5009,"}, 2, "district codes separated by commas"},
      {{id, "--districts", "all,5001"}, 2, "'all' stands alone"},
      {{id, "--districts", "50 09"}, 2, "is not a Chiang Mai district"},
      {{id, "--districts", "5009\n5001"}, 2, "is not a Chiang Mai district"},
      {{id, "--districts", std::string("50\x01\x1b" "09")}, 2,
       "is not a Chiang Mai district"},
      {{id, "--districts", "ฝางเหนือ"}, 2, "is not a Chiang Mai district"},
      {{id, "--districts", "Atlantis"}, 2, "is not a Chiang Mai district"},
      {{id, "--districts", kFang, "--bogus"}, 2, "unknown option --bogus"},
      {{gone.id.ToString(), "--districts", kFang}, 1, "was revoked on"},
  };
  for (const Bad &b : bad) {
    std::vector<std::string> args = {"device", "grant"};
    args.insert(args.end(), b.args.begin(), b.args.end());
    std::string shown;
    for (const std::string &a : b.args) shown += "[" + a + "] ";
    INFO(shown);
    Cli r = RunServer(data, args);
    INFO(r.err);
    CHECK(r.code == b.code);
    CHECK_THAT(r.err, Catch::StartsWith("kbo-server: ") &&
                          Catch::Contains(b.says));
    CHECK(r.out.empty());
  }
  CHECK(stored(phone) == before);
  CHECK(stored(gone) == gone_before);
  CHECK_THAT(gone_before, Catch::StartsWith("5011 grant_seq=0"));

  // Granting what it holds changes nothing, and says so: no restart, no
  // audit line, exit 0.
  Cli same = RunServer(data, {"device", "grant", id, "--districts", kPhrao});
  CHECK(same.code == 0);
  CHECK(same.out == "device " + id + " already holds 5011; nothing changed\n");
  CHECK(same.err.empty());
  CHECK(stored(phone) == before);

  // A good grant stores all three; the same grant again nothing more.
  Cli good = RunServer(data, {"device", "grant", id, "--districts", kFang});
  REQUIRE(good.code == 0);
  CHECK_THAT(good.out, Catch::Contains("now holds 5009,5011"));
  const std::string granted = stored(phone);
  CHECK_THAT(granted, Catch::StartsWith("5009,5011 grant_seq=") &&
                          Catch::EndsWith(" audits=1") &&
                          !Catch::Contains("grant_seq=0 "));
  Cli again =
      RunServer(data, {"device", "grant", id, "--districts", "5011,5009"});
  CHECK(again.code == 0);
  CHECK_THAT(again.out, Catch::Contains("nothing changed"));
  CHECK(stored(phone) == granted);
  // Districts by their Thai or English names, as kbo takes them.
  Cli named = RunServer(data, {"device", "grant", id, "--districts", "ฝาง, Phrao"});
  CHECK(named.code == 0);
  CHECK_THAT(named.out, Catch::Contains("nothing changed"));
  CHECK(stored(phone) == granted);
  CHECK(stored(gone) == gone_before);
}

} // namespace
} // namespace kbo::server::testing
