#include "link/link_plan.hpp"

namespace portico {

LinkSpec plan_link(const PluginConfig& plugin, const LocalEngine* local, const std::string& isolated_endpoint,
                   const std::string& own_public_key) {
    // Beside other engines, the local one is one more zmq peer (over inproc)
    // so that dispatch weighs them all alike. An isolated engine is reached
    // over its private ipc socket, remote ones over their addresses.
    LinkSpec spec;
    spec.plugin = plugin;
    if (local && isolated_endpoint.empty() && plugin.route.connect.empty()) {
        spec.local = local->jobs;
        return spec;
    }
    const std::string& remote_key = plugin.route.server_key.empty() ? own_public_key : plugin.route.server_key;
    auto add = [&spec](const std::string& address, const std::string& key) {
        spec.addresses.push_back(address);
        spec.server_keys.push_back(key);
    };
    if (local) add(local->inproc_endpoint, {});
    if (!isolated_endpoint.empty()) add(isolated_endpoint, own_public_key);
    for (const auto& address : plugin.route.connect) add(address, remote_key);
    // A gateway reading an engine's own config: its endpoint.
    if (spec.addresses.empty()) add(plugin.serve.endpoint, remote_key);
    return spec;
}

}  // namespace portico
