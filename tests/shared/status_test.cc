#include "shared/status.h"

#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

namespace kbo {
namespace {

constexpr Code kAll[] = {
    Code::kOk,           Code::kInvalidArgument,    Code::kNotFound,
    Code::kAlreadyExists, Code::kCorruption,        Code::kUnavailable,
    Code::kUnauthenticated, Code::kPermissionDenied, Code::kSequenceGap,
    Code::kFailedPrecondition, Code::kResourceExhausted, Code::kIOError,
    Code::kInternal,
};

TEST_CASE("exit codes follow the command-line contract of DESIGN 7",
          "[status]") {
  CHECK(ExitCodeFor(Code::kOk) == 0);
  CHECK(ExitCodeFor(Code::kInvalidArgument) == 2);
  CHECK(ExitCodeFor(Code::kCorruption) == 2);
  CHECK(ExitCodeFor(Code::kNotFound) == 3);
  // One answer on both programs: 4 means "nothing lost, try again later".
  CHECK(ExitCodeFor(Code::kUnavailable) == 4);
  CHECK(ExitCodeFor(Code::kUnauthenticated) == 5);
  CHECK(ExitCodeFor(Code::kPermissionDenied) == 5);
  CHECK(ExitCodeFor(Code::kSequenceGap) == 5);
  for (Code c : {Code::kAlreadyExists, Code::kFailedPrecondition,
                 Code::kResourceExhausted, Code::kIOError, Code::kInternal}) {
    CHECK(ExitCodeFor(c) == 1);
  }
}

TEST_CASE("HTTP statuses: client errors 4xx, unavailable 503, failures 500",
          "[status]") {
  CHECK(HttpStatusFor(Code::kOk) == 200);
  CHECK(HttpStatusFor(Code::kInvalidArgument) == 400);
  CHECK(HttpStatusFor(Code::kCorruption) == 400);
  CHECK(HttpStatusFor(Code::kNotFound) == 404);
  CHECK(HttpStatusFor(Code::kAlreadyExists) == 409);
  CHECK(HttpStatusFor(Code::kUnavailable) == 503);
  CHECK(HttpStatusFor(Code::kUnauthenticated) == 401);
  CHECK(HttpStatusFor(Code::kPermissionDenied) == 403);
  CHECK(HttpStatusFor(Code::kSequenceGap) == 409);
  CHECK(HttpStatusFor(Code::kFailedPrecondition) == 409);
  CHECK(HttpStatusFor(Code::kResourceExhausted) == 413);
  CHECK(HttpStatusFor(Code::kIOError) == 500);
  CHECK(HttpStatusFor(Code::kInternal) == 500);
}

TEST_CASE("every code has its own name and a value outside the enum is internal",
          "[status]") {
  std::set<std::string> names;
  for (Code c : kAll) names.insert(CodeName(c));
  CHECK(names.size() == std::size(kAll));
  const Code bogus = static_cast<Code>(200);
  CHECK(std::string(CodeName(bogus)) == "internal");
  CHECK(HttpStatusFor(bogus) == 500);
  CHECK(ExitCodeFor(bogus) == 1);
  CHECK(Status::Unavailable("x").ToString() == "unavailable: x");
}

TEST_CASE("a code's name reads back as the code, and nothing else does",
          "[status]") {
  for (Code c : kAll) {
    Code back = Code::kInternal;
    REQUIRE(CodeFromName(CodeName(c), &back));
    CHECK(back == c);
  }
  Code untouched = Code::kNotFound;
  CHECK_FALSE(CodeFromName("clock_ahead", &untouched));
  CHECK_FALSE(CodeFromName("", &untouched));
  CHECK_FALSE(CodeFromName("Invalid_Argument", &untouched));
  CHECK(untouched == Code::kNotFound);
}

TEST_CASE("Status: OK stays one code and one null pointer, allocating nothing",
          "[status]") {
  // A code and one pointer: the message, reason and fields live behind it.
  static_assert(sizeof(Status) <= sizeof(void*) + sizeof(void*),
                "Status is a code and one pointer");
  const Status ok;
  CHECK(ok.ok());
  CHECK(ok.message().empty());
  CHECK(ok.reason().empty());
  CHECK(ok.fields().empty());
  CHECK(ok.ReasonOrCodeName() == "ok");
  // Builders on OK keep it OK and carry nothing.
  Status still = Status().WithReason("clock_ahead").With(field::kExpected, 7);
  CHECK(still.ok());
  CHECK(still.reason().empty());
  CHECK(still.fields().empty());
  CHECK(Status::FromCode(Code::kOk, "ignored").message().empty());
}

TEST_CASE("Status: reason and fields travel with copies and moves", "[status]") {
  Status s = Status::SequenceGap("change set 9 arrived but 7 is next")
                 .WithReason("sequence_gap")
                 .With(field::kExpected, uint64_t{7})
                 .With(field::kRow, "1b4e28ba-2fa1-41d2-883f-0016d3cca427")
                 .With(field::kFields,
                       std::vector<std::pair<std::string, std::string>>{
                           {"name", "ชื่อ is required"}, {"otop_stars", "0 to 5"}});
  CHECK(s.code() == Code::kSequenceGap);
  CHECK(s.reason() == "sequence_gap");
  CHECK(s.ReasonOrCodeName() == "sequence_gap");
  REQUIRE(s.fields().size() == 3);
  CHECK(s.fields()[0].name == "expected");  // in the order added
  REQUIRE(s.IntegerField(field::kExpected) != nullptr);
  CHECK(*s.IntegerField(field::kExpected) == 7);
  CHECK(s.TextField(field::kExpected) == nullptr);  // not of that kind
  CHECK(s.IntegerField(field::kRow) == nullptr);
  CHECK(*s.TextField(field::kRow) == "1b4e28ba-2fa1-41d2-883f-0016d3cca427");
  REQUIRE(s.TextsField(field::kFields) != nullptr);
  CHECK(s.TextsField(field::kFields)->at(0).second == "ชื่อ is required");
  CHECK(s.Field("nothing") == nullptr);

  Status copy = s;
  CHECK(copy.reason() == "sequence_gap");
  CHECK(*copy.IntegerField(field::kExpected) == 7);
  // A deep copy: changing one leaves the other.
  copy.With(field::kExpected, 8).WithReason("other");
  CHECK(*s.IntegerField(field::kExpected) == 7);
  CHECK(s.reason() == "sequence_gap");
  CHECK(*copy.IntegerField(field::kExpected) == 8);  // replaced, not added
  CHECK(copy.fields().size() == 3);

  Status moved = std::move(copy);
  CHECK(moved.reason() == "other");
  CHECK(moved.message() == s.message());
  Status assigned;
  assigned = moved;
  CHECK(assigned.ToString() == "sequence_gap: change set 9 arrived but 7 is next");
  assigned = Status();
  CHECK(assigned.ok());
  CHECK(assigned.fields().empty());

  // Past INT64_MAX is kept as INT64_MAX, never wrapped negative.
  Status big = Status::Internal("x").With("n", UINT64_MAX);
  CHECK(*big.IntegerField("n") == INT64_MAX);
  // A reason-less error says its code's name.
  CHECK(Status::PermissionDenied("x").ReasonOrCodeName() == "out_of_scope");
}

}  // namespace
}  // namespace kbo
