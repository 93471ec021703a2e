#ifndef KBO_SHARED_RESULT_H_
#define KBO_SHARED_RESULT_H_

#include <cassert>
#include <optional>
#include <utility>

#include "shared/status.h"

namespace kbo {

// Result<T> holds a T or a non-OK Status (absl::StatusOr in spirit).
// value() on an error is a bug (asserts in debug builds).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "Result built from an OK status");
    if (status_.ok()) status_ = Status::Internal("Result from OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace kbo

// Early returns for code with many fallible steps (the console):
//   KBO_RETURN_IF_ERROR(expr);            expr is a Status
//   KBO_ASSIGN_OR_RETURN(T x, expr);      expr is a Result<T>
#define KBO_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::kbo::Status kbo_status_ = (expr);      \
    if (!kbo_status_.ok()) return kbo_status_; \
  } while (false)
#define KBO_CONCAT_INNER_(a, b) a##b
#define KBO_CONCAT_(a, b) KBO_CONCAT_INNER_(a, b)
#define KBO_ASSIGN_OR_RETURN(lhs, expr) \
  KBO_ASSIGN_OR_RETURN_IMPL_(KBO_CONCAT_(kbo_result_, __LINE__), lhs, expr)
#define KBO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#endif  // KBO_SHARED_RESULT_H_
