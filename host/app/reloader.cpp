#include "app/reloader.hpp"

#include "app/reload_plan.hpp"
#include "engine/channel_hub.hpp"
#include "plugin/plugin_loader.hpp"

#include <nlohmann/json.hpp>

namespace portico {

Reloader::Reloader(Config& config, EngineSet& engines, IsolatedEngines& isolated, Gateway* gateway,
                   net::io_context& control, LinkSpecFor link_spec, Logger& log, Announcer& announce)
    : config_(config),
      engines_(engines),
      isolated_(isolated),
      gateway_(gateway),
      control_(control),
      link_spec_(std::move(link_spec)),
      log_(log),
      announce_(announce) {}

Expected<std::string> Reloader::reload(Config next) {
    const ReloadPlan plan = plan_reload(config_, next, engines_.running(), stamp_file);
    for (const auto& what : plan.warnings)
        log_.warn("reload: {} changed in {}; that takes effect at the next restart", what, next.source);

    // Everything that can fail, first: nothing of it serves yet.
    std::vector<std::unique_ptr<EngineEndpoint>> started;
    auto undo = [&started] {
        for (auto& endpoint : started) endpoint->stop();
    };
    for (const auto& load : plan.start) {
        auto endpoint = engines_.start(load.plugin, load.fresh_copy);
        if (!endpoint) {
            undo();
            return endpoint.error();
        }
        started.push_back(std::move(endpoint).value());
    }
    std::vector<std::pair<EngineEndpoint*, std::shared_ptr<LoadedPlugin>>> swaps;
    for (const auto& load : plan.swap) {
        auto loaded = load_plugin(load.plugin, load.fresh_copy, channel_hub_for(load.plugin));
        if (!loaded) {
            undo();
            return loaded.error();
        }
        swaps.emplace_back(engines_.find(load.plugin.name), loaded.value());
    }
    // Last of what can fail: from here on, new connections use the new pair.
    if (gateway_ && (plan.tls || plan.jwt)) {
        auto reloaded = gateway_->reload_keys(plan.tls, plan.jwt);
        if (!reloaded) {
            undo();
            return reloaded.error();
        }
    }

    // Commit: new endpoints join, the gateway routes to what is now served,
    // isolated engines follow on the control thread, and what goes drains.
    std::vector<std::unique_ptr<EngineEndpoint>> stopping;
    for (const auto& name : plan.stop)
        if (auto endpoint = engines_.take(name)) stopping.push_back(std::move(endpoint));
    for (auto& endpoint : started) {
        announce_.line("portico: plugin " + endpoint->name() + " " + endpoint->plugin().version() + " serving on " +
                       endpoint->bound_endpoint());
        engines_.add(std::move(endpoint));
    }
    config_.plugins = next.plugins;
    if (next.log_level != config_.log_level) {
        config_.log_level = next.log_level;
        log_.set_level(next.log_level);
    }
    if (gateway_) {
        for (const auto& plugin : plan.route) gateway_->set_plugin(link_spec_(plugin));
        for (const auto& name : plan.unroute) gateway_->remove_plugin(name);
    }
    // The Reloader is gone by then; the isolated engines are not.
    net::post(control_, [&isolated = isolated_, wanted = plan.isolated]() mutable { isolated.want(std::move(wanted)); });
    for (std::size_t i = 0; i < swaps.size(); ++i)
        swaps[i].first->replace(swaps[i].second, plan.swap[i].plugin);  // returns once the old workers are done
    // The old engines finish what they hold (gateways were told "bye"), then unload.
    for (auto& endpoint : stopping) endpoint->stop();
    announce_.event("reloaded", {{"added", plan.added},
                                 {"replaced", plan.replaced},
                                 {"removed", plan.removed},
                                 {"rerouted", plan.rerouted}});
    return plan.summary();
}

}  // namespace portico
