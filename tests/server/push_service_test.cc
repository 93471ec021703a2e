#include "server/push_service.h"
#include "server/server_write.h"
#include "server/storage/server_state.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "server/blob_service.h"
#include "server/conflicts.h"
#include "server/enrolment.h"
#include "server/row_history.h"
#include "server/storage/devices.h"
#include "shared/change_set_codec.h"
#include "shared/replica/apply.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

// Nothing of a refused change set may remain: no rows, no index entries, no
// log, no sequence numbers, no device progress.
void CheckNothingStored(ServerFixture& f, uint64_t next_seq, int64_t producers,
                        const TestDevice& device, uint64_t last_seq) {
  CHECK(f.NextSeq() == next_seq);
  CHECK(f.Count("SELECT COUNT(*) FROM producer") == producers);
  CHECK(f.Count("SELECT COUNT(*) FROM row_seq") == producers);
  CHECK(f.Count("SELECT COUNT(*) FROM change_set_log WHERE device_id = '" +
                device.id.ToString() + "'") == static_cast<int64_t>(last_seq));
  CHECK(f.Record(device.id).last_seq == last_seq);
}

TEST_CASE(
    "PushService: an accepted change set is merged, indexed, logged and "
    "answered with a receipt signed by the server",
    "[server][push]") {
  ServerFixture f;
  TestDevice trainer;
  const DeviceRecord record = f.Enroll(trainer, kPhrao);
  PushService push(*f.store);

  const Uuid p1 = Uuid::Random(), p2 = Uuid::Random();
  const std::string body =
      trainer.SealNext({Producer(p1, trainer.HlcAt(kT0), kPhrao),
                        Producer(p2, trainer.HlcAt(kT0), kPhrao)});
  auto r = push.Push(record, body);
  REQUIRE(r.ok());
  CHECK_FALSE(r->repeated);

  Signature sig{};
  auto parsed = ParsePushResponse(r->response_json, &sig);
  REQUIRE(parsed.ok());
  const protocol::Receipt& receipt = parsed->receipt;
  CHECK(receipt.device_id == trainer.id.ToString());
  CHECK(receipt.seq == 1);
  CHECK(receipt.hash == HexEncode(trainer.prev));
  CHECK(receipt.first_server_seq == 1);
  CHECK(receipt.last_server_seq == 2);
  CHECK(receipt.rows == 2);
  CHECK(receipt.conflicts == 0);
  CHECK(receipt.received_at == "2024-03-10T02:00:00Z");
  CHECK(Verify(f.store->key().public_key(), kReceiptDomain,
               protocol::ReceiptMessage(receipt), sig));

  CHECK(f.Count("SELECT COUNT(*) FROM producer WHERE district_code = '5011'") ==
        2);
  CHECK(f.Count("SELECT max_seq FROM row_seq WHERE row_id = '" + p2.ToString() +
                "'") == 2);
  CHECK(f.Text("SELECT district_code FROM row_seq WHERE row_id = '" +
               p1.ToString() + "'") == kPhrao);
  CHECK(f.Count("SELECT COUNT(*) FROM change_set_log") == 1);
  CHECK(f.Record(trainer.id).last_seq == 1);
  CHECK(f.NextSeq() == 3);
}

TEST_CASE(
    "PushService: a row written again moves to the end of the pull index, "
    "one entry per row",
    "[server][push]") {
  ServerFixture f;
  TestDevice trainer;
  const DeviceRecord record = f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const Uuid p1 = Uuid::Random(), p2 = Uuid::Random();
  auto seq_of = [&f](const Uuid& id) {
    return f.Count("SELECT max_seq FROM row_seq WHERE row_id = '" + id.ToString() + "'");
  };
  REQUIRE(push.Push(record, trainer.SealNext({Producer(p1, trainer.HlcAt(kT0), kPhrao),
                                              Producer(p2, trainer.HlcAt(kT0), kPhrao)}))
              .ok());
  CHECK(seq_of(p1) == 1);
  CHECK(seq_of(p2) == 2);

  // Set 2: p1 edited twice (sequences 3 and 4): its entry moves to 4.
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext(
                        {Row("producer", p1, trainer.HlcAt(kT0 + 1000), {{"phone", T("053"), 1}}),
                         Row("producer", p1, trainer.HlcAt(kT0 + 2000),
                             {{"name", T("กลุ่มใหม่"), 1}})}))
              .ok());
  CHECK(seq_of(p1) == 4);
  CHECK(seq_of(p2) == 2);
  CHECK(f.Count("SELECT COUNT(*) FROM row_seq") == 2);

  // Set 3: a write older than what p2 holds wins no cell: p2 stays at 2.
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("producer", p2, trainer.HlcAt(kT0 - 5000),
                                          {{"name", T("เก่า"), 0}})}))
              .ok());
  CHECK(seq_of(p2) == 2);
  CHECK(f.Count("SELECT COUNT(*) FROM row_seq") == 2);
  // Each entry is the row's highest cell sequence.
  for (const Uuid& id : {p1, p2}) {
    auto versions = ReadCellVersions(f.store->db(), "producer", id);
    REQUIRE(versions.ok());
    uint64_t highest = 0;
    for (const auto& [column, v] : *versions) highest = std::max(highest, v.seq);
    CHECK(seq_of(id) == static_cast<int64_t>(highest));
  }
}

TEST_CASE(
    "PushService: a pull index that lost a row's entry refuses the push "
    "rather than hide the row",
    "[server][push]") {
  ServerFixture f;
  TestDevice trainer;
  const DeviceRecord record = f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const Uuid p1 = Uuid::Random();
  REQUIRE(push.Push(record, trainer.SealNext({Producer(p1, trainer.HlcAt(kT0), kPhrao)}))
              .ok());
  REQUIRE(f.store->db().Exec("DELETE FROM row_seq").ok());  // damaged
  auto r = push.Push(f.Record(trainer.id),
                     trainer.SealNext({Row("producer", p1, trainer.HlcAt(kT0 + 1000),
                                           {{"phone", T("053"), 1}})}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kCorruption);
  CHECK(r.status().message().find("pull index") != std::string::npos);
  CHECK(f.Count("SELECT COUNT(*) FROM change_set_log") == 1);  // nothing kept
}

TEST_CASE("ServerStore: sequences jump ahead when server.db is older than its folder",
          "[server][push]") {
  kbo::testing::TempDir tmp;
  ManualWallClock wall(kT0);
  SetLogEnabled(false);
  const std::string dir = tmp.File("data");
  auto next_seq = [](ServerStore& store) {
    Statement st(store.db(), "SELECT next_seq FROM server_state");
    REQUIRE(st.Step());
    return static_cast<uint64_t>(st.ColumnInt(0));
  };
  auto push_one = [&](ServerStore& store, TestDevice& device) {
    Result<std::optional<DeviceRecord>> record = LoadDevice(store.db(), device.id);
    REQUIRE(record.ok());
    REQUIRE(record->has_value());
    PushService push(store);
    REQUIRE(push.Push(**record,
                      device.SealNext({Producer(Uuid::Random(), device.HlcAt(kT0), kPhrao)}))
                .ok());
  };
  TestDevice trainer;
  {
    auto store = ServerStore::Open(dir, &wall);
    REQUIRE(store.ok());
    CHECK(next_seq(**store) == 1);  // a new server starts at 1
    ServerFixture::EnrollInto(**store, trainer, kPhrao);
    push_one(**store, trainer);
  }
  {
    auto store = ServerStore::Open(dir, &wall);  // an ordinary restart
    REQUIRE(store.ok());
    CHECK(next_seq(**store) == 2);
    REQUIRE((*store)->db().Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  }
  std::filesystem::copy_file(dir + "/server.db", tmp.File("backup.db"));
  {
    auto store = ServerStore::Open(dir, &wall);
    REQUIRE(store.ok());
    push_one(**store, trainer);  // sequence 2, after the backup
    CHECK(next_seq(**store) == 3);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(dir + "/server.db" + suffix);
  }
  std::filesystem::copy_file(tmp.File("backup.db"), dir + "/server.db");
  {
    auto store = ServerStore::Open(dir, &wall);  // restored in place
    REQUIRE(store.ok());
    CHECK(next_seq(**store) == 3 + ServerStore::kRestoreGap);
  }
  {
    auto store = ServerStore::Open(dir, &wall);  // and stays put afterwards
    REQUIRE(store.ok());
    CHECK(next_seq(**store) == 3 + ServerStore::kRestoreGap);
  }
  // Restored into a new folder (server.db and server.key only): no record
  // of what was handed out, so the numbers jump too.
  const std::string fresh = tmp.File("fresh");
  std::filesystem::create_directories(fresh);
  std::filesystem::copy_file(tmp.File("backup.db"), fresh + "/server.db");
  std::filesystem::copy_file(dir + "/server.key", fresh + "/server.key");
  std::filesystem::permissions(fresh, std::filesystem::perms::owner_all);
  auto moved = ServerStore::Open(fresh, &wall);
  REQUIRE(moved.ok());
  CHECK(next_seq(**moved) == 2 + ServerStore::kRestoreGap);
}

TEST_CASE("ServerStore: a database rewound under a running server is caught at its next "
          "write, a photo's too, and the high-water record never goes down",
          "[server][push]") {
  kbo::testing::TempDir tmp;
  ManualWallClock wall(kT0);
  SetLogEnabled(false);
  auto store = ServerStore::Open(tmp.File("data"), &wall);
  REQUIRE(store.ok());
  ServerStore& s = **store;
  {
    Transaction txn(s.db());
    REQUIRE(s.TakeSeqs(10).ok());
    REQUIRE(txn.Commit().ok());
  }
  s.NoteCommittedSequences();
  const auto high_water = [&] {
    std::ifstream in(tmp.File("data") + "/sequence-high-water");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  CHECK(high_water() == "next_seq 11\n");
  // A backup of when 3 had been handed out, restored under it (the
  // connection kept: nothing told it).
  REQUIRE(s.db().Exec("UPDATE server_state SET next_seq = 4").ok());
  // The first write after it is a photo received whole.
  BlobService blobs(s);
  const std::string photo(5000, 'p');
  auto put = blobs.PutWhole(HexEncode(Sha256(photo)), photo);
  INFO(put.status().message());
  REQUIRE(put.ok());
  CHECK(s.LastSeq().value() == 11 + ServerStore::kRestoreGap);
  CHECK(high_water() == "next_seq " + std::to_string(12 + ServerStore::kRestoreGap) + "\n");
  // A note of a lower number (another server's, noted late) leaves it.
  REQUIRE(s.db().Exec("UPDATE server_state SET next_seq = 20").ok());
  s.NoteCommittedSequences();
  CHECK(high_water() == "next_seq " + std::to_string(12 + ServerStore::kRestoreGap) + "\n");
}

TEST_CASE("ServerStore: a restore under a server that kept its connection is seen before "
          "the next request: revocations made again, sequences jumped, another "
          "province's database refused",
          "[server][push][attack]") {
  ServerFixture f;
  SetLogEnabled(false);
  TestDevice thief, honest;
  f.Enroll(thief, kPhrao);
  f.Enroll(honest, kPhrao);
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(honest.id),
                    honest.SealNext({Producer(Uuid::Random(), honest.HlcAt(kT0), kPhrao)}))
              .ok());
  REQUIRE(Enrolment(*f.store).Revoke(thief.id.ToString()).ok());
  const uint64_t handed_out = f.store->LastSeq().value();
  INFO("handed out " << handed_out);
  CHECK(f.store->CheckStillOurs().ok());  // nothing restored: nothing done
  CHECK(f.store->LastSeq().value() == handed_out);
  // A backup from before both, restored with the connection kept.
  REQUIRE(f.store->db().Exec("UPDATE device SET revoked_at = NULL; "
                             "UPDATE server_state SET next_seq = 1").ok());
  REQUIRE(f.store->CheckStillOurs().ok());
  CHECK_FALSE(f.Record(thief.id).revoked_at.empty());
  CHECK(f.store->LastSeq().value() >= handed_out + ServerStore::kRestoreGap);
  // Another province's database behind the same URL.
  const std::string mine = f.store->server_id().ToString();
  Statement other(f.store->db(), "UPDATE server_state SET server_id = ?1");
  other.Bind(1, Uuid::Random().ToString());
  REQUIRE(other.Run().ok());
  const Status refused = f.store->CheckStillOurs();
  CHECK(refused.code() == Code::kUnavailable);
  CHECK(refused.reason() == "wrong_database");
  Statement back(f.store->db(), "UPDATE server_state SET server_id = ?1");
  back.Bind(1, mine);
  REQUIRE(back.Run().ok());
  CHECK(f.store->CheckStillOurs().ok());
}

TEST_CASE("ServerStore: a server.db of an earlier development layout is refused",
          "[server][push]") {
  kbo::testing::TempDir tmp;
  ManualWallClock wall(kT0);
  SetLogEnabled(false);
  {
    auto opened = ServerStore::Open(tmp.File("data"), &wall);
    REQUIRE(opened.ok());
    // The pull index as it was keyed before: by row, not by sequence.
    REQUIRE((*opened)
                ->db()
                .Exec("DROP TABLE row_seq; CREATE TABLE row_seq (entity TEXT NOT NULL, "
                      "row_id TEXT NOT NULL, max_seq INTEGER NOT NULL, district_code "
                      "TEXT, PRIMARY KEY (entity, row_id)) WITHOUT ROWID")
                .ok());
  }
  auto again = ServerStore::Open(tmp.File("data"), &wall);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Code::kFailedPrecondition);
  CHECK(again.status().message().find("row_seq.max_seq is not the primary key") !=
        std::string::npos);
}

