// Property: the same set of change sets applied to separate SQLite replicas in
// any order, any number of times, gives one identical state (DESIGN §4).
//
// Each scenario simulates 3-5 devices recording offline (inserts, edits of
// the same and of different columns, deletes and undeletes), sometimes
// exchanging change sets (so later writes causally follow earlier ones), with
// skewed and backwards-jumping wall clocks. Every device's change sets are
// then applied to fresh replicas in random orders with duplicates, and to
// every device's own replica; all dumps must be byte-identical.
//
// Replay a failure: the seed is printed; set KBO_MERGE_SEED=<seed> to run
// just that one, KBO_MERGE_SCENARIOS=<n> (n >= 1) to run more. Everything a
// scenario makes -- device ids and row ids included -- comes from its seed,
// so a seed replays the same scenario byte for byte.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <random>

#include <catch2/catch.hpp>

#include "shared/entities.h"
#include "shared/hlc.h"
#include "tests/support/replica.h"

namespace kbo {
namespace {

using testing::ApplyInTxn;
using testing::Dump;
using testing::NewReplica;

const char* const kThaiNames[] = {
    "กลุ่มทอผ้าบ้านป่าตุ้ม", "วิสาหกิจชุมชนแม่แวน", "Phrao Coffee",
    "กลุ่มจักสานไม้ไผ่", "ร้านน้ำพริกเวียง", "Khuean Phak Herbs"};
const char* const kStages[] = {"idea", "design", "prototype", "packaging",
                               "market_ready"};
const char* const kKinds[] = {"group", "entrepreneur"};
const char* const kDistricts[] = {"5011", "5009", "5001"};

struct KnownRow {
  std::string entity;
  Uuid id;
};

struct Device {
  Uuid id;
  ManualWallClock wall{0};
  std::unique_ptr<HybridClock> clock;
  std::unique_ptr<Db> replica;
  std::vector<KnownRow> known;
  std::vector<ChangeSet> sent;
};

template <typename T, size_t N>
const T& Pick(std::mt19937& rng, const T (&items)[N]) {
  return items[std::uniform_int_distribution<size_t>(0, N - 1)(rng)];
}

int Between(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

// A version 4 id drawn from the scenario's generator (not Uuid::Random, which
// a seed cannot replay).
Uuid SeededUuid(std::mt19937& rng) {
  Uuid u;
  for (uint8_t& b : u.bytes) b = static_cast<uint8_t>(Between(rng, 0, 255));
  u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0f) | 0x40);
  u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3f) | 0x80);
  return u;
}

// A whole decimal number in [lo, hi] from the environment, or a failed test
// naming the variable (a typo must not run nothing and pass).
uint32_t EnvNumber(const char* name, const char* text, unsigned long lo,
                   unsigned long hi) {
  INFO(name << "=" << text);
  char* end = nullptr;
  errno = 0;
  const unsigned long v = std::strtoul(text, &end, 10);
  const bool whole = *text >= '0' && *text <= '9' && end && *end == '\0';
  REQUIRE(whole);
  REQUIRE(errno == 0);
  REQUIRE(v >= lo);
  REQUIRE(v <= hi);
  return static_cast<uint32_t>(v);
}

CellWrite RandomCell(std::mt19937& rng, const std::string& entity,
                     const std::string& column) {
  CellWrite c;
  c.column = column;
  if (column == "name") c.value = Value::Text(Pick(rng, kThaiNames));
  if (column == "kind") c.value = Value::Text(Pick(rng, kKinds));
  if (column == "district_code") c.value = Value::Text(Pick(rng, kDistricts));
  if (column == "otop_stars") c.value = Value::Integer(Between(rng, 0, 5));
  if (column == "members") c.value = Value::Integer(Between(rng, 0, 60));
  if (column == "phone") {
    c.value = Between(rng, 0, 3) == 0
                  ? Value::Null()
                  : Value::Text("08" + std::to_string(Between(rng, 10000000, 99999999)));
  }
  if (column == "stage") c.value = Value::Text(Pick(rng, kStages));
  if (column == "description") c.value = Value::Text(Pick(rng, kThaiNames));
  if (column == "deleted") c.value = Value::Integer(Between(rng, 0, 3) == 0 ? 0 : 1);
  (void)entity;
  return c;
}

