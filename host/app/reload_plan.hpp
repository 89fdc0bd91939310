#pragma once
// What a reload (SIGHUP) changes, decided from the running config, the new
// one and the plugin files on disk alone: no engine is loaded, no socket
// bound. Reloader carries the plan out. The parts of a plugin's config are
// compared with their defaulted ==, and a difference the parts do not
// explain (a field added beside them) replaces the plugin whole: no change
// can escape a reload silently.
#include "config/config.hpp"
#include "plugin/plugin_loader.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace portico {

// An engine running in this process, as the planner needs to know it.
struct RunningEngine {
    std::string name;
    std::string library;  // the path it was loaded from
    FileStamp stamp;      // the file as it was then
};

struct ReloadPlan {
    struct Load {
        PluginConfig plugin;
        // The loader would hand back the library already loaded from this
        // path, which the file on disk no longer is: load a private copy.
        bool fresh_copy = false;
    };
    std::vector<Load> start;  // new endpoints: new plugins, new addresses, no longer isolated
    std::vector<Load> swap;   // the same endpoint serves a new engine (settings or file changed)
    std::vector<std::string> stop;     // endpoints that go: removed, moved, isolated or served elsewhere
    std::vector<PluginConfig> route;   // gateway links to (re)make
    std::vector<std::string> unroute;  // plugins the gateway no longer routes
    std::vector<PluginConfig> isolated;  // every plugin isolated here after the reload
    std::optional<TlsConfig> tls;        // the gateway's certificate and key to load again
    std::optional<JwtConfig> jwt;        // the gateway's token key to load again

    // The summary line's lists.
    std::vector<std::string> added, replaced, removed, rerouted;
    // What this reload cannot change (it needs a restart), for the log.
    std::vector<std::string> warnings;

    std::string summary() const;
};

// An isolated engine keeps running across a reload unless this is false.
bool same_isolated_engine(const PluginConfig& a, const PluginConfig& b);

using StampOf = std::function<std::optional<FileStamp>(const std::string& path)>;

ReloadPlan plan_reload(const Config& current, const Config& next, const std::vector<RunningEngine>& running,
                       const StampOf& stamp_of);

}  // namespace portico
