// The applier as the server uses it: every accepted write gets a server
// sequence, and writes whose writer never saw the current value are
// reported as conflicts (DESIGN §4), with both values kept.
#include "shared/replica/apply.h"

#include <catch2/catch.hpp>

#include "shared/entities.h"
#include "tests/support/replica.h"

namespace kbo {
namespace {

using testing::ApplyInTxn;
using testing::NewReplica;
using testing::SetVersionsBlob;
using testing::VersionsBlob;

class RecordingSink : public ConflictSink {
 public:
  Status OnConflict(const ConflictEvent& event) override {
    events.push_back(event);
    return Status();
  }
  std::vector<ConflictEvent> events;
};

// A tiny server: numbers writes 1, 2, 3 ... and records conflicts.
struct Server {
  std::unique_ptr<Db> db = NewReplica();
  RecordingSink sink;
  uint64_t next_seq = 1;

  // Applies `row` as the server would; returns the sequence it was given.
  uint64_t Push(const RowChange& row) {
    ChangeSet cs;
    cs.device = row.hlc.device;
    cs.rows.push_back(row);
    ApplyOptions options;
    options.seq = next_seq;
    options.conflicts = &sink;
    REQUIRE(ApplyInTxn(*db, cs, options).ok());
    return next_seq++;
  }

  Value Cell(const std::string& sql) {
    Statement st(*db, sql);
    REQUIRE(st.Step());
    return st.ColumnValue(0);
  }
};

struct TestDevice {
  Uuid id = Uuid::Random();
  ManualWallClock wall{1767225600000};
  HybridClock clock{&wall, id};

  // The device pulled `row`: its clock moves past it (the base it then
  // writes is that row's server sequence).
  void Received(const RowChange& row) { REQUIRE(clock.Observe(row.hlc).ok()); }