TEST_CASE(
    "PushService: re-pushing an applied change set returns the identical "
    "receipt and applies nothing",
    "[server][push]") {
  ServerFixture f;
  TestDevice trainer;
  const DeviceRecord record = f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const std::string body =
      trainer.SealNext({Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)});
  auto first = push.Push(record, body);
  REQUIRE(first.ok());

  f.wall.Advance(60 * 1000);  // the answer was lost; the phone retries later
  auto again = push.Push(f.Record(trainer.id), body);
  REQUIRE(again.ok());
  CHECK(again->repeated);
  CHECK(again->response_json == first->response_json);
  CHECK(f.NextSeq() == 2);
  CHECK(f.Count("SELECT COUNT(*) FROM change_set_log") == 1);

  // And after later sets too.
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext(
                        {Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)}))
              .ok());
  auto old = push.Push(f.Record(trainer.id), body);
  REQUIRE(old.ok());
  CHECK(old->response_json == first->response_json);
}

TEST_CASE("PushService: a sequence gap is refused naming the expected sequence",
          "[server][push]") {
  ServerFixture f;
  TestDevice trainer;
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext(
                        {Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)}))
              .ok());
  trainer.SealNext(
      {Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)});  // set 2: lost
  const std::string third =
      trainer.SealNext({Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)});
  auto r = push.Push(f.Record(trainer.id), third);
  CHECK(r.status().code() == Code::kSequenceGap);
  CHECK(r.status().reason() == "sequence_gap");
  REQUIRE(r.status().IntegerField(field::kExpected) != nullptr);
  CHECK(*r.status().IntegerField(field::kExpected) == 2);
  CheckNothingStored(f, 2, 1, trainer, 1);
}

TEST_CASE(
    "PushService: a forked sequence (same number, other bytes) is refused "
    "and logged",
    "[server][push]") {
  ServerFixture f;
  TestDevice trainer;
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const ChangeSet original =
      trainer.Next({Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)});
  REQUIRE(
      push.Push(f.Record(trainer.id), trainer.Seal(original)).ok());

  // A restored backup of the phone makes another set 1.
  TestDevice clone = std::move(trainer);
  clone.seq = 0;
  clone.prev = Sha256Digest{};
  const std::string forked = clone.SealNext(
      {Producer(Uuid::Random(), clone.HlcAt(kT0), kPhrao, "อื่น")});
  auto r = push.Push(f.Record(clone.id), forked);
  CHECK(r.status().code() == Code::kSequenceGap);
  CHECK(r.status().reason() == "sequence_conflict");
  CheckNothingStored(f, 2, 1, clone, 1);
}

TEST_CASE(
    "PushService: a change set whose previous hash is not the last one "
    "accepted is refused",
    "[server][push]") {
  ServerFixture f;
  TestDevice trainer;
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext(
                        {Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)}))
              .ok());
  ChangeSet next =
      trainer.Next({Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)});
  next.prev_hash[0] ^= 1;
  auto r = push.Push(f.Record(trainer.id), trainer.Seal(next));
  CHECK(r.status().code() == Code::kSequenceGap);
  CHECK(r.status().reason() == "prev_hash_mismatch");
  CheckNothingStored(f, 2, 1, trainer, 1);
}

TEST_CASE(
    "PushService: one flipped bit in a change set or its signature is "
    "refused whole",
    "[server][push][untrusted]") {
  ServerFixture f;
  TestDevice trainer;
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const std::string body =
      trainer.SealNext({Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao),
                        Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)});
  for (size_t byte :
       {size_t{0}, size_t{63}, size_t{64}, size_t{100}, body.size() - 1}) {
    for (int bit : {0, 7}) {
      CAPTURE(byte, bit);
      std::string flipped = body;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      auto r = push.Push(f.Record(trainer.id), flipped);
      REQUIRE_FALSE(r.ok());
      // A flip in the signature, or in bytes that still decode, fails the
      // signature; anything else fails to decode.
      CHECK((r.status().code() == Code::kUnauthenticated ||
             r.status().code() == Code::kCorruption ||
             r.status().code() == Code::kPermissionDenied));
      if (byte < 64) CHECK(r.status().reason() == "bad_signature");
    }
  }
  CheckNothingStored(f, 1, 0, trainer, 0);
  // The untouched body still goes through.
  CHECK(push.Push(f.Record(trainer.id), body).ok());
}

// The receipt of an accepted set lists each refused row: parsed, and its
// signature checked over the refusals too.
protocol::Receipt ReceiptOf(ServerFixture& f, const PushResult& r) {
  Signature sig{};
  auto parsed = ParsePushResponse(r.response_json, &sig);
  REQUIRE(parsed.ok());
  CHECK(Verify(f.store->key().public_key(), kReceiptDomain,
               protocol::ReceiptMessage(parsed->receipt), sig));
  return parsed->receipt;
}

