// Which link serves a plugin (link/link_plan.hpp): decided from its config
// and from what this process runs, with no socket.
#include "engine/engine_job_queue.hpp"
#include "link/link_plan.hpp"

#include <catch2/catch.hpp>

using portico::EngineJobQueue;
using portico::LocalEngine;
using portico::PluginConfig;

namespace {

PluginConfig plugin() {
    PluginConfig p;
    p.name = "dice";
    p.serve.endpoint = "tcp://127.0.0.1:5556";
    return p;
}

LocalEngine local() { return {std::make_shared<EngineJobQueue>(10, "{}"), "inproc://portico/endpoint/dice/1"}; }

}  // namespace

TEST_CASE("an engine in this process, alone: straight into its job queue, no zmq", "[link][plan]") {
    const LocalEngine engine = local();
    const auto spec = portico::plan_link(plugin(), &engine, "");
    CHECK(spec.local == engine.jobs);
    CHECK(spec.addresses.empty());
    CHECK(spec.plugin.name == "dice");
}

TEST_CASE("beside remote engines, the local one is one more zmq peer", "[link][plan]") {
    PluginConfig p = plugin();
    p.route.connect = {"tcp://10.0.0.5:5556", "tcp://10.0.0.6:5556"};
    const LocalEngine engine = local();
    const auto spec = portico::plan_link(p, &engine, "");
    CHECK_FALSE(spec.local);
    CHECK(spec.addresses ==
          std::vector<std::string>{"inproc://portico/endpoint/dice/1", "tcp://10.0.0.5:5556", "tcp://10.0.0.6:5556"});
}

TEST_CASE("an isolated engine: its private socket", "[link][plan]") {
    const auto spec = portico::plan_link(plugin(), nullptr, "ipc:///tmp/portico-1/dice.sock");
    CHECK_FALSE(spec.local);
    CHECK(spec.addresses == std::vector<std::string>{"ipc:///tmp/portico-1/dice.sock"});
}

TEST_CASE("a gateway with no engine here: connect, or the engine's own endpoint", "[link][plan]") {
    PluginConfig p = plugin();
    CHECK(portico::plan_link(p, nullptr, "").addresses == std::vector<std::string>{"tcp://127.0.0.1:5556"});
    p.route.connect = {"tcp://10.0.0.5:5556"};
    CHECK(portico::plan_link(p, nullptr, "").addresses == std::vector<std::string>{"tcp://10.0.0.5:5556"});
}

TEST_CASE("with curve: remote engines get server_key, isolated ones this process's key, inproc none", "[link][plan][curve]") {
    const std::string own(40, 'o');
    const std::string remote(40, 'r');
    PluginConfig p = plugin();
    p.route.connect = {"tcp://10.0.0.5:5556"};
    p.route.server_key = remote;
    const LocalEngine engine = local();
    const auto mixed = portico::plan_link(p, &engine, "ipc:///tmp/portico-1/dice.sock", own);
    CHECK(mixed.addresses == std::vector<std::string>{"inproc://portico/endpoint/dice/1", "ipc:///tmp/portico-1/dice.sock",
                                                      "tcp://10.0.0.5:5556"});
    CHECK(mixed.server_keys == std::vector<std::string>{"", own, remote});
    // A gateway that reads its engines' config shares their key file.
    const auto shared = portico::plan_link(plugin(), nullptr, "", own);
    CHECK(shared.server_keys == std::vector<std::string>{own});
    // Without curve (no own key, no server_key), no keys at all.
    PluginConfig plain = plugin();
    plain.route.connect = {"tcp://10.0.0.5:5556"};
    CHECK(portico::plan_link(plain, nullptr, "").server_keys == std::vector<std::string>{""});
}
