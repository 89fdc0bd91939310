#pragma once
// One reload scenario's host: a scratch directory with the config file and
// copies of the plugin files (dice.so, test.so from fixture_misbehaving), and
// the real portico executable started on it with ephemeral ports. A test
// rewrites the config, replaces files and sends SIGHUP, as an operator would.
#include "gateway_client.hpp"
#include "portico_process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace portico::reload_tests {

// Paths of what the tests run, from the build (compile definitions).
std::string portico_executable();
std::string dice_library();
std::string misbehaving_library();
std::string wrong_version_library();

// Plugin entries for the config, with libraries relative to the config file.
nlohmann::json dice_entry(nlohmann::json settings = nlohmann::json::object());
nlohmann::json test_entry(nlohmann::json settings = nlohmann::json::object(), const std::string& library = "test.so");

class HostUnderTest {
public:
    // Writes the config with `plugins`, starts portico and waits until it is
    // ready. Throws std::runtime_error (with the host's output) if it is not.
    explicit HostUnderTest(const nlohmann::json& plugins);

    ScratchDir& dir() noexcept { return dir_; }
    PorticoProcess& process() noexcept { return *process_; }
    std::uint16_t gateway_port() const noexcept { return port_; }
    std::string summary() const { return process_->summary(); }

    // Rewrites the config file: the same gateway section, these plugins.
    void write_config(const nlohmann::json& plugins);
    // Rewrites the config file with exactly this text.
    void write_config_text(const std::string& text);
    ReloadOutcome reload(std::chrono::milliseconds timeout = std::chrono::seconds(20)) { return reload_tests::reload(*process_, timeout); }

private:
    ScratchDir dir_;
    std::unique_ptr<PorticoProcess> process_;
    std::uint16_t port_ = 0;
};

// Reply helpers (envelope replies).
bool is_ok_text(const std::optional<nlohmann::json>& reply, const std::string& text);
std::string error_code(const std::optional<nlohmann::json>& reply);  // "" if none or ok
std::string show(const std::optional<nlohmann::json>& reply);

// Calls PLUGIN PAYLOAD until `done(reply)` holds or `timeout` passes; the last reply.
std::optional<nlohmann::json> call_until(GatewayClient& client, const std::string& plugin, const std::string& payload,
                                         const std::function<bool(const std::optional<nlohmann::json>&)>& done,
                                         std::chrono::milliseconds timeout);
// The names `portico plugins` lists.
std::set<std::string> live_plugins(GatewayClient& client);
// The names a reload summary gives after `kind` ("added", "replaced", ...).
std::set<std::string> reload_list(const std::string& line, const std::string& kind);

}  // namespace portico::reload_tests