TEST_CASE(
    "PushService: a Phrao device cannot write Fang's rows, each is refused "
    "alone, listed in the signed receipt and kept for the office",
    "[server][push][scope]") {
  ServerFixture f;
  TestDevice phrao, fang;
  f.Enroll(phrao, kPhrao);
  f.Enroll(fang, kFang);
  PushService push(*f.store);
  const Uuid fang_row = Uuid::Random();
  REQUIRE(push.Push(f.Record(fang.id),
                    fang.SealNext({Producer(fang_row, fang.HlcAt(kT0), kFang)}))
              .ok());
  int64_t producers = 1;

  SECTION("a new row in Fang, after a good Phrao row in the same set") {
    auto r = push.Push(
        f.Record(phrao.id),
        phrao.SealNext({Producer(Uuid::Random(), phrao.HlcAt(kT0), kPhrao),
                        Producer(Uuid::Random(), phrao.HlcAt(kT0), kFang)}));
    REQUIRE(r.ok());
    const protocol::Receipt receipt = ReceiptOf(f, *r);
    CHECK(receipt.rows == 1);
    REQUIRE(receipt.refused.size() == 1);
    CHECK(receipt.refused[0].index == 1);
    CHECK(receipt.refused[0].reason == "out_of_scope");
    CHECK_THAT(receipt.refused[0].message,
               Catch::Contains("row 2") && Catch::Contains("5009"));
    producers = 2;  // the good one
  }
  SECTION("an edit of a Fang row that names no district") {
    auto r =
        push.Push(f.Record(phrao.id),
                  phrao.SealNext({Row("producer", fang_row, phrao.HlcAt(kT0),
                                      {{"phone", T("0811111111"), 0}})}));
    REQUIRE(r.ok());
    const protocol::Receipt receipt = ReceiptOf(f, *r);
    REQUIRE(receipt.refused.size() == 1);
    CHECK(receipt.refused[0].reason == "out_of_scope");
  }
  SECTION("moving a Fang row into Phrao") {
    auto r =
        push.Push(f.Record(phrao.id),
                  phrao.SealNext({Row("producer", fang_row, phrao.HlcAt(kT0),
                                      {{"district_code", T(kPhrao), 1}})}));
    REQUIRE(r.ok());
    const protocol::Receipt receipt = ReceiptOf(f, *r);
    REQUIRE(receipt.refused.size() == 1);
    CHECK(receipt.refused[0].reason == "out_of_scope");
  }
  // Nothing of the refused row was stored; the set itself was accepted, so
  // the device's next set goes through.
  CHECK(f.Count("SELECT COUNT(*) FROM producer") == producers);
  CHECK(f.Count("SELECT COUNT(*) FROM row_seq") == producers);
  CHECK(f.Text("SELECT name FROM producer WHERE id = '" + fang_row.ToString() +
               "'") == "กลุ่มทอผ้าบ้านป่าตุ้ม");
  CHECK(f.Text("SELECT district_code FROM producer WHERE id = '" +
               fang_row.ToString() + "'") == kFang);
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row WHERE reason = "
                "'out_of_scope' AND device_id = '" +
                phrao.id.ToString() + "'") == 1);
  CHECK(f.Record(phrao.id).last_seq == 1);
  auto next = push.Push(
      f.Record(phrao.id),
      phrao.SealNext({Producer(Uuid::Random(), phrao.HlcAt(kT0 + 1), kPhrao)}));
  REQUIRE(next.ok());
  CHECK(ReceiptOf(f, *next).refused.empty());
}

TEST_CASE("PushService: a row the server has never seen must name its district",
          "[server][push][scope]") {
  ServerFixture f;
  TestDevice trainer;
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const Uuid id = Uuid::Random();
  auto r = push.Push(f.Record(trainer.id),
                     trainer.SealNext({Row("producer", id, trainer.HlcAt(kT0),
                                           {{"phone", T("0811111111"), 0}})}));
  REQUIRE(r.ok());
  const protocol::Receipt receipt = ReceiptOf(f, *r);
  CHECK(receipt.rows == 0);
  REQUIRE(receipt.refused.size() == 1);
  // Not taken as a row: an edit of a row the server does not hold, kept
  // until the row comes (a restored server; server_apply.h waits_for_row).
  CHECK(receipt.refused[0].reason == "waits_for_row");
  CHECK(f.Count("SELECT COUNT(*) FROM producer") == 0);
  CHECK(f.Count("SELECT COUNT(*) FROM row_seq") == 0);

  // Within one set, a later row change may rely on an earlier one's district.
  TestDevice other;
  f.Enroll(other, kPhrao);
  auto ok = push.Push(f.Record(other.id),
                      other.SealNext({Producer(id, other.HlcAt(kT0), kPhrao),
                                      Row("producer", id, other.HlcAt(kT0),
                                          {{"phone", T("0811111111"), 0}})}));
  REQUIRE(ok.ok());
  CHECK(ReceiptOf(f, *ok).refused.empty());
}

TEST_CASE("PushService: a row stamped with another device's hlc is refused",
          "[server][push]") {
  ServerFixture f;
  TestDevice trainer, victim;
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  auto r = push.Push(f.Record(trainer.id),
                     trainer.SealNext({Producer(
                         Uuid::Random(), victim.HlcAt(kT0 + 99999), kPhrao)}));
  CHECK(r.status().code() == Code::kPermissionDenied);
  CHECK(r.status().reason() == "forged_hlc");
  CheckNothingStored(f, 1, 0, trainer, 0);
}

TEST_CASE(
    "PushService: a change set from a device other than the signer of the "
    "request is refused",
    "[server][push]") {
  ServerFixture f;
  TestDevice a, b;
  f.Enroll(a, kPhrao);
  f.Enroll(b, kPhrao);
  PushService push(*f.store);
  auto r = push.Push(
      f.Record(b.id),
      a.SealNext({Producer(Uuid::Random(), a.HlcAt(kT0), kPhrao)}));
  CHECK(r.status().code() == Code::kPermissionDenied);
  CHECK(r.status().reason() == "wrong_device");
}

TEST_CASE(
    "PushService: an hlc more than 24 hours ahead of the server is refused "
    "with a clear message",
    "[server][push]") {
  ServerFixture f;
  TestDevice trainer;
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  auto r = push.Push(
      f.Record(trainer.id),
      trainer.SealNext({Producer(
          Uuid::Random(), trainer.HlcAt(kT0 + 25LL * 3600 * 1000), kPhrao)}));
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().reason() == "clock_ahead");
  REQUIRE(r.status().IntegerField(field::kServerMs) != nullptr);
  CHECK(*r.status().IntegerField(field::kServerMs) == kT0);  // the server's clock, for the device
  CHECK_THAT(r.status().message(), Catch::Contains("date and time"));
  CheckNothingStored(f, 1, 0, trainer, 0);
}

TEST_CASE(
    "PushService: concurrent edits of one cell record a conflict with both "
    "values, edits of other columns do not",
    "[server][push][conflict]") {
  ServerFixture f;
  TestDevice officer, trainer;
  f.Enroll(officer, kPhrao, "field_officer");
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const Uuid id = Uuid::Random();
  REQUIRE(
      push.Push(f.Record(officer.id),
                officer.SealNext({Producer(id, officer.HlcAt(kT0), kPhrao)}))
          .ok());  // seq 1
  // Both edit the phone offline, having seen the producer at seq 1 ...
  REQUIRE(
      push.Push(f.Record(officer.id),
                officer.SealNext({Row("producer", id, officer.HlcAt(kT0 + 1000),
                                      {{"phone", T("0811111111"), 0}})}))
          .ok());  // seq 2
  // ... the trainer later, and also the village, which nobody else touched.
  auto r = push.Push(
      f.Record(trainer.id),
      trainer.SealNext(
          {Row("producer", id, trainer.HlcAt(kT0 + 2000),
               {{"phone", T("0822222222"), 0}, {"village", T("บ้านป่าตุ้ม"), 0}})}));
  REQUIRE(r.ok());
  CHECK(r->receipt.conflicts == 1);

  Conflicts conflicts(*f.store);
  auto list = conflicts.List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  const ConflictRecord& c = list->front();
  CHECK(c.entity == "producer");
  CHECK(c.row_id == id.ToString());
  CHECK(c.column_name == "phone");
  CHECK(c.district_code == kPhrao);
  CHECK(c.current_value == T("0811111111"));
  CHECK(c.current_device == officer.id.ToString());
  CHECK(c.current_seq == 2);
  CHECK(c.incoming_value == T("0822222222"));
  CHECK(c.incoming_device == trainer.id.ToString());
  CHECK(c.incoming_base == 0);
  CHECK(c.incoming_seq == 3);
  CHECK(c.winner ==
        "incoming");  // later hlc: LWW shows it, the other stays here
  CHECK(c.feed_seq == 4);
  CHECK_FALSE(c.resolved());
  CHECK(f.Text("SELECT phone FROM producer") == "0822222222");
  CHECK(f.Text("SELECT village FROM producer") == "บ้านป่าตุ้ม");
}

TEST_CASE(
    "PushService: over the network a row more than an hour ahead is refused "
    "(clock_ahead, the device re-dates it), while a bundle, which cannot be "
    "re-dated, is held to the clock's day",
    "[server][push]") {
  ServerFixture f;
  TestDevice trainer;
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  // A phone whose time zone was set to UTC: seven hours ahead.
  const std::string body = trainer.SealNext(
      {Producer(Uuid::Random(), trainer.HlcAt(kT0 + 7LL * 3600 * 1000), kPhrao)});
  auto r = push.Push(f.Record(trainer.id), body);
  CHECK(r.status().reason() == "clock_ahead");
  CHECK_THAT(r.status().message(), Catch::Contains("more than an hour ahead"));
  CheckNothingStored(f, 1, 0, trainer, 0);
  // Under the hour: taken.
  TestDevice officer;
  f.Enroll(officer, kPhrao);
  auto near = push.Push(
      f.Record(officer.id),
      officer.SealNext({Producer(Uuid::Random(), officer.HlcAt(kT0 + 50LL * 60 * 1000),
                                 kPhrao)}));
  INFO(near.status().ToString());
  CHECK(near.ok());
  // The same seven hours in a bundle: taken.
  auto bundled = push.PushFromBundle(body);
  INFO(bundled.status().ToString());
  CHECK(bundled.ok());
}

