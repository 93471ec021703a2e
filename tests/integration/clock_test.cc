// A device whose clock ran days ahead (issue 9) against a real kbo-server:
// refused while the date is wrong, nothing changed; re-dated and synced in
// one `kbo sync` once it is right; the UI's sync does the same. The device's
// clock is shifted with KBO_TEST_CLOCK_OFFSET_MS (client/home.h, test only).
#include <string>

#include "client/clock_repair.h"
#include "client/store.h"
#include "client/sync_client.h"
#include "shared/fs.h"
#include "shared/signing.h"
#include "tests/integration/field.h"
#include "tests/support/test_images.h"

namespace kbo::testing {
namespace {

const std::map<std::string, std::string> kThreeDaysAhead = {
    {"KBO_TEST_CLOCK_OFFSET_MS", std::to_string(3LL * 24 * 3600 * 1000)}};

CliResult KboAt(const std::map<std::string, std::string>& env, const std::string& home,
                std::vector<std::string> args) {
  args.insert(args.begin(), {"--home", home});
  return RunKbo(args, env);
}

std::string AddAt(const std::map<std::string, std::string>& env, const std::string& home,
                  std::vector<std::string> args) {
  CliResult r = KboAt(env, home, std::move(args));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.size() == 37);
  return r.out.substr(0, 36);
}

int64_t NowMs() { return SystemWallClock::Default()->NowMillis(); }

// A phone without automatic time drifts minutes, not days: its requests
// were refused clock_skew (the 5-minute request window) and it could not
// even pull. Within the hour the rows may be ahead, the sync goes on by the
// server's clock and says the phone's is wrong; beyond it, refused still.
TEST_CASE("Clock: a device a few minutes off syncs by the server's clock and is told, "
          "hours off, it is refused",
          "[clock][integration]") {
  Field f;
  const std::string ahead = f.Enrolled("ahead", "field_officer", "5011");
  const std::string behind = f.Enrolled("behind", "trainer", "5011");
  const auto at = [](int64_t ms) {
    return std::map<std::string, std::string>{{"KBO_TEST_CLOCK_OFFSET_MS", std::to_string(ms)}};
  };
  const std::string p1 = AddAt(at(6 * 60 * 1000), ahead,
                               {"producer", "add", "--kind", "group", "--name",
                                "กลุ่มทอผ้าบ้านป่าตุ้ม", "--district", "5011"});
  CliResult six = KboAt(at(6 * 60 * 1000), ahead, {"sync"});
  INFO(six.err << f.server().log());
  CHECK(six.exit_code == 0);
  CHECK(six.err.find("this device's clock is 6 minutes ahead of the server's") !=
        std::string::npos);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + p1 + "'") == 1);
  // The office still sees the device's own clock: 6 minutes ahead.
  {
    const std::string id = f.KboJson(ahead, {"status"})["device_id"].get<std::string>();
    bool seen = false;
    for (const auto& d : f.ServerJson({"device", "list"})) {
      if (d["device_id"] != id) continue;
      seen = true;
      REQUIRE(d["clock_offset_ms"].is_number());
      const int64_t off = d["clock_offset_ms"].get<int64_t>();
      CHECK(off > 5 * 60 * 1000);
      CHECK(off < 7 * 60 * 1000);
    }
    CHECK(seen);
  }

  const std::string p2 = AddAt(at(-30 * 60 * 1000), behind,
                               {"producer", "add", "--kind", "entrepreneur", "--name",
                                "ร้านน้ำพริกแม่แวน", "--district", "5011"});
  CliResult thirty = KboAt(at(-30 * 60 * 1000), behind, {"sync"});
  INFO(thirty.err);
  CHECK(thirty.exit_code == 0);
  CHECK(thirty.err.find("30 minutes behind the server's") != std::string::npos);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + p2 + "'") == 1);
  // It pulled the other's producer too.
  CHECK(f.Kbo(behind, {"show", "producer", p1}).exit_code == 0);

  // Two hours off: refused as before, nothing taken.
  const std::string p3 = AddAt(at(2 * 3600 * 1000), ahead,
                               {"producer", "add", "--kind", "group", "--name",
                                "กลุ่มจักสาน", "--district", "5011"});
  CliResult two = KboAt(at(2 * 3600 * 1000), ahead, {"sync"});
  CHECK(two.exit_code == 5);
  CHECK(two.err.find("clock_skew") != std::string::npos);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + p3 + "'") == 0);
}

