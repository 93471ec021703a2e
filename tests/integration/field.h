#ifndef KBO_TESTS_INTEGRATION_FIELD_H_
#define KBO_TESTS_INTEGRATION_FIELD_H_

// A province in a test: one real kbo-server on a loopback port and any
// number of kbo devices, each with its own home, enrolled with a real token.

#include <map>
#include <memory>
#include <exception>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "schema/schema.h"
#include "shared/fs.h"
#include "shared/replica/apply.h"
#include "shared/sqlite/db.h"
#include "tests/support/run_cli.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

namespace kbo::testing {

using nlohmann::json;

class Field {
 public:
  Field() : server_(tmp_.File("server")) { REQUIRE(server_.running()); }
  // The server started with `serve_args` (after `serve`).
  explicit Field(std::vector<std::string> serve_args)
      : server_(tmp_.File("server"), std::move(serve_args)) {
    REQUIRE(server_.running());
  }

  // A device sent back to pull again (PullService: "sent back to" in the
  // log) means a restored server; in a test that restores none it is a
  // fault, even though the sync goes on and ends well.
  ~Field() {
    if (std::uncaught_exceptions() == 0 && !sent_back_expected_) {
      CHECK(server_.log().find("sent back to") == std::string::npos);
    }
  }
  Field(const Field&) = delete;
  Field& operator=(const Field&) = delete;
  // This test restores the server, or sends a cursor past the server's.
  void ExpectSentBack() { sent_back_expected_ = true; }

  ServerProcess& server() { return server_; }
  std::string url() const { return server_.url(); }
  const std::string& dir() const { return tmp_.path(); }

  // kbo-server --data <data> ARGS
  CliResult Server(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", server_.data_dir()});
    return RunServerCli(args);
  }

  std::string Token(const std::string& role, const std::string& districts,
                    const std::string& ttl = "24h") {
    CliResult r = Server({"token", "create", "--role", role, "--districts", districts,
                          "--ttl", ttl});
    REQUIRE(r.exit_code == 0);
    std::string token = r.out.substr(0, r.out.find('\n'));
    REQUIRE(token.size() == 64);
    return token;
  }

  // A new device home (not enrolled).
  std::string NewHome(const std::string& name) { return tmp_.File(name); }

  // A new device enrolled as `role` for `districts`; returns its home.
  std::string Enrolled(const std::string& name, const std::string& role,
                       const std::string& districts) {
    const std::string home = NewHome(name);
    CliResult r = Kbo(home, {"enroll", "--server", url(), "--token",
                             Token(role, districts)});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return home;
  }

  // kbo --home HOME ARGS
  CliResult Kbo(const std::string& home, std::vector<std::string> args) {
    args.insert(args.begin(), {"--home", home});
    return RunKbo(args);
  }
  // Runs an add and returns the printed id.
  std::string Add(const std::string& home, const std::vector<std::string>& args) {
    CliResult r = Kbo(home, args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out.size() == 37);
    return r.out.substr(0, 36);
  }
  // kbo sync against the server's current address.
  CliResult Sync(const std::string& home) {
    return Kbo(home, {"sync", "--server", url()});
  }
  void SyncOk(const std::string& home) {
    CliResult r = Sync(home);
    INFO(r.err << server_.log());
    REQUIRE(r.exit_code == 0);
  }

  // The sha256 photo row `id` names on `home`: its upload copy's
  // (client/photo_copy.h), not the file's that was added.
  std::string PhotoSha(const std::string& home, const std::string& id) {
    return KboJson(home, {"show", "photo", id})["sha256"].get<std::string>();
  }
  // A group producer named `name` in `district`, added on `home`; its id.
  std::string Producer(const std::string& home, const std::string& name,
                       const std::string& district) {
    return Add(home, {"producer", "add", "--kind", "group", "--name", name,
                      "--district", district});
  }
  // A 640 x 480 photo of producer `producer` taken on `home` (as
  // dir()/`file`), not synced; its sha256 (the upload copy's).
  std::string ProducerPhoto(const std::string& home, const std::string& producer,
                            const std::string& file = "IMG_0001.jpg") {
    const std::string path = dir() + "/" + file;
    REQUIRE(WriteFileAtomically(path, SampleJpeg(640, 480), 0600).ok());
    return PhotoSha(home, Add(home, {"photo", "add", path, "--subject", "producer:" + producer}));
  }
  // The upload copy `home` holds as blob `sha` (what its sync sends).
  std::string UploadCopy(const std::string& home, const std::string& sha) {
    Result<std::string> bytes = ReadFileBounded(
        home + "/blobs/" + sha.substr(0, 2) + "/" + sha, size_t{64} << 20);
    INFO(bytes.status().ToString());
    REQUIRE(bytes.ok());
    return *bytes;
  }
  json KboJson(const std::string& home, std::vector<std::string> args) {
    args.push_back("--json");
    CliResult r = Kbo(home, args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    json j = json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
  }
  json ServerJson(std::vector<std::string> args) {
    args.push_back("--json");
    CliResult r = Server(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    json j = json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
  }

  // The replicated state (entity tables and cell hlcs) of a SQLite file.
  static std::string State(const std::string& db_path) {
    auto db = Db::Open(db_path);
    REQUIRE(db.ok());
    auto dump = DumpReplicaState(**db);
    REQUIRE(dump.ok());
    return *dump;
  }
  // The server's replicated state, from its database (SQLite or PostgreSQL:
  // tests/support/test_db.h).
  std::string ServerState() { return ServerStateOf(server_.data_dir()); }
  static std::string ServerStateOf(const std::string& data_dir) {
    auto db = OpenTestServerDb(data_dir);
    REQUIRE(db.ok());
    auto dump = DumpReplicaState(**db);
    REQUIRE(dump.ok());
    return *dump;
  }
  static std::string DeviceState(const std::string& home) {
    return State(home + "/field.db");
  }
  static int64_t Count(const std::string& db_path, const std::string& sql) {
    auto db = Db::Open(db_path);
    REQUIRE(db.ok());
    Statement st(**db, sql);
    REQUIRE(st.Step());
    return st.ColumnInt(0);
  }
  int64_t ServerCount(const std::string& sql) {
    return ServerCountOf(server_.data_dir(), sql);
  }
  static int64_t ServerCountOf(const std::string& data_dir, const std::string& sql) {
    auto db = OpenTestServerDb(data_dir);
    REQUIRE(db.ok());
    Statement st(**db, sql);
    const bool row = st.Step();
    INFO(sql << ": " << st.status().message());
    REQUIRE(row);
    return st.ColumnInt(0);
  }

 private:
  TempDir tmp_;
  ServerProcess server_;
  bool sent_back_expected_ = false;
};

}  // namespace kbo::testing

#endif  // KBO_TESTS_INTEGRATION_FIELD_H_
