// kbo-server user add|list|disable|passwd, as a script runs them: the
// password on standard input, clear refusals with exit 2 (3 for an unknown
// login), and nothing stored by a refusal.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace kbo::testing {
namespace {

using nlohmann::json;

std::string Stdin(TempDir& tmp, const std::string& name,
                  const std::string& text) {
  const std::string path = tmp.File(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}


TEST_CASE("kbo-server user: the password on stdin, garbage refused with nothing stored",
          "[server][process][console]") {
  TempDir tmp;
  const std::string data = tmp.File("data");
  const std::string good = Stdin(tmp, "good", "ผ้าทอพร้าว-2569\n");

  // Refusals: exit 2, a message, and no user.
  struct Bad {
    std::vector<std::string> args;
    std::string input;
  };
  const Bad bad[] = {
      {{"user", "add", "somchai"}, good},                        // no --role
      {{"user", "add", "somchai", "--role", "root"}, good},      // bad role
      {{"user", "add", "Somchai!", "--role", "admin"}, good},    // bad login
      {{"user", "add", "somchai", "--role", "admin", "--districts", "9999"}, good},
      {{"user", "add", "somchai", "--role", "admin"}, ""},         // no stdin
      {{"user", "add", "somchai", "--role", "admin"},
       Stdin(tmp, "short", "short\n")},                          // too short
      {{"user", "add", "somchai", "--role", "admin"},
       Stdin(tmp, "empty", "\n")},                               // empty line
      {{"user", "add", "somchai", "--role", "admin", "--role", "viewer"}, good},
      {{"user", "add", "a", "b", "--role", "admin"}, good},      // two logins
      {{"user", "frobnicate"}, good},
      {{"user", "list", "--districts", "all"}, good},
  };
  for (const Bad& b : bad) {
    std::vector<std::string> args = {"--data", data};
    args.insert(args.end(), b.args.begin(), b.args.end());
    INFO(b.args.back());
    CliResult r = RunServerCli(args, {}, b.input);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("kbo-server:"));
  }
  // Not even a server was made (the folder is new: checked before it is).
  CHECK_FALSE(std::filesystem::exists(data));

  // A good one prints the id alone; the same login again is refused.
  CliResult added = RunServerCli({"--data", data, "user", "add", "somchai", "--role", "office",
       "--districts", "5011"},
      {}, good);
  REQUIRE(added.exit_code == 0);
  CHECK(added.out.size() == 37);  // uuid and a newline
  CliResult twice = RunServerCli({"--data", data, "user", "add", "somchai", "--role", "admin"}, {}, good);
  CHECK(twice.exit_code == 2);  // the person's input (it exited 1)
  CHECK_THAT(twice.err, Catch::Contains("already a user 'somchai'"));
  const json list =
      json::parse(RunServerCli({"--data", data, "user", "list", "--json"}).out);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["role"] == "office");
  CHECK(list[0]["districts"] == "5011");
  // Districts by name too, as kbo takes them.
  CliResult named = RunServerCli({"--data", data, "user", "add", "somsri", "--role", "viewer",
                                  "--districts", "ฝาง, Phrao"},
                                 {}, good);
  INFO(named.err);
  REQUIRE(named.exit_code == 0);
  for (const json& u : json::parse(RunServerCli({"--data", data, "user", "list", "--json"}).out)) {
    if (u["login"] == "somsri") CHECK(u["districts"] == "5009,5011");
  }

  // Unknown logins: exit 3. A short new password: exit 2, the old one stays.
  CHECK(RunServerCli({"--data", data, "user", "disable", "nobody"}).exit_code == 3);
  CHECK(RunServerCli({"--data", data, "user", "passwd", "nobody"}, {}, good)
            .exit_code == 3);
  CHECK(RunServerCli({"--data", data, "user", "passwd", "somchai"}, {},
                  Stdin(tmp, "short2", "abc\n"))
            .exit_code == 2);
  CHECK(RunServerCli({"--data", data, "user", "disable", "somchai"}).exit_code == 0);
  const json after =
      json::parse(RunServerCli({"--data", data, "user", "list", "--json"}).out);
  CHECK(after[0]["disabled"] == true);
  // A new password does not let a disabled user in, and says so (it said
  // "password changed" alone); `user enable` does, and nothing undid a
  // disable before it.
  CliResult passwd = RunServerCli({"--data", data, "user", "passwd", "somchai"}, {}, good);
  CHECK(passwd.exit_code == 0);
  CHECK_THAT(passwd.err, Catch::Contains("somchai is disabled") &&
                             Catch::Contains("kbo-server user enable somchai"));
  CHECK(RunServerCli({"--data", data, "user", "enable", "nobody"}).exit_code == 3);
  CliResult enabled = RunServerCli({"--data", data, "user", "enable", "somchai"});
  CHECK(enabled.exit_code == 0);
  CHECK_THAT(enabled.err, Catch::Contains("may sign in again"));
  CHECK(json::parse(RunServerCli({"--data", data, "user", "list", "--json"}).out)[0]["disabled"] ==
        false);
  CliResult again = RunServerCli({"--data", data, "user", "enable", "somchai"});
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.err, Catch::Contains("was not disabled"));
}

}  // namespace
}  // namespace kbo::testing
