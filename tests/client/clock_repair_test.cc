// Re-dating what a device recorded while its clock ran ahead (issue 9,
// client/clock_repair.h): the pure re-stamp on ClientStore and Outbox, and
// SyncClient against an in-process server that refuses clock_ahead like the
// real one. End to end with kbo-server: tests/integration/clock_test.cc.

#include "client/clock_repair.h"

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "client/outbox.h"
#include "client/sync_client.h"
#include "shared/change_set_codec.h"
#include "shared/fs.h"
#include "shared/protocol.h"
#include "shared/wire.h"
#include "shared/replica/apply.h"
#include "tests/support/sample_data.h"
#include "tests/support/temp_dir.h"

namespace kbo::client {
namespace {

using Json = nlohmann::json;
using testing::TempDir;

constexpr int64_t kT = 1710000000000;  // 2024-03-09T16:00:00Z
constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kDay = 24 * kHour;
constexpr const char* kUrl = "http://fake.kbo.test:8787";

Value T(const std::string& s) { return Value::Text(s); }

RowValues Producer(const std::string& name) {
  return {{"kind", T("entrepreneur")}, {"name", T(name)}, {"district_code", T("5011")}};
}

HttpResponse Answer(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A device with a manual clock, and a server that numbers change sets,
// refuses a set with a row more than 24 h past its own clock (clock_ahead,
// with server_ms unless `old_server`), and signs receipts.
struct Device {
  TempDir dir;
  ManualWallClock wall{kT};
  ManualWallClock server_wall{kT};
  std::unique_ptr<ClientStore> store;
  KeyPair server = KeyPair::Generate();
  bool old_server = false;
  uint64_t last_seq = 0;
  uint64_t next_server_seq = 1;
  std::vector<ChangeSet> accepted;
  int clock_refusals = 0;
  int enrol_down = 0;                 // enrolments answered 503 first
  std::vector<Uuid> enrolled_ids;     // the device ids enrolments asked for

  class Transport : public HttpTransport {
   public:
    explicit Transport(Device* d) : d_(d) {}
    Result<HttpResponse> Send(const std::string&, const HttpRequest& req) override {
      return d_->Handle(req);
    }

   private:
    Device* d_;
  } transport{this};

  Device() {
    auto opened = ClientStore::Open(dir.path(), &wall);
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    SyncOptions o = Options();
    SyncClient client(*store, o);
    REQUIRE(client.Enroll(kUrl, "tok").ok());
  }

  SyncOptions Options() {
    SyncOptions o;
    o.transport = &transport;
    o.sleep_ms = [](int64_t) {};
    return o;
  }

  HttpResponse Handle(const HttpRequest& req) {
    if (req.path == protocol::kEnrollPath) {
      // (The fake's token "tok" is no real one: the id is read as it is.)
      auto asked = Uuid::Parse(Json::parse(req.body).at("device_id").get<std::string>());
      REQUIRE(asked.ok());
      enrolled_ids.push_back(*asked);
      if (enrol_down > 0) {  // the server enrolled it; its answer is lost
        --enrol_down;
        return Answer(503, Json{{"error", "unavailable"}, {"message", "down"}}.dump());
      }
      wire::EnrollReply reply;
      reply.device_id = *asked;
      reply.role = "trainer";
      reply.districts = {"5011"};
      reply.server_id = Uuid::Random();
      reply.server_public_key = server.public_key();
      return Answer(200, wire::EncodeEnrollReply(reply));
    }
    REQUIRE(req.path == protocol::kPushPath);
    Signature sig;
    std::string_view bytes;
    REQUIRE(protocol::DecodePushBody(req.body, &sig, &bytes).ok());
    REQUIRE(Verify(store->key().public_key(), kChangeSetDomain, bytes, sig));
    auto cs = DecodeChangeSet(bytes);
    REQUIRE(cs.ok());
    const int64_t now = server_wall.NowMillis();
    for (const RowChange& r : cs->rows) {
      if (r.hlc.wall_ms - now > HybridClock::kDefaultMaxSkewMs) {
        ++clock_refusals;
        Json body = {{"error", "clock_ahead"},
                     {"message", "a row is more than 24 hours ahead; nothing was stored"}};
        if (!old_server) body["server_ms"] = now;
        return Answer(400, body.dump());
      }
    }
    if (cs->seq != last_seq + 1) {
      return Answer(409, Json{{"error", "sequence_gap"},
                              {"message", "gap"},
                              {"expected", last_seq + 1}}
                             .dump());
    }
    if (!accepted.empty()) {
      CHECK(cs->prev_hash == HashChangeSetBytes(EncodeChangeSet(accepted.back())));
    }
    last_seq = cs->seq;
    accepted.push_back(*cs);
    protocol::Receipt r;
    r.device_id = cs->device.ToString();
    r.seq = cs->seq;
    r.hash = HexEncode(HashChangeSetBytes(bytes));
    r.first_server_seq = next_server_seq;
    r.last_server_seq = next_server_seq + cs->rows.size() - 1;
    next_server_seq += cs->rows.size();
    r.rows = cs->rows.size();
    r.received_at = "2024-03-09T16:00:00Z";
    return Answer(200, wire::EncodeReceiptAnswer(wire::SignReceipt(server, r)));
  }

  Status Push(SyncSummary* summary) {
    SyncClient client(*store, Options());
    return client.Push(summary);
  }

  // Every row change of this device in the outbox, pending or sealed, in
  // the order it was recorded.
  std::vector<RowChange> OutboxRows() {
    std::vector<RowChange> out;
    Statement st(store->db(), "SELECT o.id, c.cells FROM outbox o JOIN outbox_cells c "
                              "ON c.id = o.id ORDER BY o.id");
    while (st.Step()) {
      auto rows = DecodeOutboxEntry(st.ColumnBlob(1));
      REQUIRE(rows.ok());
      for (auto& r : *rows) out.push_back(std::move(r));
    }
    return out;
  }

  int64_t Count(const std::string& sql) {
    Statement st(store->db(), sql);
    REQUIRE(st.Step());
    return st.ColumnInt(0);
  }

  std::string ClockState() {
    Statement st(store->db(), "SELECT hlc FROM clock_state");
    REQUIRE(st.Step());
    return st.ColumnText(0);
  }

  // Everything re-dating may touch, for "nothing changed" checks.
  std::string Snapshot() {
    std::string s = *DumpReplicaState(store->db());
    Statement a(store->db(), "SELECT seq, hex(hash), acked_at IS NULL FROM change_set ORDER BY seq");
    while (a.Step()) s += "|set " + a.ColumnText(0) + a.ColumnText(1) + a.ColumnText(2);
    Statement b(store->db(), "SELECT o.id, o.sealed_rows, IFNULL(o.change_set_seq, 0), "
                             "hex(c.cells) FROM outbox o JOIN outbox_cells c ON c.id = o.id");
    while (b.Step()) {
      s += "|entry " + b.ColumnText(0) + "/" + b.ColumnText(1) + "/" + b.ColumnText(2) +
           "/" + b.ColumnText(3);
    }
    return s + "|clock " + ClockState();
  }
};

// The hlc of `column` of a row as the replica holds it.
Hlc CellHlc(ClientStore& store, const char* entity, const Uuid& id, const char* column) {
  auto v = ReadCellVersions(store.db(), entity, id);
  REQUIRE(v.ok());
  auto it = v->find(column);
  REQUIRE(it != v->end());
  return it->second.hlc;
}

TEST_CASE("Re-dating lists a recorded time still after the clock, never moves it, "
          "and drops it once it is corrected",
          "[clock_repair]") {
  Device d;
  auto p = d.store->Record("producer", Producer("ป้าแก้ว"));
  REQUIRE(p.ok());
  d.wall.Set(kT + 3 * kDay);
  const std::string ahead = "2024-03-12T16:00:00Z";  // kT + 3 days
  auto v1 = d.store->Record("visit", {{"producer_id", T(p->ToString())},
                                      {"visited_at", T(ahead)}});
  REQUIRE(v1.ok());
  auto v2 = d.store->Record("visit", {{"producer_id", T(p->ToString())},
                                      {"visited_at", T(ahead)}});
  REQUIRE(v2.ok());
  // Typed in the past by the person: not listed.
  auto v3 = d.store->Record("visit", {{"producer_id", T(p->ToString())},
                                      {"visited_at", T("2024-03-09T09:00:00Z")}});
  REQUIRE(v3.ok());
  // The second is corrected before the sync (still with the clock ahead).
  REQUIRE(d.store->Edit("visit", *v2, {{"visited_at", T("2024-03-09T10:00:00Z")}}).ok());

  d.wall.Set(kT + kHour);
  auto r = RedateFutureChanges(*d.store, 0);
  REQUIRE(r.ok());
  CHECK(r->redated_rows == 4);
  REQUIRE(r->future_values.size() == 1);
  CHECK(r->future_values[0].entity == "visit");
  CHECK(r->future_values[0].row_id == *v1);
  CHECK(r->future_values[0].column == "visited_at");
  CHECK(r->future_values[0].value == ahead);
  // The value itself stays as recorded.
  auto shown = d.store->Show("visit", *v1);
  REQUIRE(shown.ok());
  CHECK(shown->values.at("visited_at") == T(ahead));

  SyncSummary s;
  s.redated_rows = r->redated_rows;
  s.future_values = r->future_values;
  const std::string line = DescribeSummary(s);
  CHECK(line.find("1 time recorded by that clock is still after now") != std::string::npos);
  CHECK(line.find("visit " + v1->ToString() + " visited_at 2024-03-12 16:00 UTC") !=
        std::string::npos);
}

TEST_CASE("Re-dating opens the refused sets, keeps the confirmed ones and the order",
          "[clock_repair]") {
  Device d;
  // Recorded with a right clock and confirmed by the server.
  auto p1 = d.store->Record("producer", Producer("ป้าแก้ว"));
  REQUIRE(p1.ok());
  SyncSummary first;
  REQUIRE(d.Push(&first).ok());
  REQUIRE(d.accepted.size() == 1);
  const Hlc p1_created = CellHlc(*d.store, "producer", *p1, "kind");

  // The phone's date jumps three days ahead: an edit of the confirmed row,
  // a new row, both sealed; then a third row, not sealed.
  d.wall.Set(kT + 3 * kDay);
  REQUIRE(d.store->Edit("producer", *p1, {{"name", T("ป้าแก้ว ใจดี")}}).ok());
  auto p2 = d.store->Record("producer", Producer("ลุงมา"));
  REQUIRE(p2.ok());
  Outbox outbox(*d.store);
  REQUIRE(*outbox.SealAll() == 1);  // set 2
  auto p3 = d.store->Record("producer", Producer("น้าสม"));
  REQUIRE(p3.ok());
  const std::vector<RowChange> before = d.OutboxRows();
  REQUIRE(before.size() == 4);
  const std::string snap0 = d.Snapshot();
  const size_t at = snap0.find("|set 1");
  const std::string set1 = snap0.substr(at, snap0.find('|', at + 1) - at);
  REQUIRE(set1.size() > 70);

  // The person fixes the date.
  d.wall.Set(kT + kHour);
  auto r = RedateFutureChanges(*d.store, 2);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->unsealed_sets == 1);
  CHECK(r->redated_rows == 3);
  CHECK(r->ahead_until_ms == before[3].hlc.wall_ms);
  CHECK(d.Count("SELECT COUNT(*) FROM change_set") == 1);
  CHECK(d.Count("SELECT COUNT(*) FROM change_set_bytes") == 1);
  CHECK(*outbox.PendingRows() == 3);
  CHECK(d.Snapshot().find(set1) != std::string::npos);  // set 1 untouched

  const std::vector<RowChange> after = d.OutboxRows();
  REQUIRE(after.size() == 4);
  CHECK(after[0] == before[0]);  // the confirmed row change, as it was
  for (size_t i = 1; i < 4; ++i) {
    INFO(i);
    // Same row, same values, same bases; only the hlc moved back to now.
    CHECK(after[i].entity == before[i].entity);
    CHECK(after[i].row_id == before[i].row_id);
    CHECK(after[i].cells == before[i].cells);
    CHECK(after[i].hlc.device == d.store->device_id());
    CHECK(after[i].hlc.wall_ms == kT + kHour);
    CHECK(after[i].hlc > after[i - 1].hlc);  // the order is kept
  }
  // The replica: values untouched; each cell still written by the re-dated
  // change carries its new hlc; the cell written before keeps its old one.
  auto shown = d.store->Show("producer", *p1);
  REQUIRE(shown.ok());
  CHECK(shown->values.at("name") == T("ป้าแก้ว ใจดี"));
  CHECK(CellHlc(*d.store, "producer", *p1, "name") == after[1].hlc);
  CHECK(CellHlc(*d.store, "producer", *p1, "kind") == p1_created);
  CHECK(CellHlc(*d.store, "producer", *p3, "name") == after[3].hlc);
  // The clock goes on from the last new hlc, not from three days ahead.
  CHECK(d.store->clock().State() == after[3].hlc);
  CHECK(d.ClockState() == after[3].hlc.ToString());
  auto p4 = d.store->Record("producer", Producer("พี่หนุ่ม"));
  REQUIRE(p4.ok());
  CHECK(CellHlc(*d.store, "producer", *p4, "name") > after[3].hlc);
  CHECK(CellHlc(*d.store, "producer", *p4, "name").wall_ms < kT + 2 * kHour);

  // Once is enough: a second call finds nothing to re-date.
  const std::string snap = d.Snapshot();
  auto again = RedateFutureChanges(*d.store, 0);
  REQUIRE(again.ok());
  CHECK(again->redated_rows == 0);
  CHECK(d.Snapshot() == snap);

  // Sealed again: set 2 follows set 1's hash and the server takes it.
  SyncSummary second;
  REQUIRE(d.Push(&second).ok());
  REQUIRE(d.accepted.size() == 2);
  CHECK(d.accepted[1].seq == 2);
  CHECK(d.accepted[1].rows.size() == 4);
  CHECK(d.accepted[1].rows[0].hlc == after[1].hlc);
}

TEST_CASE("Re-dating: a split action half confirmed, pulled rows ahead of the clock",
          "[clock_repair]") {
  Device d;
  // The clock runs 20 h ahead: still within the server's bound. An import
  // of five producers is sealed three rows a set; the first set is taken.
  d.wall.Set(kT + 20 * kHour);
  std::vector<RowValues> five;
  for (int i = 0; i < 5; ++i) five.push_back(Producer("ผู้ผลิต " + std::to_string(i)));
  auto ids = d.store->RecordAll("producer", five);
  REQUIRE(ids.ok());
  Outbox outbox(*d.store);
  REQUIRE(outbox.SealNext(3).ok());  // set 1: three of the five
  REQUIRE(outbox.Acknowledge(1, "receipt").ok());
  // A row from another device whose clock is 2 h fast, pulled.
  const Uuid other = Uuid::Random();
  RowChange pulled;
  pulled.entity = "producer";
  pulled.row_id = Uuid::Random();
  pulled.hlc = Hlc{kT + 21 * kHour, 0, other};
  pulled.cells = {{"kind", T("group"), 7}, {"name", T("กลุ่มบ้านโป่ง"), 7},
                  {"district_code", T("5011"), 7}};
  {
    Transaction txn(d.store->db());
    ApplyOptions o;
    o.seq_from_base = true;
    REQUIRE(ApplyRowChange(d.store->db(), pulled, o).ok());
    REQUIRE(d.store->clock().Observe(pulled.hlc).ok());
    REQUIRE(d.store->SaveClock().ok());
    REQUIRE(txn.Commit().ok());
  }
  // Then the date jumps three days: this device edits the pulled row (the
  // future edit wins over it here), and the rest is sealed.
  d.wall.Set(kT + 3 * kDay);
  REQUIRE(d.store->Edit("producer", pulled.row_id, {{"name", T("กลุ่มบ้านโป่งใหม่")}}).ok());
  REQUIRE(*outbox.SealAll(3) == 1);  // set 2: two import rows + the edit
  const std::vector<RowChange> before = d.OutboxRows();
  REQUIRE(before.size() == 6);

  d.wall.Set(kT);
  auto r = RedateFutureChanges(*d.store, 2);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->unsealed_sets == 1);
  const std::vector<RowChange> after = d.OutboxRows();
  // The confirmed three rows keep their hlcs; the two import rows still
  // pending stay too (20 h ahead, behind what the server holds of this
  // device: re-dating them could only put them before their own action).
  for (size_t i = 0; i < 5; ++i) CHECK(after[i] == before[i]);
  CHECK(r->redated_rows == 1);
  // The edit is re-dated after everything this device holds: the pulled
  // row 21 h ahead and its own last confirmed rows. It still wins, here and
  // by the merge rule on the server.
  CHECK(after[5].hlc > pulled.hlc);
  CHECK(after[5].hlc > before[4].hlc);
  CHECK(after[5].hlc.wall_ms < kT + 22 * kHour);
  CHECK(after[5].cells == before[5].cells);
  CHECK(after[5].cells[0].base == 7);
  CHECK(CellHlc(*d.store, "producer", pulled.row_id, "name") == after[5].hlc);
  CHECK(CellHlc(*d.store, "producer", pulled.row_id, "kind") == pulled.hlc);
  CHECK(d.store->Show("producer", pulled.row_id)->values.at("name") ==
        T("กลุ่มบ้านโป่งใหม่"));
  // The outbox entry of the import is half sealed again, as after set 1.
  CHECK(d.Count("SELECT sealed_rows FROM outbox ORDER BY id LIMIT 1") == 3);
  CHECK(d.Count("SELECT COUNT(*) FROM outbox WHERE change_set_seq IS NOT NULL") == 0);
  CHECK(*outbox.PendingRows() == 3);
  // Set 2 sealed again: the last two import rows, then the edit, in order.
  auto sealed = outbox.SealNext(10);
  REQUIRE(sealed.ok());
  REQUIRE(sealed->has_value());
  auto cs = DecodeChangeSet((*sealed)->bytes);
  REQUIRE(cs.ok());
  REQUIRE(cs->rows.size() == 3);
  CHECK(cs->rows[0] == before[3]);
  CHECK(cs->rows[1] == before[4]);
  CHECK(cs->rows[2] == after[5]);
}

TEST_CASE("Re-dating is all or nothing", "[clock_repair]") {
  Device d;
  REQUIRE(d.store->Record("producer", Producer("ป้าแก้ว")).ok());
  d.wall.Set(kT + 3 * kDay);
  REQUIRE(d.store->Record("producer", Producer("ลุงมา")).ok());
  Outbox outbox(*d.store);
  REQUIRE(*outbox.SealAll() == 1);
  REQUIRE(d.store->Record("producer", Producer("น้าสม")).ok());
  d.wall.Set(kT);
  const std::string before = d.Snapshot();
  const Hlc clock_before = d.store->clock().State();

  SECTION("the last step fails") {
    // The clock is written last; make that fail as a full disk would.
    REQUIRE(d.store->db()
                .Exec("CREATE TRIGGER no_clock BEFORE UPDATE ON clock_state "
                      "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
                .ok());
    auto r = RedateFutureChanges(*d.store, 1);
    CHECK_FALSE(r.ok());
    REQUIRE(d.store->db().Exec("DROP TRIGGER no_clock").ok());
  }
  SECTION("a damaged outbox entry") {
    REQUIRE(d.store->db()
                .Exec("UPDATE outbox_cells SET cells = x'00' WHERE id = "
                      "(SELECT MAX(id) FROM outbox)")
                .ok());
    const std::string damaged = d.Snapshot();
    auto r = RedateFutureChanges(*d.store, 1);
    CHECK(r.status().code() == Code::kCorruption);
    CHECK(d.Snapshot() == damaged);
    return;
  }
  SECTION("a set the server confirmed cannot be opened") {
    REQUIRE(outbox.Acknowledge(1, "receipt").ok());
    const std::string acked = d.Snapshot();
    auto r = RedateFutureChanges(*d.store, 1);
    CHECK(r.status().code() == Code::kFailedPrecondition);
    CHECK(d.Snapshot() == acked);
    return;
  }
  CHECK(d.Snapshot() == before);
  CHECK(d.store->clock().State() == clock_before);
  // And it works once the disk is fine again.
  auto r = RedateFutureChanges(*d.store, 1);
  REQUIRE(r.ok());
  CHECK(r->redated_rows == 2);
}

TEST_CASE("Re-dating: a photo row is re-dated, its upload stays queued",
          "[clock_repair]") {
  Device d;
  testing::PhraoFixture f(*d.store);
  d.wall.Set(kT + 3 * kDay);
  const std::string sha(64, 'a');
  auto photo = d.store->RecordPhoto({{"subject_type", T("producer")},
                                     {"subject_id", T(f.producer.ToString())},
                                     {"sha256", T(sha)},
                                     {"bytes", Value::Integer(1234)},
                                     {"mime", T("image/jpeg")},
                                     {"district_code", T("5011")}});
  INFO(photo.status().ToString());
  REQUIRE(photo.ok());
  d.wall.Set(kT + 5 * 60 * 1000);
  auto r = RedateFutureChanges(*d.store, 0);
  REQUIRE(r.ok());
  CHECK(r->redated_rows == 1);
  CHECK(CellHlc(*d.store, "photo", *photo, "sha256").wall_ms == kT + 5 * 60 * 1000);
  CHECK(d.store->Show("photo", *photo)->values.at("sha256") == T(sha));
  CHECK(d.Count("SELECT COUNT(*) FROM blob_upload WHERE done_at IS NULL") == 1);
}

TEST_CASE("SyncClient: a clock_ahead refusal re-dates and pushes again",
          "[clock_repair][sync]") {
  Device d;
  REQUIRE(d.store->Record("producer", Producer("ป้าแก้ว")).ok());
  SyncSummary first;
  REQUIRE(d.Push(&first).ok());
  d.wall.Set(kT + 3 * kDay);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(d.store->Record("producer", Producer("ผู้ผลิต " + std::to_string(i))).ok());
  }
  Outbox outbox(*d.store);
  REQUIRE(*outbox.SealAll(2) == 2);  // sets 2 and 3

  SECTION("the date is still wrong: both clocks shown, nothing changed") {
    d.server_wall.Set(kT + kHour);
    const std::string before = d.Snapshot();
    SyncClient client(*d.store, d.Options());
    Status s = client.Push(nullptr);
    CHECK(s.code() == Code::kFailedPrecondition);
    CHECK(client.refused_by_server());
    CHECK(s.message().find("this device's clock says 2024-03-12 16:00 UTC") !=
          std::string::npos);
    CHECK(s.message().find("the server's says 2024-03-09 17:00 UTC") != std::string::npos);
    CHECK(s.message().find("Nothing here was changed") != std::string::npos);
    CHECK(d.Snapshot() == before);
    CHECK(d.accepted.size() == 1);
  }
  SECTION("the date is right again") {
    const bool old = GENERATE(false, true);
    d.old_server = old;  // an older server sends no server_ms
    d.wall.Set(kT + kHour + 1000);
    d.server_wall.Set(kT + kHour);
    SyncSummary summary;
    SyncClient client(*d.store, d.Options());
    Status s = client.Push(&summary);
    INFO(s.ToString());
    REQUIRE(s.ok());
    CHECK(d.clock_refusals == 1);
    CHECK(summary.redated_rows == 3);
    CHECK(summary.clock_ahead_until_ms == kT + 3 * kDay);
    // Sets 2 and 3 were opened; their three rows are sealed again as set 2.
    CHECK(summary.pushed_sets == 1);
    REQUIRE(d.accepted.size() == 2);
    CHECK(d.accepted[1].seq == 2);
    REQUIRE(d.accepted[1].rows.size() == 3);
    CHECK(d.accepted[1].rows.back().hlc.wall_ms == kT + kHour + 1000);
    const std::string line = DescribeSummary(summary);
    CHECK(line.find("this device's clock was ahead (its changes were dated up to "
                    "2024-03-12 16:00 UTC); 3 unsent changes re-dated") == 0);
    CHECK(outbox.Unacked()->empty());
    // A second push is an ordinary one.
    SyncSummary again;
    REQUIRE(d.Push(&again).ok());
    CHECK(again.redated_rows == 0);
    CHECK(d.clock_refusals == 1);
  }
}

TEST_CASE("MoveToNewDevice: what the server has not confirmed goes as a new "
          "device's, in order, values and kept refusals untouched, and a stop before "
          "the key file is written is finished on the next open",
          "[clock_repair]") {
  Device d;
  auto p1 = d.store->Record("producer", Producer("ป้าแก้ว"));
  REQUIRE(p1.ok());
  SyncSummary first;
  REQUIRE(d.Push(&first).ok());  // set 1, confirmed
  const Uuid old = d.store->device_id();
  const Hlc p1_created = CellHlc(*d.store, "producer", *p1, "name");
  REQUIRE(d.store->Edit("producer", *p1, {{"name", T("ป้าแก้ว ใจดี")}}).ok());
  auto p2 = d.store->Record("producer", Producer("ลุงมา"));
  REQUIRE(p2.ok());
  Outbox outbox(*d.store);
  REQUIRE(*outbox.SealAll() == 1);  // set 2, never confirmed (the fork)
  auto p3 = d.store->Record("producer", Producer("น้าสม"));
  REQUIRE(p3.ok());
  // A refusal kept from set 1.
  REQUIRE(d.store->db()
              .Exec("INSERT INTO refused_row (seq, row_index, entity, row_id, reason, "
                    "message, refused_at) VALUES (1, 0, 'producer', '" +
                    p1->ToString() + "', 'x', 'y', 'z')")
              .ok());
  const std::vector<RowChange> before = d.OutboxRows();
  REQUIRE(before.size() == 4);

  const KeyPair key = KeyPair::Generate();
  const Uuid device = Uuid::Random();
  {
    Transaction txn(d.store->db());
    auto r = MoveToNewDevice(*d.store, device, key);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    CHECK(r->unsealed_sets == 1);
    CHECK(r->dropped_sets == 1);
    CHECK(r->moved_rows == 3);
    CHECK(r->clock.device == device);
    REQUIRE(txn.Commit().ok());
  }
  CHECK(d.Count("SELECT COUNT(*) FROM change_set") == 0);
  CHECK(*outbox.PendingRows() == 3);
  CHECK(d.Count("SELECT seq FROM refused_row") == -1);
  CHECK(d.Count("SELECT COUNT(*) FROM device WHERE device_id = '" + device.ToString() +
                "'") == 1);
  const std::vector<RowChange> after = d.OutboxRows();
  REQUIRE(after.size() == 4);
  CHECK(after[0] == before[0]);  // confirmed under the old id: as it was
  for (size_t i = 1; i < 4; ++i) {
    INFO(i);
    CHECK(after[i].row_id == before[i].row_id);
    CHECK(after[i].cells == before[i].cells);
    CHECK(after[i].hlc.device == device);
    CHECK(after[i].hlc.wall_ms == before[i].hlc.wall_ms);
    CHECK(after[i].hlc.counter == before[i].hlc.counter);
  }
  CHECK(CellHlc(*d.store, "producer", *p1, "name") == after[1].hlc);
  CHECK(CellHlc(*d.store, "producer", *p1, "kind") == p1_created);
  CHECK(CellHlc(*d.store, "producer", *p1, "kind").device == old);

  // Stopped before the key file was written (kbo enroll keeps the new key
  // in field.db before it asks the server): the next open writes it.
  {
    Statement keep(d.store->db(),
                   "UPDATE sync_state SET next_device_id = ?1, next_device_key = ?2");
    keep.Bind(1, std::string_view(device.ToString()))
        .Bind(2, std::string_view(key.ToKeyText()));
    REQUIRE(keep.Run().ok());
  }
  const std::string key_path = d.store->paths().key;
  d.store.reset();
  auto reopened = ClientStore::Open(d.dir.path(), &d.wall);
  INFO(reopened.status().ToString());
  REQUIRE(reopened.ok());
  CHECK((*reopened)->device_id() == device);
  CHECK((*reopened)->key().public_key().ToHex() == key.public_key().ToHex());
  auto written = KeyPair::LoadFromFile(key_path);
  REQUIRE(written.ok());
  CHECK(written->public_key().ToHex() == key.public_key().ToHex());
  auto p4 = (*reopened)->Record("producer", Producer("พี่หนุ่ม"));
  REQUIRE(p4.ok());
  CHECK(CellHlc(**reopened, "producer", *p4, "name").device == device);
  CHECK(CellHlc(**reopened, "producer", *p4, "name") > after[3].hlc);
}

TEST_CASE("A forked device's enrolment tried again asks for the same new device, "
          "and the first push taken clears the fork and the kept key",
          "[clock_repair]") {
  Device d;
  d.enrolled_ids.clear();  // the device's own first enrolment
  const Uuid old = d.store->device_id();
  REQUIRE(d.store->Record("producer", Producer("ป้าแก้ว")).ok());
  REQUIRE(d.store->db().Exec("UPDATE sync_state SET forked_seq = 1").ok());
  d.enrol_down = 2;  // the answer does not come, twice
  for (int i = 0; i < 2; ++i) {
    SyncClient client(*d.store, d.Options());
    CHECK_FALSE(client.Enroll(kUrl, "tok").ok());
  }
  CHECK(d.store->device_id() == old);
  REQUIRE(d.enrolled_ids.size() >= 2);  // tried, and tried again
  d.enrol_down = 0;
  {
    SyncClient client(*d.store, d.Options());
    auto r = client.Enroll(kUrl, "tok");
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    REQUIRE(r->forked_from.has_value());
    CHECK(*r->forked_from == old);
  }
  // One new id, asked for by every try (a real server answers the same
  // token again for the same id and key, and refuses any other).
  REQUIRE(d.enrolled_ids.size() >= 3);
  for (const Uuid& id : d.enrolled_ids) CHECK(id == d.enrolled_ids[0]);
  CHECK(d.enrolled_ids[0] != old);
  CHECK(d.store->device_id() == d.enrolled_ids[0]);
  CHECK(d.Count("SELECT COUNT(*) FROM sync_state WHERE forked_seq IS NULL") == 1);
  CHECK(d.Count("SELECT COUNT(*) FROM sync_state WHERE next_device_key IS NOT NULL") == 1);
  SyncSummary pushed;
  REQUIRE(d.Push(&pushed).ok());
  CHECK(d.Count("SELECT COUNT(*) FROM sync_state WHERE next_device_key IS NULL AND "
                "next_device_id IS NULL") == 1);
}

TEST_CASE("Another kbo on the home moved the device to a new identity: this one "
          "stamps as the new device at its next action",
          "[clock_repair]") {
  Device d;
  auto other = ClientStore::Open(d.dir.path(), &d.wall);
  REQUIRE(other.ok());
  REQUIRE((*other)->db().Exec("UPDATE sync_state SET forked_seq = 1").ok());
  const KeyPair key = KeyPair::Generate();
  const Uuid device = Uuid::Random();
  {
    Transaction txn((*other)->db());
    REQUIRE(MoveToNewDevice(**other, device, key).ok());
    REQUIRE(txn.Commit().ok());
  }
  REQUIRE(key.SaveToFile(d.store->paths().key).ok());
  auto p = d.store->Record("producer", Producer("ลุงมา"));
  REQUIRE(p.ok());
  CHECK(d.store->device_id() == device);
  CHECK(CellHlc(*d.store, "producer", *p, "name").device == device);
  CHECK(d.store->key().public_key().ToHex() == key.public_key().ToHex());
}

TEST_CASE("A re-dating done by one kbo on the home (kbo ui's sync) is kept by "
          "another (kbo ui's screens): they do not stamp ahead again",
          "[clock_repair]") {
  Device d;
  d.wall.Set(kT + 3 * kDay);  // the phone's date runs ahead
  REQUIRE(d.store->Record("producer", Producer("ป้าแก้ว")).ok());
  auto screens = ClientStore::Open(d.dir.path(), &d.wall);  // opened meanwhile
  REQUIRE(screens.ok());
  d.wall.Set(kT + kHour);  // set right, and re-dated by the sync's store
  auto r = RedateFutureChanges(*d.store, 0);
  REQUIRE(r.ok());
  REQUIRE(r->redated_rows == 1);
  auto p = (*screens)->Record("producer", Producer("ลุงมา"));
  REQUIRE(p.ok());
  CHECK(CellHlc(**screens, "producer", *p, "name").wall_ms < kT + 2 * kHour);
}

TEST_CASE("ServerClockOf reads server_ms, then the Date header", "[clock_repair]") {
  const std::string date = "Sat, 09 Mar 2024 16:00:00 GMT";
  CHECK(ServerClockOf(R"({"server_ms": 1710000000123})", &date) == 1710000000123);
  CHECK(ServerClockOf(R"({"error": "clock_ahead"})", &date) == kT);
  CHECK(ServerClockOf("not json", &date) == kT);
  CHECK_FALSE(ServerClockOf(R"({"server_ms": "soon"})", nullptr).has_value());
  const std::string bad = "yesterday";
  CHECK_FALSE(ServerClockOf("{}", &bad).has_value());
  CHECK(ClockText(kT) == "2024-03-09 16:00 UTC");
}

}  // namespace
}  // namespace kbo::client
