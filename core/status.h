// Status and Result<T>: how chronova reports failure. Errors are returned, never
// thrown; adapters around throwing libraries (cereal, Boost) and C libraries
// (libvirt, cnats) convert at their boundary and add context.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace chronova {

// A closed set of codes; add one only when a caller must handle it differently.
enum class StatusCode {
  kOk = 0,
  kNotFound,          // the named thing does not exist
  kConflict,          // optimistic concurrency lost, or an illegal state transition
  kInvalidArgument,   // the caller's input is wrong; retrying will not help
  kUnavailable,       // a dependency is down or timed out; retrying may help
  kPermissionDenied,  // the caller may not do this
  kCorruption,        // stored data cannot be decoded or fails its checksum
  kInternal,          // a bug or an unexpected library failure
  kUnimplemented,     // a driver (or chronova) does not do this
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) {
    return {StatusCode::kNotFound, std::move(msg)};
  }
  static Status Conflict(std::string msg) {
    return {StatusCode::kConflict, std::move(msg)};
  }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status Unavailable(std::string msg) {
    return {StatusCode::kUnavailable, std::move(msg)};
  }
  static Status PermissionDenied(std::string msg) {
    return {StatusCode::kPermissionDenied, std::move(msg)};
  }
  static Status Corruption(std::string msg) {
    return {StatusCode::kCorruption, std::move(msg)};
  }
  static Status Unimplemented(std::string msg) {
    return {StatusCode::kUnimplemented, std::move(msg)};
  }
  static Status Internal(std::string msg) {
    return {StatusCode::kInternal, std::move(msg)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsConflict() const { return code_ == StatusCode::kConflict; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;
  // "Conflict: wrong expected version ..." — for logs and test failures.
  std::string ToString() const;

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  // By value, so `for (auto& x : F().value())` does not dangle.
  T value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace chronova

// Propagates a non-OK Status from an expression returning Status.
#define CHRONOVA_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::chronova::Status _st = (expr);   \
    if (!_st.ok()) return _st;         \
  } while (0)

#define CHRONOVA_CONCAT_INNER(a, b) a##b
#define CHRONOVA_CONCAT(a, b) CHRONOVA_CONCAT_INNER(a, b)
// Declares `lhs` from a Result<T> expression, or returns its Status.
#define CHRONOVA_ASSIGN_OR_RETURN(lhs, expr)          \
  auto CHRONOVA_CONCAT(_res_, __LINE__) = (expr);     \
  if (!CHRONOVA_CONCAT(_res_, __LINE__).ok())         \
    return CHRONOVA_CONCAT(_res_, __LINE__).status(); \
  lhs = std::move(CHRONOVA_CONCAT(_res_, __LINE__)).value()
