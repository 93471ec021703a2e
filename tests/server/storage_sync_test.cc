// The sync half of the server's stores (server/storage/): the logic they
// hold of their own beyond one statement -- district filters, id lists
// split across queries, the history scan's caps. Runs on SQLite and, with
// KBO_TEST_BACKEND=postgres, on PostgreSQL.

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "server/push_service.h"
#include "server/storage/change_log.h"
#include "server/storage/devices.h"
#include "server/storage/rows.h"
#include "server/storage/server_state.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

std::vector<uint64_t> Seqs(const std::vector<storage::IndexedRow>& rows) {
  std::vector<uint64_t> out;
  for (const storage::IndexedRow& r : rows) out.push_back(r.max_seq);
  return out;
}

TEST_CASE("storage PullIndex: entries after a cursor, in the device's districts",
          "[server][storage]") {
  ServerFixture f;
  Db& db = f.store->db();
  storage::PullIndex index(db);
  const std::vector<std::string> none;
  const std::vector<std::string> phrao{kPhrao};
  const std::vector<std::string> both{kFang, kPhrao};
  Transaction txn(db);
  REQUIRE(txn.status().ok());
  REQUIRE(index.AddEntry("producer", "a", 10, kPhrao).ok());
  REQUIRE(index.AddEntry("producer", "b", 11, kFang).ok());
  REQUIRE(index.AddEntry("producer", "c", 12, "").ok());  // no district
  REQUIRE(index.NoteMoved("producer", "a", 10).ok());

  auto all = index.After(0, 10, true, none);
  REQUIRE(all.ok());
  CHECK(Seqs(*all) == std::vector<uint64_t>{10, 11, 12});
  CHECK(all->front().moved_seq == 10);
  CHECK(all->back().moved_seq == 0);
  auto scoped = index.After(0, 10, false, phrao);
  REQUIRE(scoped.ok());
  CHECK(Seqs(*scoped) == std::vector<uint64_t>{10});
  auto two = index.After(10, 10, false, both);
  REQUIRE(two.ok());
  CHECK(Seqs(*two) == std::vector<uint64_t>{11});
  // A device with no districts sees nothing, not everything.
  auto nothing = index.After(0, 10, false, none);
  REQUIRE(nothing.ok());
  CHECK(nothing->empty());
  auto limited = index.After(0, 2, true, none);
  REQUIRE(limited.ok());
  CHECK(Seqs(*limited) == std::vector<uint64_t>{10, 11});

  auto dropped = index.DropEntry(10, "producer", "a");
  REQUIRE(dropped.ok());
  CHECK(*dropped == 1);
  auto again = index.DropEntry(10, "producer", "a");
  REQUIRE(again.ok());
  CHECK(*again == 0);
}

TEST_CASE("storage PullIndex: departures by the district left, the later of "
          "two kept, one per row",
          "[server][storage][moved]") {
  ServerFixture f;
  Db& db = f.store->db();
  storage::PullIndex index(db);
  const std::vector<std::string> phrao{kPhrao};
  const std::vector<std::string> fang{kFang};
  const std::vector<std::string> both{kFang, kPhrao};
  Transaction txn(db);
  REQUIRE(txn.status().ok());
  REQUIRE(index.NoteLeft(kPhrao, "producer", "a", 5).ok());
  REQUIRE(index.NoteLeft(kFang, "producer", "a", 9).ok());    // and back out
  REQUIRE(index.NoteLeft(kPhrao, "producer", "a", 12).ok());  // later: kept
  REQUIRE(index.NoteLeft(kPhrao, "visit", "b", 7).ok());

  auto left = index.LeftAfter(0, 10, phrao);
  REQUIRE(left.ok());
  CHECK(Seqs(*left) == std::vector<uint64_t>{7, 12});
  CHECK(left->front().left);
  CHECK(left->front().entity == "visit");
  CHECK(left->back().row_id == "a");
  auto after = index.LeftAfter(7, 10, phrao);
  REQUIRE(after.ok());
  CHECK(Seqs(*after) == std::vector<uint64_t>{12});
  auto of_fang = index.LeftAfter(0, 10, fang);
  REQUIRE(of_fang.ok());
  CHECK(Seqs(*of_fang) == std::vector<uint64_t>{9});
  // A device of both: row a once, under its later departure.
  auto two = index.LeftAfter(0, 10, both);
  REQUIRE(two.ok());
  CHECK(Seqs(*two) == std::vector<uint64_t>{7, 12});
  auto limited = index.LeftAfter(0, 1, both);
  REQUIRE(limited.ok());
  CHECK(Seqs(*limited) == std::vector<uint64_t>{7});
  auto none = index.LeftAfter(0, 10, {});
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("storage ChangeLog: the sets naming a row stop at the caps",
          "[server][storage]") {
  ServerFixture f;
  Db& db = f.store->db();
  storage::ChangeLog log(db);
  const std::string needle = "\x01\x02\x03\x04 row id";
  Transaction txn(db);
  REQUIRE(txn.status().ok());
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    // LogEntry holds views: the strings live until Append returns.
    const std::string bytes = "set " + std::to_string(seq) + needle;
    const std::string hash(32, static_cast<char>(seq));
    const std::string signature(64, 's');
    const std::string at = "2024-03-10T02:00:0" + std::to_string(seq) + "Z";
    storage::LogEntry e;
    e.device_id = "dev";
    e.seq = seq;
    e.hash = hash;
    e.bytes = bytes;
    e.signature = signature;
    e.received_at = at;
    e.first_server_seq = seq * 10;
    e.receipt = "{}";
    REQUIRE(log.Append(e).ok());
  }
  {
    const std::string hash(32, 'x');
    const std::string signature(64, 's');
    storage::LogEntry other;
    other.device_id = "dev";
    other.seq = 4;
    other.hash = hash;
    other.bytes = "another row";
    other.signature = signature;
    other.received_at = "2024-03-10T02:00:04Z";
    other.first_server_seq = 40;
    other.receipt = "{}";
    REQUIRE(log.Append(other).ok());
  }

  auto every = log.SetsMentioning(needle, 10, 1 << 20);
  REQUIRE(every.ok());
  CHECK_FALSE(every->truncated);
  REQUIRE(every->sets.size() == 3);
  CHECK(every->sets[0].seq == 3);  // the latest first
  CHECK(every->sets[2].first_server_seq == 10);

  auto two = log.SetsMentioning(needle, 2, 1 << 20);
  REQUIRE(two.ok());
  CHECK(two->truncated);
  CHECK(two->sets.size() == 2);

  const size_t one_set = every->sets[0].bytes.size();
  auto by_bytes = log.SetsMentioning(needle, 10, one_set + 1);
  REQUIRE(by_bytes.ok());
  CHECK(by_bytes->truncated);
  CHECK(by_bytes->sets.size() == 1);

  auto latest = log.Latest("dev");
  REQUIRE(latest.ok());
  REQUIRE(latest->has_value());
  CHECK((*latest)->seq == 4);
  auto receipt = log.Receipt("dev", 2);
  REQUIRE(receipt.ok());
  REQUIRE(receipt->has_value());
  CHECK((*receipt)->hash == std::string(32, '\x02'));
  auto missing = log.Receipt("dev", 9);
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
}

