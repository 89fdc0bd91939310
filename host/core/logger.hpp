#pragma once
// A leveled logger over spdlog. One instance is owned by the host and passed
// down by reference: no global state (spdlog's registry is not used), and
// tests each get their own. Messages are fmt format strings with arguments,
// formatted only when their level is enabled; every line goes out whole, so
// lines from different threads never interleave.
//
//   log.info("plugin {}: engine {} is back", plugin, address);
#include <fmt/core.h>

#include <atomic>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace portico {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };
// text: "2026-12-02T09:15:00.123Z info message key=value"; json: one object a
// line, {"time", "level", "message", and the fields}.
enum class LogFormat { text, json };

// A named value that goes with a message (plugin, client, code, ...): a
// field of its own in JSON lines, key=value after the message in text.
struct LogField {
    std::string_view key;
    std::string value;
};

std::optional<LogLevel> parse_log_level(std::string_view text);
std::string_view to_string(LogLevel level);

class Logger {
public:
    // Lines go to `out` (stderr when null), times in UTC.
    explicit Logger(LogLevel level = LogLevel::info, std::ostream* out = nullptr, LogFormat format = LogFormat::text);
    ~Logger();
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;

    void set_level(LogLevel level) noexcept { level_.store(level, std::memory_order_relaxed); }
    LogLevel level() const noexcept { return level_.load(std::memory_order_relaxed); }
    bool enabled(LogLevel level) const noexcept { return level >= this->level() && level != LogLevel::off; }

    template <class... Args>
    void debug(fmt::format_string<Args...> format, Args&&... args) {
        log(LogLevel::debug, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    void info(fmt::format_string<Args...> format, Args&&... args) {
        log(LogLevel::info, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    void warn(fmt::format_string<Args...> format, Args&&... args) {
        log(LogLevel::warn, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    void error(fmt::format_string<Args...> format, Args&&... args) {
        log(LogLevel::error, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
        if (enabled(level)) write(level, fmt::format(format, std::forward<Args>(args)...));
    }

    // A message with fields, if `level` is enabled.
    void fields(LogLevel level, std::string_view message, std::initializer_list<LogField> fields);

    // One line, already formatted (written whatever the level).
    void write(LogLevel level, std::string_view message);

private:
    std::atomic<LogLevel> level_;
    LogFormat format_;
    std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace portico
