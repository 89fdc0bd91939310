#pragma once
// A small leveled logger. One instance is owned by the host and passed down by
// reference (no global state: plugins and tests each get their own). Lines go
// to stderr whole, so lines from different threads never interleave.
#include <atomic>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace portico {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

std::optional<LogLevel> parse_log_level(std::string_view text);
std::string_view to_string(LogLevel level);

class Logger {
public:
    explicit Logger(LogLevel level = LogLevel::info, std::ostream* out = nullptr);

    void set_level(LogLevel level) noexcept { level_.store(level, std::memory_order_relaxed); }
    LogLevel level() const noexcept { return level_.load(std::memory_order_relaxed); }
    bool enabled(LogLevel level) const noexcept { return level >= this->level(); }

    void write(LogLevel level, std::string_view message);
    void debug(std::string_view message) { if (enabled(LogLevel::debug)) write(LogLevel::debug, message); }
    void info(std::string_view message) { if (enabled(LogLevel::info)) write(LogLevel::info, message); }
    void warn(std::string_view message) { if (enabled(LogLevel::warn)) write(LogLevel::warn, message); }
    void error(std::string_view message) { if (enabled(LogLevel::error)) write(LogLevel::error, message); }

private:
    std::atomic<LogLevel> level_;
    std::ostream* out_;
    std::mutex mutex_;
};

}  // namespace portico
