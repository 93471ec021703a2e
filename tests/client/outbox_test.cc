#include "client/outbox.h"

#include <catch2/catch.hpp>
#include <map>

#include "shared/change_set_codec.h"
#include "shared/entities.h"
#include "shared/replica/apply.h"
#include "tests/support/replica.h"
#include "tests/support/sample_data.h"
#include "tests/support/temp_dir.h"

namespace kbo::client {
namespace {

using testing::PhraoFixture;
using testing::TempDir;

std::string ClientEntityDump(ClientStore& store) {
  auto d = DumpReplicaState(store.db());
  REQUIRE(d.ok());
  return *d;
}

TEST_CASE("Outbox: rows with long notes go in sets any server decodes, an action split "
          "in order", "[outbox]") {
  TempDir tmp;
  auto opened = ClientStore::Open(tmp.path());
  REQUIRE(opened.ok());
  ClientStore& store = **opened;
  PhraoFixture f(store);
  // 60,000 bytes of Thai notes a visit (a value may hold 64 KiB): 160 of
  // them are 9.6 MB, more than the 8 MiB a server decodes in one set.
  std::string note;
  while (note.size() + 30 < 60000) note += "บันทึกการเยี่ยมกลุ่ม ";
  auto visit = [&](int i) {
    return RowValues{{"producer_id", Value::Text(f.producer.ToString())},
                     {"visited_at", Value::Text("2024-03-05T02:00:00Z")},
                     {"notes", Value::Text(note + std::to_string(i))}};
  };
  for (int i = 0; i < 80; ++i) REQUIRE(store.Record("visit", visit(i)).ok());
  std::vector<RowValues> batch;
  for (int i = 80; i < 160; ++i) batch.push_back(visit(i));
  REQUIRE(store.RecordAll("visit", std::move(batch)).ok());  // one action

  Outbox outbox(store);
  auto n = outbox.SealAll();
  REQUIRE(n.ok());
  CHECK(*n >= 3);
  auto sealed = outbox.Unacked();
  REQUIRE(sealed.ok());
  auto replica = testing::NewReplica();
  uint64_t rows = 0;
  for (const SealedChangeSet& s : *sealed) {
    INFO("set " << s.seq << ": " << s.bytes.size() << " bytes, " << s.rows << " rows");
    CHECK(s.bytes.size() <= Outbox::kDefaultMaxBytes + 70000);
    auto cs = DecodeChangeSet(s.bytes);  // the server's limits
    REQUIRE(cs.ok());
    rows += cs->rows.size();
    REQUIRE(testing::ApplyInTxn(*replica, *cs).ok());
  }
  CHECK(rows == 3 + 160);
  CHECK(testing::Dump(*replica) == ClientEntityDump(store));

  // A cap smaller than one row still seals that row alone.
  REQUIRE(store.Record("visit", visit(200)).ok());
  REQUIRE(store.Record("visit", visit(201)).ok());
  auto tiny = outbox.SealNext(Outbox::kDefaultMaxRows, /*max_bytes=*/1000);
  REQUIRE(tiny.ok());
  REQUIRE(tiny->has_value());
  CHECK((*tiny)->rows == 1);
  CHECK(*outbox.PendingRows() == 1);
}

TEST_CASE("Outbox: sealed change sets decode, verify, chain, and apply to the "
          "same rows as the client's", "[outbox]") {
  TempDir tmp;
  auto opened = ClientStore::Open(tmp.path());
  REQUIRE(opened.ok());
  ClientStore& store = **opened;
  PhraoFixture f(store);
  Uuid last_mark;
  for (int day = 1; day <= 5; ++day) {
    auto mark = store.Record("attendance", f.Mark(day, day == 3 ? "late" : "present"));
    REQUIRE(mark.ok());
    last_mark = *mark;
  }
  REQUIRE(store.Edit("producer", f.producer, {{"phone", Value::Text("0899999999")}}).ok());
  REQUIRE(store.Delete("attendance", last_mark).ok());

  Outbox outbox(store);
  auto sets = outbox.SealAll(/*max_rows=*/4);
  REQUIRE(sets.ok());
  CHECK(*sets == 3);  // 10 row changes in sets of 4
  auto sealed = outbox.Unacked();
  REQUIRE(sealed.ok());
  REQUIRE(sealed->size() == 3);

  auto replica = testing::NewReplica();
  Sha256Digest prev{};
  uint64_t expected_seq = 1;
  for (const SealedChangeSet& s : *sealed) {
    CHECK(Verify(store.key().public_key(), kChangeSetDomain, s.bytes, s.signature));
    auto cs = DecodeChangeSet(s.bytes);
    REQUIRE(cs.ok());
    CHECK(cs->seq == expected_seq++);
    CHECK(cs->device == store.device_id());
    CHECK(cs->prev_hash == prev);
    prev = HashChangeSetBytes(s.bytes);
    CHECK(s.hash == prev);
    REQUIRE(testing::ApplyInTxn(*replica, *cs).ok());
  }
  CHECK(testing::Dump(*replica) == ClientEntityDump(store));

  // Nothing left to seal; acknowledging moves changes to "confirmed".
  CHECK_FALSE(outbox.SealNext()->has_value());
  REQUIRE(outbox.Acknowledge(1, "receipt").ok());
  auto status = store.GetStatus();
  CHECK(status->pending_changes == 6);
  CHECK(status->confirmed_changes == 4);
  CHECK(outbox.Acknowledge(99, "x").code() == Code::kNotFound);
}

TEST_CASE("Outbox: every change carries the base of the value it replaced",
          "[outbox]") {
  TempDir tmp;
  auto opened = ClientStore::Open(tmp.path());
  REQUIRE(opened.ok());
  ClientStore& store = **opened;
  PhraoFixture f(store);
  // Pretend the server confirmed the producer at sequence 41 (as a pull does).
  ChangeSet from_server;
  RowChange pulled;
  pulled.entity = "producer";
  pulled.row_id = f.producer;
  pulled.hlc = store.clock().Now();
  pulled.cells.push_back({"phone", Value::Text("0800000000"), 0});
  from_server.rows.push_back(pulled);
  ApplyOptions server_seq;
  server_seq.seq = 41;
  REQUIRE(testing::ApplyInTxn(store.db(), from_server, server_seq).ok());

  REQUIRE(store.Edit("producer", f.producer, {{"phone", Value::Text("0811111111")},
                                              {"village", Value::Text("บ้านใหม่")}}).ok());
  Outbox outbox(store);
  REQUIRE(outbox.SealAll().ok());
  auto sealed = outbox.Unacked();
  auto cs = DecodeChangeSet(sealed->back().bytes);
  REQUIRE(cs.ok());
  const RowChange& edit = cs->rows.back();
  for (const CellWrite& c : edit.cells) {
    CAPTURE(c.column);
    CHECK(c.base == (c.column == "phone" ? 41u : 0u));
  }
}

}  // namespace
}  // namespace kbo::client

