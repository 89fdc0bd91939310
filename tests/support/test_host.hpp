#pragma once
// A real portico::Host in this process: started from config text, run on a
// thread of its own, stopped (within a bounded time) when the test is done.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace portico::test {

// One plugin entry for make_config(): `library` on an ephemeral loopback port,
// with `extra` keys (workers, timeout_ms, settings, ...) merged in.
nlohmann::json plugin_entry(const std::string& library, nlohmann::json extra = nlohmann::json::object());

// A whole config: log level warn, the gateway on 127.0.0.1:0 with `gateway`
// keys merged in, and `plugins` ({"name": plugin_entry(...), ...}).
std::string make_config(const nlohmann::json& plugins, const nlohmann::json& gateway = nlohmann::json::object());

class TestHost {
public:
    // Parses the config and starts the host; a failure fails the test.
    explicit TestHost(const std::string& config_json);
    // Stops the host; if it does not stop within 30 s the process aborts
    // (a hung shutdown must not hang the suite).
    ~TestHost();
    TestHost(const TestHost&) = delete;
    TestHost& operator=(const TestHost&) = delete;

    std::uint16_t gateway_port() const;
    // The plugin's bound zmq address, e.g. "tcp://127.0.0.1:40123".
    std::string endpoint_of(const std::string& plugin) const;
    // What the host announced on start-up ("portico: ... ready").
    std::string announcements() const;

    // Asks the host to stop; true when run() returned within `limit`.
    bool stop(std::chrono::milliseconds limit = std::chrono::seconds(10));

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace portico::test