TEST_CASE("storage Rows and Devices: id lists longer than one query binds",
          "[server][storage]") {
  ServerFixture f;
  TestDevice phrao, fang;
  f.Enroll(phrao, kPhrao);
  f.Enroll(fang, kFang, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random(), q = Uuid::Random();
  REQUIRE(push.Push(f.Record(phrao.id),
                    phrao.SealNext({Producer(p, phrao.HlcAt(kT0), kPhrao, "Ban Pa Tum")}))
              .ok());
  REQUIRE(push.Push(f.Record(fang.id),
                    fang.SealNext({Producer(q, fang.HlcAt(kT0), kFang, "Mae Ai")}))
              .ok());

  std::set<std::string> ids{p.ToString(), q.ToString()};
  std::set<std::string> device_ids{phrao.id.ToString(), fang.id.ToString()};
  for (int i = 0; i < 1100; ++i) {
    ids.insert(Uuid::Random().ToString());
    device_ids.insert(Uuid::Random().ToString());
  }
  storage::Rows rows(f.store->db());
  auto held = rows.ValuesByIds(*FindEntity("producer"), ids);
  REQUIRE(held.ok());
  REQUIRE(held->size() == 2);
  CHECK(held->at(p.ToString()).at("name") == T("Ban Pa Tum"));
  CHECK(held->at(q.ToString()).at("district_code") == T(kFang));
  CHECK(held->at(q.ToString()).at("deleted") == I(0));

  auto exists = rows.Exists(*FindEntity("producer"), p.ToString());
  REQUIRE(exists.ok());
  CHECK(*exists);
  auto district = rows.District(*FindEntity("producer"), q.ToString());
  REQUIRE(district.ok());
  CHECK(*district == std::optional<std::string>(kFang));
  auto absent = rows.District(*FindEntity("producer"), Uuid::Random().ToString());
  REQUIRE(absent.ok());
  CHECK_FALSE(absent->has_value());

  auto labels = storage::Devices(f.store->db()).Labels(device_ids);
  REQUIRE(labels.ok());
  REQUIRE(labels->size() == 2);
  CHECK(labels->at(fang.id.ToString()).role == "field_officer");
  CHECK(labels->at(phrao.id.ToString()).label.empty());
}

TEST_CASE("storage ServerState: sequences and the server id",
          "[server][storage]") {
  ServerFixture f;
  storage::ServerState state(f.store->db());
  auto id = state.ServerId();
  REQUIRE(id.ok());
  REQUIRE(id->has_value());
  CHECK(**id == f.store->server_id().ToString());
  Transaction txn(f.store->db());
  REQUIRE(txn.status().ok());
  auto before = state.NextSeq();
  REQUIRE(before.ok());
  REQUIRE(state.AdvanceNextSeq(5).ok());
  auto after = state.NextSeq();
  REQUIRE(after.ok());
  CHECK(*after == *before + 5);
  // A second id never replaces the first.
  REQUIRE(state.SetServerIdIfUnset(Uuid::Random(), Hlc()).ok());
  auto still = state.ServerId();
  REQUIRE(still.ok());
  CHECK(**still == f.store->server_id().ToString());
}

}  // namespace
}  // namespace kbo::server::testing
