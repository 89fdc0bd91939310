#pragma once
// Which link serves a plugin, decided once from its config and from what this
// process runs, with no socket and no loop: the in-process engine's job queue
// when that is its only engine, zmq links to every engine otherwise.
#include "config/config.hpp"

#include <memory>
#include <string>
#include <vector>

namespace portico {

class EngineJobQueue;

// A plugin's engine in this process, when there is one.
struct LocalEngine {
    std::shared_ptr<EngineJobQueue> jobs;
    std::string inproc_endpoint;  // the same engine as a zmq peer
};

struct LinkSpec {
    PluginConfig plugin;
    // Set: the engine in this process is the only one; requests go straight
    // into its queue (no zmq at all). Otherwise zmq to `addresses`.
    std::shared_ptr<EngineJobQueue> local;
    std::vector<std::string> addresses;
    // With curve: the public key of the engine at each address (empty: no
    // Curve, as for inproc, which has no handshake).
    std::vector<std::string> server_keys;
};

// `local`: the plugin's endpoint in this process (nullptr: none);
// `isolated_endpoint`: where its isolated child answers (empty: not isolated).
// `own_public_key`: this process's Curve key (empty: no curve); isolated
// engines share it, and remote ones have plugins.NAME.server_key (or, for a
// gateway that reads its engines' config, this key too).
LinkSpec plan_link(const PluginConfig& plugin, const LocalEngine* local, const std::string& isolated_endpoint,
                   const std::string& own_public_key = {});

}  // namespace portico
