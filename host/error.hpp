#pragma once
// Errors as values: every boundary (config, plugin load, client message,
// engine reply) reports a machine-readable code and a human message.
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace portico {

struct Error {
    std::string code;     // snake_case word, e.g. "unknown_plugin"
    std::string message;  // for a human: what is wrong and where
};

// A value or the Error that prevented it.
template <class T>
class Expected {
public:
    Expected(T value) : state_(std::move(value)) {}
    Expected(Error error) : state_(std::move(error)) {}

    bool ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    const T& value() const& { return std::get<0>(state_); }
    const Error& error() const& { return std::get<1>(state_); }

private:
    std::variant<T, Error> state_;
};

}  // namespace portico
