#include "shared/status.h"

#include <iterator>
#include <set>
#include <string>

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

}  // namespace
}  // namespace kbo
