#pragma once

// rbee::Result<T>: a value or an Error, the one error channel inside rbee.
// Its members are a subset of std::expected's so a later move to the standard type is an
// alias change. Exceptions from third-party libraries are caught in the adapter that calls
// them and turned into an Error; none crosses a module header.

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rbee {

// A subset of Abseil's canonical codes. src/http/error_mapping.cpp alone turns one into an
// HTTP status; wire_name() is the `code` field of error bodies and `done` events.
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kResourceExhausted,
  kUnavailable,
  kDeadlineExceeded,
  kCancelled,
  kUnauthenticated,
  kInternal,
};

// The snake_case name used on the wire, e.g. "invalid_argument".
std::string_view wire_name(ErrorCode code);
// The inverse of wire_name(); unknown names map to kInternal.
ErrorCode error_code_from_wire_name(std::string_view name);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return checked_value(); }
  const T& value() const& { return const_cast<Result*>(this)->checked_value(); }
  T&& value() && { return std::move(checked_value()); }
  T& operator*() & { return checked_value(); }
  const T& operator*() const& { return const_cast<Result*>(this)->checked_value(); }
  T* operator->() { return &checked_value(); }
  const T* operator->() const { return &const_cast<Result*>(this)->checked_value(); }

  const Error& error() const& { return std::get<1>(state_); }
  Error&& error() && { return std::move(std::get<1>(state_)); }

 private:
  T& checked_value() {
    if (state_.index() != 0) std::abort();  // reading the value of a failed Result is a bug
    return std::get<0>(state_);
  }
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit

  bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status ok_status() {
  return Status();
}

}  // namespace rbee

#define RBEE_CONCAT_INNER_(a, b) a##b
#define RBEE_CONCAT_(a, b) RBEE_CONCAT_INNER_(a, b)

// Returns the error of a failed Result/Status from the enclosing function.
#define RBEE_RETURN_IF_ERROR(expr)                             \
  do {                                                         \
    auto rbee_status_ = (expr);                                \
    if (!rbee_status_) return std::move(rbee_status_).error(); \
  } while (false)

// `RBEE_ASSIGN_OR_RETURN(auto x, f());` binds the value or returns the error.
#define RBEE_ASSIGN_OR_RETURN(lhs, expr) \
  RBEE_ASSIGN_OR_RETURN_IMPL_(RBEE_CONCAT_(rbee_result_, __LINE__), lhs, expr)
#define RBEE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp) return std::move(tmp).error();          \
  lhs = std::move(*tmp)
