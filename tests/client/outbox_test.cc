#include "client/outbox.h"

#include <catch2/catch.hpp>

#include "shared/change_set_codec.h"
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

TEST_CASE("Outbox: sealed change sets decode, verify, chain, and apply to the "
          "same rows as the client's", "[outbox]") {
  TempDir tmp;
  auto opened = ClientStore::Open(tmp.path());
  REQUIRE(opened.ok());
  ClientStore& store = **opened;
  PhraoFixture f(store);
  for (int day = 1; day <= 5; ++day) {
    REQUIRE(store.Record("attendance", f.Mark(day, day == 3 ? "late" : "present")).ok());
  }
  REQUIRE(store.Edit("producer", f.producer, {{"phone", Value::Text("0899999999")}}).ok());
  REQUIRE(store.Delete("enrolment", f.enrolment).ok());

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
