#include "shared/status.h"

namespace kbo {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kCorruption: return "bad_change_set";
    case Code::kUnavailable: return "unavailable";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kPermissionDenied: return "out_of_scope";
    case Code::kSequenceGap: return "sequence_gap";
    case Code::kFailedPrecondition: return "failed_precondition";
    case Code::kResourceExhausted: return "too_large";
    case Code::kIOError: return "io_error";
    case Code::kInternal: return "internal";
  }
  return "internal";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace kbo
