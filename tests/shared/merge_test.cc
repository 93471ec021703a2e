#include "shared/merge.h"

#include <catch2/catch.hpp>

#include "shared/entities.h"

namespace kbo {
namespace {

Hlc At(int64_t ms, uint32_t counter, uint8_t device) {
  Hlc h;
  h.wall_ms = ms;
  h.counter = counter;
  h.device.bytes[15] = device;
  return h;
}

const Column& Col(std::string_view entity, std::string_view column) {
  const Entity* e = FindEntity(entity);
  REQUIRE(e != nullptr);
  const Column* c = e->FindColumn(column);
  REQUIRE(c != nullptr);
  return *c;
}

TEST_CASE("Merge: last writer wins by hlc, device breaks ties", "[merge]") {
  const Column& name = Col("producer", "name");
  const CellVersion older{At(1000, 0, 1), Value::Text("กลุ่มทอผ้า")};
  const CellVersion newer{At(1000, 1, 1), Value::Text("กลุ่มจักสาน")};
  CHECK(Wins(name, newer, older));
  CHECK_FALSE(Wins(name, older, newer));
  CHECK_FALSE(Wins(name, older, older));  // re-applying is a no-op

  const CellVersion a{At(2000, 0, 1), Value::Text("a")};
  const CellVersion b{At(2000, 0, 2), Value::Text("b")};
  CHECK(Wins(name, b, a));        // same wall and counter: higher device id
  CHECK_FALSE(Wins(name, a, b));  // exactly one of the two wins
}

TEST_CASE("Merge: a product's stage only moves forward", "[merge]") {
  const Column& stage = Col("product", "stage");
  REQUIRE(stage.policy == MergePolicy::kForward);
  const CellVersion prototype{At(1000, 0, 1), Value::Text("prototype")};
  const CellVersion design_later{At(9000, 0, 2), Value::Text("design")};
  CHECK_FALSE(Wins(stage, design_later, prototype));  // later hlc, earlier stage
  CHECK(Wins(stage, prototype, design_later));
  const CellVersion prototype_later{At(9000, 0, 2), Value::Text("prototype")};
  CHECK(Wins(stage, prototype_later, prototype));  // same stage: hlc decides
  const CellVersion unset{Hlc{}, Value::Null()};
  CHECK(Wins(stage, prototype, unset));
}

TEST_CASE("Merge: progress stage is an ordinary last-writer-wins column",
          "[merge]") {
  const Column& stage = Col("progress", "stage");
  CHECK(stage.policy == MergePolicy::kLastWriterWins);
  CHECK(Wins(stage, {At(2, 0, 1), Value::Text("idea")},
             {At(1, 0, 1), Value::Text("market_ready")}));
}

TEST_CASE("Conflict predicate: the writer never saw the current value",
          "[merge][conflict]") {
  Uuid a, b;
  a.bytes[15] = 1;
  b.bytes[15] = 2;
  const CurrentCell current{a, Value::Text("office value"), 7};
  SECTION("another device, other value, base older than current: conflict") {
    CHECK(IsConflict({b, Value::Text("field value"), 3}, current));
    CHECK(IsConflict({b, Value::Text("field value"), 0}, current));
  }
  SECTION("the writer had received the current value: no conflict") {
    CHECK_FALSE(IsConflict({b, Value::Text("field value"), 7}, current));
    CHECK_FALSE(IsConflict({b, Value::Text("field value"), 9}, current));
  }
  SECTION("the same value is agreement, not a conflict") {
    CHECK_FALSE(IsConflict({b, Value::Text("office value"), 0}, current));
  }
  SECTION("a device's own successive edits never conflict") {
    CHECK_FALSE(IsConflict({a, Value::Text("again"), 0}, current));
  }
  SECTION("null versus a value is a difference") {
    CHECK(IsConflict({b, Value::Null(), 1}, current));
  }
}

}  // namespace
}  // namespace kbo
