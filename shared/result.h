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

#endif  // KBO_SHARED_RESULT_H_