TEST_CASE("Clock: a device whose date ran ahead is re-dated once the date is right",
          "[clock][integration]") {
  Field f;
  const std::string home = f.Enrolled("officer", "field_officer", "5011");
  const std::string p1 = f.Add(home, {"producer", "add", "--kind", "group", "--name",
                                      "กลุ่มทอผ้าบ้านป่าตุ้ม", "--district", "5011"});
  f.SyncOk(home);
  const int64_t confirmed_before =
      Field::Count(home + "/field.db", "SELECT COUNT(*) FROM change_set WHERE acked_at IS NOT NULL");

  // The phone's date is three days ahead: an edit of a synced row, a new
  // producer and a photo of it.
  REQUIRE(KboAt(kThreeDaysAhead, home, {"edit", "producer", p1, "--set", "phone=0811111111"})
              .exit_code == 0);
  const std::string p2 = AddAt(kThreeDaysAhead, home,
                               {"producer", "add", "--kind", "entrepreneur", "--name",
                                "ร้านน้ำพริกแม่แวน", "--district", "5011"});
  const std::string jpeg = SampleJpeg(64, 48, 1);
  const std::string file = f.dir() + "/IMG_0002.jpg";
  REQUIRE(WriteFileAtomically(file, jpeg, 0600).ok());
  const std::string sha = f.PhotoSha(
      home,
      AddAt(kThreeDaysAhead, home, {"photo", "add", file, "--subject", "producer:" + p2}));

  // A visit recorded "now" by the clock that is ahead.
  const std::string visit =
      AddAt(kThreeDaysAhead, home, {"visit", "add", "--producer", p1});

  // Sync while the date is still wrong: refused (exit 5), both clocks named.
  CliResult wrong = KboAt(kThreeDaysAhead, home, {"sync", "--server", f.url()});
  INFO(wrong.err << f.server().log());
  CHECK(wrong.exit_code == 5);
  CHECK(wrong.err.find("clock_skew") != std::string::npos);
  // Three days less a few milliseconds of the way: "3 days", not "2 days".
  CHECK(wrong.err.find("clock is 3 days ahead") != std::string::npos);
  CHECK(wrong.err.find("this device's clock:") != std::string::npos);
  CHECK(wrong.err.find("the server's:") != std::string::npos);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + p2 + "'") == 0);
  CHECK(Field::Count(home + "/field.db",
                     "SELECT COUNT(*) FROM change_set WHERE acked_at IS NOT NULL") ==
        confirmed_before);

  // The date is fixed. The clock state is still three days ahead: status
  // says so, and a row recorded now is stamped ahead too.
  CliResult status = f.Kbo(home, {"status"});
  CHECK(status.out.find("clock:              ahead: changes are dated up to") !=
        std::string::npos);
  const std::string p3 = f.Add(home, {"producer", "add", "--kind", "group", "--name",
                                      "กลุ่มจักสานบ้านโป่ง", "--district", "5011"});

  const int64_t before_sync = NowMs();
  CliResult fixed = f.Sync(home);
  INFO(fixed.err << f.server().log());
  REQUIRE(fixed.exit_code == 0);
  CHECK(fixed.out.find("this device's clock was ahead (its changes were dated up to ") !=
        std::string::npos);
  CHECK(fixed.out.find("5 unsent changes re-dated") != std::string::npos);
  // Re-dating never moves a value: the visit's time, still three days
  // ahead, is named for the person to correct.
  CHECK(fixed.out.find("1 time recorded by that clock is still after now") !=
        std::string::npos);
  CHECK(fixed.out.find("visit " + visit + " visited_at ") != std::string::npos);
  // kbo status counts it until it is corrected (a sync cut short after the
  // re-dating would not have said so).
  CHECK(f.KboJson(home, {"status"})["future_visits"] == 1);
  CHECK(f.Kbo(home, {"status"}).out.find("visits ahead:       1 visit is dated after now") !=
        std::string::npos);

  CHECK(fixed.out.find("uploaded 1 photo") != std::string::npos);

  // Everything reached the server, dated now, values as recorded.
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id IN ('" + p2 + "', '" + p3 +
                      "')") == 2);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + p1 +
                      "' AND phone = '0811111111'") == 1);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM photo WHERE sha256 = '" + sha + "'") == 1);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + sha +
                      "' AND complete_at IS NOT NULL") == 1);
  CHECK(Field::DeviceState(home) == f.ServerState());
  const int64_t after_sync = NowMs();
  {
    auto db = OpenTestServerDb(f.server().data_dir());
    REQUIRE(db.ok());
    auto versions = ReadCellVersions(**db, "producer", Uuid::Parse(p2).value());
    REQUIRE(versions.ok());
    REQUIRE(!versions->empty());
    for (const auto& [column, v] : *versions) {
      INFO(column);
      CHECK(v.hlc.wall_ms >= before_sync - 1000);
      CHECK(v.hlc.wall_ms <= after_sync + 1000);
    }
    // The edit of the synced row won over its first value.
    auto p1v = ReadCellVersions(**db, "producer", Uuid::Parse(p1).value());
    REQUIRE(p1v.ok());
    CHECK(p1v->at("phone").hlc > p1v->at("name").hlc);
  }
  CHECK(f.Kbo(home, {"status"}).out.find("clock:") == std::string::npos);

  // Again: an ordinary sync.
  CliResult again = f.Sync(home);
  REQUIRE(again.exit_code == 0);
  CHECK(again.out.find("re-dated") == std::string::npos);
  CHECK(again.out.find("nothing to push") != std::string::npos);
  // Corrected by the person: no longer counted.
  REQUIRE(f.Kbo(home, {"edit", "visit", visit, "--set", "visited_at=2026-01-05T03:00:00Z"})
              .exit_code == 0);
  CHECK(f.KboJson(home, {"status"})["future_visits"] == 0);
}

