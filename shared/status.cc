#include "shared/status.h"

namespace kbo {

namespace {

struct CodeRow {
  Code code;
  const char* name;  // the JSON "error" field
  int http;
  int exit;
};

// Indexed by the enum's value; a test checks every row sits at its code.
constexpr CodeRow kCodes[] = {
    {Code::kOk, "ok", 200, 0},
    {Code::kInvalidArgument, "invalid_argument", 400, 2},
    {Code::kNotFound, "not_found", 404, 3},
    {Code::kAlreadyExists, "already_exists", 409, 1},
    {Code::kCorruption, "bad_change_set", 400, 2},
    {Code::kUnavailable, "unavailable", 503, 4},
    {Code::kUnauthenticated, "unauthenticated", 401, 5},
    {Code::kPermissionDenied, "out_of_scope", 403, 5},
    {Code::kSequenceGap, "sequence_gap", 409, 5},
    {Code::kFailedPrecondition, "failed_precondition", 409, 1},
    {Code::kResourceExhausted, "too_large", 413, 1},
    {Code::kIOError, "io_error", 500, 1},
    {Code::kInternal, "internal", 500, 1},
};
constexpr size_t kCodeCount = sizeof(kCodes) / sizeof(kCodes[0]);
static_assert(static_cast<size_t>(Code::kInternal) + 1 == kCodeCount,
              "every Code has one row in kCodes");

const CodeRow& RowOf(Code code) {
  const auto i = static_cast<size_t>(code);
  // A value outside the enum (a cast from a bad integer) is an internal error.
  return i < kCodeCount ? kCodes[i] : kCodes[kCodeCount - 1];
}

}  // namespace

const char* CodeName(Code code) { return RowOf(code).name; }
int HttpStatusFor(Code code) { return RowOf(code).http; }
int ExitCodeFor(Code code) { return RowOf(code).exit; }

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace kbo