TEST_CASE(
    "PushService: after a bundle stamped hours ahead, devices that pulled its "
    "rows push theirs stamped after them, past the hour after it still refused",
    "[server][push][bundle]") {
  // A phone set to UTC (seven hours ahead) carried its day in a bundle. The
  // devices that pull its rows stamp their own after them (the merge rule:
  // "I saw it and changed it" wins); their pushes were refused clock_ahead
  // — and, re-dated after those rows again, refused again — for 7 hours.
  ServerFixture f;
  TestDevice phone, trainer, officer;
  f.Enroll(phone, kPhrao);
  f.Enroll(trainer, kPhrao);
  f.Enroll(officer, kPhrao, "field_officer");
  PushService push(*f.store);
  const int64_t seven_hours = 7LL * 3600 * 1000;
  const Uuid producer = Uuid::Random();
  REQUIRE(push.PushFromBundle(phone.SealNext(
                  {Producer(producer, phone.HlcAt(kT0 + seven_hours), kPhrao)}))
              .ok());
  // The trainer pulled it: its next edit is stamped just after it.
  Hlc after = phone.HlcAt(kT0 + seven_hours);
  after.device = trainer.id;
  after.counter = 1;
  auto edit = push.Push(f.Record(trainer.id),
                        trainer.SealNext({Row("producer", producer, after,
                                              {{"phone", T("0811111111"), 1}})}));
  INFO(edit.status().ToString());
  REQUIRE(edit.ok());
  CHECK(edit->receipt.conflicts == 0);
  CHECK(f.Text("SELECT phone FROM producer") == "0811111111");
  // An hour past the newest imported stamp is a wrong clock still.
  const uint64_t next_seq = f.NextSeq();
  auto beyond = push.Push(
      f.Record(officer.id),
      officer.SealNext({Producer(Uuid::Random(),
                                 officer.HlcAt(kT0 + seven_hours + 61LL * 60 * 1000),
                                 kPhrao)}));
  CHECK(beyond.status().reason() == "clock_ahead");
  CHECK_THAT(beyond.status().message(), Catch::Contains("newest record a bundle brought"));
  CheckNothingStored(f, next_seq, 1, officer, 0);
  Result<int64_t> noted = storage::ServerState(f.store->db()).BundleAheadMs();
  REQUIRE(noted.ok());
  CHECK(*noted == kT0 + seven_hours);
}

TEST_CASE(
    "PushService: the allowance past a bundle's stamps moves only with bundles, stays "
    "inside the day, and a refused row of a bundle moves nothing",
    "[server][push][bundle]") {
  ServerFixture f;
  TestDevice phone, officer;
  f.Enroll(phone, kPhrao);
  f.Enroll(officer, kPhrao, "field_officer");
  PushService push(*f.store);
  const int64_t hour = 3600LL * 1000;
  // A push; a refused one leaves the device's chain where it was.
  const auto try_push = [&](TestDevice& d, std::vector<RowChange> rows) {
    const uint64_t seq = d.seq;
    const Sha256Digest prev = d.prev;
    auto r = push.Push(f.Record(d.id), d.SealNext(std::move(rows)));
    if (!r.ok()) {
      d.seq = seq;
      d.prev = prev;
    }
    return r;
  };
  // An office write observing a row 59 minutes ahead moves the server's
  // clock there: that must not let a device walk an hour further each time.
  const Uuid producer = Uuid::Random();
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Producer(producer, officer.HlcAt(kT0 + 59 * 60 * 1000),
                                               kPhrao)}))
              .ok());
  REQUIRE(WriteAsServer(*f.store, "producer", producer, {{"phone", T("0811111111")}}).ok());
  auto walked = try_push(
      officer, {Producer(Uuid::Random(), officer.HlcAt(kT0 + 2 * hour - 60000), kPhrao)});
  CHECK(walked.status().reason() == "clock_ahead");
  // A bundle a whole day ahead: rows pushed after it stay inside the day
  // (a row past it would be refused by every device's pull).
  REQUIRE(push.PushFromBundle(phone.SealNext({Producer(Uuid::Random(),
                                                       phone.HlcAt(kT0 + 24 * hour - 60000),
                                                       kPhrao)}))
              .ok());
  auto edge = try_push(
      officer, {Producer(Uuid::Random(), officer.HlcAt(kT0 + 24 * hour + 60000), kPhrao)});
  CHECK(edge.status().reason() == "clock_ahead");
  auto inside =
      try_push(officer, {Producer(Uuid::Random(), officer.HlcAt(kT0 + 23 * hour), kPhrao)});
  INFO(inside.status().ToString());
  CHECK(inside.ok());
  // A bundle row refused (not in the device's districts) moves nothing.
  ServerFixture g;
  TestDevice other;
  g.Enroll(other, kPhrao);
  PushService push2(*g.store);
  auto bundled = push2.PushFromBundle(other.SealNext(
      {Producer(Uuid::Random(), other.HlcAt(kT0 + 20 * hour), kFang)}));
  REQUIRE(bundled.ok());
  REQUIRE(bundled->receipt.refused.size() == 1);
  Result<int64_t> noted = storage::ServerState(g.store->db()).BundleAheadMs();
  REQUIRE(noted.ok());
  CHECK(*noted == 0);
}

TEST_CASE(
    "PushService: a bundle's change set is authenticated by its own "
    "signature, revoked or unknown devices are refused",
    "[server][push][bundle]") {
  ServerFixture f;
  TestDevice trainer, stranger;
  const DeviceRecord record = f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const std::string body =
      trainer.SealNext({Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)});
  auto r = push.PushFromBundle(body);
  REQUIRE(r.ok());
  auto again = push.PushFromBundle(body);
  REQUIRE(again.ok());
  CHECK(again->repeated);

  auto unknown = push.PushFromBundle(
      stranger.SealNext(
          {Producer(Uuid::Random(), stranger.HlcAt(kT0), kPhrao)}));
  CHECK(unknown.status().code() == Code::kUnauthenticated);

  REQUIRE(Enrolment(*f.store).Revoke(trainer.id.ToString()).ok());
  auto revoked = push.PushFromBundle(
      trainer.SealNext({Producer(Uuid::Random(), trainer.HlcAt(kT0), kPhrao)}));
  CHECK(revoked.status().code() == Code::kPermissionDenied);
  CHECK(revoked.status().reason() == "revoked");
  // The set the server took before the revocation, in a bundle imported
  // again: already applied, not refused.
  auto taken = push.PushFromBundle(body);
  REQUIRE(taken.ok());
  CHECK(taken->repeated);
  // Over the network the same bytes are refused: a revoked key is heard
  // no more.
  auto network = push.Push(record, body);
  CHECK(network.status().code() == Code::kPermissionDenied);
  CHECK(network.status().reason() == "revoked");
  // Another set under the number the server took (a copy of the device):
  // revoked, never taken.
  const Uuid forged = Uuid::Random();
  trainer.seq = 0;  // its numbering from the start again
  trainer.prev = {};
  auto other = push.PushFromBundle(
      trainer.SealNext({Producer(forged, trainer.HlcAt(kT0), kPhrao)}));
  CHECK(other.status().code() == Code::kPermissionDenied);
  CHECK(other.status().reason() == "revoked");
  CHECK(f.Count("SELECT count(*) FROM producer WHERE id = '" + forged.ToString() + "'") == 0);
}

TEST_CASE(
    "PushService: garbage and oversized bodies are refused without a crash",
    "[server][push][untrusted]") {
  ServerFixture f;
  TestDevice trainer;
  const DeviceRecord record = f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  CHECK(push.Push(record, "").status().code() == Code::kCorruption);
  CHECK(push.Push(record, std::string(64, 'x')).status().code() ==
        Code::kCorruption);
  CHECK(push.Push(record, std::string(200, '\xff')).status().code() ==
        Code::kCorruption);
  CHECK(
      push.Push(record, std::string(protocol::kMaxPushBytes + 1, 'x'))
          .status()
          .code() == Code::kResourceExhausted);
  CheckNothingStored(f, 1, 0, trainer, 0);
  // A value the catalogue refuses: that row is refused, nothing of it kept.
  auto bad = push.Push(
      record,
      trainer.SealNext(
          {Row("producer", Uuid::Random(), trainer.HlcAt(kT0),
               {{"district_code", T(kPhrao), 0}, {"otop_stars", I(9), 0}})}));
  REQUIRE(bad.ok());
  const protocol::Receipt receipt = ReceiptOf(f, *bad);
  REQUIRE(receipt.refused.size() == 1);
  CHECK(receipt.refused[0].reason == "invalid_value");
  CHECK(f.Count("SELECT COUNT(*) FROM producer") == 0);
}