namespace kbo::client {
namespace {

// The row as a server holding it would send it whole: one RowChange per hlc,
// each cell's base `seq`.
std::vector<RowChange> HeldRow(ClientStore& store, std::string_view entity,
                               const Uuid& id, uint64_t seq) {
  const Entity* e = FindEntity(entity);
  REQUIRE(e != nullptr);
  auto row = ReadReplicaRow(store.db(), *e, id);
  REQUIRE(row.ok());
  REQUIRE(row->has_value());
  std::map<Hlc, RowChange> by_hlc;
  for (const auto& [column, v] : (*row)->versions) {
    size_t i = 0;
    while (i < e->columns.size() && e->columns[i].name != column) ++i;
    RowChange& rc = by_hlc[v.hlc];
    rc.entity = std::string(entity);
    rc.row_id = id;
    rc.hlc = v.hlc;
    rc.cells.push_back({column, (*row)->values[i], seq});
  }
  std::vector<RowChange> out;
  for (auto& [h, rc] : by_hlc) out.push_back(std::move(rc));
  return out;
}

TEST_CASE("Outbox: a receipt with the server's rows puts refused edits and "
          "deletes back, keeps later local writes and what was typed",
          "[outbox][refused]") {
  TempDir tmp;
  auto opened = ClientStore::Open(tmp.path());
  REQUIRE(opened.ok());
  ClientStore& store = **opened;
  PhraoFixture f(store);
  Outbox outbox(store);
  REQUIRE(outbox.SealAll().ok());
  REQUIRE(outbox.Acknowledge(1, "receipt").ok());
  // What the server holds: the rows as set 1 made them, at sequence 7.
  ChangeSet held;
  for (RowChange& rc : HeldRow(store, "producer", f.producer, 7)) held.rows.push_back(rc);
  for (RowChange& rc : HeldRow(store, "enrolment", f.enrolment, 7)) held.rows.push_back(rc);
  const std::string server_state = ClientEntityDump(store);

  // Set 2: an edit and a delete, both refused by the server.
  REQUIRE(store.Edit("producer", f.producer, {{"phone", Value::Text("0899999999")}}).ok());
  REQUIRE(store.Delete("enrolment", f.enrolment).ok());
  auto sealed = outbox.SealNext();
  REQUIRE(sealed.ok());
  REQUIRE(sealed->has_value());
  const SealedChangeSet set2 = **sealed;
  auto cs = DecodeChangeSet(set2.bytes);
  REQUIRE(cs.ok());
  REQUIRE(cs->rows.size() == 2);
  // Made after set 2 was sealed: not yet judged, so kept.
  REQUIRE(store.Edit("producer", f.producer, {{"tambon", Value::Text("ใหม่")}}).ok());

  std::vector<protocol::RefusedRow> refused(2);
  for (size_t i = 0; i < 2; ++i) {
    refused[i].index = i;
    refused[i].entity = cs->rows[i].entity;
    refused[i].row_id = cs->rows[i].row_id.ToString();
    refused[i].reason = "role";
    refused[i].message = "not allowed";
  }
  REQUIRE(outbox.Acknowledge(2, "receipt", refused, set2.bytes, EncodeChangeSet(held)).ok());

  auto producer = store.Show("producer", f.producer);
  REQUIRE(producer.ok());
  CHECK(producer->values.at("phone").is_null());
  CHECK(producer->values.at("tambon") == Value::Text("ใหม่"));
  auto versions = ReadCellVersions(store.db(), "producer", f.producer);
  REQUIRE(versions.ok());
  CHECK(versions->at("name").seq == 7);
  CHECK(versions->count("phone") == 0);
  auto enrolment = store.Show("enrolment", f.enrolment);
  REQUIRE(enrolment.ok());
  CHECK_FALSE(enrolment->deleted);
  CHECK(ReadCellVersions(store.db(), "enrolment", f.enrolment)->at("participant_name").seq == 7);

  auto list = store.Refused();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  for (const RefusedEntry& r : *list) {
    CHECK(r.restored);
    CHECK_FALSE(r.unaccepted);
  }
  CHECK(list->front().cells.find("0899999999") != std::string::npos);

  // A second acknowledgement (the same receipt again) changes nothing.
  const std::string after = ClientEntityDump(store);
  REQUIRE(outbox.Acknowledge(2, "receipt", refused, set2.bytes, EncodeChangeSet(held)).ok());
  CHECK(ClientEntityDump(store) == after);
  // Only the later write differs from what the server holds.
  CHECK(after != server_state);
  // Dismissing a restored refusal leaves the rows as they are.
  REQUIRE(store.DismissRefused(f.enrolment).ok());
  CHECK(ClientEntityDump(store) == after);
}

}  // namespace
}  // namespace kbo::client
