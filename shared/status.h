#ifndef KBO_SHARED_STATUS_H_
#define KBO_SHARED_STATUS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

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
// The code whose CodeName() is `name`; false if none is.
bool CodeFromName(std::string_view name, Code* code);

// A named value an error carries for a program to act on (docs/protocol.md,
// "Errors"): a text, an integer, or texts by name (a form's column -> what is
// wrong with it). Encoded as one key of the error body (shared/error_body.h).
struct StatusField {
  enum class Kind : uint8_t { kText, kInteger, kTexts };
  std::string name;
  Kind kind = Kind::kText;
  std::string text;                                        // kText
  int64_t integer = 0;                                     // kInteger
  std::vector<std::pair<std::string, std::string>> texts;  // kTexts, in order
};

// Field names every edge agrees on (the error body's keys).
namespace field {
inline constexpr std::string_view kField = "field";  // text: the invalid input
inline constexpr std::string_view kFields =
    "fields";                                        // texts: column -> problem
inline constexpr std::string_view kIndex = "index";  // integer: item of a batch
inline constexpr std::string_view kRow = "row";      // text: the refused row id
inline constexpr std::string_view kExpected = "expected";  // integer: next seq
inline constexpr std::string_view kReceived =
    "received";  // integer: bytes held
inline constexpr std::string_view kServerMs = "server_ms";  // integer: Unix ms
inline constexpr std::string_view kRetryAfterS =
    "retry_after_s";  // integer: seconds to wait before trying again
// What is wrong with kField's value, for a person's language: a key of
// shared/labels ("err.integer", "err.range"), and that text's parameters
// ({"min": "0", "max": "20", "got": "'25'"}). See ProblemText
// (shared/labels.h).
inline constexpr std::string_view kProblem = "problem";  // text
inline constexpr std::string_view kParams = "params";    // texts
}  // namespace field

// Status::reason() of a write refused because the writer was taken for
// longer than the caller would wait (Db::SetWriteWait): nothing was stored,
// and trying again later is safe. The server answers it with 503 and
// Retry-After.
inline constexpr const char* kBusyReason = "busy";

// Status is OK or an error: a code, a message meant for a person, and for a
// program a reason and fields (the refused row, the expected sequence, the
// invalid form field), so no edge parses the English message.
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
  const std::string& message() const;
  // A stable snake_case word more precise than the code ("clock_ahead",
  // "revoked", "hash_mismatch"); "" if none was given.
  const std::string& reason() const;
  // reason() if given, else CodeName(code()): the error body's "error".
  std::string_view ReasonOrCodeName() const;
  // The fields in the order they were added (a name at most once).
  const std::vector<StatusField>& fields() const;
  const StatusField* Field(std::string_view name) const;
  // The named text or integer field, if present with that kind.
  const std::string* TextField(std::string_view name) const;
  const int64_t* IntegerField(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>* TextsField(
      std::string_view name) const;

  // Builders for an error: return Status::SequenceGap("...")
  //     .WithReason("sequence_conflict").With(field::kExpected, 7);
  // On an OK status they do nothing (OK carries nothing). A name given again
  // replaces its earlier value.
  Status WithReason(std::string reason) &&;
  Status& WithReason(std::string reason) &;
  Status With(std::string_view name, std::string text) &&;
  Status& With(std::string_view name, std::string text) &;
  // Any integer type; a value past INT64_MAX is kept as INT64_MAX.
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I> &&
                                                    !std::is_same_v<I, bool>>>
  Status With(std::string_view name, I integer) && {
    return std::move(*this).WithInteger(name, ClampToInt64(integer));
  }
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I> &&
                                                    !std::is_same_v<I, bool>>>
  Status& With(std::string_view name, I integer) & {
    return WithInteger(name, ClampToInt64(integer));
  }
  Status With(std::string_view name,
              std::vector<std::pair<std::string, std::string>> texts) &&;
  Status& With(std::string_view name,
               std::vector<std::pair<std::string, std::string>> texts) &;
  Status With(StatusField f) &&;
  Status& With(StatusField f) &;

  // "<code name>: <message>", or "ok".
  std::string ToString() const;

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

 private:
  // Everything an error says, behind one pointer: an OK status is a code and
  // a null pointer, and allocates nothing (it is on every hot path).
  struct Rep {
    std::string message;
    std::string reason;
    std::vector<StatusField> fields;
  };
  Status(Code code, std::string msg);
  Status WithInteger(std::string_view name, int64_t integer) &&;
  Status& WithInteger(std::string_view name, int64_t integer) &;
  template <typename I>
  static int64_t ClampToInt64(I v) {
    if constexpr (std::is_unsigned_v<I>) {
      if (v > static_cast<std::make_unsigned_t<int64_t>>(INT64_MAX))
        return INT64_MAX;
    }
    return static_cast<int64_t>(v);
  }
  Code code_ = Code::kOk;
  std::unique_ptr<Rep> rep_;
};

}  // namespace kbo

#endif  // KBO_SHARED_STATUS_H_
