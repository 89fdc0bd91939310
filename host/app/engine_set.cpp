#include "app/engine_set.hpp"

#include "engine/channel_hub.hpp"
#include "plugin/plugin_loader.hpp"

#include <algorithm>

namespace portico {

Expected<std::unique_ptr<EngineEndpoint>> EngineSet::start(const PluginConfig& plugin, bool fresh_copy) const {
    auto loaded = load_plugin(plugin, fresh_copy, channel_hub_for(plugin));
    if (!loaded) return loaded.error();
    log_.info("loaded plugin {} {} from {}: {}", plugin.name, loaded.value()->version(), plugin.engine.library,
              loaded.value()->description());
    auto endpoint = std::make_unique<EngineEndpoint>(context_, plugin, loaded.value(), log_,
                                                     curve_ ? &*curve_ : nullptr);
    auto started = endpoint->start();
    if (!started) return started.error();
    return endpoint;
}

void EngineSet::add(std::unique_ptr<EngineEndpoint> endpoint) { endpoints_.push_back(std::move(endpoint)); }

std::unique_ptr<EngineEndpoint> EngineSet::take(const std::string& name) {
    auto it = std::find_if(endpoints_.begin(), endpoints_.end(), [&](const auto& e) { return e->name() == name; });
    if (it == endpoints_.end()) return nullptr;
    auto endpoint = std::move(*it);
    endpoints_.erase(it);
    return endpoint;
}

EngineEndpoint* EngineSet::find(const std::string& name) const {
    for (const auto& endpoint : endpoints_)
        if (endpoint->name() == name) return endpoint.get();
    return nullptr;
}

std::optional<LocalEngine> EngineSet::local(const std::string& name) const {
    const EngineEndpoint* endpoint = find(name);
    if (endpoint == nullptr) return std::nullopt;
    return LocalEngine{endpoint->jobs(), endpoint->inproc_endpoint()};
}

std::vector<RunningEngine> EngineSet::running() const {
    std::vector<RunningEngine> engines;
    for (const auto& endpoint : endpoints_)
        engines.push_back(RunningEngine{endpoint->name(), endpoint->plugin().path(), endpoint->plugin().stamp()});
    return engines;
}

void EngineSet::stop_all() {
    for (auto& endpoint : endpoints_) endpoint->stop();
    endpoints_.clear();
}

}  // namespace portico
