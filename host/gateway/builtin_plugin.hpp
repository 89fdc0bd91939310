#pragma once
// The gateway's own plugin, "portico": answers questions about the gateway
// itself without any engine. `portico plugins` lists the plugins served here
// (name, version, description, usage, engines in rotation); `portico version`.
#include "core/net.hpp"
#include "gateway/router.hpp"

#include <string>

namespace portico {

inline constexpr std::string_view builtin_plugin_name = "portico";

// A command of the portico plugin without the spaces around it (the session
// answers some of them itself: refresh, whoami).
std::string_view trim_command(std::string_view text);

class BuiltinPlugin final : public EngineLink {
public:
    BuiltinPlugin(net::io_context& io, Router& router);

    SendResult send(std::uint64_t request_id, std::string_view client_id, std::string_view payload,
                    const CallerRef& caller) override;
    std::chrono::milliseconds timeout() const override { return std::chrono::seconds(5); }
    LinkStatus status() const override;
    bool idle() const override { return true; }  // an answer in the loop's queue needs only the router

    // The answer to one command: pure, for tests.
    Reply answer(std::string_view command) const;

private:
    net::io_context& io_;
    Router& router_;
};

}  // namespace portico
