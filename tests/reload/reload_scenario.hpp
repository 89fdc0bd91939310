#pragma once
// What the reload scenarios share: a host under test (a TempDir with the
// config file and copies of the plugin files, dice.so and test.so from
// fixture_misbehaving, and the real portico started on it with ephemeral
// ports), the config entries the scenarios write, and helpers for the
// envelope replies. A test rewrites the config, replaces files and sends
// SIGHUP, as an operator would.
#include "support/pipelined_client.hpp"
#include "support/portico_process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace portico::reload_tests {

// Paths of the fixtures the tests install, from the build (compile definitions).
std::string misbehaving_library();
std::string wrong_version_library();

// Plugin entries for the config, with libraries relative to the config file.
nlohmann::json dice_entry(nlohmann::json settings = nlohmann::json::object());
nlohmann::json test_entry(nlohmann::json settings = nlohmann::json::object(), const std::string& library = "test.so");
// test_entry(), isolated ("isolate": true) and with quick heartbeats, so
// that a lost child is noticed within moments.
nlohmann::json isolated_test_entry(nlohmann::json settings = nlohmann::json::object());

class HostUnderTest {
public:
    // Writes the config with `plugins`, starts portico and waits until it is
    // ready. Throws std::runtime_error (with the host's output) if it is not.
    explicit HostUnderTest(const nlohmann::json& plugins);

    test::TempDir& dir() noexcept { return dir_; }
    test::PorticoProcess& process() noexcept { return *process_; }
    std::uint16_t gateway_port() const { return process_->gateway_port(); }
    std::string summary() const { return process_->summary(); }

    // Rewrites the config file: the same gateway section, these plugins.
    void write_config(const nlohmann::json& plugins);
    // Rewrites the config file with exactly this text.
    void write_config_text(const std::string& text);
    test::ReloadOutcome reload(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        return process_->reload(timeout);
    }

private:
    test::TempDir dir_;
    std::unique_ptr<test::PorticoProcess> process_;
};

// A stream of `in_flight` requests of PLUGIN PAYLOAD, each reply checked by `check`.
test::StreamOptions requests(const std::string& plugin, const std::string& payload, unsigned in_flight,
                             test::ReplyCheck check);
// A check for dice rolls of `count` dice of `sides` sides.
test::ReplyCheck dice_roll_check(unsigned count, unsigned sides);
// A check for a text reply from `plugin`.
test::ReplyCheck text_check(const std::string& plugin, const std::string& text);

// Sends SIGHUP and requires the reload it starts to be applied, not refused, in time.
test::ReloadOutcome require_applied(HostUnderTest& host);
// Sends SIGHUP and requires the reload it starts to end in time, refused.
test::ReloadOutcome require_refused(HostUnderTest& host);
// SIGTERM: the host stops within `timeout` and exits 0 (a failed check otherwise).
void require_clean_stop(HostUnderTest& host, std::chrono::milliseconds timeout = std::chrono::seconds(10));
// "gone" when no process has that PID (ESRCH); otherwise what /proc says.
std::string process_state(pid_t pid);

// Reply helpers (envelope replies).
bool is_ok_text(const std::optional<nlohmann::json>& reply, const std::string& text);
std::string error_code(const std::optional<nlohmann::json>& reply);  // "" if none or ok
std::string show(const std::optional<nlohmann::json>& reply);

// Calls PLUGIN PAYLOAD until `done(reply)` holds or `timeout` passes; the last reply.
std::optional<nlohmann::json> call_until(test::PipelinedClient& client, const std::string& plugin,
                                         const std::string& payload,
                                         const std::function<bool(const std::optional<nlohmann::json>&)>& done,
                                         std::chrono::milliseconds timeout);
// The names `portico plugins` lists.
std::set<std::string> live_plugins(test::PipelinedClient& client);

}  // namespace portico::reload_tests
