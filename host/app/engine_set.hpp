#pragma once
// The engines this process runs itself, one endpoint each, by plugin name.
// Used from one thread at a time: the control thread at start and stop, the
// reload thread during a reload (never both: Host::stop joins the reload).
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "engine/engine_endpoint.hpp"
#include "link/link_plan.hpp"
#include "app/reload_plan.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zmq {
class context_t;
}

namespace portico {

class EngineSet {
public:
    // `curve`: filled before the first start() when endpoints speak Curve.
    EngineSet(zmq::context_t& context, const std::optional<CurveKeyPair>& curve, Logger& log)
        : context_(context), curve_(curve), log_(log) {}
    ~EngineSet() { stop_all(); }
    EngineSet(const EngineSet&) = delete;
    EngineSet& operator=(const EngineSet&) = delete;

    // Loads the plugin, binds its endpoint and starts it, without adding it
    // to the set yet; on failure nothing of it runs and the error says why.
    Expected<std::unique_ptr<EngineEndpoint>> start(const PluginConfig& plugin, bool fresh_copy = false) const;
    void add(std::unique_ptr<EngineEndpoint> endpoint);
    // Takes an endpoint out of the set (nullptr: none of that name).
    std::unique_ptr<EngineEndpoint> take(const std::string& name);

    EngineEndpoint* find(const std::string& name) const;
    // What a link to the plugin's engine in this process needs (none: not here).
    std::optional<LocalEngine> local(const std::string& name) const;
    // What the reload planner needs to know of them.
    std::vector<RunningEngine> running() const;

    // Stops every endpoint (each finishes what it holds), then unloads.
    void stop_all();

private:
    zmq::context_t& context_;
    const std::optional<CurveKeyPair>& curve_;
    Logger& log_;
    std::vector<std::unique_ptr<EngineEndpoint>> endpoints_;  // each owns its plugin
};

}  // namespace portico
