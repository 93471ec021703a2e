#ifndef KBO_SHARED_STATUS_H_
#define KBO_SHARED_STATUS_H_

#include <string>
#include <utility>

namespace kbo {

// The one error vocabulary of KBO Field. Each edge maps it once: the client
// CLI to exit codes (client/cli), the server to HTTP statuses (server/http_api).
enum class Code {
  kOk = 0,
  kInvalidArgument,    // the person's own input is wrong; nothing written
  kNotFound,           // an id or file that does not exist
  kAlreadyExists,      // a unique thing made twice
  kCorruption,         // bytes that do not decode, or fail a hash/signature
  kUnavailable,        // no network / server unreachable; retry later
  kUnauthenticated,    // signature or token not accepted
  kPermissionDenied,   // authenticated, but outside the device's scope/role
  kSequenceGap,        // a change set arrived out of its device's sequence
  kFailedPrecondition, // the state does not allow this (e.g. not enrolled)
  kResourceExhausted,  // a size or count cap was exceeded
  kIOError,            // the file system or database failed
  kInternal,           // a bug; details go to the log
};

// Stable snake_case name of a code, used as the JSON "error" field.
const char* CodeName(Code code);

// The one mapping of a code to what each edge says (a single table in
// status.cc, so the client, the server and the UI cannot disagree):
// the HTTP status of an answer (kbo-server's API, the console, kbo ui's
// JSON), and the exit code of a command (`kbo` and `kbo-server`, DESIGN §7:
// 0 done; 2 invalid input or usage, nothing written; 3 not found; 4 server
// or database unreachable, everything kept, try again later; 5 refused by
// the server or not allowed; 1 anything else).
int HttpStatusFor(Code code);
int ExitCodeFor(Code code);

// Status is OK or an error code with a message meant for a person.
class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) {
    return {Code::kNotFound, std::move(msg)};
  }
  static Status AlreadyExists(std::string msg) {
    return {Code::kAlreadyExists, std::move(msg)};
  }
  static Status Corruption(std::string msg) {
    return {Code::kCorruption, std::move(msg)};
  }
  static Status Unavailable(std::string msg) {
    return {Code::kUnavailable, std::move(msg)};
  }
  static Status Unauthenticated(std::string msg) {
    return {Code::kUnauthenticated, std::move(msg)};
  }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, std::move(msg)};
  }
  static Status SequenceGap(std::string msg) {
    return {Code::kSequenceGap, std::move(msg)};
  }
  static Status FailedPrecondition(std::string msg) {
    return {Code::kFailedPrecondition, std::move(msg)};
  }
  static Status ResourceExhausted(std::string msg) {
    return {Code::kResourceExhausted, std::move(msg)};
  }
  static Status IOError(std::string msg) {
    return {Code::kIOError, std::move(msg)};
  }
  static Status Internal(std::string msg) {
    return {Code::kInternal, std::move(msg)};
  }
  static Status FromCode(Code code, std::string msg) {
    return {code, std::move(msg)};
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code name>: <message>", or "ok".
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace kbo

#endif  // KBO_SHARED_STATUS_H_
