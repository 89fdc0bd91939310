#include "app/reload_plan.hpp"

#include <algorithm>
#include <set>

namespace portico {
namespace {

const PluginConfig* find_plugin(const std::vector<PluginConfig>& plugins, const std::string& name) {
    for (const auto& plugin : plugins)
        if (plugin.name == name) return &plugin;
    return nullptr;
}

const RunningEngine* find_running(const std::vector<RunningEngine>& running, const std::string& name) {
    for (const auto& engine : running)
        if (engine.name == name) return &engine;
    return nullptr;
}

// A difference in a field outside the three parts: nothing of the plugin can
// be trusted to be unchanged.
bool unexplained_change(const PluginConfig& old, const PluginConfig& next) {
    return old != next && old.engine == next.engine && old.serve == next.serve && old.route == next.route;
}

}  // namespace

bool same_isolated_engine(const PluginConfig& a, const PluginConfig& b) {
    return a.engine == b.engine && a.serve == b.serve && !unexplained_change(a, b);
}

namespace {

bool isolated_here(const PluginConfig* plugin, Role role) {
    return plugin != nullptr && plugin->served_here(role) && plugin->serve.isolate;
}

void add_once(std::vector<std::string>& names, const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

std::string list(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ",") + name;
    return text.empty() ? std::string("-") : text;
}

}  // namespace

std::string ReloadPlan::summary() const {
    return "added " + list(added) + "; replaced " + list(replaced) + "; removed " + list(removed) + "; rerouted " +
           list(rerouted);
}

ReloadPlan plan_reload(const Config& current, const Config& next, const std::vector<RunningEngine>& running,
                       const StampOf& stamp_of) {
    ReloadPlan plan;
    const Role role = current.role;
    std::set<std::string> new_endpoints;  // their gateway links must follow them

    for (const auto& plugin : next.plugins) {
        const PluginConfig* old = find_plugin(current.plugins, plugin.name);
        const bool unexplained = old && unexplained_change(*old, plugin);
        const RunningEngine* now = find_running(running, plugin.name);
        if (!plugin.loaded_here(role)) {
            if (now) plan.stop.push_back(plugin.name);
            continue;
        }
        const auto disk = stamp_of(plugin.engine.library);
        const bool file_changed = now && (!disk || *disk != now->stamp);
        const bool same_address =
            now && old && old->serve.endpoint == plugin.serve.endpoint && old->serve.also_bind == plugin.serve.also_bind;
        const bool same_engine = old && old->engine == plugin.engine && !unexplained;
        if (now && same_address && same_engine && !file_changed) continue;

        // The dynamic loader hands back what it has loaded from a path: a
        // file replaced since must be loaded from a private copy.
        bool fresh_copy = false;
        for (const auto& engine : running)
            if (engine.library == plugin.engine.library && (!disk || *disk != engine.stamp)) fresh_copy = true;
        if (now && same_address) {
            plan.swap.push_back({plugin, fresh_copy});
            add_once(plan.replaced, plugin.name);
            continue;
        }
        plan.start.push_back({plugin, fresh_copy});
        if (now) plan.stop.push_back(plugin.name);
        new_endpoints.insert(plugin.name);
        add_once(old ? plan.replaced : plan.added, plugin.name);
    }
    for (const auto& engine : running)
        if (!find_plugin(next.plugins, engine.name)) plan.stop.push_back(engine.name);

    for (const auto& plugin : next.plugins) {
        if (!isolated_here(&plugin, role)) continue;
        plan.isolated.push_back(plugin);
        const PluginConfig* old = find_plugin(current.plugins, plugin.name);
        const bool same = isolated_here(old, role) && same_isolated_engine(*old, plugin);
        if (!same) add_once(old ? plan.replaced : plan.added, plugin.name);
    }

    if (role != Role::engine) {
        for (const auto& plugin : next.plugins) {
            const PluginConfig* old = find_plugin(current.plugins, plugin.name);
            const bool moved = new_endpoints.count(plugin.name) > 0;
            const bool unexplained = old && unexplained_change(*old, plugin);
            // A swapped engine keeps its endpoint and queue: its links stay.
            const bool same_route = old && old->route == plugin.route && old->serve == plugin.serve && !unexplained;
            if (same_route && !moved) continue;
            plan.route.push_back(plugin);
            if (old && !moved) add_once(plan.rerouted, plugin.name);
        }
    }
    for (const auto& old : current.plugins) {
        if (find_plugin(next.plugins, old.name)) continue;
        plan.removed.push_back(old.name);
        if (role != Role::engine) plan.unroute.push_back(old.name);
    }

    // The certificate and key, and the token key, are read again on every
    // reload; turning TLS or auth on or off, like the rest of the gateway's
    // settings, needs a restart.
    GatewayConfig next_gateway = next.gateway;
    if (next_gateway.tls.has_value() == current.gateway.tls.has_value()) next_gateway.tls = current.gateway.tls;
    if (next_gateway.jwt.has_value() == current.gateway.jwt.has_value()) next_gateway.jwt = current.gateway.jwt;
    if (next_gateway != current.gateway) plan.warnings.push_back("gateway settings");
    if (next.gateway.tls && current.gateway.tls) plan.tls = next.gateway.tls;
    if (next.gateway.jwt && current.gateway.jwt) plan.jwt = next.gateway.jwt;
    if (next.plugin_dir != current.plugin_dir) plan.warnings.push_back("plugin_dir");
    if (next.curve != current.curve) plan.warnings.push_back("curve settings");
    if (next.ops != current.ops) plan.warnings.push_back("ops settings");
    if (next.log_format != current.log_format) plan.warnings.push_back("log_format");
    return plan;
}

}  // namespace portico
