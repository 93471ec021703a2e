// kbo-server as a program: its command line, and a real server process on a
// loopback port spoken to over a plain socket (tests/support/server_process.h).

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "server/conflicts.h"
#include "server/console/users.h"
#include "server/push_service.h"
#include "shared/fs.h"
#include "shared/sqlite/db.h"
#include "tests/server/server_fixture.h"
#include "tests/support/server_process.h"

namespace kbo::server::testing {
namespace {

using kbo::testing::CliResult;
using kbo::testing::HttpCall;
using kbo::testing::HttpReply;
using kbo::testing::NowMs;
using kbo::testing::RunServerCli;
using kbo::testing::ServerProcess;
using kbo::testing::SignedHeaders;
using nlohmann::json;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string BundleRecord(uint8_t kind, const std::string& bytes) {
  std::string r(1, static_cast<char>(kind));
  const uint32_t n = static_cast<uint32_t>(bytes.size());
  for (int i = 0; i < 4; ++i) r.push_back(static_cast<char>(n >> (8 * i)));
  return r + bytes;
}

// Enrols `device` on a running server over HTTP.
json EnrollOverHttp(const std::string& data, int port, const TestDevice& device,
                    const std::string& districts) {
  CliResult token = RunServerCli({"--data", data, "token", "create", "--role",
                                  "trainer", "--districts", districts});
  REQUIRE(token.exit_code == 0);
  const json req = {{"token", token.out.substr(0, 64)},
                    {"device_id", device.id.ToString()},
                    {"public_key", device.key.public_key().ToHex()},
                    {"clock_ms", NowMs()}};
  HttpReply r = HttpCall(port, "POST", "/v1/enroll", req.dump(),
                         {{"Content-Type", "application/json"}});
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

TEST_CASE(
    "kbo-server CLI: token create prints the token alone, usage errors exit 2",
    "[server][cli]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  CliResult r = RunServerCli({"--data", data, "token", "create", "--role",
                              "trainer", "--districts", "5011", "--ttl", "2h"});
  CHECK(r.exit_code == 0);
  CHECK(std::regex_match(r.out, std::regex("[0-9a-f]{64}\n")));
  CHECK_THAT(r.err, Catch::Contains("valid until"));
  // The id it names is said to be not the token (a newcomer typed it).
  CHECK(std::regex_search(r.err, std::regex("its id, for token cancel: [0-9a-f]{12}; type "
                                            "the token itself, not the id")));

