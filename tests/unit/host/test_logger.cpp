// The leveled logger (host/logger.hpp): level names, filtering, the line
// format, and whole lines from many threads.
#include "core/logger.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using portico::Logger;
using portico::LogLevel;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        REQUIRE(end != std::string::npos);  // every line is terminated
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

bool two_digits(const std::string& s, std::size_t at, int max) {
    if (!std::isdigit(static_cast<unsigned char>(s[at])) || !std::isdigit(static_cast<unsigned char>(s[at + 1])))
        return false;
    return (s[at] - '0') * 10 + (s[at + 1] - '0') <= max;
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ <level> <message>" (RFC 3339, UTC, milliseconds);
// returns the message, or fails when the line does not have that shape.
constexpr std::size_t stamp_size = 24;  // "2026-12-02T09:15:00.123Z"

void check_stamp(const std::string& line) {
    INFO("line: \"" << line << "\"");
    REQUIRE(line.size() >= stamp_size);
    for (std::size_t i : {0u, 1u, 2u, 3u}) CHECK(std::isdigit(static_cast<unsigned char>(line[i])));
    CHECK(line[4] == '-');
    CHECK(two_digits(line, 5, 12));
    CHECK(line[7] == '-');
    CHECK(two_digits(line, 8, 31));
    CHECK(line[10] == 'T');
    CHECK(two_digits(line, 11, 23));
    CHECK(line[13] == ':');
    CHECK(two_digits(line, 14, 59));
    CHECK(line[16] == ':');
    CHECK(two_digits(line, 17, 60));
    CHECK(line[19] == '.');
    for (std::size_t i = 20; i < 23; ++i) CHECK(std::isdigit(static_cast<unsigned char>(line[i])));
    CHECK(line[23] == 'Z');
}

std::string message_of(const std::string& line, std::string_view level) {
    INFO("line: \"" << line << "\"");
    check_stamp(line);
    REQUIRE(line.size() >= stamp_size + 1 + level.size());
    CHECK(line[stamp_size] == ' ');
    REQUIRE(line.compare(stamp_size + 1, level.size(), level) == 0);
    REQUIRE(line.size() > stamp_size + 1 + level.size());
    CHECK(line[stamp_size + 1 + level.size()] == ' ');
    return line.substr(stamp_size + 2 + level.size());
}

void log_one_of_each(Logger& log) {
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
}

}  // namespace

TEST_CASE("parse_log_level knows the five level names", "[logger]") {
    CHECK(portico::parse_log_level("debug") == LogLevel::debug);
    CHECK(portico::parse_log_level("info") == LogLevel::info);
    CHECK(portico::parse_log_level("warn") == LogLevel::warn);
    CHECK(portico::parse_log_level("error") == LogLevel::error);
    CHECK(portico::parse_log_level("off") == LogLevel::off);
    for (const char* bad : {"", "INFO", "Info", "warning", "err", "trace", " info", "info ", "none", "4"}) {
        INFO("text: \"" << bad << "\"");
        CHECK_FALSE(portico::parse_log_level(bad).has_value());
    }
}

TEST_CASE("to_string names each level, and parse_log_level reads it back", "[logger]") {
    for (LogLevel level : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off}) {
        const auto name = portico::to_string(level);
        INFO("level: " << name);
        CHECK(portico::parse_log_level(name) == level);
    }
    CHECK(portico::to_string(LogLevel::warn) == "warn");
}

TEST_CASE("a logger writes messages at or above its level", "[logger]") {
    struct Case {
        LogLevel level;
        const char* expected;  // the messages of log_one_of_each that appear
    };
    const auto c = GENERATE(values<Case>({{LogLevel::debug, "diwe"},
                                          {LogLevel::info, "iwe"},
                                          {LogLevel::warn, "we"},
                                          {LogLevel::error, "e"},
                                          {LogLevel::off, ""}}));
    INFO("level: " << portico::to_string(c.level));
    std::ostringstream out;
    Logger log(c.level, &out);
    log_one_of_each(log);
    std::string seen;
    for (const auto& line : lines_of(out.str())) {
        const char first = line.size() > stamp_size + 1 ? line[stamp_size + 1] : '?';  // d(ebug), i(nfo), w(arn), e(rror)
        const std::string_view name = first == 'd' ? "debug" : first == 'i' ? "info" : first == 'w' ? "warn" : "error";
        seen += message_of(line, name);
    }
    CHECK(seen == c.expected);
}

