#include "host_under_test.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace portico::reload_tests {

using nlohmann::json;
using namespace std::chrono_literals;

std::string portico_executable() { return PORTICO_EXECUTABLE; }
std::string dice_library() { return PORTICO_DICE_PLUGIN; }
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

HostUnderTest::HostUnderTest(const json& plugins) {
    dir_.install(dice_library(), "dice.so");
    dir_.install(misbehaving_library(), "test.so");
    write_config(plugins);
    process_ = std::make_unique<PorticoProcess>(portico_executable(), dir_.file("portico.json"));
    if (!process_->wait_ready(15s)) throw std::runtime_error("portico did not get ready:\n" + process_->summary());
    port_ = process_->gateway_port();
    if (port_ == 0) throw std::runtime_error("portico announced no gateway port:\n" + process_->summary());
}

void HostUnderTest::write_config(const json& plugins) {
    // PORTICO_RELOAD_LOG_LEVEL=debug: more of the host's log in failure messages.
    const char* level = std::getenv("PORTICO_RELOAD_LOG_LEVEL");
    const json config = {
        {"log_level", level != nullptr ? level : "info"},
        {"gateway", {{"listen", "127.0.0.1:0"}, {"drain_timeout_ms", 3000}}},
        {"plugins", plugins},
    };
    write_config_text(config.dump(2) + "\n");
}

void HostUnderTest::write_config_text(const std::string& text) { dir_.write("portico.json", text); }

bool is_ok_text(const std::optional<json>& reply, const std::string& text) {
    return reply && reply->value("ok", false) == true && reply->value("result", json()) == json(text);
}

std::string error_code(const std::optional<json>& reply) {
    if (!reply || reply->value("ok", true)) return {};
    const json error = reply->value("error", json::object());
    return error.is_object() ? error.value("code", std::string()) : std::string();
}

std::string show(const std::optional<json>& reply) { return reply ? reply->dump() : std::string("(no reply)"); }

std::optional<json> call_until(GatewayClient& client, const std::string& plugin, const std::string& payload,
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

std::set<std::string> live_plugins(GatewayClient& client) {
    std::set<std::string> names;
    const auto reply = client.call("portico", "plugins");
    if (!reply || !reply->value("ok", false)) return names;
    const json result = reply->value("result", json::object());
    for (const auto& plugin : result.value("plugins", json::array()))
        if (plugin.is_object() && plugin.contains("name")) names.insert(plugin["name"].get<std::string>());
    return names;
}

std::set<std::string> reload_list(const std::string& line, const std::string& kind) {
    // "... reload: added a,b; replaced -; removed c; rerouted -"
    std::set<std::string> names;
    const auto start = line.find(kind + " ");
    if (start == std::string::npos) return names;
    const auto begin = start + kind.size() + 1;
    const auto end = line.find(';', begin);
    const std::string list = line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    std::size_t from = 0;
    while (from <= list.size()) {
        const auto comma = list.find(',', from);
        const std::string name = list.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
        if (!name.empty() && name != "-") names.insert(name);
        if (comma == std::string::npos) break;
        from = comma + 1;
    }
    return names;
}

}  // namespace portico::reload_tests