  CHECK(RunServerCli({"--data", data, "token", "create", "--role", "boss",
                      "--districts", "5011"})
            .exit_code == 2);
  // Districts by name too, as kbo takes them.
  CliResult named = RunServerCli({"--data", data, "token", "create", "--role", "trainer",
                                  "--districts", "พร้าว, Fang"});
  INFO(named.err);
  CHECK(named.exit_code == 0);
  CHECK_THAT(named.err, Catch::Contains("5009,5011") || Catch::Contains("5011,5009"));
  CHECK(RunServerCli({"--data", data, "token", "create", "--role", "trainer",
                      "--districts", "Atlantis"})
            .exit_code == 2);
  CHECK(RunServerCli({"--data", data, "token", "create", "--role", "trainer"})
            .exit_code == 2);
  CHECK(RunServerCli({"--data", data, "frobnicate"}).exit_code == 2);
  CHECK(
      RunServerCli({"--data", data, "token", "create", "--bogus"}).exit_code ==
      2);
  CHECK(RunServerCli({}).exit_code == 2);
  CliResult help = RunServerCli({"--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("conflicts resolve"));
  CHECK(RunServerCli({"--version"}).out.rfind("kbo-server ", 0) == 0);
  CliResult revoke = RunServerCli(
      {"--data", data, "device", "revoke", Uuid::Random().ToString()});
  CHECK(revoke.exit_code == 3);
  CHECK_THAT(revoke.err, Catch::StartsWith("kbo-server: "));
  CHECK(RunServerCli({"--data", data, "list", "spaceship"}).exit_code == 2);
}

TEST_CASE(
    "kbo-server serve: enrol, push, pull, replay and limits over real HTTP, "
    "SIGTERM stops it cleanly and a restart keeps everything",
    "[server][process]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  ServerProcess server(data);
  REQUIRE(server.running());
  const int port = server.port();

  HttpReply health = HttpCall(port, "GET", "/v1/health");
  CHECK(health.status == 200);
  CHECK(json::parse(health.body) == json({{"ok", true}, {"protocol", 1}}));

  TestDevice d;
  const json enrolled = EnrollOverHttp(data, port, d, "5011");
  CHECK(enrolled["districts"] == json::array({"5011"}));
  auto server_key =
      PublicKey::FromHex(enrolled["server_public_key"].get<std::string>());
  REQUIRE(server_key.ok());

  const Uuid producer = Uuid::Random();
  const std::string body =
      d.SealNext({Producer(producer, d.HlcAt(NowMs()), kPhrao)});
  HttpReply pushed =
      HttpCall(port, "POST", "/v1/push", body,
               SignedHeaders(d.key, d.id, "POST", "/v1/push", body, NowMs()));
  REQUIRE(pushed.status == 200);
  Signature receipt_sig{};
  auto receipt = ParsePushResponse(pushed.body, &receipt_sig);
  REQUIRE(receipt.ok());
  CHECK(Verify(*server_key, kReceiptDomain,
               protocol::ReceiptMessage(receipt->receipt), receipt_sig));

  // The same request replayed byte for byte is refused.
  const auto headers =
      SignedHeaders(d.key, d.id, "GET", "/v1/pull?after=0", "", NowMs());
  HttpReply pulled = HttpCall(port, "GET", "/v1/pull?after=0", "", headers);
  REQUIRE(pulled.status == 200);
  CHECK(pulled.Header("x-kbo-next-cursor") == "1");
  CHECK(pulled.Header("x-kbo-more") == "0");
  auto page_sig = SignatureFromHex(pulled.Header("x-kbo-signature"));
  REQUIRE(page_sig.ok());
  CHECK(Verify(
      *server_key, kPullPageDomain,
      protocol::PullPageMessage(d.id.ToString(), 0, 1, false, pulled.body),
      *page_sig));
  HttpReply replay = HttpCall(port, "GET", "/v1/pull?after=0", "", headers);
  CHECK(replay.status == 401);
  CHECK(json::parse(replay.body)["error"] == "replay");

  // A sequence gap names what the server expects.
  d.SealNext({Producer(Uuid::Random(), d.HlcAt(NowMs()), kPhrao)});
  const std::string third =
      d.SealNext({Producer(Uuid::Random(), d.HlcAt(NowMs()), kPhrao)});
  HttpReply gap =
      HttpCall(port, "POST", "/v1/push", third,
               SignedHeaders(d.key, d.id, "POST", "/v1/push", third, NowMs()));
  CHECK(gap.status == 409);
  CHECK(json::parse(gap.body)["error"] == "sequence_gap");
  CHECK(json::parse(gap.body)["expected"] == 2);

  // Unsigned, unknown and oversized requests get JSON errors.
  HttpReply unsigned_push = HttpCall(port, "POST", "/v1/push", body);
  CHECK(unsigned_push.status == 401);
  CHECK(json::parse(unsigned_push.body)["error"] == "unauthenticated");
  HttpReply nowhere = HttpCall(port, "GET", "/v1/nothing");
  CHECK(nowhere.status == 404);
  CHECK(json::parse(nowhere.body)["error"] == "not_found");
  HttpReply huge = HttpCall(port, "POST", "/v1/push",
                            std::string(protocol::kMaxPushBytes + 1, 'x'));
  CHECK(huge.status == 413);
  CHECK(json::parse(huge.body)["error"] == "too_large");
  HttpReply big_chunk = HttpCall(
      port, "PUT",
      "/v1/blobs/" + std::string(64, 'a') + "?offset=0&total=9999999",
      std::string(protocol::kBlobChunkBytes + 1, 'x'), [&] {
        const std::string target =
            "/v1/blobs/" + std::string(64, 'a') + "?offset=0&total=9999999";
        auto h = SignedHeaders(d.key, d.id, "PUT", target,
                               std::string(protocol::kBlobChunkBytes + 1, 'x'),
                               NowMs());
        h[protocol::kChunkHashHeader] = std::string(64, '0');
        return h;
      }());
  CHECK(big_chunk.status == 413);

  // Outside /v1/ is the office console: sign in first.
  HttpReply dashboard = HttpCall(port, "GET", "/");
  CHECK(dashboard.status == 303);
  HttpReply login = HttpCall(port, "GET", "/login");
  CHECK(login.status == 200);
  CHECK_THAT(login.body, Catch::Contains("viewport") &&
                             Catch::Contains("เข้าสู่ระบบ"));

  CHECK(server.Stop() == 0);
  CHECK_THAT(server.log(), Catch::Contains("POST /v1/push 200") &&
                               Catch::Contains(d.id.ToString()));
  // Nothing internal leaks into a response, and everything survives a restart.
  REQUIRE(server.Start());
  const auto again = SignedHeaders(d.key, d.id, "GET",
                                   "/v1/pull?after=0&limit=10", "", NowMs());
  HttpReply after_restart =
      HttpCall(server.port(), "GET", "/v1/pull?after=0&limit=10", "", again);
  CHECK(after_restart.status == 200);
  CHECK(after_restart.body == pulled.body);
  CliResult devices =
      RunServerCli({"--data", data, "device", "list", "--json"});
  REQUIRE(devices.exit_code == 0);
  const json list = json::parse(devices.out);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["last_seq"] == 1);
  CHECK(list[0]["clock_off"] == false);
}

TEST_CASE(
    "kbo-server serve: devices pushing at once are all applied exactly once",
    "[server][process]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  ServerProcess server(data);
  REQUIRE(server.running());
  constexpr int kDevices = 4, kSets = 5, kRows = 20;
  std::vector<TestDevice> devices(kDevices);
  for (TestDevice& d : devices) EnrollOverHttp(data, server.port(), d, "5011");
  std::vector<int> failures(kDevices, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kDevices; ++t) {
    threads.emplace_back([&, t] {
      TestDevice& d = devices[static_cast<size_t>(t)];
      for (int s = 0; s < kSets; ++s) {
        std::vector<RowChange> rows;
        for (int i = 0; i < kRows; ++i) {
          rows.push_back(Producer(Uuid::Random(), d.HlcAt(NowMs()), kPhrao));
        }
        const std::string body = d.SealNext(rows);
        // Each set is sent twice: a retry after a lost answer.
        for (int attempt = 0; attempt < 2; ++attempt) {
          HttpReply r = HttpCall(
              server.port(), "POST", "/v1/push", body,
              SignedHeaders(d.key, d.id, "POST", "/v1/push", body, NowMs()));
          if (r.status != 200) ++failures[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(failures == std::vector<int>(kDevices, 0));
  CHECK(server.Stop() == 0);
  CliResult rows = RunServerCli({"--data", data, "list", "producer", "--json"});
  REQUIRE(rows.exit_code == 0);
  CHECK(json::parse(rows.out).size() == kDevices * kSets * kRows);
  // The plural, as kbo takes it.
  CliResult plural = RunServerCli({"--data", data, "list", "Producers", "--json"});
  REQUIRE(plural.exit_code == 0);
  CHECK(plural.out == rows.out);
  CHECK(RunServerCli({"--data", data, "list", "producerz"}).exit_code == 2);
}

TEST_CASE(
    "kbo-server export csv: UTF-8 with BOM, formulas defused, numbers kept",
    "[server][cli][csv]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  {
    ManualWallClock wall(kT0);
    auto store = ServerStore::Open(data, &wall, kbo::testing::TestDbUrlFor(data));
    REQUIRE(store.ok());
    TestDevice d;
    Enrolment enrolment(**store);
    auto token = enrolment.CreateToken("trainer", "5011", 3600000);
    EnrollRequest req{*token, d.id, d.key.public_key(), std::nullopt, std::nullopt};
    REQUIRE(enrolment.Enroll(req).ok());
    PushService push(**store);
    const Uuid visit = Uuid::Random(), producer = Uuid::Random();
    REQUIRE(push.PushFromBundle(
                    d.SealNext(
                        {Producer(producer, d.HlcAt(kT0), kPhrao,
                                  "=HYPERLINK(\"http://evil\",\"กลุ่ม\")"),
                         Row("visit", visit, d.HlcAt(kT0),
                             {{"producer_id", T(producer.ToString()), 0},
                              {"visited_at", T("2024-03-10T02:00:00Z"), 0},
                              {"lat", Value::Real(19.3667), 0},
                              {"lon", Value::Real(-99.25), 0},
                              {"notes", T("-ไม่มี-"), 0},
                              {"district_code", T(kPhrao), 0}})}))
                .ok());
  }
  const std::string out = tmp.File("csv");
  CliResult r = RunServerCli({"--data", data, "export", "csv", "--out", out});
  REQUIRE(r.exit_code == 0);
  const std::string producers = ReadAll(out + "/producer.csv");
  // People's files by default: Thai headers (xlsx_export_test has the rest).
  CHECK(producers.rfind("\xEF\xBB\xBF"
                        "ประเภท,ชื่อ,อำเภอ",
                        0) == 0);
  const std::string raw = tmp.File("raw");
  REQUIRE(RunServerCli({"--data", data, "export", "csv", "--out", raw, "--raw"})
              .exit_code == 0);
  CHECK(ReadAll(raw + "/producer.csv")
            .rfind("\xEF\xBB\xBF"
                   "id,kind,name,district_code",
                   0) == 0);
  // A raw export into the people's folder: their report sheets go (they
  // would be read as this export's), a file of another name stays.
  REQUIRE(FileExists(out + "/attendance_grid.csv"));
  REQUIRE(FileExists(out + "/contest_ranking.csv"));
  {
    std::ofstream mine(out + "/notes.csv");
    mine << "kept";
  }
  CliResult over = RunServerCli({"--data", data, "export", "csv", "--out", out, "--raw"});
  REQUIRE(over.exit_code == 0);
  CHECK_FALSE(FileExists(out + "/attendance_grid.csv"));
  CHECK_FALSE(FileExists(out + "/contest_ranking.csv"));
  CHECK(ReadAll(out + "/notes.csv") == "kept");
  CHECK_THAT(over.err, Catch::Contains("removed " + out + "/attendance_grid.csv"));
  CHECK(over.out.find("attendance_grid") == std::string::npos);
  CHECK(ReadAll(out + "/producer.csv").rfind("\xEF\xBB\xBF" "id,kind", 0) == 0);
  // And back: the people's export writes its report sheets again (a
  // folder given with its slash names its files without a second one).
  CliResult back = RunServerCli({"--data", data, "export", "csv", "--out", out + "/"});
  REQUIRE(back.exit_code == 0);
  CHECK_THAT(back.out, Catch::Contains(out + "/producer.csv\t1 row\r\n") ||
                           Catch::Contains(out + "/producer.csv\t1 row\n"));
  CHECK(back.out.find("//") == std::string::npos);
  CHECK(FileExists(out + "/attendance_grid.csv"));

  CHECK_THAT(
      producers,
      Catch::Contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"กลุ่ม\"\")\""));
  const std::string visits = ReadAll(out + "/visit.csv");
  CHECK_THAT(visits, Catch::Contains(",19.3667,-99.25,"));
  CHECK_THAT(visits, Catch::Contains("'-ไม่มี-"));
  CHECK(ReadAll(out + "/photo.csv").size() > 3);

  CliResult list = RunServerCli({"--data", data, "list", "producer", "--json"});
  REQUIRE(list.exit_code == 0);
  const json rows = json::parse(list.out);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["district_code"] == "5011");
  // As `kbo list --json` writes it: a boolean, the columns in catalogue
  // order after the id.
  CHECK(rows[0]["deleted"] == false);
  CHECK(rows[0]["deleted"].is_boolean());
  CHECK(list.out.find("\"id\"") < list.out.find("\"kind\""));
  CHECK(list.out.find("\"kind\"") < list.out.find("\"district_code\""));
  CHECK(list.out.find("\"cluster_brand\"") < list.out.find("\"deleted\""));
}

TEST_CASE(
    "kbo-server bundle import: the same checks as a push, idempotent, and a "
    "damaged file stops with a clear error",
    "[server][cli][bundle]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  TestDevice d, stranger;
  {
    ManualWallClock wall(NowMs());
    auto store = ServerStore::Open(data, &wall, kbo::testing::TestDbUrlFor(data));
    REQUIRE(store.ok());
    Enrolment enrolment(**store);
    auto token = enrolment.CreateToken("trainer", "5011", 3600000);
    EnrollRequest req{*token, d.id, d.key.public_key(), std::nullopt, std::nullopt};
    REQUIRE(enrolment.Enroll(req).ok());
  }
  const std::string photo = "\xFF\xD8\xFF photo bytes";
  const std::string sha = HexEncode(Sha256(photo));
  const auto photo_row = [&](TestDevice& device, const Uuid& producer,
                             const std::string& bytes) {
    return Row("photo", Uuid::Random(), device.HlcAt(NowMs()),
               {{"subject_type", T("producer"), 0},
                {"subject_id", T(producer.ToString()), 0},
                {"sha256", T(HexEncode(Sha256(bytes))), 0},
                {"bytes", I(static_cast<int64_t>(bytes.size())), 0},
                {"mime", T("image/jpeg"), 0},
                {"district_code", T(kPhrao), 0}});
  };
  const Uuid group = Uuid::Random();
  std::string bundle(protocol::kBundleMagic);
  bundle += BundleRecord(
      1, d.SealNext({Producer(group, d.HlcAt(NowMs()), kPhrao)}));
  bundle += BundleRecord(1, d.SealNext({photo_row(d, group, photo)}));
  bundle += BundleRecord(2, sha + photo);
  // A photo no row names: refused, nothing written.
  const std::string stray = "\xFF\xD8\xFF no row names me";
  bundle += BundleRecord(2, HexEncode(Sha256(stray)) + stray);
  WriteAll(tmp.File("b1.kbo"), bundle);

  CliResult first =
      RunServerCli({"--data", data, "bundle", "import", tmp.File("b1.kbo")});
  INFO(first.out << first.err);
  CHECK(first.exit_code == 5);  // one record refused, the others imported
  CHECK_THAT(first.err, Catch::Contains("1 record refused (see above)"));
  CHECK_THAT(first.out,
             Catch::Contains("2 applied") && Catch::Contains("1 stored"));
  CHECK_THAT(first.out + first.err, Catch::Contains("no photo on this server names it"));
  CHECK_FALSE(FileExists(data + "/blobs/" + HexEncode(Sha256(stray))));
  CliResult second =
      RunServerCli({"--data", data, "bundle", "import", tmp.File("b1.kbo")});
  CHECK(second.exit_code == 5);
  CHECK_THAT(second.out, Catch::Contains("0 applied, 2 already applied") &&
                             Catch::Contains("1 already held"));
  CHECK(ReadAll(data + "/blobs/" + sha) == photo);
  // Cut inside its first record: nothing of it went in, and it says so (it
  // said "the records before it were imported").
  WriteAll(tmp.File("cut.kbo"), bundle.substr(0, 40));
  CliResult cut_first = RunServerCli({"--data", data, "bundle", "import", tmp.File("cut.kbo")});
  CHECK(cut_first.exit_code == 2);
  CHECK_THAT(cut_first.err, Catch::Contains("nothing of the file was imported"));

  // A revoked device's bundle: its sets refused, and its photo not kept.
  {
    TestDevice revoked;
    {
      ManualWallClock wall(NowMs());
      auto store = ServerStore::Open(data, &wall, kbo::testing::TestDbUrlFor(data));
      REQUIRE(store.ok());
      Enrolment enrolment(**store);
      auto token = enrolment.CreateToken("trainer", "5011", 3600000);
      REQUIRE(enrolment.Enroll({*token, revoked.id, revoked.key.public_key(),
                                std::nullopt, std::nullopt}).ok());
    }
    // Recorded before the revocation, exported as a bundle.
    const std::string own = "\xFF\xD8\xFF the revoked device's photo";
    const Uuid its_group = Uuid::Random();
    std::string theirs(protocol::kBundleMagic);
    theirs += BundleRecord(1, revoked.SealNext({Producer(
                                  its_group, revoked.HlcAt(NowMs() - 5000), kPhrao),
                              photo_row(revoked, its_group, own)}));
    theirs += BundleRecord(2, HexEncode(Sha256(own)) + own);
    WriteAll(tmp.File("revoked.kbo"), theirs);
    REQUIRE(RunServerCli({"--data", data, "device", "revoke",
                          revoked.id.ToString()}).exit_code == 0);
    CliResult r = RunServerCli(
        {"--data", data, "bundle", "import", tmp.File("revoked.kbo")});
    INFO(r.out << r.err);
    CHECK_THAT(r.out, Catch::Contains("0 applied") && Catch::Contains("1 refused") &&
                          Catch::Contains("0 stored"));
    CHECK_FALSE(FileExists(data + "/blobs/" + HexEncode(Sha256(own))));

    // The office vouches for it: that device's sets, and the photo, go in.
    CHECK(RunServerCli({"--data", data, "bundle", "import", tmp.File("revoked.kbo"),
                        "--accept-revoked", d.id.ToString()})
              .exit_code == 2);  // d is not revoked
    CHECK(RunServerCli({"--data", data, "bundle", "import", tmp.File("revoked.kbo"),
                        "--accept-revoked", Uuid::Random().ToString()})
              .exit_code == 3);
    CHECK(RunServerCli({"--data", data, "bundle", "import", tmp.File("revoked.kbo"),
                        "--accept-revoked", "phone-1"})
              .exit_code == 2);
    CHECK(RunServerCli({"--data", data, "bundle", "import", tmp.File("revoked.kbo"),
                        "--accept-revoked", "6f1"})
              .exit_code == 2);  // too short a start of an id
    // The start of its id names it, as device list shows it.
    CliResult vouched = RunServerCli({"--data", data, "bundle", "import",
                                      tmp.File("revoked.kbo"), "--accept-revoked",
                                      revoked.id.ToString().substr(0, 8)});
    INFO(vouched.out << vouched.err);
    CHECK(vouched.exit_code == 0);
    CHECK_THAT(vouched.out, Catch::Contains("1 applied") &&
                                Catch::Contains("1 from revoked device") &&
                                Catch::Contains("1 stored"));
    CHECK(ReadAll(data + "/blobs/" + HexEncode(Sha256(own))) == own);
    // The same file again, without the flag: already held, not refused
    // (it said "revoked … 1 refused", exit 5).
    CliResult again = RunServerCli({"--data", data, "bundle", "import",
                                    tmp.File("revoked.kbo")});
    INFO(again.out << again.err);
    CHECK(again.exit_code == 0);
    CHECK_THAT(again.out, Catch::Contains("0 applied, 1 already applied, 0 refused") &&
                              Catch::Contains("1 already held"));
    CliResult listed = RunServerCli({"--data", data, "list", "producer", "--json"});
    CHECK_THAT(listed.out, Catch::Contains(its_group.ToString()));
    {
      ManualWallClock wall(NowMs());
      auto store = ServerStore::Open(data, &wall, kbo::testing::TestDbUrlFor(data));
      REQUIRE(store.ok());
      auto audit = console::ReadAudit(**store, 5);
      REQUIRE(audit.ok());
      REQUIRE_FALSE(audit->empty());
      CHECK(audit->front().action == "bundle_accept_revoked");
      CHECK(audit->front().subject == revoked.id.ToString());
    }

    // Vouching takes only what that device recorded before it was revoked:
    // a row recorded since (by whoever holds the phone) is refused on its
    // own, kept for the office, while the row recorded before it in the
    // same set goes in; another revoked device's set, and one claiming its
    // id but signed by another key, are refused, with nothing of them
    // stored.
    TestDevice other_revoked;
    {
      ManualWallClock wall(NowMs());
      auto store = ServerStore::Open(data, &wall, kbo::testing::TestDbUrlFor(data));
      REQUIRE(store.ok());
      Enrolment enrolment(**store);
      auto token = enrolment.CreateToken("trainer", "5011", 3600000);
      REQUIRE(enrolment.Enroll({*token, other_revoked.id,
                                other_revoked.key.public_key(), std::nullopt, std::nullopt})
                  .ok());
    }
    const std::string other_set = other_revoked.SealNext(
        {Producer(Uuid::Random(), other_revoked.HlcAt(NowMs() - 5000), kPhrao)});
    REQUIRE(RunServerCli({"--data", data, "device", "revoke",
                          other_revoked.id.ToString()}).exit_code == 0);
    TestDevice impostor;
    impostor.id = revoked.id;
    impostor.seq = revoked.seq;
    const Uuid late_group = Uuid::Random(), other_group = Uuid::Random(),
               early_group = Uuid::Random();
    std::string mixed(protocol::kBundleMagic);
    mixed += BundleRecord(
        1, revoked.SealNext(
               {Producer(early_group, revoked.HlcAt(NowMs() - 60000), kPhrao),
                Producer(late_group, revoked.HlcAt(NowMs() + 5000), kPhrao)}));
    mixed += BundleRecord(1, other_set);
    mixed += BundleRecord(1, impostor.SealNext({Producer(
                                 other_group, impostor.HlcAt(NowMs() - 5000), kPhrao)}));
    WriteAll(tmp.File("mixed.kbo"), mixed);
    CliResult refused = RunServerCli({"--data", data, "bundle", "import",
                                      tmp.File("mixed.kbo"), "--accept-revoked",
                                      revoked.id.ToString()});
    INFO(refused.out << refused.err);
    CHECK(refused.exit_code == 5);
    CHECK_THAT(refused.out, Catch::Contains("1 applied") && Catch::Contains("2 refused"));
    CHECK_THAT(refused.out + refused.err, Catch::Contains("after_revocation") &&
                                              Catch::Contains("revoked:") &&
                                              Catch::Contains("bad_signature"));
    CliResult after = RunServerCli({"--data", data, "list", "producer", "--json"});
    CHECK_THAT(after.out, Catch::Contains(early_group.ToString()) &&
                              !Catch::Contains(late_group.ToString()) &&
                              !Catch::Contains(other_group.ToString()));
    // The refused row is kept for the office to see.
    CliResult kept = RunServerCli({"--data", data, "refused", "list", "--json"});
    CHECK_THAT(kept.out, Catch::Contains(late_group.ToString()) &&
                             Catch::Contains("after_revocation"));
    // The only refusal a row inside a set that went in: still exit 5 (it
    // was 0, and a script read the bundle as all taken).
    const Uuid before_group = Uuid::Random(), after_group = Uuid::Random();
    std::string rows_only(protocol::kBundleMagic);
    rows_only += BundleRecord(
        1, revoked.SealNext(
               {Producer(before_group, revoked.HlcAt(NowMs() - 60000), kPhrao),
                Producer(after_group, revoked.HlcAt(NowMs() + 5000), kPhrao)}));
    WriteAll(tmp.File("rows-only.kbo"), rows_only);
    CliResult row_refused = RunServerCli({"--data", data, "bundle", "import",
                                          tmp.File("rows-only.kbo"), "--accept-revoked",
                                          revoked.id.ToString()});
    INFO(row_refused.out << row_refused.err);
    CHECK(row_refused.exit_code == 5);
    CHECK_THAT(row_refused.out, Catch::Contains("1 applied") &&
                                    Catch::Contains("rows refused in applied change sets: 1"));
    CHECK_THAT(row_refused.err, Catch::Contains("1 row refused") &&
                                    Catch::Contains("everything else was imported"));
    CHECK_THAT(RunServerCli({"--data", data, "list", "producer", "--json"}).out,
               Catch::Contains(before_group.ToString()) &&
                   !Catch::Contains(after_group.ToString()));
  }

  // A stranger's set is refused; a truncated record stops the import.
  std::string bad(protocol::kBundleMagic);
  bad += BundleRecord(
      1, d.SealNext({Producer(Uuid::Random(), d.HlcAt(NowMs()), kPhrao)}));
  bad += BundleRecord(
      1, stranger.SealNext(
             {Producer(Uuid::Random(), stranger.HlcAt(NowMs()), kPhrao)}));
  const std::string cut = BundleRecord(
      1, d.SealNext({Producer(Uuid::Random(), d.HlcAt(NowMs()), kPhrao)}));
  bad += cut.substr(0, cut.size() - 5);
  WriteAll(tmp.File("b2.kbo"), bad);
  CliResult damaged =
      RunServerCli({"--data", data, "bundle", "import", tmp.File("b2.kbo")});
  CHECK(damaged.exit_code == 2);
  CHECK_THAT(damaged.out,
             Catch::Contains("1 applied") && Catch::Contains("1 refused"));
  CHECK_THAT(damaged.err,
             Catch::Contains("cut short") && Catch::Contains("not enrolled") &&
                 Catch::Contains("the records before it were imported"));
  // One byte changed on the way: said to be damaged or altered.
  {
    std::string flipped(protocol::kBundleMagic);
    std::string record = BundleRecord(
        1, d.SealNext({Producer(Uuid::Random(), d.HlcAt(NowMs()), kPhrao)}));
    record[record.size() - 20] ^= 0x5A;
    flipped += record;
    WriteAll(tmp.File("flipped.kbo"), flipped);
    CliResult r = RunServerCli(
        {"--data", data, "bundle", "import", tmp.File("flipped.kbo")});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 5);
    CHECK_THAT(r.err, Catch::Contains("damaged or altered after it was written"));
  }
  WriteAll(tmp.File("b3.kbo"), "not a bundle");
  CHECK(RunServerCli({"--data", data, "bundle", "import", tmp.File("b3.kbo")})
            .exit_code == 2);
  CHECK(RunServerCli({"--data", data, "bundle", "import", tmp.File("none.kbo")})
            .exit_code == 3);
}

// Two devices enrolled as `role` of Phrao in the server at `data`, then
// `then` with its store (open at kT0) for their pushes.
void WithTwoDevices(const std::string& data, const std::string& role, TestDevice& a,
                    TestDevice& b, const std::function<void(ServerStore&)>& then) {
  ManualWallClock wall(kT0);
  auto store = ServerStore::Open(data, &wall, kbo::testing::TestDbUrlFor(data));
  REQUIRE(store.ok());
  Enrolment enrolment(**store);
  for (TestDevice* d : {&a, &b}) {
    auto token = enrolment.CreateToken(role, "5011", 3600000);
    EnrollRequest req{*token, d->id, d->key.public_key(), std::nullopt, std::nullopt};
    REQUIRE(enrolment.Enroll(req).ok());
  }
  then(**store);
}

TEST_CASE("kbo-server conflicts list: a value's line break does not split "
          "the conflict's lines",
          "[server][cli][conflict]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  TestDevice a, b;
  WithTwoDevices(data, "field_officer", a, b, [&](ServerStore& store) {
    PushService push(store);
    const Uuid producer = Uuid::Random(), visit = Uuid::Random();
    REQUIRE(push.PushFromBundle(
                    a.SealNext({Producer(producer, a.HlcAt(kT0), kPhrao),
                                Row("visit", visit, a.HlcAt(kT0),
                                    {{"producer_id", T(producer.ToString()), 0},
                                     {"visited_at", T("2026-09-01T03:00:00Z"), 0},
                                     {"purpose", T("follow_up"), 0},
                                     {"notes", T("ดูต้นแบบ\nนัดครั้งหน้า"), 0},
                                     {"district_code", T(kPhrao), 0}})}))
                .ok());
    REQUIRE(push.PushFromBundle(b.SealNext({Row("visit", visit, b.HlcAt(kT0 + 1),
                                                {{"notes", T("ยังไม่เสร็จ\r\nโทรก่อน"), 0}})}))
                .ok());
  });
  CliResult text = RunServerCli({"--data", data, "conflicts", "list"});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("current : 'ดูต้นแบบ นัดครั้งหน้า' by"));
  CHECK_THAT(text.out, Catch::Contains("incoming: 'ยังไม่เสร็จ  โทรก่อน' by"));
}

TEST_CASE("kbo-server conflicts list names the row a conflict is about by its "
          "producer, workshop, participant and course day, in text and JSON",
          "[server][cli][conflict]") {
  // The list gave "attendance 3f0c… .status" alone: the office had to look
  // the id up to know whose mark it was.
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  TestDevice a, b;
  WithTwoDevices(data, "trainer", a, b, [&](ServerStore& store) {
    PushService push(store);
    const Uuid producer = Uuid::Random(), workshop = Uuid::Random(),
               enrolment = Uuid::Random();
    RowValues key;
    key["workshop_id"] = T(workshop.ToString());
    key["enrolment_id"] = T(enrolment.ToString());
    key["day"] = I(3);
    const Uuid mark = DerivedRowId(*FindEntity("attendance"), key).value();
    auto status = [&](TestDevice& d, int64_t at, const char* value) {
      return Row("attendance", mark, d.HlcAt(at),
                 {{"workshop_id", T(workshop.ToString()), 0},
                  {"enrolment_id", T(enrolment.ToString()), 0},
                  {"day", I(3), 0},
                  {"status", T(value), 0},
                  {"district_code", T(kPhrao), 0}});
    };
    REQUIRE(push.PushFromBundle(
                    a.SealNext({Producer(producer, a.HlcAt(kT0), kPhrao,
                                         "กลุ่มจักสาน\tบ้านโป่ง"),
                                Workshop(workshop, a.HlcAt(kT0), kPhrao,
                                         "อบรมพัฒนาผลิตภัณฑ์"),
                                Row("enrolment", enrolment, a.HlcAt(kT0),
                                    {{"workshop_id", T(workshop.ToString()), 0},
                                     {"producer_id", T(producer.ToString()), 0},
                                     {"participant_name", T("นางสมศรี ใจดี"), 0},
                                     {"district_code", T(kPhrao), 0}}),
                                status(a, kT0 + 10, "present")}))
                .ok());
    REQUIRE(push.PushFromBundle(b.SealNext({status(b, kT0 + 20, "absent")})).ok());
  });
  CliResult text = RunServerCli({"--data", data, "conflicts", "list"});
  REQUIRE(text.exit_code == 0);
  // The producer's name as sent, its tab made a space (one line).
  CHECK_THAT(text.out,
             Catch::Contains("  about   : อบรมพัฒนาผลิตภัณฑ์ · นางสมศรี ใจดี · "
                             "กลุ่มจักสาน บ้านโป่ง · day 3\n"));
  CliResult js = RunServerCli({"--data", data, "conflicts", "list", "--json"});
  REQUIRE(js.exit_code == 0);
  const nlohmann::json arr = nlohmann::json::parse(js.out);
  REQUIRE(arr.size() == 1);
  CHECK(arr[0]["subject"] ==
        "อบรมพัฒนาผลิตภัณฑ์ · นางสมศรี ใจดี · กลุ่มจักสาน\tบ้านโป่ง · day 3");
}

TEST_CASE("kbo-server conflicts list: a stage conflict offers only the further "
          "stage to keep, and resolving the earlier one says what to do",
          "[server][cli][conflict]") {
  // The list said "(--keep current)" beside the earlier stage, and
  // resolving with it was refused with nothing about the other side.
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  TestDevice a, b;
  std::string id;
  WithTwoDevices(data, "trainer", a, b, [&](ServerStore& store) {
    PushService push(store);
    const Uuid producer = Uuid::Random(), product = Uuid::Random();
    REQUIRE(push.PushFromBundle(
                    a.SealNext({Producer(producer, a.HlcAt(kT0), kPhrao),
                                Row("product", product, a.HlcAt(kT0),
                                    {{"producer_id", T(producer.ToString()), 0},
                                     {"name", T("ผ้าฝ้ายทอมือ"), 0},
                                     {"stage", T("idea"), 0},
                                     {"district_code", T(kPhrao), 0}}),
                                Row("product", product, a.HlcAt(kT0 + 1),
                                    {{"stage", T("packaging"), 0}})}))
                .ok());
    // b, offline since before, moves it to design.
    REQUIRE(push.PushFromBundle(b.SealNext({Row("product", product, b.HlcAt(kT0 + 2),
                                                {{"stage", T("design"), 0}})}))
                .ok());
    auto list = Conflicts(store).List();
    REQUIRE(list.ok());
    REQUIRE(list->size() == 1);
    id = list->front().id;
  });
  CliResult text = RunServerCli({"--data", data, "conflicts", "list"});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("current : 'packaging'") &&
                           Catch::Contains("received first (--keep current)") &&
                           Catch::Contains("received later (cannot be kept: this column "
                                           "only moves forward)") &&
                           !Catch::Contains("--keep incoming"));
  CliResult back = RunServerCli({"--data", data, "conflicts", "resolve", id.substr(0, 8),
                                 "--keep", "incoming", "--reason", "x"});
  CHECK(back.exit_code == 2);
  CHECK_THAT(back.err, Catch::Contains("keep the further value"));
  CliResult kept = RunServerCli({"--data", data, "conflicts", "resolve", id.substr(0, 8),
                                 "--keep", "current", "--reason", "บรรจุภัณฑ์แล้ว"});
  INFO(kept.out << kept.err);
  CHECK(kept.exit_code == 0);
  // Decided: no side is offered any more.
  CliResult after = RunServerCli({"--data", data, "conflicts", "list"});
  REQUIRE(after.exit_code == 0);
  CHECK_THAT(after.out, Catch::Contains("resolved ") && !Catch::Contains("--keep current") &&
                            !Catch::Contains("cannot be kept"));
}

TEST_CASE("kbo-server conflicts list and resolve from the command line",
          "[server][cli][conflict]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  TestDevice a, b;
  WithTwoDevices(data, "trainer", a, b, [&](ServerStore& store) {
    PushService push(store);
    const Uuid id = Uuid::Random();
    REQUIRE(push.PushFromBundle(
                    a.SealNext({Producer(id, a.HlcAt(kT0), kPhrao, "กลุ่มเก่า")}))
                .ok());
    REQUIRE(
        push.PushFromBundle(b.SealNext({Row("producer", id, b.HlcAt(kT0 + 1),
                                            {{"name", T("กลุ่มใหม่"), 0}})}))
            .ok());
  });
  CliResult list =
      RunServerCli({"--data", data, "conflicts", "list", "--json"});
  REQUIRE(list.exit_code == 0);
  const json conflicts = json::parse(list.out);
  REQUIRE(conflicts.size() == 1);
  const std::string id = conflicts[0]["id"];
  CHECK(conflicts[0]["current_value"] == "กลุ่มเก่า");
  CHECK(conflicts[0]["incoming_value"] == "กลุ่มใหม่");
  CHECK(conflicts[0]["resolved"] == false);
  CliResult text = RunServerCli({"--data", data, "conflicts", "list"});
  CHECK_THAT(text.out, Catch::Contains("OPEN") && Catch::Contains("กลุ่มเก่า"));
  // What each side is, and the value shown: "keep what shows" is not read
  // as --keep current.
  CHECK_THAT(text.out, Catch::Contains("shown now: incoming 'กลุ่มใหม่' (to keep it: --keep incoming)"));
  CHECK_THAT(text.out, Catch::Contains("received first (--keep current)") &&
                           Catch::Contains("received later (--keep incoming)"));
  // Each side by who wrote it, as the console says it: a device without a
  // label by its id's start, one with a label by the label, the id after.
  const std::string a_id = a.id.ToString(), b_id = b.id.ToString();
  CHECK_THAT(text.out, Catch::Contains("by device " + a_id.substr(0, 8) + " (" + a_id + ")"));
  REQUIRE(RunServerCli({"--data", data, "device", "label", b_id, "ครูสุดา พร้าว"}).exit_code ==
          0);
  text = RunServerCli({"--data", data, "conflicts", "list"});
  CHECK_THAT(text.out, Catch::Contains("by ครูสุดา พร้าว (device " + b_id + ")"));

  CHECK(RunServerCli({"--data", data, "conflicts", "resolve", id}).exit_code ==
        2);
  CHECK(
      RunServerCli({"--data", data, "conflicts", "resolve", id, "--keep", "x"})
          .exit_code == 2);
  CliResult resolved =
      RunServerCli({"--data", data, "conflicts", "resolve", id, "--value",
                    "กลุ่มทอผ้าบ้านป่าตุ้ม", "--reason", "โทรถามประธานกลุ่มแล้ว"});
  CHECK(resolved.exit_code == 0);
  CHECK_THAT(resolved.out, Catch::Contains("resolved " + id));
  CliResult after =
      RunServerCli({"--data", data, "conflicts", "list", "--json"});
  CHECK(json::parse(after.out)[0]["resolved"] == true);
  // Resolved, the text no longer says the merge's choice is what shows.
  CliResult after_text = RunServerCli({"--data", data, "conflicts", "list"});
  CHECK_THAT(after_text.out, Catch::Contains("-> 'กลุ่มทอผ้าบ้านป่าตุ้ม'"));
  CHECK_THAT(after_text.out, Catch::Contains("the merge had shown: incoming"));
  CHECK_THAT(after_text.out, !Catch::Contains("shown now"));
  CliResult rows = RunServerCli({"--data", data, "list", "producer"});
  CHECK_THAT(rows.out, Catch::Contains("กลุ่มทอผ้าบ้านป่าตุ้ม"));
  // Resolved already: the person's input, refused with exit 2 (not 1),
  // saying when, by whom and to what; nothing is written.
  const std::string conflicts_before =
      RunServerCli({"--data", data, "conflicts", "list", "--json"}).out;
  for (const char* keep : {"current", "incoming"}) {
    CAPTURE(keep);
    CliResult again = RunServerCli(
        {"--data", data, "conflicts", "resolve", id.substr(0, 8), "--keep", keep});
    CHECK(again.exit_code == 2);
    CHECK_THAT(again.err,
               Catch::Contains("conflict " + id + " was already resolved on ") &&
                   Catch::Contains(" by cli (value 'กลุ่มทอผ้าบ้านป่าตุ้ม'; "
                                   "reason: โทรถามประธานกลุ่มแล้ว)") &&
                   Catch::Contains("nothing was changed"));
    CHECK_THAT(again.err, !Catch::Contains("usage"));
  }
  CHECK(RunServerCli({"--data", data, "conflicts", "list", "--json"}).out ==
        conflicts_before);
  CHECK_THAT(RunServerCli({"--data", data, "list", "producer"}).out,
             Catch::Contains("กลุ่มทอผ้าบ้านป่าตุ้ม"));
}

}  // namespace
}  // namespace kbo::server::testing