TEST_CASE("PushService: a raw push of a name that turns around, or of a noncharacter, "
          "refuses that row, the rest of the set taken",
          "[server][push][attack]") {
  ServerFixture f;
  TestDevice trainer;
  const DeviceRecord record = f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const Uuid good = Uuid::Random();
  auto r = push.Push(
      record,
      trainer.SealNext(
          {Producer(good, trainer.HlcAt(kT0), kPhrao),
           Row("producer", Uuid::Random(), trainer.HlcAt(kT0 + 1),
               {{"district_code", T(kPhrao), 0},
                {"kind", T("group"), 0},
                {"name", T("Phrao weavers\xE2\x80\xAEgnp.exe"), 0}}),
           Row("visit", Uuid::Random(), trainer.HlcAt(kT0 + 2),
               {{"producer_id", T(good.ToString()), 0},
                {"district_code", T(kPhrao), 0},
                {"visited_at", T("2026-12-01T02:00:00Z"), 0},
                {"notes", T("Bad\xEF\xBF\xBFXML"), 0}})}));
  REQUIRE(r.ok());
  const protocol::Receipt receipt = ReceiptOf(f, *r);
  REQUIRE(receipt.refused.size() == 2);
  for (const auto& refused : receipt.refused) CHECK(refused.reason == "invalid_value");
  CHECK(f.Count("SELECT COUNT(*) FROM producer") == 1);
  CHECK(f.Count("SELECT COUNT(*) FROM visit") == 0);
}

}  // namespace
}  // namespace kbo::server::testing

namespace kbo::server::testing {
namespace {

using json = nlohmann::json;

// Issue 9: a trainer's Phrao producer, then a field officer of Phrao and
// Fang who may edit producers but not workshops; refusals by role.
TEST_CASE(
    "PushService: a refused edit of a row the server holds comes back with "
    "the server's row whole, under a second signature, the receipt's own "
    "unchanged",
    "[server][push][refused]") {
  ServerFixture f;
  TestDevice trainer, officer;
  const DeviceRecord t = f.Enroll(trainer, kPhrao);
  f.Enroll(officer, std::string(kPhrao) + "," + kFang, "field_officer");
  PushService push(*f.store);
  const Uuid w = Uuid::Random(), fang_w = Uuid::Random();
  REQUIRE(push.Push(t,
                    trainer.SealNext(
                        {Row("workshop", w, trainer.HlcAt(kT0),
                             {{"title", T("อบรม"), 0},
                              {"fiscal_year", Value::Integer(2567), 0},
                              {"district_code", T(kPhrao), 0},
                              {"start_date", T("2024-03-11"), 0},
                              {"days", Value::Integer(5), 0}})}))
              .ok());
  // The officer (may not edit workshops) edits its title and deletes it.
  auto r = push.Push(
      f.Record(officer.id),
      officer.SealNext({Row("workshop", w, officer.HlcAt(kT0 + 1000),
                            {{"title", T("พิมพ์ผิดที่"), 1}}),
                        Row("workshop", fang_w, officer.HlcAt(kT0 + 1000),
                            {{"title", T("ไม่มี"), 0}})}));
  REQUIRE(r.ok());
  Signature sig{};
  auto parsed = ParsePushResponse(r->response_json, &sig);
  REQUIRE(parsed.ok());
  const protocol::Receipt& receipt = parsed->receipt;
  REQUIRE(receipt.refused.size() == 2);
  CHECK(receipt.refused[0].reason == "role");
  // The receipt's own signature is what it always was (older clients).
  CHECK(Verify(f.store->key().public_key(), kReceiptDomain,
               protocol::ReceiptMessage(receipt), sig));
  // The held rows: only the workshop the server holds, whole, with versions.
  REQUIRE_FALSE(receipt.server_rows.empty());
  auto held = DecodeChangeSet(receipt.server_rows);
  REQUIRE(held.ok());
  REQUIRE(held->rows.size() == 1);
  CHECK(held->rows[0].row_id == w);
  CHECK(held->rows[0].hlc.device == trainer.id);
  CHECK(held->rows[0].hlc.wall_ms == kT0);
  bool title = false;
  for (const CellWrite& c : held->rows[0].cells) {
    if (c.column == "title") {
      title = true;
      CHECK(c.value == T("อบรม"));
      CHECK(c.base == 1);
    }
  }
  CHECK(title);
  // ... under a second signature over the receipt and them.
  const json top = json::parse(r->response_json);
  REQUIRE(top.contains("rows_signature"));
  auto rows_sig = SignatureFromHex(top["rows_signature"].get<std::string>());
  REQUIRE(rows_sig.ok());
  CHECK(Verify(f.store->key().public_key(), kReceiptDomain,
               protocol::ReceiptRowsMessage(receipt), *rows_sig));
  // Bound to this receipt: another receipt's message does not verify.
  protocol::Receipt other = receipt;
  other.seq = 2;
  CHECK_FALSE(Verify(f.store->key().public_key(), kReceiptDomain,
                     protocol::ReceiptRowsMessage(other), *rows_sig));
  other = receipt;
  other.server_rows.back() ^= 1;
  CHECK_FALSE(Verify(f.store->key().public_key(), kReceiptDomain,
                     protocol::ReceiptRowsMessage(other), *rows_sig));
  // The server's row is untouched.
  CHECK(f.Text("SELECT title FROM workshop WHERE id = '" + w.ToString() + "'") ==
        "อบรม");
}

TEST_CASE(
    "PushService: a refused row of another district never brings the "
    "server's row back to the device",
    "[server][push][refused]") {
  ServerFixture f;
  TestDevice fang, phrao;
  const DeviceRecord fr = f.Enroll(fang, kFang);
  f.Enroll(phrao, kPhrao);
  PushService push(*f.store);
  const Uuid p = Uuid::Random();
  REQUIRE(push.Push(fr, fang.SealNext({Producer(p, fang.HlcAt(kT0), kFang)}))
              .ok());
  // A Phrao device writes a Fang row it may not see.
  auto r = push.Push(f.Record(phrao.id),
                     phrao.SealNext({Row("producer", p, phrao.HlcAt(kT0 + 1),
                                         {{"phone", T("053"), 0}})}));
  REQUIRE(r.ok());
  REQUIRE(r->receipt.refused.size() == 1);
  CHECK(r->receipt.refused[0].reason == "out_of_scope");
  CHECK(r->receipt.server_rows.empty());
  CHECK(r->response_json.find("server_rows") == std::string::npos);
  CHECK(r->response_json.find("rows_signature") == std::string::npos);
  CHECK(r->response_json.find("textile") == std::string::npos);
}

TEST_CASE(
    "PushService: an open refusal is settled when the device sends the row "
    "again and it is accepted, or deletes it",
    "[server][push][refused]") {
  ServerFixture f;
  TestDevice officer;
  const DeviceRecord o = f.Enroll(officer, kFang, "field_officer");
  PushService push(*f.store);
  const Uuid bad = Uuid::Random(), gone = Uuid::Random();
  // Two producers without a kind (missing_column), refused.
  auto r = push.Push(
      o,
      officer.SealNext({Row("producer", bad, officer.HlcAt(kT0),
                            {{"name", T("ก"), 0}, {"district_code", T(kFang), 0}}),
                        Row("producer", gone, officer.HlcAt(kT0),
                            {{"name", T("ข"), 0}, {"district_code", T(kFang), 0}})}));
  REQUIRE(r.ok());
  REQUIRE(r->receipt.refused.size() == 2);
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row WHERE settled_at IS NULL") == 2);
  // Set 2: `bad` sent again whole and accepted; `gone` deleted.
  auto again = push.Push(f.Record(officer.id),
                         officer.SealNext({Producer(bad, officer.HlcAt(kT0 + 1000), kFang),
                                           Row("producer", gone, officer.HlcAt(kT0 + 1000),
                                               {{"deleted", Value::Integer(1), 0}})}));
  INFO(again.status().ToString());
  REQUIRE(again.ok());
  CHECK(again->receipt.refused.empty());
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row WHERE settled_at IS NULL") == 0);
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row WHERE settled_seq = 2 AND "
                "settled_at = '2024-03-10T02:00:00Z'") == 2);
  // Kept for the office all the same.
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row") == 2);
}

TEST_CASE(
    "PushService: a set that takes a device beyond its open refused rows is "
    "refused whole as too_many_refused and nothing is stored",
    "[server][push][refused]") {
  ServerFixture f;
  TestDevice officer;
  const DeviceRecord o = f.Enroll(officer, kFang, "field_officer");
  PushService push(*f.store);
  push.set_max_open_refused(3);
  CHECK(PushService::kMaxOpenRefusedRows == 10000);
  auto unnamed = [&](int64_t at) {
    return Row("producer", Uuid::Random(), officer.HlcAt(at),
               {{"name", T("ไม่มีประเภท"), 0}, {"district_code", T(kFang), 0}});
  };
  REQUIRE(push.Push(o, officer.SealNext({unnamed(kT0), unnamed(kT0)}))
              ->receipt.refused.size() == 2);
  // Two more would make 4 open: refused whole, one good row included.
  const Uuid good = Uuid::Random();
  const uint64_t next = f.NextSeq();
  const uint64_t seq_before = officer.seq;
  const Sha256Digest prev_before = officer.prev;
  auto over = push.Push(f.Record(officer.id),
                        officer.SealNext({Producer(good, officer.HlcAt(kT0 + 1), kFang),
                                          unnamed(kT0 + 1), unnamed(kT0 + 1)}));
  REQUIRE_FALSE(over.ok());
  CHECK(over.status().code() == Code::kResourceExhausted);
  CHECK(over.status().reason() == "too_many_refused");
  CHECK(over.status().message().find("3") != std::string::npos);
  CheckNothingStored(f, next, 0, officer, 1);
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row") == 2);
  // One more is within the cap: accepted, and the good row goes in.
  officer.seq = seq_before;
  officer.prev = prev_before;
  auto within = push.Push(f.Record(officer.id),
                          officer.SealNext({Producer(good, officer.HlcAt(kT0 + 1), kFang),
                                         unnamed(kT0 + 1)}));
  REQUIRE(within.ok());
  CHECK(within->receipt.refused.size() == 1);
  CHECK(f.Count("SELECT COUNT(*) FROM producer") == 1);
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row WHERE settled_at IS NULL") == 3);
}