TEST_CASE("Clock: edits made while a phone was hours ahead (its time zone set to UTC) "
          "are re-dated once its clock is right, and a colleague's later edit wins",
          "[clock][integration]") {
  Field f;
  const std::string fast = f.Enrolled("fast", "field_officer", "5011");
  const std::string other = f.Enrolled("other", "field_officer", "5011");
  const std::string p = f.Add(fast, {"producer", "add", "--kind", "group", "--name",
                                     "กลุ่มทอผ้าบ้านป่าตุ้ม", "--district", "5011"});
  f.SyncOk(fast);
  f.SyncOk(other);
  const std::map<std::string, std::string> seven_hours = {
      {"KBO_TEST_CLOCK_OFFSET_MS", std::to_string(7LL * 3600 * 1000)}};
  REQUIRE(KboAt(seven_hours, fast, {"edit", "producer", p, "--set", "phone=0811111111"})
              .exit_code == 0);
  // The clock is set right, then it syncs: its edit is re-dated to now.
  CliResult synced = f.Sync(fast);
  INFO(synced.err << f.server().log());
  REQUIRE(synced.exit_code == 0);
  CHECK(synced.out.find("re-dated") != std::string::npos);
  // A colleague who pulled it edits the same phone afterwards: the later
  // edit is the one that stays (it was the fast phone's, dated 7 h ahead).
  f.SyncOk(other);
  REQUIRE(f.Kbo(other, {"edit", "producer", p, "--set", "phone=0822222222"}).exit_code == 0);
  f.SyncOk(other);
  f.SyncOk(fast);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + p +
                      "' AND phone = '0822222222'") == 1);
  CHECK(f.KboJson(fast, {"show", "producer", p})["phone"] == "0822222222");
  // And no device's clock was carried hours ahead.
  auto db = OpenTestServerDb(f.server().data_dir());
  REQUIRE(db.ok());
  auto versions = ReadCellVersions(**db, "producer", Uuid::Parse(p).value());
  REQUIRE(versions.ok());
  CHECK(versions->at("phone").hlc.wall_ms < NowMs() + 5 * 60 * 1000);
}