namespace kbo::server::testing {
namespace {

TEST_CASE("kbo-server conflicts: a value written after the conflict is listed "
          "as later and never replaced unseen, --seen checked",
          "[server][cli][conflict]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  TestDevice a, b;
  const Uuid id = Uuid::Random();
  const auto open = [&](ManualWallClock* wall) {
    auto store = ServerStore::Open(data, wall, kbo::testing::TestDbUrlFor(data));
    REQUIRE(store.ok());
    return std::move(*store);
  };
  {
    ManualWallClock wall(kT0);
    auto store = open(&wall);
    Enrolment enrolment(*store);
    for (TestDevice* d : {&a, &b}) {
      auto token = enrolment.CreateToken("trainer", "5011", 3600000);
      EnrollRequest req{*token, d->id, d->key.public_key(), std::nullopt, std::nullopt};
      REQUIRE(enrolment.Enroll(req).ok());
    }
    PushService push(*store);
    REQUIRE(push.PushFromBundle(
                    a.SealNext({Producer(id, a.HlcAt(kT0), kPhrao, "กลุ่มเก่า")}))
                .ok());
    REQUIRE(
        push.PushFromBundle(b.SealNext({Row("producer", id, b.HlcAt(kT0 + 1),
                                            {{"name", T("กลุ่มใหม่"), 0}})}))
            .ok());
  }
  json conflicts = json::parse(
      RunServerCli({"--data", data, "conflicts", "list", "--json"}).out);
  REQUIRE(conflicts.size() == 1);
  CHECK(conflicts[0]["later"].is_null());
  const std::string cid = conflicts[0]["id"];
  const uint64_t incoming_seq = conflicts[0]["incoming_seq"];
  {
    // Device a, having pulled the conflict, names the group a third way.
    ManualWallClock wall(kT0 + 10);
    auto store = open(&wall);
    REQUIRE(server::storage::Devices(store->db()).NoteServed(a.id.ToString(), incoming_seq).ok());
    REQUIRE(PushService(*store)
                .PushFromBundle(a.SealNext({Row("producer", id, a.HlcAt(kT0 + 5),
                                                {{"name", T("กลุ่มที่สาม"), incoming_seq}})}))
                .ok());
  }
  conflicts = json::parse(
      RunServerCli({"--data", data, "conflicts", "list", "--json"}).out);
  REQUIRE(conflicts.size() == 1);
  REQUIRE(conflicts[0]["later"].is_object());
  CHECK(conflicts[0]["later"]["value"] == "กลุ่มที่สาม");
  CHECK(conflicts[0]["later"]["device_id"] == a.id.ToString());
  const uint64_t later_seq = conflicts[0]["later"]["seq"];
  CHECK(later_seq > incoming_seq);
  CliResult text = RunServerCli({"--data", data, "conflicts", "list"});
  CHECK_THAT(text.out, Catch::Contains("later   : 'กลุ่มที่สาม'") &&
                           Catch::Contains("--keep " + std::to_string(later_seq)) &&
                           Catch::Contains("the merge had shown: incoming"));
  CHECK_THAT(text.out, !Catch::Contains("shown now: incoming"));

  const auto name_now = [&] {
    return RunServerCli({"--data", data, "list", "producer"}).out;
  };
  // Unseen: refused, exit 2, naming both ways on; nothing written.
  CliResult unseen = RunServerCli(
      {"--data", data, "conflicts", "resolve", cid, "--keep", "current"});
  CHECK(unseen.exit_code == 2);
  CHECK_THAT(unseen.err, Catch::Contains("--seen " + std::to_string(later_seq)) &&
                             Catch::Contains("nothing was changed"));
  // --seen that is no sequence: usage, exit 2; a wrong sequence: refused.
  for (const char* seen : {"abc", "-1", "", "12x", "99999999999999999999999"}) {
    CAPTURE(seen);
    CliResult bad = RunServerCli({"--data", data, "conflicts", "resolve", cid,
                                  "--keep", "current", "--seen", seen});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("--seen"));
  }
  CHECK(RunServerCli({"--data", data, "conflicts", "resolve", cid, "--keep",
                      "current", "--seen", std::to_string(later_seq + 1)})
            .exit_code == 2);
  CHECK_THAT(name_now(), Catch::Contains("กลุ่มที่สาม"));
  CHECK(json::parse(RunServerCli({"--data", data, "conflicts", "list", "--json"})
                        .out)[0]["resolved"] == false);
  // Seen: the earlier value replaces the later one.
  CliResult done =
      RunServerCli({"--data", data, "conflicts", "resolve", cid, "--keep", "current",
                    "--seen", std::to_string(later_seq), "--reason", "ตามทะเบียน"});
  INFO(done.err);
  CHECK(done.exit_code == 0);
  CHECK_THAT(name_now(), Catch::Contains("กลุ่มเก่า") && !Catch::Contains("กลุ่มที่สาม"));
  conflicts = json::parse(
      RunServerCli({"--data", data, "conflicts", "list", "--json"}).out);
  CHECK(conflicts[0]["resolved"] == true);
  CHECK(conflicts[0]["later"].is_null());
}

TEST_CASE("kbo-server: only serve, token create and user add set a server up, and "
          "any other command in a folder without one says so and makes nothing",
          "[server][cli]") {
  kbo::testing::TempDir tmp;
  const std::string typo = tmp.File("kbo-dta");
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{
           {"conflicts", "list"},
           {"list", "producer"},
           {"export", "csv", "--out", tmp.File("out")},
           {"report", "reach"},
           {"device", "list"},
           {"token", "list"},
           {"history", "producer", "00000000-0000-4000-8000-000000000001"}}) {
    std::vector<std::string> args = {"--data", typo};
    args.insert(args.end(), cmd.begin(), cmd.end());
    CliResult r = RunServerCli(args);
    INFO(cmd[0] << " " << cmd[1] << ": " << r.err);
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("there is no server in " + typo));
    CHECK_FALSE(std::filesystem::exists(typo));
  }
  CHECK_FALSE(std::filesystem::exists(tmp.File("out")));

  // Setting one up makes it; then the same commands read it.
  CliResult token = RunServerCli(
      {"--data", typo, "token", "create", "--role", "trainer", "--districts", "5011"});
  INFO(token.err);
  REQUIRE(token.exit_code == 0);
  CHECK(std::filesystem::exists(typo + "/server.key"));
  CliResult list = RunServerCli({"--data", typo, "conflicts", "list"});
  CHECK(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::Contains("no conflicts"));
  CHECK(RunServerCli({"--data", typo, "conflicts", "list", "--open"}).out ==
        "no open conflicts\n");

  // Its key lost (a copy of server.db alone): said to be restored, not
  // "no server here" with advice to set a new one up; nothing made. (A
  // SQLite server's folder: on PostgreSQL the database is elsewhere.)
  if (kbo::testing::TestOnPostgres()) return;
  const std::string keyless = tmp.File("keyless");
  std::filesystem::create_directory(keyless);
  std::filesystem::copy_file(typo + "/server.db", keyless + "/server.db");
  CliResult lost = RunServerCli({"--data", keyless, "list", "producer"});
  CHECK(lost.exit_code != 0);
  CHECK_THAT(lost.err, Catch::Contains("restore server.key from your backup"));
  CHECK_FALSE(std::filesystem::exists(keyless + "/server.key"));
  // An empty server.db (half made) is no server: a list does not make one.
  const std::string empty = tmp.File("empty");
  std::filesystem::create_directory(empty);
  { std::ofstream(empty + "/server.db"); }
  CliResult none = RunServerCli({"--data", empty, "list", "producer"});
  CHECK(none.exit_code == 3);
  CHECK_THAT(none.err, Catch::Contains("there is no server in " + empty));
  CHECK_FALSE(std::filesystem::exists(empty + "/server.key"));
}

