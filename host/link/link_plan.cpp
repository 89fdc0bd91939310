#include "link/link_plan.hpp"

namespace portico {

LinkSpec plan_link(const PluginConfig& plugin, const LocalEngine* local, const std::string& isolated_endpoint) {
    // Beside other engines, the local one is one more zmq peer (over inproc)
    // so that dispatch weighs them all alike. An isolated engine is reached
    // over its private ipc socket, remote ones over their addresses.
    LinkSpec spec;
    spec.plugin = plugin;
    if (local && isolated_endpoint.empty() && plugin.route.connect.empty()) {
        spec.local = local->jobs;
        return spec;
    }
    if (local) spec.addresses.push_back(local->inproc_endpoint);
    if (!isolated_endpoint.empty()) spec.addresses.push_back(isolated_endpoint);
    spec.addresses.insert(spec.addresses.end(), plugin.route.connect.begin(), plugin.route.connect.end());
    // A gateway reading an engine's own config: its endpoint.
    if (spec.addresses.empty()) spec.addresses.push_back(plugin.serve.endpoint);
    return spec;
}

}  // namespace portico
