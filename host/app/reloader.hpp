#pragma once
// Carries out a reload (SIGHUP) on the reload thread: plans it with
// plan_reload(), loads every new or changed engine and binds every new
// endpoint first (any failure undoes that and changes nothing), then swaps
// them in, reroutes the gateway, hands the isolated engines' new goal to the
// control thread and lets what goes drain. Clients stay connected.
#include "app/announcer.hpp"
#include "app/engine_set.hpp"
#include "app/isolated_engines.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"
#include "gateway/gateway.hpp"
#include "link/link_plan.hpp"

#include <functional>
#include <iosfwd>
#include <string>

namespace portico {

class Reloader {
public:
    using LinkSpecFor = std::function<LinkSpec(const PluginConfig&)>;

    // `gateway` may be null (role engine). `config` is the running config:
    // its plugins and log level change with each reload, nothing else.
    Reloader(Config& config, EngineSet& engines, IsolatedEngines& isolated, Gateway* gateway,
             net::io_context& control, LinkSpecFor link_spec, Logger& log, Announcer& announce);

    // Returns the one-line summary, or why nothing changed. Blocks while old
    // engines drain.
    Expected<std::string> reload(Config next);

private:
    Config& config_;
    EngineSet& engines_;
    IsolatedEngines& isolated_;
    Gateway* gateway_;
    net::io_context& control_;
    LinkSpecFor link_spec_;
    Logger& log_;
    Announcer& announce_;
};

}  // namespace portico
