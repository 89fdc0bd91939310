#include "core/logger.hpp"

#include <algorithm>

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>

#include <iostream>

namespace portico {
namespace {

// spdlog says "warning"; portico's level names are its config's words.
class LevelName final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& message, const std::tm&, spdlog::memory_buf_t& out) override {
        const std::string_view name = to_string(from_spdlog(message.level));
        out.append(name.data(), name.data() + name.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelName>(); }

private:
    static LogLevel from_spdlog(spdlog::level::level_enum level) {
        switch (level) {
            case spdlog::level::trace:
            case spdlog::level::debug: return LogLevel::debug;
            case spdlog::level::info: return LogLevel::info;
            case spdlog::level::warn: return LogLevel::warn;
            default: return LogLevel::error;
        }
    }
};

spdlog::level::level_enum to_spdlog(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return spdlog::level::debug;
        case LogLevel::info: return spdlog::level::info;
        case LogLevel::warn: return spdlog::level::warn;
        case LogLevel::error: return spdlog::level::err;
        case LogLevel::off: return spdlog::level::off;
    }
    return spdlog::level::info;
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
    if (text == "debug") return LogLevel::debug;
    if (text == "info") return LogLevel::info;
    if (text == "warn") return LogLevel::warn;
    if (text == "error") return LogLevel::error;
    if (text == "off") return LogLevel::off;
    return std::nullopt;
}

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
        case LogLevel::off: return "off";
    }
    return "?";
}

namespace {

// A JSON string's text, quotes included; bytes that are not UTF-8 become U+FFFD.
std::string json_string(std::string_view text) {
    return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// For the text format: a control character (a newline from outside, say)
// must not start a line of its own that looks like ours; it is written \xNN.
std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (!is_control(c)) {
            out += c;
            continue;
        }
        constexpr char hex[] = "0123456789abcdef";
        const auto byte = static_cast<unsigned char>(c);
        out += "\\x";
        out += hex[byte >> 4];
        out += hex[byte & 0xf];
    }
    return out;
}

// A text field's value as it is, or JSON-quoted where it would not read back
// as one key=value (empty, spaces, quotes, '=', control characters).
std::string field_value(std::string_view value) {
    const bool plain = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
        return c == ' ' || c == '"' || c == '=' || is_control(c);
    });
    return plain ? std::string(value) : json_string(value);
}

}  // namespace

Logger::Logger(LogLevel level, std::ostream* out, LogFormat format) : level_(level), format_(format) {
    // std::cerr, not stderr: a redirected std::cerr is followed.
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out ? *out : std::cerr, true);
    logger_ = std::make_shared<spdlog::logger>("portico", std::move(sink));
    // Filtering is ours (enabled()): spdlog writes what it is given.
    logger_->set_level(spdlog::level::trace);
    logger_->flush_on(spdlog::level::trace);
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    // RFC 3339 with milliseconds. In JSON, %v is the message and its fields
    // already encoded by write()/fields().
    formatter->add_flag<LevelName>('*').set_pattern(format_ == LogFormat::json
                                                       ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%*",%v})"
                                                       : "%Y-%m-%dT%H:%M:%S.%eZ %* %v");
    logger_->set_formatter(std::move(formatter));
}

Logger::~Logger() = default;

void Logger::write(LogLevel level, std::string_view message) {
    if (format_ == LogFormat::json) {
        logger_->log(to_spdlog(level), "\"message\":{}", json_string(message));
        return;
    }
    logger_->log(to_spdlog(level), "{}", printable(message));
}

void Logger::fields(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
    if (!enabled(level)) return;
    std::string line;
    if (format_ == LogFormat::json) {
        line = "\"message\":" + json_string(message);
        for (const auto& field : fields) line += "," + json_string(field.key) + ":" + json_string(field.value);
    } else {
        line = printable(message);
        for (const auto& field : fields) {
            line += ' ';
            line += field.key;
            line += '=';
            line += field_value(field.value);
        }
    }
    logger_->log(to_spdlog(level), "{}", line);
}

}  // namespace portico
