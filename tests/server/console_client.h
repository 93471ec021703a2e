#ifndef KBO_TESTS_SERVER_CONSOLE_CLIENT_H_
#define KBO_TESTS_SERVER_CONSOLE_CLIENT_H_

// A browser for console tests, without a socket: it sends console::Requests
// to a console::Console, keeps the cookies it is given (and drops those it
// is told to expire), signs in through the real /login form (GET for the
// hidden token, POST it back) and reads the session's CSRF token from
// /api/me.

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <string>
#include <utility>

#include "server/console/console.h"

namespace kbo::server::testing {

class ConsoleClient {
 public:
  // `password` is what SignIn(login) types; `address` the browser's.
  explicit ConsoleClient(console::Console& c, std::string pass = "",
                         std::string from = "192.0.2.10")
      : console(c), password(std::move(pass)), address(std::move(from)) {}

  console::Console& console;
  std::string password;
  std::string address;
  bool tls = false;
  std::map<std::string, std::string> cookies;

  console::Reply Send(console::Request r) {
    r.cookies = cookies;
    r.remote_addr = address;
    r.tls = tls;
    console::Reply reply = console.Handle(r);
    for (auto [it, end] = reply.headers.equal_range("Set-Cookie"); it != end;
         ++it) {
      const std::string& c = it->second;
      const size_t eq = c.find('='), semi = c.find(';');
      const std::string name = c.substr(0, eq);
      if (c.find("Max-Age=0") != std::string::npos) {
        cookies.erase(name);
      } else {
        cookies[name] = c.substr(eq + 1, semi - eq - 1);
      }
    }
    return reply;
  }
  console::Reply Get(const std::string& path,
                     std::multimap<std::string, std::string> query = {}) {
    console::Request r;
    r.method = "GET";
    r.path = path;
    r.query = std::move(query);
    return Send(r);
  }
  console::Reply Post(const std::string& path,
                      std::multimap<std::string, std::string> form) {
    console::Request r;
    r.method = "POST";
    r.path = path;
    r.content_type = "application/x-www-form-urlencoded";
    r.form = std::move(form);
    return Send(r);
  }
  // GET /login, then POST it back with the hidden token; the reply as is.
  console::Reply SignIn(const std::string& login, const std::string& pass,
                        const std::string& next = "") {
    console::Reply form = Get("/login");
    REQUIRE(form.status == 200);
    std::smatch m;
    REQUIRE(std::regex_search(
        form.body, m, std::regex("name=\"login_token\" value=\"([0-9a-f]+)\"")));
    std::multimap<std::string, std::string> fields = {
        {"login", login}, {"password", pass}, {"login_token", m[1].str()}};
    if (!next.empty()) fields.emplace("next", next);
    return Post("/login", fields);
  }
  // Signs in with `password`; the test stops if that fails.
  void SignIn(const std::string& login) {
    REQUIRE(SignIn(login, password).status == 303);
  }
  std::string Csrf() {
    console::Reply me = Get("/api/me");
    REQUIRE(me.status == 200);
    std::smatch m;
    REQUIRE(std::regex_search(me.body, m,
                              std::regex("\"csrf\":\"([0-9a-f]+)\"")));
    return m[1].str();
  }
};

}  // namespace kbo::server::testing

#endif  // KBO_TESTS_SERVER_CONSOLE_CLIENT_H_
