#pragma once
// Errors as values: every boundary (config, plugin load, client message,
// engine reply) reports a machine-readable code and a human message.
//
//   Expected<T> is boost::system::result<T, Error>: a T, or the Error that
//   prevented it. Test it with has_value() (or if), take the value with
//   value() / *, the error with error(); Expected<void> says "done" or why not.
#include <boost/system/result.hpp>

#include <stdexcept>
#include <string>
#include <utility>

namespace portico {

struct Error {
    // Not an aggregate: a lone string must never pass for an Error (C++20
    // would make Error constructible from one, and Expected<std::string> ambiguous).
    Error() = default;
    Error(std::string error_code, std::string human_message)
        : code(std::move(error_code)), message(std::move(human_message)) {}

    std::string code;     // snake_case word, e.g. "unknown_plugin"
    std::string message;  // for a human: what is wrong and where
};

template <class T>
using Expected = boost::system::result<T, Error>;

// What value() throws on an Error (result finds it by argument lookup).
[[noreturn]] inline void throw_exception_from_error(const Error& error, const boost::source_location&) {
    throw std::runtime_error(error.code + ": " + error.message);
}

}  // namespace portico