RowChange RandomRowChange(std::mt19937& rng, Device& d) {
  RowChange row;
  row.hlc = d.clock->Now();
  const int op = d.known.empty() ? 0 : Between(rng, 0, 9);
  if (op <= 2) {  // insert
    const bool producer = d.known.empty() || Between(rng, 0, 1) == 0;
    row.entity = producer ? "producer" : "product";
    row.row_id = SeededUuid(rng);
    if (producer) {
      for (const char* c : {"kind", "name", "district_code", "otop_stars"}) {
        row.cells.push_back(RandomCell(rng, row.entity, c));
      }
    } else {
      CellWrite ref;
      ref.column = "producer_id";
      ref.value = Value::Text(d.known[Between(rng, 0, static_cast<int>(d.known.size()) - 1)]
                                  .id.ToString());
      row.cells.push_back(ref);
      for (const char* c : {"name", "district_code", "stage"}) {
        row.cells.push_back(RandomCell(rng, row.entity, c));
      }
    }
    d.known.push_back({row.entity, row.row_id});
    return row;
  }
  const KnownRow& target =
      d.known[Between(rng, 0, static_cast<int>(d.known.size()) - 1)];
  row.entity = target.entity;
  row.row_id = target.id;
  std::vector<std::string> columns =
      target.entity == "producer"
          ? std::vector<std::string>{"name", "otop_stars", "members", "phone", "kind"}
          : std::vector<std::string>{"name", "stage", "description"};
  if (op == 9) {
    columns = {"deleted"};  // delete (or undelete): a tombstone write
  }
  std::shuffle(columns.begin(), columns.end(), rng);
  const int n = Between(rng, 1, static_cast<int>(columns.size()));
  for (int i = 0; i < n; ++i) {
    CellWrite c = RandomCell(rng, row.entity, columns[i]);
    c.base = static_cast<uint64_t>(Between(rng, 0, 5));  // irrelevant to LWW
    row.cells.push_back(std::move(c));
  }
  return row;
}

// Device `to` receives `cs` (as if pulled): it applies it and observes hlcs.
void Receive(Device& to, const ChangeSet& cs) {
  REQUIRE(ApplyInTxn(*to.replica, cs).ok());
  for (const RowChange& row : cs.rows) {
    REQUIRE(to.clock->Observe(row.hlc).ok());
    const bool known = std::any_of(to.known.begin(), to.known.end(),
                                   [&](const KnownRow& k) { return k.id == row.row_id; });
    if (!known) to.known.push_back({row.entity, row.row_id});
  }
}

// Every row's id and raw cell_versions bytes (sequences included, which
// Dump leaves out).
std::string VersionBlobs(Db& db) {
  std::string out;
  for (const Entity& e : Catalogue()) {
    Statement st(db, "SELECT id, hex(cell_versions) FROM " + std::string(e.name) +
                         " ORDER BY id");
    while (st.Step()) out += st.ColumnText(0) + " " + st.ColumnText(1) + "\n";
    REQUIRE(st.status().ok());
  }
  return out;
}