// DESIGN §7: every command that touches data takes --db URL, sqlite:PATH
// among them, and --data is global: after the command too.
TEST_CASE("kbo-server: --db sqlite:PATH names the SQLite database, and --data and "
          "--db may follow the command",
          "[server][cli]") {
  if (kbo::testing::TestOnPostgres()) return;  // SQLite's own
  kbo::testing::TempDir tmp;
  const std::string dir = tmp.File("phrao");
  REQUIRE(RunServerCli({"--data", dir, "token", "create", "--role", "trainer",
                        "--districts", "5011"})
              .exit_code == 0);
  // The default, said: the same server.
  for (const std::string& url : {"sqlite:" + dir + "/server.db", "sqlite://" + dir + "/server.db"}) {
    CliResult r = RunServerCli({"--data", dir, "--db", url, "token", "list"});
    INFO(url << ": " << r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("trainer"));
  }
  // After the command, as --home is for kbo.
  CliResult after = RunServerCli({"token", "list", "--data", dir});
  INFO(after.err);
  CHECK(after.exit_code == 0);
  CHECK_THAT(after.out, Catch::Contains("trainer"));
  CHECK(RunServerCli({"list", "producer", "--data=" + dir, "--db", "sqlite:" + dir + "/server.db"})
            .exit_code == 0);
  // --db sqlite:DIR/server.db alone: DIR is the folder (not ./kbo-data).
  CliResult alone = RunServerCli({"--db", "sqlite:" + dir + "/server.db", "token", "list"});
  INFO(alone.err);
  CHECK(alone.exit_code == 0);
  CHECK_THAT(alone.out, Catch::Contains("trainer"));
  CHECK_FALSE(std::filesystem::exists("kbo-data"));
  // In the middle too, between the command's own flags.
  CliResult middle = RunServerCli({"token", "create", "--role", "trainer", "--data", dir,
                                   "--districts", "5011"});
  INFO(middle.err);
  CHECK(middle.exit_code == 0);
  CHECK(RunServerCli({"list", "producer", "--data", dir, "--json"}).exit_code == 0);
  // Only with a value: a bare --data last is the command's (unknown) flag,
  // never "token" taken as the folder; nor a flag's value.
  CliResult bare = RunServerCli({"token", "list", "--data"});
  CHECK(bare.exit_code == 2);
  CHECK_FALSE(std::filesystem::exists("token"));
  CliResult value = RunServerCli({"--data", dir, "token", "create", "--role", "trainer",
                                  "--districts", "5011", "--label", "--data", "other"});
  CHECK(value.exit_code == 2);
  CHECK_FALSE(std::filesystem::exists("other"));
  // After a switch, it is the global flag.
  CHECK(RunServerCli({"export", "csv", "--out", tmp.File("csv"), "--raw", "--data", dir})
            .exit_code == 0);
  // Elsewhere: the database is made there, not in the folder.
  const std::string other = tmp.File("fang");
  const std::string file = tmp.File("fang-server.db");
  CliResult made = RunServerCli({"--data", other, "--db", "sqlite:" + file, "token", "create",
                                 "--role", "field_officer", "--districts", "5009"});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  CHECK(std::filesystem::exists(file));
  CHECK_FALSE(std::filesystem::exists(other + "/server.db"));
  CliResult listed = RunServerCli({"--data", other, "--db", "sqlite:" + file, "token", "list"});
  CHECK(listed.exit_code == 0);
  CHECK_THAT(listed.out, Catch::Contains("field_officer"));
  // Neither a file nor a URL: usage.
  for (const std::string& bad :
       {std::string("sqlite:"), std::string("mysql://h/db"), dir + "/server.db",
        std::string("sqlite::memory:"), "sqlite:file:" + dir + "/server.db?mode=memory"}) {
    CliResult r = RunServerCli({"--data", dir, "--db", bad, "token", "list"});
    INFO(bad);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--db takes sqlite:PATH or a PostgreSQL URL"));
  }
  // A path mistyped: no new database made there, for a command that reads.
  const std::string typo = tmp.File("phrao-sever.db");
  CliResult missing = RunServerCli({"--data", dir, "--db", "sqlite:" + typo, "token", "list"});
  CHECK(missing.exit_code == 3);
  CHECK_THAT(missing.err, Catch::Contains("there is no database at " + typo));
  CHECK_FALSE(std::filesystem::exists(typo));
}

