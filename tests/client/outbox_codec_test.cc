#include "client/outbox_codec.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/change_set_codec.h"

namespace kbo::client {
namespace {

const Uuid kDevice = Uuid::Random();

Hlc HlcOf(int64_t wall_ms, uint32_t counter, const Uuid& device = kDevice) {
  Hlc h;
  h.wall_ms = wall_ms;
  h.counter = counter;
  h.device = device;
  return h;
}

// A mark as the store writes it: references as canonical uuid text, Thai.
RowChange Mark(int day) {
  RowChange r;
  r.entity = "attendance";
  r.row_id = Uuid::Random();
  r.hlc = HlcOf(1767225600000 + day, static_cast<uint32_t>(day));
  r.cells = {{"workshop_id", Value::Text(Uuid::Random().ToString()), 0},
             {"enrolment_id", Value::Text(Uuid::Random().ToString()), 0},
             {"day", Value::Integer(day), 0},
             {"status", Value::Text("present"), 0},
             {"note", Value::Text("มาสาย เนื่องจากฝนตกหนักและรถติดมาก"), 0},
             {"district_code", Value::Text("5011"), 0}};
  return r;
}

// Every value type and the edges of each encoding.
std::vector<RowChange> Awkward() {
  RowChange r;
  r.entity = "visit";
  r.row_id = Uuid::Random();
  r.hlc = HlcOf(-5, std::numeric_limits<uint32_t>::max(), Uuid::Random());  // other device
  r.cells = {
      {"lat", Value::Real(18.7884), 7},
      {"lon", Value::Real(-0.0), std::numeric_limits<uint64_t>::max()},
      {"accuracy_m", Value::Null(), 0},
      {"purpose", Value::Integer(std::numeric_limits<int64_t>::min()), 1},
      {"notes", Value::Integer(std::numeric_limits<int64_t>::max()), 128},
      {"follow_up", Value::Text(""), 0},
      // 36 characters that are not a canonical uuid stay text.
      {"next_visit", Value::Text("0123456789ABCDEF-0123-4567-89ab-cdef"), 0},
      {"producer_id", Value::Text("01234567-89AB-cdef-0123-456789abcdef"), 0},
      {"district_code", Value::Blob(std::string(64, 'a')), 0},
  };
  RowChange deleted;
  deleted.entity = "producer";
  deleted.row_id = Uuid::Random();
  deleted.hlc = HlcOf(1767225600000, 0);
  deleted.cells = {{"deleted", Value::Integer(1), 42}};
  RowChange empty;
  empty.entity = "producer";
  empty.row_id = Uuid::Random();
  empty.hlc = HlcOf(1767225600001, 1);
  return {r, deleted, empty};
}

std::string Encode(const std::vector<RowChange>& rows) {
  OutboxEntryWriter w(kDevice);
  for (const RowChange& r : rows) w.Add(r);
  CHECK(w.rows() == rows.size());
  return w.Finish();
}

bool SameRows(const std::vector<RowChange>& a, const std::vector<RowChange>& b) {
  // The wire encoding compares every field, reals by their bits.
  ChangeSet x, y;
  x.rows = a;
  y.rows = b;
  return EncodeChangeSet(x) == EncodeChangeSet(y);
}

TEST_CASE("OutboxCodec: every row change round-trips exactly", "[outbox]") {
  std::vector<RowChange> rows = Awkward();
  for (int day = 1; day <= 5; ++day) rows.push_back(Mark(day));
  const std::string bytes = Encode(rows);
  auto back = DecodeOutboxEntry(bytes);
  INFO(back.status().ToString());
  REQUIRE(back.ok());
  CHECK(back->size() == rows.size());
  CHECK(SameRows(*back, rows));
  CHECK(std::signbit((*back)[0].cells[1].value.real()));  // -0.0 kept
  CHECK((*back)[0].cells[6].value.text() == "0123456789ABCDEF-0123-4567-89ab-cdef");
  CHECK((*back)[0].cells[8].value.type() == Value::Type::kBlob);
}

TEST_CASE("OutboxCodec: a mark takes under half of its wire bytes", "[outbox]") {
  std::vector<RowChange> marks;
  for (int i = 0; i < 100; ++i) marks.push_back(Mark(i % 5 + 1));
  ChangeSet wire;
  wire.rows = marks;
  const size_t outbox = Encode(marks).size();
  const size_t on_wire = EncodeChangeSet(wire).size();
  CHECK(outbox * 2 < on_wire);
}

TEST_CASE("OutboxCodec: the writer starts afresh after Finish and Clear", "[outbox]") {
  OutboxEntryWriter w(kDevice);
  w.Add(Mark(1));
  const std::string first = w.Finish();
  CHECK(w.rows() == 0);
  w.Add(Mark(2));
  w.Clear();
  CHECK(w.rows() == 0);
  const RowChange m = Mark(3);
  w.Add(m);
  auto back = DecodeOutboxEntry(w.Finish());
  REQUIRE(back.ok());
  REQUIRE(back->size() == 1);
  CHECK(SameRows(*back, {m}));
  CHECK(DecodeOutboxEntry(first)->size() == 1);
  CHECK(DecodeOutboxEntry(OutboxEntryWriter(kDevice).Finish())->empty());
}

TEST_CASE("OutboxCodec: damaged bytes are corruption, never a crash or a partial list",
          "[outbox]") {
  std::vector<RowChange> rows = Awkward();
  rows.push_back(Mark(1));
  const std::string good = Encode(rows);
  // Every truncation.
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = DecodeOutboxEntry(std::string_view(good).substr(0, n));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
  }
  CHECK(DecodeOutboxEntry(good + "x").status().code() == Code::kCorruption);
  CHECK(DecodeOutboxEntry("KBOC" + good.substr(4)).status().code() == Code::kCorruption);
  // Random byte flips (sanitizers watch the reads): an error, or rows that
  // encode again.
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string bad = good;
    const size_t at = rng() % bad.size();
    bad[at] = static_cast<char>(bad[at] ^ (1 + rng() % 255));
    auto r = DecodeOutboxEntry(bad);
    if (r.ok()) {
      OutboxEntryWriter again(kDevice);
      for (const RowChange& row : *r) again.Add(row);
      CHECK(DecodeOutboxEntry(again.Finish()).ok());
    } else {
      CHECK(r.status().code() == Code::kCorruption);
    }
  }
  // A count far beyond the bytes is refused before anything is allocated.
  std::string huge = good.substr(0, 4 + 1 + 16);
  huge += std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 9);
  CHECK(DecodeOutboxEntry(huge).status().code() == Code::kCorruption);
}

}  // namespace
}  // namespace kbo::client