TEST_CASE("enabled() agrees with the level", "[logger]") {
    const LogLevel levels[] = {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off};
    for (LogLevel logger_level : levels) {
        std::ostringstream out;
        const Logger log(logger_level, &out);
        CHECK(log.level() == logger_level);
        for (LogLevel message_level : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
            INFO("logger " << portico::to_string(logger_level) << ", message " << portico::to_string(message_level));
            CHECK(log.enabled(message_level) == (static_cast<int>(message_level) >= static_cast<int>(logger_level)));
        }
    }
}

TEST_CASE("set_level changes what is written from then on", "[logger]") {
    std::ostringstream out;
    Logger log(LogLevel::error, &out);
    log.info("hidden");
    CHECK(out.str().empty());
    log.set_level(LogLevel::debug);
    CHECK(log.level() == LogLevel::debug);
    log.debug("shown");
    log.set_level(LogLevel::off);
    log.error("hidden too");
    const auto lines = lines_of(out.str());
    REQUIRE(lines.size() == 1);
    CHECK(message_of(lines[0], "debug") == "shown");
}

TEST_CASE("a line is time, level and message, ended by a newline", "[logger]") {
    std::ostringstream out;
    Logger log(LogLevel::debug, &out);
    log.warn("engine dice: 3 workers, \"quoted\" and \xc3\xa9");
    log.info("");
    log.write(LogLevel::error, "written directly");
    const std::string text = out.str();
    REQUIRE_FALSE(text.empty());
    CHECK(text.back() == '\n');
    const auto lines = lines_of(text);
    REQUIRE(lines.size() == 3);
    CHECK(message_of(lines[0], "warn") == "engine dice: 3 workers, \"quoted\" and \xc3\xa9");
    CHECK(lines[1].size() == stamp_size + 6);  // the stamp, " info " and no message
    CHECK(lines[1].compare(stamp_size, 6, " info ") == 0);
    CHECK(message_of(lines[2], "error") == "written directly");
}

TEST_CASE("loggers are independent: each has its own level and stream", "[logger]") {
    std::ostringstream a_out, b_out;
    Logger a(LogLevel::debug, &a_out);
    Logger b(LogLevel::error, &b_out);
    a.info("to a");
    b.info("not to b");
    b.error("to b");
    CHECK(lines_of(a_out.str()).size() == 1);
    const auto b_lines = lines_of(b_out.str());
    REQUIRE(b_lines.size() == 1);
    CHECK(message_of(b_lines[0], "error") == "to b");
}

TEST_CASE("without a stream the logger writes to stderr", "[logger]") {
    std::ostringstream captured;
    std::streambuf* const original = std::cerr.rdbuf(captured.rdbuf());
    struct Restore {
        std::streambuf* buffer;
        ~Restore() { std::cerr.rdbuf(buffer); }
    } restore{original};

    Logger log(LogLevel::info);
    log.info("to stderr");
    const auto lines = lines_of(captured.str());
    REQUIRE(lines.size() == 1);
    CHECK(message_of(lines[0], "info") == "to stderr");
}