// Exit 2 writes nothing: a command that would set a server up checks what
// it was given before it makes the folder (a mistyped role made a province).
TEST_CASE("kbo-server: token create and user add refuse bad input before making a "
          "server",
          "[server][cli]") {
  kbo::testing::TempDir tmp;
  const std::string dir = tmp.File("new-province");
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"token", "create", "--role", "boss", "--districts", "5011"},
           {"token", "create", "--role", "trainer", "--districts", "5099"},
           {"token", "create", "--role", "trainer", "--districts", "5011", "--ttl", "90d"}}) {
    std::vector<std::string> args = {"--data", dir};
    args.insert(args.end(), cmd.begin(), cmd.end());
    CliResult r = RunServerCli(args);
    INFO(cmd[3] << " " << cmd[5] << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(std::filesystem::exists(dir));
  }
  const std::string short_password = tmp.File("password");
  WriteAll(short_password, "abc\n");
  CliResult user = RunServerCli({"--data", dir, "user", "add", "somsri", "--role", "viewer"},
                                {}, short_password);
  INFO(user.err);
  CHECK(user.exit_code == 2);
  CHECK_THAT(user.err, Catch::Contains("at least 8 characters"));
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("kbo-server: a list or an export reads while another process holds "
          "the write lock (it waited, then exited 4)",
          "[server][cli]") {
  // (SQLite's write lock; PostgreSQL readers never wait for writers.)
  if (kbo::testing::TestOnPostgres()) return;
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  REQUIRE(RunServerCli({"--data", data, "token", "create", "--role", "trainer",
                        "--districts", "5011"})
              .exit_code == 0);
  auto writer = kbo::Db::Open(data + "/server.db");
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Exec("BEGIN IMMEDIATE").ok());  // a long push, say
  const auto started = std::chrono::steady_clock::now();
  CliResult list = RunServerCli({"--data", data, "list", "producer"});
  CliResult conflicts = RunServerCli({"--data", data, "conflicts", "list"});
  CliResult csv = RunServerCli({"--data", data, "export", "csv", "--out", tmp.File("csv")});
  INFO(list.err << conflicts.err << csv.err);
  CHECK(list.exit_code == 0);
  CHECK(conflicts.exit_code == 0);
  CHECK(csv.exit_code == 0);
  // Not after the busy timeout (5 s each).
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  // A command that writes waits its 5 s, writes nothing, exits 4 and says
  // to run it again.
  CliResult token = RunServerCli({"--data", data, "token", "create", "--role",
                                  "trainer", "--districts", "5011"});
  CHECK(token.exit_code == 4);
  CHECK(token.out.empty());
  CHECK_THAT(token.err, Catch::Contains("run the command again"));
  REQUIRE((*writer)->Exec("ROLLBACK").ok());
}

}  // namespace
}  // namespace kbo::server::testing

