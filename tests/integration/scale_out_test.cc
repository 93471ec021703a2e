// Several kbo-server processes on one database (issue 11): three servers on
// three ports, sharing one data folder and one database (PostgreSQL in the
// "pg/" run, where this test matters; the same SQLite file otherwise), and
// devices syncing to any of them at random. Afterwards everything equals
// one server: the same rows, the same conflicts, every change set exactly
// once, sequences unique. Killing a server mid-push loses nothing: the
// device goes on with another.
#include <chrono>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/field.h"

namespace kbo::testing {
namespace {

class Province {
 public:
  explicit Province(int servers) {
    for (int i = 0; i < servers; ++i) {
      servers_.push_back(std::make_unique<ServerProcess>(data_));
      REQUIRE(servers_.back()->running());
    }
  }
  ServerProcess& server(size_t i) { return *servers_[i]; }
  size_t size() const { return servers_.size(); }
  const std::string& data() const { return data_; }

  std::string Enrolled(const std::string& name, const std::string& role) {
    CliResult t = RunServerCli({"--data", data_, "token", "create", "--role", role,
                                "--districts", "5011"});
    REQUIRE(t.exit_code == 0);
    const std::string home = tmp_.File(name);
    CliResult r = RunKbo({"--home", home, "enroll", "--server", servers_[0]->url(), "--token",
                          t.out.substr(0, 64)});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return home;
  }
  static std::string Add(const std::string& home, std::vector<std::string> args) {
    args.insert(args.begin(), {"--home", home});
    CliResult r = RunKbo(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r.out.substr(0, 36);
  }
  CliResult SyncWith(const std::string& home, size_t server) {
    return RunKbo({"--home", home, "sync", "--server", servers_[server]->url()});
  }

 private:
  TempDir tmp_;
  std::string data_ = tmp_.File("server");
  std::vector<std::unique_ptr<ServerProcess>> servers_;
};

std::vector<std::string> NewProducer(const std::string& name) {
  return {"producer", "add", "--kind", "group", "--name", name, "--district", "5011"};
}

TEST_CASE("Scale-out: three servers on one database end equal to one, every "
          "change set exactly once, and a server killed mid-push loses nothing",
          "[integration][scale]") {
  Province p(3);
  const std::vector<std::string> homes = {p.Enrolled("trainer", "trainer"),
                                          p.Enrolled("officer", "field_officer"),
                                          p.Enrolled("office", "central_office")};
  std::mt19937 rng(20261203);
  auto any = [&] { return static_cast<size_t>(rng() % p.size()); };

  // A shared producer everyone will edit at once: conflicts.
  const std::string shared = Province::Add(homes[0], NewProducer("กลุ่มจักสานบ้านโหล่งขอด"));
  for (const std::string& h : homes) REQUIRE(p.SyncWith(h, any()).exit_code == 0);
  for (const std::string& h : homes) REQUIRE(p.SyncWith(h, any()).exit_code == 0);

  int made = 1;
  for (int round = 0; round < 4; ++round) {
    for (size_t d = 0; d < homes.size(); ++d) {
      for (int k = 0; k < 3; ++k) {
        Province::Add(homes[d], NewProducer("กลุ่ม " + std::to_string(round) + "-" +
                                            std::to_string(d) + "-" + std::to_string(k)));
        ++made;
      }
      CliResult e = RunKbo({"--home", homes[d], "edit", "producer", shared, "--set",
                            "phone=08" + std::to_string(round) + std::to_string(d) + "000000"});
      REQUIRE(e.exit_code == 0);
    }
    // Everyone syncs with whichever server, in a random order, at once.
    std::vector<std::thread> syncs;
    std::vector<int> codes(homes.size(), -1);
    for (size_t d = 0; d < homes.size(); ++d) {
      const size_t s = any();
      syncs.emplace_back([&, d, s] { codes[d] = p.SyncWith(homes[d], s).exit_code; });
    }
    for (std::thread& t : syncs) t.join();
    for (int c : codes) CHECK(c == 0);
  }

  // A server dies (kill -9) while a device pushes to it; the device goes on
  // with another.
  Province::Add(homes[1], NewProducer("ก่อนเครื่องดับ"));
  ++made;
  std::thread pushing([&] { (void)p.SyncWith(homes[1], 2); });
  std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
  p.server(2).Kill();
  pushing.join();
  REQUIRE(p.SyncWith(homes[1], 0).exit_code == 0);

  // Two more rounds with the two left: everyone has everything.
  for (int i = 0; i < 2; ++i) {
    for (const std::string& h : homes) REQUIRE(p.SyncWith(h, any() % 2).exit_code == 0);
  }
  const std::string server_state = Field::ServerStateOf(p.data());
  for (const std::string& h : homes) CHECK(Field::DeviceState(h) == server_state);
  CHECK(Field::ServerCountOf(p.data(), "SELECT COUNT(*) FROM producer") == made);
  // Exactly once: each device's change sets 1..n, none twice, none missing.
  CHECK(Field::ServerCountOf(p.data(),
                             "SELECT COUNT(*) FROM (SELECT device_id, seq FROM change_set_log"
                             " GROUP BY device_id, seq HAVING COUNT(*) > 1) AS twice") == 0);
  CHECK(Field::ServerCountOf(p.data(),
                             "SELECT COUNT(*) FROM change_set_log l WHERE seq > 1 AND NOT EXISTS"
                             " (SELECT 1 FROM change_set_log m WHERE m.device_id = l.device_id"
                             "  AND m.seq = l.seq - 1)") == 0);
  // Sequences unique: every change set's first sequence differs.
  CHECK(Field::ServerCountOf(p.data(),
                             "SELECT COUNT(*) FROM (SELECT first_server_seq FROM change_set_log"
                             " GROUP BY first_server_seq HAVING COUNT(*) > 1) AS twice") == 0);
  // The simultaneous edits of one phone number were kept as conflicts.
  CHECK(Field::ServerCountOf(p.data(), "SELECT COUNT(*) FROM conflict") >= 1);
}

}  // namespace
}  // namespace kbo::testing
