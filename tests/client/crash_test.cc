// Crash safety (issue #3): a child process recording a burst of attendance
// marks is killed with SIGKILL at random moments, many times. Afterwards
// every record whose id the child had printed is present, and the outbox
// holds exactly the rows: replaying it into a fresh replica gives the same
// state as the store.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "client/outbox_codec.h"
#include "client/store.h"
#include "shared/change_set_codec.h"
#include "tests/support/replica.h"
#include "tests/support/sample_data.h"
#include "tests/support/temp_dir.h"

namespace kbo::client {
namespace {

// Runs in the forked child: records marks forever, printing each id only
// after its transaction committed. Never returns.
[[noreturn]] void WriteForever(const std::string& home, int out_fd, uint32_t seed) {
  auto store = ClientStore::Open(home);
  if (!store.ok()) _exit(3);
  auto ws = (*store)->List("workshop");
  auto en = (*store)->List("enrolment");
  if (!ws.ok() || !en.ok() || ws->empty() || en->empty()) _exit(4);
  std::mt19937 rng(seed);
  for (int i = 0;; ++i) {
    RowValues mark = {{"workshop_id", Value::Text((*ws)[0].id.ToString())},
                      {"enrolment_id", Value::Text((*en)[rng() % en->size()].id.ToString())},
                      {"day", Value::Integer(1 + static_cast<int>(rng() % 5))},
                      {"status", Value::Text(rng() % 2 ? "present" : "late")},
                      {"note", Value::Text("บันทึก " + std::to_string(i))}};
    Result<Uuid> id = (*store)->Record("attendance", mark);
    if (!id.ok()) _exit(5);
    const std::string line = id->ToString() + "\n";
    if (write(out_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      _exit(6);
    }
  }
}

TEST_CASE("Crash safety: SIGKILL mid-burst loses no printed write and leaves "
          "the outbox matching the rows", "[store][crash]") {
  testing::TempDir tmp;
  const std::string home = tmp.File("home");
  {
    auto store = ClientStore::Open(home);
    REQUIRE(store.ok());
    testing::PhraoFixture f(**store);
    for (int i = 0; i < 9; ++i) {  // ten participants in all
      REQUIRE((*store)->Record("enrolment",
                               {{"workshop_id", Value::Text(f.workshop.ToString())},
                                {"producer_id", Value::Text(f.producer.ToString())},
                                {"participant_name",
                                 Value::Text("ผู้เข้าร่วม " + std::to_string(i))}})
                  .ok());
    }
  }
  std::mt19937 rng(20261125);
  std::set<std::string> printed;
  const int kRuns = 25;
  for (int run = 0; run < kRuns; ++run) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      close(fds[0]);
      WriteForever(home, fds[1], rng());
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    // Whatever the child printed before it died was committed.
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    INFO("run " << run << ": child exit status " << status);
    REQUIRE(WIFSIGNALED(status));
    for (size_t pos = 0; pos + 37 <= out.size(); pos += 37) printed.insert(out.substr(pos, 36));
  }
  INFO(printed.size() << " distinct marks printed");
  REQUIRE(printed.size() > 0);

  auto store = ClientStore::Open(home);
  REQUIRE(store.ok());
  for (const std::string& id : printed) {
    CAPTURE(id);
    auto row = (*store)->Show("attendance", Uuid::Parse(id).value());
    CHECK(row.ok());
  }
  // The outbox replays to exactly the store's rows.
  auto replica = testing::NewReplica();
  Statement st((*store)->db(), "SELECT cells FROM outbox_cells ORDER BY id");
  Transaction txn(*replica);
  while (st.Step()) {
    auto rows = DecodeOutboxEntry(st.ColumnBlob(0));
    REQUIRE(rows.ok());
    ChangeSet cs;
    cs.rows = std::move(rows).value();
    REQUIRE(ApplyChangeSet(*replica, cs, ApplyOptions{}).ok());
  }
  REQUIRE(st.status().ok());
  REQUIRE(txn.Commit().ok());
  auto store_dump = DumpReplicaState((*store)->db());
  REQUIRE(store_dump.ok());
  CHECK(testing::Dump(*replica) == *store_dump);
}

}  // namespace
}  // namespace kbo::client