TEST_CASE("lines from many threads are written whole, never interleaved", "[logger][threads]") {
    constexpr int threads = 8;
    constexpr int lines_per_thread = 2000;
    std::ostringstream out;
    Logger log(LogLevel::debug, &out);

    // Long lines make a torn write likely if lines were not written whole.
    auto body = [](int thread, int line) {
        return "thread " + std::to_string(thread) + " line " + std::to_string(line) + " " +
               std::string(200, static_cast<char>('a' + thread));
    };
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&log, &body, t] {
            for (int i = 0; i < lines_per_thread; ++i) {
                if (i % 2 == 0) log.info("{}", body(t, i));
                else log.warn("{}", body(t, i));
            }
        });
    for (auto& worker : workers) worker.join();

    const auto lines = lines_of(out.str());
    REQUIRE(lines.size() == static_cast<std::size_t>(threads * lines_per_thread));
    std::vector<int> next(threads, 0);  // each thread's lines appear in its own order
    int bad = 0;
    for (const auto& line : lines) {
        int thread = -1;
        int number = -1;
        const bool is_info = line.compare(stamp_size, 6, " info ") == 0;
        constexpr std::size_t at = stamp_size + 6;  // the stamp, then " info " or " warn ", both 6 characters
        if (line.size() > at && std::sscanf(line.c_str() + at, "thread %d line %d", &thread, &number) == 2 &&
            thread >= 0 && thread < threads && line == line.substr(0, at) + body(thread, number) &&
            number == next[static_cast<std::size_t>(thread)] &&
            is_info == (number % 2 == 0) && (is_info || line.compare(stamp_size, 6, " warn ") == 0)) {
            ++next[static_cast<std::size_t>(thread)];
        } else {
            ++bad;
            if (bad <= 3) UNSCOPED_INFO("bad line: " << line.substr(0, 80));
        }
    }
    CHECK(bad == 0);
    for (int t = 0; t < threads; ++t) CHECK(next[static_cast<std::size_t>(t)] == lines_per_thread);
}

TEST_CASE("fields follow the message as key=value in text, quoted when they hold a space", "[logger][fields]") {
    std::ostringstream out;
    Logger log(LogLevel::debug, &out);
    log.fields(LogLevel::info, "client closed", {{"client", "c1"}, {"code", "1000"}, {"reason", "bye now"}});
    log.fields(LogLevel::debug, "not written", {});
    log.set_level(LogLevel::info);
    log.fields(LogLevel::debug, "filtered", {{"client", "c2"}});
    const auto lines = lines_of(out.str());
    REQUIRE(lines.size() == 2);
    CHECK(message_of(lines[0], "info") == "client closed client=c1 code=1000 reason=\"bye now\"");
    CHECK(message_of(lines[1], "debug") == "not written");
}

TEST_CASE("text lines stay one line each: control characters are escaped, odd field values quoted",
          "[logger][text_escape]") {
    std::ostringstream out;
    Logger log(LogLevel::debug, &out);
    log.warn("origin \"{}\" refused", "evil\n2026-01-01T00:00:00.000Z error forged");
    log.fields(LogLevel::info, "closed", {{"reason", "a=b"}, {"empty", ""}, {"tab", "x\ty"}, {"plain", "c1"}});
    const auto lines = lines_of(out.str());
    REQUIRE(lines.size() == 2);
    CHECK(message_of(lines[0], "warn") == "origin \"evil\\x0a2026-01-01T00:00:00.000Z error forged\" refused");
    CHECK(message_of(lines[1], "info") == "closed reason=\"a=b\" empty=\"\" tab=\"x\\ty\" plain=c1");
}

TEST_CASE("log_format json: one object a line with time, level, message and the fields", "[logger][json]") {
    std::ostringstream out;
    Logger log(LogLevel::debug, &out, portico::LogFormat::json);
    log.warn("engine {}: \"quoted\", a newline\nand \xff", "dice");
    log.fields(LogLevel::info, "client closed", {{"client", "c1"}, {"code", "1001"}});
    const auto lines = lines_of(out.str());
    REQUIRE(lines.size() == 2);
    const auto first = nlohmann::json::parse(lines[0]);
    CHECK(first.size() == 3);
    CHECK(first.at("level") == "warn");
    // Not UTF-8: replaced, so the line stays valid JSON.
    CHECK(first.at("message") == "engine dice: \"quoted\", a newline\nand \xef\xbf\xbd");
    const std::string time = first.at("time");
    check_stamp(time);
    CHECK(time.size() == stamp_size);
    const auto second = nlohmann::json::parse(lines[1]);
    CHECK(second == nlohmann::json{{"time", second.at("time")}, {"level", "info"}, {"message", "client closed"},
                                   {"client", "c1"}, {"code", "1001"}});
}