// Runs one scenario; returns the state every replica agreed on.
std::string RunScenario(uint32_t seed) {
  std::mt19937 rng(seed);
  const int device_count = Between(rng, 3, 5);
  std::vector<std::unique_ptr<Device>> devices;
  const int64_t base_ms = 1767225600000;  // 2026-01-01
  for (int i = 0; i < device_count; ++i) {
    auto d = std::make_unique<Device>();
    d->id = SeededUuid(rng);
    d->wall.Set(base_ms + Between(rng, -600000, 600000));  // skewed clocks
    d->clock = std::make_unique<HybridClock>(&d->wall, d->id);
    d->replica = NewReplica();
    devices.push_back(std::move(d));
  }
  std::vector<ChangeSet> all;
  const int rounds = Between(rng, 4, 10);
  for (int round = 0; round < rounds; ++round) {
    for (auto& d : devices) {
      // Time passes unevenly; sometimes a wall clock jumps backwards.
      d->wall.Advance(Between(rng, 0, 3) == 0 ? -Between(rng, 1000, 3600000)
                                              : Between(rng, 0, 5000));
      if (Between(rng, 0, 2) == 0) continue;  // offline and idle this round
      ChangeSet cs;
      cs.device = d->id;
      cs.seq = d->sent.size() + 1;
      const int rows = Between(rng, 1, 4);
      for (int r = 0; r < rows; ++r) cs.rows.push_back(RandomRowChange(rng, *d));
      // The device records locally first (as the client store does).
      REQUIRE(ApplyInTxn(*d->replica, cs).ok());
      d->sent.push_back(cs);
      all.push_back(cs);
    }
    // Now and then a device finds a signal and receives some of the others'.
    for (auto& d : devices) {
      if (Between(rng, 0, 3) != 0) continue;
      for (const ChangeSet& cs : all) {
        if (cs.device != d->id && Between(rng, 0, 1) == 0) Receive(*d, cs);
      }
    }
  }
  REQUIRE_FALSE(all.empty());

  // Reference: every change set once, in the order recorded.
  auto reference_db = NewReplica();
  for (const ChangeSet& cs : all) REQUIRE(ApplyInTxn(*reference_db, cs).ok());
  const std::string reference = Dump(*reference_db);

  // Fresh replicas: shuffled, with duplicates.
  for (int replica = 0; replica < 3; ++replica) {
    std::vector<ChangeSet> order = all;
    const int dups = Between(rng, 0, static_cast<int>(all.size()));
    for (int i = 0; i < dups; ++i) {
      order.push_back(all[Between(rng, 0, static_cast<int>(all.size()) - 1)]);
    }
    std::shuffle(order.begin(), order.end(), rng);
    auto db = NewReplica();
    for (const ChangeSet& cs : order) REQUIRE(ApplyInTxn(*db, cs).ok());
    INFO("replica " << replica << " of " << order.size() << " change sets");
    REQUIRE(Dump(*db) == reference);
  }
  // As a pull applies them (seq_from_base), with and without insert_first:
  // the same replica, cell sequences included. The shuffled sets (with
  // duplicates) go in pages of one to four sets' rows, so a page mixes new
  // rows with rows already there and insert_first's guess is often wrong.
  {
    std::vector<ChangeSet> order = all;
    const int dups = Between(rng, 0, static_cast<int>(all.size()));
    for (int i = 0; i < dups; ++i) {
      order.push_back(all[Between(rng, 0, static_cast<int>(all.size()) - 1)]);
    }
    std::shuffle(order.begin(), order.end(), rng);
    ApplyOptions pull;
    pull.seq_from_base = true;
    ApplyOptions pull_first = pull;
    pull_first.insert_first = true;
    auto plain = NewReplica();
    auto first = NewReplica();
    for (size_t i = 0; i < order.size();) {
      ChangeSet page;
      const size_t sets = static_cast<size_t>(Between(rng, 1, 4));
      for (size_t end = std::min(order.size(), i + sets); i < end; ++i) {
        page.rows.insert(page.rows.end(), order[i].rows.begin(), order[i].rows.end());
      }
      REQUIRE(ApplyInTxn(*plain, page, pull).ok());
      REQUIRE(ApplyInTxn(*first, page, pull_first).ok());
    }
    REQUIRE(Dump(*plain) == reference);
    REQUIRE(Dump(*first) == reference);
    REQUIRE(VersionBlobs(*first) == VersionBlobs(*plain));
  }
  // Every device, once it has received everything (again, in any order).
  for (auto& d : devices) {
    std::vector<ChangeSet> order = all;
    std::shuffle(order.begin(), order.end(), rng);
    for (const ChangeSet& cs : order) REQUIRE(ApplyInTxn(*d->replica, cs).ok());
    REQUIRE(Dump(*d->replica) == reference);
  }
  return reference;
}

TEST_CASE("Merge: any order, any duplication, one state", "[merge][property]") {
  std::vector<uint32_t> seeds;
  if (const char* one = std::getenv("KBO_MERGE_SEED")) {
    seeds.push_back(EnvNumber("KBO_MERGE_SEED", one, 0, UINT32_MAX));
  } else {
    uint32_t n = 200;
    if (const char* count = std::getenv("KBO_MERGE_SCENARIOS")) {
      // 0 scenarios would test nothing and pass: refused.
      n = EnvNumber("KBO_MERGE_SCENARIOS", count, 1, 1000000);
    }
    for (uint32_t i = 0; i < n; ++i) seeds.push_back(20261125u + i * 7919u);
  }
  REQUIRE_FALSE(seeds.empty());
  for (uint32_t seed : seeds) {
    CAPTURE(seed);  // a failure prints the seed that replays it
    RunScenario(seed);
  }
}

TEST_CASE("Merge property: a seed replays the same scenario, ids included",
          "[merge][property]") {
  // Device and row ids are part of the state (and of LWW's tie-break), so a
  // printed seed only replays a failure if they come from it too.
  for (uint32_t seed : {20261125u, 7u}) {
    CAPTURE(seed);
    const std::string first = RunScenario(seed);
    REQUIRE(RunScenario(seed) == first);
  }
  REQUIRE(RunScenario(20261125u) != RunScenario(20261125u + 7919u));
}

}  // namespace
}  // namespace kbo