// Three producers of `device`, one set each: a restored server's sequences
// move on past the bases a waiting change names (in the lost numbering).
void OtherWork(ServerFixture& f, PushService& push, TestDevice& device) {
  for (int i = 0; i < 3; ++i) {
    REQUIRE(push.Push(f.Record(device.id),
                      device.SealNext({Producer(Uuid::Random(), device.HlcAt(kT0 + i),
                                                kPhrao)}))
                .ok());
  }
}

TEST_CASE("PushService: a row change that needs a row the server does not hold waits "
          "for it, and is applied by its own hlc when the row arrives",
          "[server][push][waiting]") {
  ServerFixture f;
  TestDevice creator, editor;
  f.Enroll(creator, kPhrao, "field_officer");
  f.Enroll(editor, kPhrao, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random(), visit = Uuid::Random(), other = Uuid::Random();
  // The editor's set, as a restored server meets it: an edit of p, which it
  // received at server sequence 7 (lost since), another edit of p (a cell
  // p had no value in: no base), a visit of p, and an edit of another row
  // the server does not hold, which waits too.
  auto waiting = push.Push(
      f.Record(editor.id),
      editor.SealNext(
          {Row("producer", p, editor.HlcAt(kT0 + 5000), {{"members", I(25), 1}}),
           Row("producer", p, editor.HlcAt(kT0 + 6000), {{"phone", T("053-111111"), 0}}),
           Row("visit", visit, editor.HlcAt(kT0 + 7000),
               {{"producer_id", T(p.ToString()), 0},
                {"visited_at", T("2026-09-01T03:00:00Z"), 0},
                {"purpose", T("follow_up"), 0},
                {"district_code", T(kPhrao), 0}}),
           Row("producer", other, editor.HlcAt(kT0 + 8000), {{"members", I(3), 0}})}));
  REQUIRE(waiting.ok());
  const std::vector<protocol::RefusedRow>& refused = waiting->receipt.refused;
  REQUIRE(refused.size() == 4);
  for (size_t k = 0; k < 4; ++k) {
    INFO(refused[k].message);
    CHECK(refused[k].reason == protocol::kWaitsForRowReason);
  }
  CHECK(f.Count("SELECT count(*) FROM producer") == 0);
  CHECK(f.Count("SELECT count(*) FROM refused_row WHERE waits_row_id = '" + p.ToString() +
                "' AND settled_at IS NULL") == 3);

  // Other work first: the sequences the restored server hands out now are
  // past the base the editor's edit names (1, in the lost numbering).
  OtherWork(f, push, creator);
  // The creator sends p again (members 10, recorded before the edit): the
  // waiting changes are applied with it, each by its own hlc.
  RowChange created = Producer(p, creator.HlcAt(kT0), kPhrao);
  created.cells.push_back({"members", I(10), 0});
  auto sent = push.Push(f.Record(creator.id), creator.SealNext({created}));
  REQUIRE(sent.ok());
  CHECK(sent->receipt.refused.empty());
  CHECK(f.Count("SELECT members FROM producer WHERE id = '" + p.ToString() + "'") == 25);
  // The edit saw the creation (its hlc is later than the value's): no
  // conflict, though its base is a number the server no longer gives it.
  CHECK(f.Count("SELECT count(*) FROM conflict") == 0);
  // The row's history shows the waiting changes where they were applied,
  // after the creation they waited for.
  Result<RowHistory> history = LoadRowHistory(*f.store, "producer", p.ToString(), Lang::kEn);
  REQUIRE(history.ok());
  std::vector<uint64_t> seqs;
  for (const HistoryEntry& e : history->entries) {
    if (e.kind == HistoryEntry::Kind::kChange) seqs.push_back(e.server_seq);
  }
  REQUIRE(seqs.size() == 3);  // the creation, the two edits
  CHECK(std::is_sorted(seqs.begin(), seqs.end()));
  CHECK(history->entries.back().cells.size() == 1);  // phone, last
  CHECK(f.Text("SELECT phone FROM producer WHERE id = '" + p.ToString() + "'") == "053-111111");
  CHECK(f.Count("SELECT count(*) FROM visit WHERE producer_id = '" + p.ToString() + "'") == 1);
  CHECK(f.Count("SELECT count(*) FROM refused_row WHERE settled_at IS NULL") == 1);  // other
  // Devices pull what was applied: the rows are in the pull index.
  CHECK(f.Count("SELECT count(*) FROM row_seq WHERE row_id IN ('" + p.ToString() + "', '" +
                visit.ToString() + "')") == 2);
}

TEST_CASE("PushService: the same two writes of a cell make the same conflict id, in "
          "either order",
          "[server][push][conflict]") {
  // A restored server finds a conflict again when the writes are sent again,
  // maybe in the other order: devices hold it under its first id.
  const Uuid p = Uuid::Random();
  std::vector<std::string> ids;
  // The same devices in both runs (the hlcs name them), each run from the
  // start.
  TestDevice office, trainer, officer;
  for (bool trainer_first : {true, false}) {
    for (TestDevice* d : {&office, &trainer, &officer}) {
      d->seq = 0;
      d->prev = {};
      d->counter = 0;
    }
    ServerFixture f;
    f.Enroll(office, "all", "central_office");
    f.Enroll(trainer, kPhrao);
    f.Enroll(officer, kPhrao, "field_officer");
    PushService push(*f.store);
    REQUIRE(push.Push(f.Record(office.id),
                      office.SealNext({Producer(p, office.HlcAt(kT0), kPhrao)}))
                .ok());
    const auto edit = [&](TestDevice& d, const char* phone, int64_t at) {
      return push.Push(f.Record(d.id),
                       d.SealNext({Row("producer", p, d.HlcAt(at), {{"phone", T(phone), 1}})}));
    };
    if (trainer_first) {
      REQUIRE(edit(trainer, "0811111111", kT0 + 10).ok());
      REQUIRE(edit(officer, "0822222222", kT0 + 20).ok());
    } else {
      REQUIRE(edit(officer, "0822222222", kT0 + 20).ok());
      REQUIRE(edit(trainer, "0811111111", kT0 + 10).ok());
    }
    REQUIRE(f.Count("SELECT count(*) FROM conflict") == 1);
    ids.push_back(f.Text("SELECT id FROM conflict"));
    CHECK(f.Text("SELECT phone FROM producer") == "0822222222");  // the later hlc
  }
  CHECK(ids[0] == ids[1]);
}

TEST_CASE("PushService: a delete of a row the server lost waits for it, and the row "
          "comes back deleted",
          "[server][push][waiting]") {
  ServerFixture f;
  TestDevice creator, editor;
  f.Enroll(creator, kPhrao, "field_officer");
  f.Enroll(editor, kPhrao, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random();
  auto deleted = push.Push(
      f.Record(editor.id),
      editor.SealNext({Row("producer", p, editor.HlcAt(kT0 + 5000), {{"deleted", I(1), 2}})}));
  REQUIRE(deleted.ok());
  REQUIRE(deleted->receipt.refused.size() == 1);
  CHECK(deleted->receipt.refused[0].reason == protocol::kWaitsForRowReason);
  // Other work first: the restored server's sequences pass the delete's
  // base (2, in the lost numbering).
  OtherWork(f, push, creator);
  // (No `deleted` written, as kbo writes a new row: the delete's base then
  // has no version of its own to be read against.)
  REQUIRE(push.Push(f.Record(creator.id),
                    creator.SealNext({Producer(p, creator.HlcAt(kT0), kPhrao)}))
              .ok());
  CHECK(f.Count("SELECT deleted FROM producer WHERE id = '" + p.ToString() + "'") == 1);
  CHECK(f.Count("SELECT count(*) FROM refused_row WHERE settled_at IS NULL") == 0);
  CHECK(f.Count("SELECT count(*) FROM conflict") == 0);  // the delete saw the row
  // A delete of the device's own row the server refused is still nothing to
  // do (and nothing waits).
  const Uuid mine = Uuid::Random();
  auto refused = push.Push(f.Record(editor.id),
                           editor.SealNext({Row("producer", mine, editor.HlcAt(kT0 + 6000),
                                                {{"kind", T("group"), 0},
                                                 {"district_code", T(kPhrao), 0}})}));
  REQUIRE(refused.ok());
  REQUIRE(refused->receipt.refused.size() == 1);
  CHECK(refused->receipt.refused[0].reason == "missing_column");
  auto undo = push.Push(
      f.Record(editor.id),
      editor.SealNext({Row("producer", mine, editor.HlcAt(kT0 + 7000), {{"deleted", I(1), 0}})}));
  REQUIRE(undo.ok());
  CHECK(undo->receipt.refused.empty());
  CHECK(f.Count("SELECT count(*) FROM refused_row WHERE waits_row_id IS NOT NULL AND "
                "settled_at IS NULL") == 0);
}

TEST_CASE("PushService: a waiting change refused when its row arrives keeps the reason "
          "it has then, and several devices' changes wait for one row",
          "[server][push][waiting]") {
  ServerFixture f;
  TestDevice creator, moved, stays;
  f.Enroll(creator, kPhrao, "field_officer");
  f.Enroll(moved, kPhrao, "field_officer");
  f.Enroll(stays, kPhrao, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random();
  REQUIRE(push.Push(f.Record(moved.id),
                    moved.SealNext({Row("producer", p, moved.HlcAt(kT0 + 5000),
                                        {{"members", I(25), 3}})}))
              .ok());
  REQUIRE(push.Push(f.Record(stays.id),
                    stays.SealNext({Row("producer", p, stays.HlcAt(kT0 + 6000),
                                        {{"phone", T("053-222222"), 0}})}))
              .ok());
  CHECK(f.Count("SELECT count(*) FROM refused_row WHERE waits_row_id = '" + p.ToString() +
                "' AND settled_at IS NULL") == 2);
  // One of them is moved to Fang meanwhile: Phrao's rows are no longer its.
  REQUIRE(server::storage::Devices(f.store->db())
              .SetDistricts(moved.id.ToString(), kFang, 0)
              .ok());
  RowChange created = Producer(p, creator.HlcAt(kT0), kPhrao);
  created.cells.push_back({"members", I(10), 0});
  REQUIRE(push.Push(f.Record(creator.id), creator.SealNext({created})).ok());
  CHECK(f.Count("SELECT members FROM producer WHERE id = '" + p.ToString() + "'") == 10);
  CHECK(f.Text("SELECT phone FROM producer WHERE id = '" + p.ToString() + "'") == "053-222222");
  CHECK(f.Text("SELECT reason FROM refused_row WHERE device_id = '" + moved.id.ToString() +
               "'") == "out_of_scope");
  CHECK(f.Count("SELECT count(*) FROM refused_row WHERE device_id = '" + moved.id.ToString() +
                "' AND settled_at IS NULL AND waits_row_id IS NULL") == 1);
  CHECK(f.Count("SELECT count(*) FROM refused_row WHERE device_id = '" + stays.id.ToString() +
                "' AND settled_at IS NOT NULL AND applied_seq IS NOT NULL") == 1);
}

TEST_CASE("PushService: waiting edits of a lost row keep the conflicts they had, and a "
          "delete of a waiting row waits with it",
          "[server][push][waiting]") {
  ServerFixture f;
  TestDevice creator, b, c, blind;
  f.Enroll(creator, kPhrao, "field_officer");
  f.Enroll(b, kPhrao, "field_officer");
  f.Enroll(c, kPhrao, "field_officer");
  f.Enroll(blind, kPhrao, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random(), visit = Uuid::Random();
  // Two devices edited the lost row from the same version (base 2, lost);
  // neither saw the other's. A third writes a cell it never saw (no base).
  REQUIRE(push.Push(f.Record(b.id), b.SealNext({Row("producer", p, b.HlcAt(kT0 + 5000),
                                                    {{"members", I(25), 2}})}))
              .ok());
  REQUIRE(push.Push(f.Record(c.id), c.SealNext({Row("producer", p, c.HlcAt(kT0 + 6000),
                                                    {{"members", I(30), 2}})}))
              .ok());
  REQUIRE(push.Push(f.Record(blind.id),
                    blind.SealNext({Row("producer", p, blind.HlcAt(kT0 + 7000),
                                        {{"name", T("ชื่อที่ไม่เคยเห็น"), 0}})}))
              .ok());
  // b also recorded a visit of it, then deleted the visit: both wait.
  auto visited = push.Push(
      f.Record(b.id), b.SealNext({Row("visit", visit, b.HlcAt(kT0 + 8000),
                                      {{"producer_id", T(p.ToString()), 0},
                                       {"visited_at", T("2026-09-01T03:00:00Z"), 0},
                                       {"purpose", T("follow_up"), 0},
                                       {"district_code", T(kPhrao), 0},
                                       {"deleted", I(0), 0}})}));
  REQUIRE(visited.ok());
  auto undone = push.Push(f.Record(b.id), b.SealNext({Row("visit", visit, b.HlcAt(kT0 + 9000),
                                                          {{"deleted", I(1), 0}})}));
  REQUIRE(undone.ok());
  REQUIRE(undone->receipt.refused.size() == 1);
  CHECK(undone->receipt.refused[0].reason == protocol::kWaitsForRowReason);

  RowChange created = Producer(p, creator.HlcAt(kT0), kPhrao);
  created.cells.push_back({"members", I(10), 0});
  REQUIRE(push.Push(f.Record(creator.id), creator.SealNext({created})).ok());
  CHECK(f.Count("SELECT members FROM producer WHERE id = '" + p.ToString() + "'") == 30);
  // As on a server never restored: b against c on members, and the name
  // written without seeing the creator's; b's edit of the creation none.
  CHECK(f.Count("SELECT count(*) FROM conflict WHERE column_name = 'members'") == 1);
  // (In whichever order they came.)
  const std::string both = f.Text(
      "SELECT CASE WHEN current_value < incoming_value THEN current_value || '/' || "
      "incoming_value ELSE incoming_value || '/' || current_value END "
      "FROM conflict WHERE column_name = 'members'");
  CHECK(both == "25/30");
  CHECK(f.Count("SELECT count(*) FROM conflict WHERE column_name = 'name'") == 1);
  // The visit came, and went with b's delete.
  CHECK(f.Count("SELECT deleted FROM visit WHERE id = '" + visit.ToString() + "'") == 1);
  CHECK(f.Count("SELECT count(*) FROM refused_row WHERE settled_at IS NULL") == 0);
}

TEST_CASE("PushService: a waiting delete is read against the whole row it saw, not its "
          "own deleted cell alone",
          "[server][push][waiting]") {
  ServerFixture f;
  TestDevice creator, editor;
  f.Enroll(creator, kPhrao, "field_officer");
  f.Enroll(editor, kPhrao, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random();
  // The editor saw the row as its creator's one set made it (a creation
  // writing deleted = 0, then an edit), and deleted it.
  REQUIRE(push.Push(f.Record(editor.id),
                    editor.SealNext({Row("producer", p, editor.HlcAt(kT0 + 5000),
                                         {{"deleted", I(1), 2}})}))
              .ok());
  OtherWork(f, push, creator);
  RowChange created = Producer(p, creator.HlcAt(kT0), kPhrao);
  created.cells.push_back({"deleted", I(0), 0});
  REQUIRE(push.Push(f.Record(creator.id),
                    creator.SealNext({created, Row("producer", p, creator.HlcAt(kT0 + 10),
                                                   {{"phone", T("053-333333"), 0}})}))
              .ok());
  CHECK(f.Count("SELECT deleted FROM producer WHERE id = '" + p.ToString() + "'") == 1);
  CHECK(f.Count("SELECT count(*) FROM conflict") == 0);
}


TEST_CASE("PushService: a device that saw the value a cell holds edits it without a "
          "conflict, though another device wrote that same value since unseen, while one "
          "that saw nothing still conflicts",
          "[server][push][conflict]") {
  // Two trainers marked a participant present offline (or a device
  // imported the office's export): the second "present" won by its later
  // stamp and took a new sequence. A third device, which had pulled the
  // first "present", corrects it to "late": it saw what the cell holds,
  // yet its base was older than the cell's sequence, and the office got a
  // conflict "present / late" that nobody disagreed about.
  ServerFixture f;
  TestDevice a, b, c, d, e;
  f.Enroll(a, kPhrao, "field_officer");
  for (TestDevice* t : {&b, &c, &d, &e}) f.Enroll(*t, kPhrao, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random();
  auto first = push.Push(f.Record(a.id), a.SealNext({Producer(p, a.HlcAt(kT0), kPhrao)}));
  REQUIRE(first.ok());
  auto phone = push.Push(f.Record(a.id), a.SealNext({Row("producer", p, a.HlcAt(kT0 + 10),
                                                         {{"phone", T("0811111111"), 0}})}));
  REQUIRE(phone.ok());
  const uint64_t seen = phone->receipt.first_server_seq;  // what c pulls
  const auto write = [&](TestDevice& t, const char* value, uint64_t base, int64_t at) {
    if (base > 0) f.PulledTo(t.id, base);  // it pulled what it saw
    auto r = push.Push(f.Record(t.id), t.SealNext({Row("producer", p, t.HlcAt(at),
                                                       {{"phone", T(value), base}})}));
    REQUIRE(r.ok());
    return r->receipt.conflicts;
  };
  // b and then e, never having seen it, write the same number: they agree.
  CHECK(write(b, "0811111111", 0, kT0 + 20) == 0);
  CHECK(write(e, "0811111111", 0, kT0 + 25) == 0);
  CHECK(f.Count("SELECT count(*) FROM conflict") == 0);
  // c saw a's number and changes it: no conflict; the value is c's.
  CHECK(write(c, "0822222222", seen, kT0 + 30) == 0);
  CHECK(f.Count("SELECT count(*) FROM conflict") == 0);
  CHECK(f.Text("SELECT phone FROM producer") == "0822222222");
  // d saw nothing of it and writes another number: a conflict with c's.
  CHECK(write(d, "0833333333", 0, kT0 + 40) == 1);
  // And an edit based on the value before c's (seen) is a conflict with
  // c's value, which it never saw: the note was for e's version only.
  CHECK(write(b, "0844444444", seen, kT0 + 50) == 1);
  CHECK(f.Count("SELECT count(*) FROM conflict") == 2);
}

TEST_CASE("PushService: a base past every sequence the server has handed out (its "
          "whole folder restored) is taken as seeing nothing: a value written since "
          "the restore is kept as a conflict, not overwritten silently",
          "[server][push][conflict][restore]") {
  ServerFixture f;
  TestDevice a, b, c;
  f.Enroll(a, kPhrao, "field_officer");
  f.Enroll(b, kPhrao, "field_officer");
  f.Enroll(c, kPhrao, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random();
  REQUIRE(push.Push(f.Record(a.id), a.SealNext({Producer(p, a.HlcAt(kT0), kPhrao)})).ok());
  // After the restore: c writes a contact, taking a low sequence again.
  auto c1 = push.Push(f.Record(c.id), c.SealNext({Row("producer", p, c.HlcAt(kT0 + 10),
                                                      {{"contact", T("c1"), 0}})}));
  REQUIRE(c1.ok());
  // b, which pulled sequence 1004 of the history the restore lost, edits.
  const uint64_t lost = c1->receipt.last_server_seq + 1000;
  auto b1 = push.Push(f.Record(b.id), b.SealNext({Row("producer", p, b.HlcAt(kT0 + 20),
                                                      {{"contact", T("b1"), lost}})}));
  REQUIRE(b1.ok());
  CHECK(b1->receipt.conflicts == 1);
  CHECK(f.Count("SELECT count(*) FROM conflict WHERE column_name = 'contact' AND "
                "current_value = 'c1' AND incoming_value = 'b1' AND incoming_base = 0") == 1);
  // A base the server did hand out is taken as it is: no conflict.
  auto again = push.Push(f.Record(b.id), b.SealNext({Row("producer", p, b.HlcAt(kT0 + 30),
                                                         {{"contact", T("b2"),
                                                           b1->receipt.first_server_seq}})}));
  REQUIRE(again.ok());
  CHECK(again->receipt.conflicts == 0);
}

TEST_CASE("PushService: a base the server handed out again since a restore (its whole "
          "folder, one write since) but never to this device is taken as seeing nothing: "
          "a conflict, not a silent overwrite",
          "[server][push][conflict][restore]") {
  // An attack walk-through: the backup held seq 1 and b's served_seq 1;
  // seq 2 (lost with the restore) was a's edit, which b pulled. After the
  // restore c's write took seq 2 again; b's edit with base 2 passed as
  // having seen c's value (2 is below the set's first), overwriting it.
  ServerFixture f;
  TestDevice a, b, c;
  for (TestDevice* t : {&a, &b, &c}) f.Enroll(*t, kPhrao, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random();
  auto made = push.Push(f.Record(a.id), a.SealNext({Producer(p, a.HlcAt(kT0), kPhrao)}));
  REQUIRE(made.ok());
  f.Pulled(b);  // served 1, as the backup has it
  auto c1 = push.Push(f.Record(c.id), c.SealNext({Row("producer", p, c.HlcAt(kT0 + 10),
                                                      {{"members", I(3), 0}})}));
  REQUIRE(c1.ok());
  const uint64_t reused = c1->receipt.first_server_seq;
  REQUIRE(reused == made->receipt.last_server_seq + 1);
  auto b1 = push.Push(f.Record(b.id), b.SealNext({Row("producer", p, b.HlcAt(kT0 + 20),
                                                      {{"members", I(5), reused}})}));
  REQUIRE(b1.ok());
  CHECK(b1->receipt.conflicts == 1);
  CHECK(f.Count("SELECT count(*) FROM conflict WHERE column_name = 'members' AND "
                "incoming_base = 0") == 1);
  // A base b was served (a pull) is taken as it is: c's next value seen.
  auto c2 = push.Push(f.Record(c.id), c.SealNext({Row("producer", p, c.HlcAt(kT0 + 40),
                                                      {{"members", I(7), b1->receipt.first_server_seq}})}));
  REQUIRE(c2.ok());
  f.Pulled(b);
  auto b2 = push.Push(f.Record(b.id), b.SealNext({Row("producer", p, b.HlcAt(kT0 + 50),
                                                      {{"members", I(8), c2->receipt.first_server_seq}})}));
  REQUIRE(b2.ok());
  CHECK(b2->receipt.conflicts == 0);
}

TEST_CASE("PushService: an edit of a seen value that loses to a later same-value write "
          "is still a conflict, in either order",
          "[server][push][conflict]") {
  // d saw a's number and changed it offline (10:30); b, who saw nothing,
  // wrote a's number again later (10:40). Whoever arrives first, d's edit
  // loses by its older stamp: the office must hear of it (a review found
  // it dropped when b came first).
  for (bool b_first : {true, false}) {
    CAPTURE(b_first);
    ServerFixture f;
    TestDevice a, b, d;
    for (TestDevice* t : {&a, &b, &d}) f.Enroll(*t, kPhrao, "field_officer");
    PushService push(*f.store);
    const Uuid p = Uuid::Random();
    REQUIRE(push.Push(f.Record(a.id), a.SealNext({Producer(p, a.HlcAt(kT0), kPhrao)})).ok());
    auto phone = push.Push(f.Record(a.id), a.SealNext({Row("producer", p, a.HlcAt(kT0 + 10),
                                                           {{"phone", T("0811111111"), 0}})}));
    REQUIRE(phone.ok());
    const uint64_t seen = phone->receipt.first_server_seq;
    const auto by_b = [&] {
      REQUIRE(push.Push(f.Record(b.id), b.SealNext({Row("producer", p, b.HlcAt(kT0 + 40),
                                                        {{"phone", T("0811111111"), 0}})}))
                  .ok());
    };
    f.PulledTo(d.id, seen);
    const auto by_d = [&] {
      REQUIRE(push.Push(f.Record(d.id), d.SealNext({Row("producer", p, d.HlcAt(kT0 + 30),
                                                        {{"phone", T("0822222222"), seen}})}))
                  .ok());
    };
    if (b_first) {
      by_b();
      by_d();
    } else {
      by_d();
      by_b();
    }
    CHECK(f.Text("SELECT phone FROM producer") == "0811111111");
    CHECK(f.Count("SELECT count(*) FROM conflict WHERE incoming_value = '0822222222' OR "
                  "current_value = '0822222222'") == 1);
  }
}

TEST_CASE("PushService: a delete based on a revival that another device's unseen revival "
          "with an edit followed is still a conflict",
          "[server][push][conflict]") {
  // The note said "not deleted since s2"; c's revival carried a new phone
  // d never saw, and d's delete took it: the crossing must be told.
  ServerFixture f;
  TestDevice a, b, c, d;
  for (TestDevice* t : {&a, &b, &c, &d}) f.Enroll(*t, kPhrao, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random();
  auto made = push.Push(f.Record(a.id), a.SealNext({Producer(p, a.HlcAt(kT0), kPhrao)}));
  REQUIRE(made.ok());
  const uint64_t s0 = made->receipt.first_server_seq;
  auto del = push.Push(f.Record(a.id), a.SealNext({Row("producer", p, a.HlcAt(kT0 + 10),
                                                       {{"deleted", I(1), s0}})}));
  REQUIRE(del.ok());
  const uint64_t s1 = del->receipt.first_server_seq;
  f.PulledTo(b.id, s1);
  f.PulledTo(c.id, s1);
  auto rb = push.Push(f.Record(b.id), b.SealNext({Row("producer", p, b.HlcAt(kT0 + 20),
                                                      {{"deleted", I(0), s1}})}));
  REQUIRE(rb.ok());
  const uint64_t s2 = rb->receipt.first_server_seq;
  f.PulledTo(d.id, s2);
  REQUIRE(push.Push(f.Record(c.id), c.SealNext({Row("producer", p, c.HlcAt(kT0 + 30),
                                                    {{"deleted", I(0), s1},
                                                     {"phone", T("0899999999"), s0}})}))
              .ok());
  auto dd = push.Push(f.Record(d.id), d.SealNext({Row("producer", p, d.HlcAt(kT0 + 40),
                                                      {{"deleted", I(1), s2}})}));
  REQUIRE(dd.ok());
  CHECK(f.Count("SELECT count(*) FROM producer WHERE deleted = 1") == 1);
  CHECK(dd->receipt.conflicts == 1);
}

TEST_CASE("PushService: a device that taps through the value it saw and on to another "
          "in one set makes no conflict with an unseen agreement",
          "[server][push][conflict]") {
  ServerFixture f;
  TestDevice a, b, d;
  for (TestDevice* t : {&a, &b, &d}) f.Enroll(*t, kPhrao, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random();
  REQUIRE(push.Push(f.Record(a.id), a.SealNext({Producer(p, a.HlcAt(kT0), kPhrao)})).ok());
  auto phone = push.Push(f.Record(a.id), a.SealNext({Row("producer", p, a.HlcAt(kT0 + 10),
                                                         {{"phone", T("0811111111"), 0}})}));
  REQUIRE(phone.ok());
  const uint64_t seen = phone->receipt.first_server_seq;
  REQUIRE(push.Push(f.Record(b.id), b.SealNext({Row("producer", p, b.HlcAt(kT0 + 20),
                                                    {{"phone", T("0811111111"), 0}})}))
              .ok());
  f.PulledTo(d.id, seen);
  auto r = push.Push(f.Record(d.id), d.SealNext({Row("producer", p, d.HlcAt(kT0 + 40),
                                                     {{"phone", T("0811111111"), seen}}),
                                                 Row("producer", p, d.HlcAt(kT0 + 41),
                                                     {{"phone", T("0822222222"), seen}})}));
  REQUIRE(r.ok());
  CHECK(r->receipt.conflicts == 0);
  CHECK(f.Text("SELECT phone FROM producer") == "0822222222");
}

}  // namespace
}  // namespace kbo::server::testing
