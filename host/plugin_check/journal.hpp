#pragma once
// The engine process tells the checker what it does and finds through a
// pipe: one record per line, fields separated by tabs, escaped so that any
// byte fits. The checker reads it as it comes, so whatever the engine
// process said before it crashed or hung is kept.
//
//   stage NAME                  it starts a stage (load, settings, fixed, random, shutdown, ...)
//   info KEY VALUE              a fact about the plugin (name, version, description, usage, api)
//   finding SEVERITY CHECK MSG  a report line
//   done                        it finished every check
#include "finding.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::plugin_check {

std::string escape_field(std::string_view field);
std::string unescape_field(std::string_view field);

// Writes records to a file descriptor. Used by one thread only (the engine
// process's main thread); a write to a closed pipe is dropped (the checker
// is gone, and the engine process dies with it).
class JournalWriter {
public:
    explicit JournalWriter(int fd) noexcept : fd_(fd) {}

    void record(std::initializer_list<std::string_view> fields);
    void stage(std::string_view name) { record({"stage", name}); }
    void info(std::string_view key, std::string_view value) { record({"info", key, value}); }
    void finding(Severity severity, std::string_view check, std::string_view message) {
        record({"finding", severity_name(severity), check, message});
    }
    void done() { record({"done"}); }

private:
    int fd_;
};

// Splits the bytes read from the pipe into records.
class JournalReader {
public:
    void feed(std::string_view bytes) { buffer_.append(bytes.data(), bytes.size()); }
    // The next complete record, if one has arrived.
    std::optional<std::vector<std::string>> next();

private:
    std::string buffer_;
    std::size_t start_ = 0;
};

}  // namespace portico::plugin_check