namespace kbo::server::testing {
namespace {

TEST_CASE("kbo-server: a usage error shows that command's usage, not all of them",
          "[server][cli]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  CliResult token = RunServerCli({"--data", data, "token", "create"});
  CHECK(token.exit_code == 2);
  CHECK_THAT(token.err, Catch::Contains("token create needs --role"));
  CHECK_THAT(token.err, Catch::Contains("  token create --role"));
  CHECK_THAT(token.err, Catch::Contains("               --districts CODE"));
  CHECK_THAT(token.err, Catch::Contains("kbo-server --help: every command"));
  CHECK_THAT(token.err, !Catch::Contains("export xlsx"));
  CliResult report = RunServerCli({"--data", data, "report"});
  CHECK(report.exit_code == 2);
  CHECK_THAT(report.err, Catch::Contains("  report reach|attendance"));
  CHECK_THAT(report.err, !Catch::Contains("token create"));
  // An unknown command: every command is shown.
  CliResult unknown = RunServerCli({"--data", data, "frobnicate"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("  export xlsx") && Catch::Contains("  serve"));
  // A command without its subcommand: said so, its usage once.
  CliResult bare = RunServerCli({"--data", data, "token"});
  CHECK(bare.exit_code == 2);
  CHECK_THAT(bare.err, Catch::Contains("'token' needs a command after it") &&
                           Catch::Contains("  token create --role"));
  CHECK_THAT(bare.err, !Catch::Contains("unknown command"));
  CliResult user = RunServerCli({"--data", data, "user", "add"});
  CHECK(user.exit_code == 2);
  const auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  CHECK(count(user.err, "user add LOGIN --role") == 1);  // it printed two blocks
  // A flag given twice is refused, the global ones too (a second --data
  // silently won) and switches (--json --json).
  for (const std::vector<std::string>& twice :
       std::vector<std::vector<std::string>>{
           {"--data", data, "--data", tmp.File("other"), "list", "producer"},
           {"--data=" + data, "--data", data, "list", "producer"},
           {"--data", data, "list", "producer", "--json", "--json"}}) {
    CliResult r = RunServerCli(twice);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("given twice"));
  }
  CHECK_FALSE(std::filesystem::exists(tmp.File("other")));
}

// Behind nginx on the same machine every request comes from 127.0.0.1 and
// X-Real-IP names the person's address. kbo-server believed that header
// from any loopback peer, so anyone reaching the port through a forwarder
// that passes it on (an ssh tunnel) chose a new address per guess, and a
// locked login still let in an address that had not failed: unlimited
// password guesses. Now only with serve --behind-proxy.
TEST_CASE("kbo-server serve: X-Real-IP names a sign-in's address only with --behind-proxy",
          "[server][process][console]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  const std::string password = tmp.File("password");
  std::ofstream(password, std::ios::binary) << "ผ้าทอพร้าว-2569\n";
  for (const char* login : {"somsri", "malee"}) {
    REQUIRE(RunServerCli({"--data", data, "user", "add", login, "--role", "viewer"}, {},
                         password)
                .exit_code == 0);
  }
  const std::string token(32, 'a');
  std::string last_cookie;
  const auto sign_in = [&](int port, const std::string& login, const std::string& typed,
                           const std::string& address) {
    HttpReply r = HttpCall(port, "POST", "/login",
                           "login=" + login + "&password=" + typed + "&login_token=" + token,
                           {{"Content-Type", "application/x-www-form-urlencoded"},
                            {"Cookie", "kbo_login=" + token},
                            {"X-Real-IP", address},
                            {"X-Forwarded-Proto", "https"}});
    last_cookie = r.Header("set-cookie");
    return r.status;
  };
  {
    ServerProcess server(data);
    REQUIRE(server.Start());
    for (int i = 1; i <= 5; ++i) {
      CHECK(sign_in(server.port(), "somsri", "guess" + std::to_string(i),
                    "10.9.0." + std::to_string(i)) == 401);
    }
    // Locked for every address that guessed: all were 127.0.0.1.
    CHECK(sign_in(server.port(), "somsri", "guess6", "10.9.0.6") == 429);
    CHECK(sign_in(server.port(), "somsri", "%E0%B8%9C%E0%B9%89%E0%B8%B2%E0%B8%97%E0%B8%AD%E0%B8%9E%E0%B8%A3%E0%B9%89%E0%B8%B2%E0%B8%A7-2569",
                  "10.9.0.7") == 429);
    // X-Forwarded-Proto is not believed either: no Secure cookie over HTTP.
    CHECK(sign_in(server.port(), "malee", "%E0%B8%9C%E0%B9%89%E0%B8%B2%E0%B8%97%E0%B8%AD%E0%B8%9E%E0%B8%A3%E0%B9%89%E0%B8%B2%E0%B8%A7-2569",
                  "10.9.0.8") == 303);
    REQUIRE_FALSE(last_cookie.empty());
    CHECK_THAT(last_cookie, !Catch::Contains("Secure"));
    CHECK(server.Stop() == 0);
    CHECK_THAT(server.log(), Catch::Contains("X-Real-IP, which is ignored") &&
                                 Catch::Contains("--behind-proxy"));
  }
  {
    ServerProcess server(data, {"--behind-proxy"});
    REQUIRE(server.Start());
    for (int i = 1; i <= 5; ++i) {
      CHECK(sign_in(server.port(), "malee", "guess" + std::to_string(i),
                    "10.9.1." + std::to_string(i)) == 401);
    }
    // The addresses that guessed wait; the person, from her own, gets in.
    CHECK(sign_in(server.port(), "malee", "guess6", "10.9.1.1") == 429);
    CHECK(sign_in(server.port(), "malee", "%E0%B8%9C%E0%B9%89%E0%B8%B2%E0%B8%97%E0%B8%AD%E0%B8%9E%E0%B8%A3%E0%B9%89%E0%B8%B2%E0%B8%A7-2569",
                  "10.9.1.99") == 303);
    CHECK_THAT(last_cookie, Catch::Contains("Secure"));  // nginx spoke TLS
    CHECK(server.Stop() == 0);
  }
}

TEST_CASE("Every kbo-server command reads its flags one way: --flag=VALUE, "
          "districts by name, a flag given twice refused with nothing written",
          "[server][cli]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  const std::string password = tmp.File("password");
  std::ofstream(password, std::ios::binary) << "ผ้าทอพร้าว-2569\n";
  // `user add` took only `--role VALUE`: `--role=viewer` was "does not take".
  CliResult added = RunServerCli({"--data", data, "user", "add", "somsri", "--role=viewer",
                                  "--districts=พร้าว"},
                                 {}, password);
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  CliResult users = RunServerCli({"--data", data, "user", "list", "--json"});
  REQUIRE(users.exit_code == 0);
  CHECK(json::parse(users.out).at(0).at("districts") == "5011");
  // A second value silently won in `producer merge`, `restore` and
  // `delete` (--reason), and a second --json passed in `report`.
  for (const std::vector<std::string>& twice : std::vector<std::vector<std::string>>{
           {"producer", "merge", "a", "b", "--reason", "x", "--reason=y"},
           {"delete", "producer", "a", "--reason", "x", "--cascade", "--cascade"},
           {"restore", "producer", "a", "--reason=x", "--reason", "y"},
           {"report", "reach", "--json", "--json"},
           {"user", "add", "somchai", "--role", "viewer", "--districts", "5011",
            "--districts=all"}}) {
    std::vector<std::string> args = {"--data", data};
    args.insert(args.end(), twice.begin(), twice.end());
    CliResult r = RunServerCli(args, {}, password);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("given twice"));
  }
  // serve's new numbers: refused before anything is bound or made.
  for (const char* bad : {"x", "-1", "1.5", "", "99999999999999999", "512MB"}) {
    CliResult r = RunServerCli({"--data", tmp.File("never"), "serve", "--listen",
                                "127.0.0.1:0", "--min-free-mb", bad});
    INFO(bad << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--min-free-mb must be a whole number"));
  }
  CHECK(RunServerCli({"--data", tmp.File("never"), "serve", "--behind-proxy=yes"}).exit_code ==
        2);
  CHECK_FALSE(std::filesystem::exists(tmp.File("never")));
  CliResult unknown = RunServerCli({"--data", data, "restore", "producer", "a", "--reason",
                                    "x", "--bogus"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("unknown option --bogus"));
  CliResult no_reason = RunServerCli({"--data", data, "producer", "merge", "a", "b"});
  CHECK(no_reason.exit_code == 2);
  CHECK_THAT(no_reason.err, Catch::Contains("producer merge needs --reason R"));
  // Nothing written by the refusals: one user, no audit of a merge.
  CliResult after = RunServerCli({"--data", data, "user", "list", "--json"});
  CHECK(json::parse(after.out).size() == 1);
}

}  // namespace
}  // namespace kbo::server::testing