TEST_CASE("Clock: the UI's sync button re-dates the same way", "[clock][integration]") {
  Field f;
  const std::string home = f.Enrolled("trainer", "trainer", "5011");
  AddAt(kThreeDaysAhead, home,
        {"producer", "add", "--kind", "group", "--name", "กลุ่มแม่บ้าน", "--district", "5011"});
  auto store = client::ClientStore::Open(home);
  REQUIRE(store.ok());
  client::SyncSummary summary;
  Status s = client::RunSyncForUi(**store, &summary);
  INFO(s.ToString() << f.server().log());
  REQUIRE(s.ok());
  CHECK(summary.redated_rows == 1);
  CHECK(client::DescribeSummary(summary).find("1 unsent change re-dated") !=
        std::string::npos);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE name = 'กลุ่มแม่บ้าน'") == 1);
}

// A phone whose time zone was set to UTC (seven hours ahead) recorded a day
// with no signal and its bundle was imported at the office. The other
// devices of the district pull its rows and stamp their own after them;
// every push of theirs was refused clock_ahead — re-dated, and refused
// again — until the server's clock caught up, seven hours later.
TEST_CASE("Clock: a bundle stamped hours ahead does not stop the district's devices "
          "from syncing",
          "[clock][integration][bundle]") {
  Field f;
  const std::string phone = f.Enrolled("phone", "field_officer", "5011");
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::map<std::string, std::string> seven_hours = {
      {"KBO_TEST_CLOCK_OFFSET_MS", std::to_string(7LL * 3600 * 1000)}};
  const std::string producer =
      AddAt(seven_hours, phone,
            {"producer", "add", "--kind", "group", "--name", "กลุ่มทอผ้าบ้านป่าตุ้ม",
             "--district", "5011"});
  const std::string bundle = f.dir() + "/phone.kbo";
  REQUIRE(KboAt(seven_hours, phone, {"bundle", "export", bundle}).exit_code == 0);
  CliResult imported = f.Server({"bundle", "import", bundle});
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);

  // The trainer pulls it, edits it and records a producer: both go.
  f.SyncOk(trainer);
  REQUIRE(f.Kbo(trainer, {"edit", "producer", producer, "--set", "phone=0811111111"})
              .exit_code == 0);
  const std::string own = f.Add(trainer, {"producer", "add", "--kind", "entrepreneur",
                                          "--name", "ร้านน้ำพริกแม่แวน", "--district", "5011"});
  CliResult sync = f.Kbo(trainer, {"sync"});
  INFO(sync.err << f.server().log());
  CHECK(sync.exit_code == 0);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE phone = '0811111111'") == 1);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + own + "'") == 1);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM conflict") == 0);
}

// The phone screens' sync (kbo ui, the app) with a clock 20 minutes
// behind: it goes by the server's clock, and the summary the screens draw
// says the clock is off.
TEST_CASE("Clock: the UI's sync goes on with a clock minutes off and says so",
          "[clock][integration]") {
  Field f;
  const std::string home = f.Enrolled("trainer", "trainer", "5011");
  struct Behind : WallClock {
    int64_t NowMillis() override { return NowMs() - 20 * 60 * 1000; }
  } behind;
  auto store = client::ClientStore::Open(home, &behind);
  REQUIRE(store.ok());
  REQUIRE((*store)
              ->Record("producer", {{"kind", Value::Text("group")},
                                    {"name", Value::Text("กลุ่มทอผ้าบ้านโฮ่ง")},
                                    {"district_code", Value::Text("5011")}})
              .ok());
  client::SyncSummary summary;
  Status s = client::RunSyncForUi(**store, &summary);
  INFO(s.ToString() << f.server().log());
  REQUIRE(s.ok());
  CHECK(summary.clock_off_ms < -19 * 60 * 1000);
  CHECK(summary.clock_off_ms > -21 * 60 * 1000);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE name = 'กลุ่มทอผ้าบ้านโฮ่ง'") == 1);
}

}  // namespace
}  // namespace kbo::testing
