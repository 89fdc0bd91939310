#include "reload_scenario.hpp"

#include "support/checks.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace portico::reload_tests {

using nlohmann::json;
using namespace std::chrono_literals;

std::string misbehaving_library() { return PORTICO_FIXTURE_MISBEHAVING; }
std::string wrong_version_library() { return PORTICO_FIXTURE_WRONG_VERSION; }

json dice_entry(json settings) {
    return {{"library", "dice.so"}, {"endpoint", "tcp://127.0.0.1:0"}, {"workers", 2}, {"settings", settings}};
}

json test_entry(json settings, const std::string& library) {
    return {{"library", library},
            {"endpoint", "tcp://127.0.0.1:0"},
            {"workers", 2},
            {"timeout_ms", 5000},
            {"settings", settings}};
}

json isolated_test_entry(json settings) {
    json entry = test_entry(std::move(settings));
    entry["isolate"] = true;
    entry["heartbeat_ms"] = 100;
    entry["dead_after_ms"] = 400;
    return entry;
}

HostUnderTest::HostUnderTest(const json& plugins) {
    dir_.install(PORTICO_DICE_PLUGIN, "dice.so");
    dir_.install(misbehaving_library(), "test.so");
    write_config(plugins);
    process_ = std::make_unique<test::PorticoProcess>(dir_.file("portico.json"));
    if (!process_->wait_ready(15s)) throw std::runtime_error("portico did not get ready:\n" + process_->summary());
    if (gateway_port() == 0) throw std::runtime_error("portico announced no gateway port:\n" + process_->summary());
}

void HostUnderTest::write_config(const json& plugins) {
    // PORTICO_TEST_LOG_LEVEL=debug: more of the host's log in failure messages.
    const char* level = std::getenv("PORTICO_TEST_LOG_LEVEL");
    const json config = {
        {"log_level", level != nullptr ? level : "info"},
        {"gateway", {{"listen", "127.0.0.1:0"}, {"drain_timeout_ms", 3000}}},
        {"plugins", plugins},
    };
    write_config_text(config.dump(2) + "\n");
}

void HostUnderTest::write_config_text(const std::string& text) { dir_.write("portico.json", text); }

test::ReloadOutcome require_applied(HostUnderTest& host) {
    const test::ReloadOutcome outcome = host.reload();
    INFO(host.summary());
    INFO("the reload's event: " << outcome.event.dump());
    REQUIRE(outcome.finished);
    REQUIRE_FALSE(outcome.refused);
    return outcome;
}

test::ReloadOutcome require_refused(HostUnderTest& host) {
    const test::ReloadOutcome outcome = host.reload();
    INFO(host.summary());
    INFO("the reload's event: " << outcome.event.dump());
    REQUIRE(outcome.finished);
    CHECK(outcome.refused);
    return outcome;
}

void require_clean_stop(HostUnderTest& host, std::chrono::milliseconds timeout) {
    host.process().terminate();
    test::require_exit_0(host.process(), timeout);
}

std::string process_state(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return "gone";
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    return "still there: " + (stat.empty() ? std::string("(no /proc entry)") : stat);
}

test::StreamOptions requests(const std::string& plugin, const std::string& payload, unsigned in_flight,
                             test::ReplyCheck check) {
    test::StreamOptions options;
    options.plugin = plugin;
    options.payload = payload;
    options.in_flight = in_flight;
    options.check = std::move(check);
    return options;
}

test::ReplyCheck dice_roll_check(unsigned count, unsigned sides) {
    return [count, sides](const json& reply) -> std::string {
        if (reply.value("ok", false) != true || reply.value("plugin", "") != "dice") return "not a dice result: " + reply.dump();
        const auto& result = reply.contains("result") ? reply["result"] : json();
        if (!result.is_object() || !result.contains("rolls") || !result["rolls"].is_array() ||
            result["rolls"].size() != count || !result.contains("total") || !result["total"].is_number_integer())
            return "malformed roll: " + reply.dump();
        long sum = 0;
        for (const auto& roll : result["rolls"]) {
            if (!roll.is_number_integer() || roll.get<long>() < 1 || roll.get<long>() > static_cast<long>(sides))
                return "die out of range: " + reply.dump();
            sum += roll.get<long>();
        }
        if (sum != result["total"].get<long>()) return "total is not the sum of the rolls: " + reply.dump();
        return {};
    };
}

test::ReplyCheck text_check(const std::string& plugin, const std::string& text) {
    return [plugin, text](const json& reply) -> std::string {
        if (reply.value("ok", false) != true || reply.value("plugin", "") != plugin ||
            reply.value("result", json()) != json(text))
            return "expected ok " + plugin + " \"" + text + "\", got " + reply.dump();
        return {};
    };
}

bool is_ok_text(const std::optional<json>& reply, const std::string& text) {
    return reply && reply->value("ok", false) == true && reply->value("result", json()) == json(text);
}

std::string error_code(const std::optional<json>& reply) { return reply ? test::error_code_of(*reply) : std::string(); }

std::string show(const std::optional<json>& reply) { return reply ? reply->dump() : std::string("(no reply)"); }

std::optional<json> call_until(test::PipelinedClient& client, const std::string& plugin, const std::string& payload,
                               const std::function<bool(const std::optional<json>&)>& done,
                               std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<json> reply;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        reply = client.call(plugin, payload, std::max(left, std::chrono::milliseconds(100)));
        if (done(reply) || std::chrono::steady_clock::now() >= deadline || !client.connected()) return reply;
        std::this_thread::sleep_for(50ms);
    }
}

std::set<std::string> live_plugins(test::PipelinedClient& client) {
    std::set<std::string> names;
    const auto reply = client.call("portico", "plugins");
    if (!reply || !reply->value("ok", false)) return names;
    const json result = reply->value("result", json::object());
    for (const auto& plugin : result.value("plugins", json::array()))
        if (plugin.is_object() && plugin.contains("name")) names.insert(plugin["name"].get<std::string>());
    return names;
}

}  // namespace portico::reload_tests