  RowChange Write(const Uuid& row_id, std::vector<CellWrite> cells) {
    wall.Advance(1000);
    RowChange row;
    row.entity = "producer";
    row.row_id = row_id;
    row.hlc = clock.Now();
    row.cells = std::move(cells);
    return row;
  }
};

CellWrite Set(const char* column, Value v, uint64_t base) {
  return CellWrite{column, std::move(v), base};
}

std::vector<CellWrite> NewProducer(const char* name) {
  return {Set("kind", Value::Text("group"), 0), Set("name", Value::Text(name), 0),
          Set("district_code", Value::Text("5011"), 0)};
}

const Uuid kRow = Uuid::Random();

TEST_CASE("Conflicts: an edit made after receiving the current value is none",
          "[apply][conflict]") {
  Server server;
  TestDevice office, officer;
  const RowChange create = office.Write(kRow, NewProducer("กลุ่มทอผ้า"));
  const uint64_t created = server.Push(create);
  officer.Received(create);
  // The officer pulled the row (base = its sequence) and edits the name.
  server.Push(officer.Write(kRow, {Set("name", Value::Text("กลุ่มทอผ้าพร้าว"), created)}));
  CHECK(server.sink.events.empty());
  CHECK(server.Cell("SELECT name FROM producer") == Value::Text("กลุ่มทอผ้าพร้าว"));
}

TEST_CASE("Conflicts: a week offline, arriving after two other edits, is one "
          "with both values kept", "[apply][conflict]") {
  Server server;
  TestDevice office, trainer, officer;
  const uint64_t created = server.Push(office.Write(kRow, NewProducer("เดิม")));
  // The officer received the row, then went offline for a week.
  officer.wall.Advance(-7LL * 24 * 3600 * 1000);
  const RowChange offline_edit =
      officer.Write(kRow, {Set("phone", Value::Text("0811111111"), created)});
  // Meanwhile the office and the trainer each change the phone, each having
  // seen the value before.
  const RowChange office_edit =
      office.Write(kRow, {Set("phone", Value::Text("0822222222"), created)});
  const uint64_t first = server.Push(office_edit);
  trainer.Received(office_edit);
  server.Push(trainer.Write(kRow, {Set("phone", Value::Text("0833333333"), first)}));
  REQUIRE(server.sink.events.empty());

  const uint64_t late = server.Push(offline_edit);
  REQUIRE(server.sink.events.size() == 1);
  const ConflictEvent& c = server.sink.events[0];
  CHECK(c.entity == "producer");
  CHECK(c.row_id == kRow);
  CHECK(c.column == "phone");
  CHECK(c.current.value == Value::Text("0833333333"));
  CHECK(c.current.hlc.device == trainer.id);
  CHECK(c.current_seq == first + 1);
  CHECK(c.incoming.value == Value::Text("0811111111"));
  CHECK(c.incoming.hlc.device == officer.id);
  CHECK(c.incoming_base == created);
  CHECK(c.incoming_seq == late);
  // LWW shows the later write (the trainer's; the officer's clock is a week
  // behind) so replicas converge; the losing value lives in the conflict.
  CHECK_FALSE(c.incoming_won);
  CHECK(server.Cell("SELECT phone FROM producer") == Value::Text("0833333333"));
}

TEST_CASE("Conflicts: edits of different columns never conflict and both survive",
          "[apply][conflict]") {
  Server server;
  TestDevice office, a, b;
  const uint64_t created = server.Push(office.Write(kRow, NewProducer("เดิม")));
  server.Push(a.Write(kRow, {Set("phone", Value::Text("0811111111"), created)}));
  server.Push(b.Write(kRow, {Set("village", Value::Text("บ้านป่าตุ้ม"), created)}));
  CHECK(server.sink.events.empty());
  CHECK(server.Cell("SELECT phone FROM producer") == Value::Text("0811111111"));
  CHECK(server.Cell("SELECT village FROM producer") == Value::Text("บ้านป่าตุ้ม"));
}

TEST_CASE("Conflicts: a device's own successive edits never conflict",
          "[apply][conflict]") {
  Server server;
  TestDevice officer;
  server.Push(officer.Write(kRow, NewProducer("หนึ่ง")));
  // Offline: it never received its own writes back, so base stays 0.
  server.Push(officer.Write(kRow, {Set("name", Value::Text("สอง"), 0)}));
  server.Push(officer.Write(kRow, {Set("name", Value::Text("สาม"), 0)}));
  CHECK(server.sink.events.empty());
  CHECK(server.Cell("SELECT name FROM producer") == Value::Text("สาม"));
}

TEST_CASE("Conflicts: a resolution that covers the current value clears it",
          "[apply][conflict]") {
  Server server;
  TestDevice office, trainer, officer, central;
  const RowChange create = office.Write(kRow, NewProducer("เดิม"));
  const uint64_t created = server.Push(create);
  trainer.Received(create);
  officer.Received(create);
  const RowChange trainer_edit =
      trainer.Write(kRow, {Set("name", Value::Text("ก"), created)});
  const uint64_t current = server.Push(trainer_edit);
  const RowChange officer_edit =
      officer.Write(kRow, {Set("name", Value::Text("ข"), created)});
  server.Push(officer_edit);
  REQUIRE(server.sink.events.size() == 1);
  central.Received(trainer_edit);
  central.Received(officer_edit);
  // The central office resolves with an ordinary change whose base covers
  // the latest value it saw: no new conflict, and the chosen value shows.
  const uint64_t latest = current + 1;
  server.Push(central.Write(kRow, {Set("name", Value::Text("ข"), latest)}));
  CHECK(server.sink.events.size() == 1);
  CHECK(server.Cell("SELECT name FROM producer") == Value::Text("ข"));
}

TEST_CASE("Apply: a re-applied change set changes nothing and reports nothing",
          "[apply]") {
  Server server;
  TestDevice a, b;
  const uint64_t created = server.Push(a.Write(kRow, NewProducer("เดิม")));
  const RowChange edit = b.Write(kRow, {Set("name", Value::Text("ใหม่"), created)});
  server.Push(edit);
  const std::string before = testing::Dump(*server.db);
  server.Push(edit);
  CHECK(testing::Dump(*server.db) == before);
  CHECK(server.sink.events.empty());
}

TEST_CASE("Apply: an invalid cell refuses the whole change set", "[apply]") {
  auto db = NewReplica();
  TestDevice a;
  ChangeSet cs;
  cs.device = a.id;
  cs.rows.push_back(a.Write(Uuid::Random(), NewProducer("ดี")));
  cs.rows.push_back(a.Write(Uuid::Random(), {Set("otop_stars", Value::Integer(9), 0)}));
  const Status s = ApplyInTxn(*db, cs);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(s.message().find("row 2") != std::string::npos);
  Statement count(*db, "SELECT count(*) FROM producer");
  REQUIRE(count.Step());
  CHECK(count.ColumnInt(0) == 0);  // the valid first row was rolled back too
}

TEST_CASE("Apply: unknown entity or column, and a column written twice, are refused",
          "[apply]") {
  auto db = NewReplica();
  TestDevice a;
  RowChange row = a.Write(Uuid::Random(), NewProducer("ดี"));
  row.entity = "farmer";
  CHECK(ApplyRowChange(*db, row, {}).code() == Code::kInvalidArgument);
  row.entity = "producer";
  row.cells.push_back(Set("favourite_colour", Value::Text("red"), 0));
  CHECK(ApplyRowChange(*db, row, {}).code() == Code::kInvalidArgument);
  row.cells.back() = Set("name", Value::Text("again"), 0);
  CHECK(ApplyRowChange(*db, row, {}).code() == Code::kInvalidArgument);
}

TEST_CASE("Apply: a delete is a tombstone, the row and its values stay",
          "[apply]") {
  auto db = NewReplica();
  TestDevice a;
  const Uuid id = Uuid::Random();
  ChangeSet cs;
  cs.rows.push_back(a.Write(id, NewProducer("ยังอยู่")));
  cs.rows.push_back(a.Write(id, {Set("deleted", Value::Integer(1), 0)}));
  REQUIRE(ApplyInTxn(*db, cs).ok());
  Statement st(*db, "SELECT name, deleted FROM producer");
  REQUIRE(st.Step());
  CHECK(st.ColumnText(0) == "ยังอยู่");
  CHECK(st.ColumnInt(1) == 1);
}



TEST_CASE("Apply: each cell's version lives in its row, with its server sequence",
          "[apply]") {
  Server server;
  TestDevice a, b;
  const RowChange create = a.Write(kRow, NewProducer("เดิม"));
  const uint64_t created = server.Push(create);
  b.Received(create);  // b's edit comes after the row it saw
  const RowChange edit = b.Write(kRow, {Set("name", Value::Text("ใหม่"), created)});
  const uint64_t edited = server.Push(edit);

  auto versions = ReadCellVersions(*server.db, "producer", kRow);
  REQUIRE(versions.ok());
  REQUIRE(versions->size() == 3);
  CHECK(versions->at("kind").seq == created);
  CHECK(versions->at("district_code").seq == created);
  CHECK(versions->at("name").seq == edited);
  CHECK(versions->at("name").hlc == edit.hlc);
  CHECK(versions->at("kind").hlc.device == a.id);

  const Entity* producer = FindEntity("producer");
  auto row = ReadReplicaRow(*server.db, *producer, kRow);
  REQUIRE(row.ok());
  REQUIRE(row->has_value());
  REQUIRE((*row)->values.size() == producer->columns.size() + 1);
  CHECK((*row)->values[static_cast<size_t>(producer->FindColumn("name") -
                                            producer->columns.data())] ==
        Value::Text("ใหม่"));
  CHECK((*row)->values.back() == Value::Integer(0));  // deleted
  CHECK((*row)->versions.size() == 3);

  auto missing = ReadReplicaRow(*server.db, *producer, Uuid::Random());
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
  CHECK(ReadCellVersions(*server.db, "producer", Uuid::Random())->empty());
  CHECK(ReadCellVersions(*server.db, "farmer", kRow).status().code() ==
        Code::kInvalidArgument);
}

TEST_CASE("Apply: the same writes in any order give the same version bytes",
          "[apply]") {
  TestDevice a, b;
  const RowChange create = a.Write(kRow, NewProducer("เดิม"));
  b.wall.Advance(10000);  // b's edit is the later one: it wins
  const RowChange name = b.Write(kRow, {Set("name", Value::Text("ใหม่"), 0)});
  const RowChange phone = a.Write(kRow, {Set("phone", Value::Text("053000000"), 0)});
  auto in_order = NewReplica();
  auto reversed = NewReplica();
  for (const RowChange* r : {&create, &name, &phone}) {
    Transaction txn(*in_order);
    REQUIRE(ApplyRowChange(*in_order, *r, {}).ok());
    REQUIRE(txn.Commit().ok());
  }
  for (const RowChange* r : {&phone, &name, &create}) {
    Transaction txn(*reversed);
    REQUIRE(ApplyRowChange(*reversed, *r, {}).ok());
    REQUIRE(txn.Commit().ok());
  }
  const std::string bytes = VersionsBlob(*in_order, kRow);
  CHECK(bytes == VersionsBlob(*reversed, kRow));
  // Three writes: three groups of (hlc, seq) = 37 bytes each, plus the
  // names (kind, name, district_code, phone) with a length byte each.
  CHECK(bytes.size() == 3 * 37 + (1 + 4) + (1 + 4) + (1 + 13) + (1 + 5));
}

TEST_CASE("Apply: a change with no cells still creates its row", "[apply]") {
  auto db = NewReplica();
  TestDevice a;
  const Uuid id = Uuid::Random();
  Transaction txn(*db);
  REQUIRE(ApplyRowChange(*db, a.Write(id, {}), {}).ok());
  REQUIRE(ApplyRowChange(*db, a.Write(id, NewProducer("ต่อมา")), {}).ok());
  REQUIRE(txn.Commit().ok());
  Statement st(*db, "SELECT name FROM producer WHERE id = ?1");
  st.Bind(1, std::string_view(id.ToString()));
  REQUIRE(st.Step());
  CHECK(st.ColumnText(0) == "ต่อมา");
}

TEST_CASE("Apply: insert_first gives the same rows, versions and refusals as "
          "reading first",
          "[apply][pull]") {
  TestDevice a, b;
  const Uuid old_row = Uuid::Random(), new_row = Uuid::Random(), later_row = Uuid::Random();
  const RowChange first_write = a.Write(old_row, NewProducer("เดิม"));
  // A pull page: a new row, an edit of a row already there (the guess that
  // it is new is wrong), the device's own write coming back with its
  // sequence (no cell wins, only versions change), another new row.
  ChangeSet page;
  page.rows.push_back(b.Write(new_row, NewProducer("ใหม่")));
  page.rows.back().cells[0].base = 7;
  page.rows.push_back(b.Write(old_row, {Set("name", Value::Text("แก้"), 3)}));
  page.rows.push_back(first_write);
  for (CellWrite& c : page.rows.back().cells) c.base = 5;
  page.rows.push_back(b.Write(later_row, NewProducer("ถัดไป")));
  ApplyOptions pull;
  pull.seq_from_base = true;
  ApplyOptions pull_first = pull;
  pull_first.insert_first = true;
  auto replica = [&first_write] {
    auto db = NewReplica();
    ChangeSet mine;
    mine.rows.push_back(first_write);
    REQUIRE(ApplyInTxn(*db, mine).ok());
    return db;
  };
  auto plain = replica();
  auto guessed = replica();
  REQUIRE(ApplyInTxn(*plain, page, pull).ok());
  REQUIRE(ApplyInTxn(*guessed, page, pull_first).ok());
  CHECK(testing::Dump(*guessed) == testing::Dump(*plain));
  for (const Uuid& id : {old_row, new_row, later_row}) {
    CHECK(VersionsBlob(*guessed, id) == VersionsBlob(*plain, id));
  }
  // A bad row after a new one: the same refusal, nothing of the page kept.
  ChangeSet bad;
  bad.rows.push_back(b.Write(Uuid::Random(), NewProducer("อีก")));
  bad.rows.push_back(b.Write(Uuid::Random(), {Set("otop_stars", Value::Integer(9), 0)}));
  const std::string before = testing::Dump(*guessed);
  const Status refused_plain = ApplyInTxn(*plain, bad, pull);
  const Status refused_first = ApplyInTxn(*guessed, bad, pull_first);
  REQUIRE_FALSE(refused_first.ok());
  CHECK(refused_first.code() == refused_plain.code());
  CHECK(refused_first.message() == refused_plain.message());
  CHECK(testing::Dump(*guessed) == before);
}

TEST_CASE("Apply: damaged cell versions are reported as corruption, never read "
          "past their end",
          "[apply]") {
  auto db = NewReplica();
  TestDevice a, b;
  {
    Transaction txn(*db);
    REQUIRE(ApplyRowChange(*db, a.Write(kRow, NewProducer("เดิม")), {}).ok());
    REQUIRE(ApplyRowChange(*db, b.Write(kRow, {Set("name", Value::Text("ใหม่"), 0)}), {})
                .ok());
    REQUIRE(txn.Commit().ok());
  }
  const std::string good = VersionsBlob(*db, kRow);
  const RowChange later = a.Write(kRow, {Set("phone", Value::Text("053"), 0)});
  // Every truncation (sanitizers watch the reads): either it ends on a
  // group boundary and reads as fewer versions, or it is refused.
  int refused = 0;
  for (size_t n = 1; n < good.size(); ++n) {
    SetVersionsBlob(*db, kRow, good.substr(0, n));
    Transaction txn(*db);
    const Status s = ApplyRowChange(*db, later, {});
    if (!s.ok()) {
      CHECK(s.code() == Code::kCorruption);
      ++refused;
    }
  }
  CHECK(refused >= static_cast<int>(good.size()) - 3);
  // A group of zero names, and a name running past the end.
  std::string zero = good.substr(0, 37);
  zero[36] = 0;
  SetVersionsBlob(*db, kRow, zero);
  CHECK(ReadCellVersions(*db, "producer", kRow).status().code() == Code::kCorruption);
  std::string overrun = good.substr(0, 38);
  overrun[37] = 100;
  SetVersionsBlob(*db, kRow, overrun + "kind");
  CHECK(ReadCellVersions(*db, "producer", kRow).status().code() == Code::kCorruption);
  CHECK(DumpReplicaState(*db).status().code() == Code::kCorruption);
}

}  // namespace
}  // namespace kbo
