// Reload planning (app/reload_plan.hpp): what a SIGHUP changes, decided from
// two configs and the files on disk alone. No plugin is loaded here.
#include "app/reload_plan.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>

using portico::Config;
using portico::FileStamp;
using portico::PluginConfig;
using portico::ReloadPlan;
using portico::Role;
using portico::RunningEngine;
using namespace std::chrono_literals;

namespace {

PluginConfig plugin(const std::string& name, const std::string& endpoint = "tcp://127.0.0.1:*") {
    PluginConfig p;
    p.name = name;
    p.engine.library = "/plugins/" + name + ".so";
    p.serve.endpoint = endpoint;
    return p;
}

Config config(std::vector<PluginConfig> plugins, Role role = Role::all) {
    Config c;
    c.role = role;
    c.plugins = std::move(plugins);
    return c;
}

FileStamp stamp(std::uint64_t inode) {
    FileStamp s;
    s.inode = inode;
    s.size = 100;
    return s;
}

// The files on disk: every plugin as stamp 1, unless told otherwise.
struct Disk {
    std::map<std::string, FileStamp> files;
    std::optional<FileStamp> operator()(const std::string& path) const {
        auto it = files.find(path);
        if (it != files.end()) return it->second;
        return stamp(1);
    }
};

// The engines running for `current`: its in-process plugins, loaded from stamp 1.
std::vector<RunningEngine> running_for(const Config& current) {
    std::vector<RunningEngine> running;
    for (const auto& p : current.plugins)
        if (p.loaded_here(current.role)) running.push_back({p.name, p.engine.library, stamp(1)});
    return running;
}

ReloadPlan plan(const Config& current, const Config& next, const Disk& disk = {}) {
    return portico::plan_reload(current, next, running_for(current), disk);
}

std::set<std::string> names(const std::vector<ReloadPlan::Load>& loads) {
    std::set<std::string> set;
    for (const auto& load : loads) set.insert(load.plugin.name);
    return set;
}
std::set<std::string> names(const std::vector<PluginConfig>& plugins) {
    std::set<std::string> set;
    for (const auto& p : plugins) set.insert(p.name);
    return set;
}
std::set<std::string> names(const std::vector<std::string>& list) { return {list.begin(), list.end()}; }

}  // namespace

TEST_CASE("the same config changes nothing", "[reload][plan]") {
    const Config current = config({plugin("dice"), plugin("test")});
    const auto p = plan(current, current);
    CHECK(p.start.empty());
    CHECK(p.swap.empty());
    CHECK(p.stop.empty());
    CHECK(p.route.empty());
    CHECK(p.unroute.empty());
    CHECK(p.summary() == "added -; replaced -; removed -; rerouted -");
}

TEST_CASE("a new plugin starts and is routed; a removed one stops and is unrouted", "[reload][plan]") {
    const auto p = plan(config({plugin("dice"), plugin("gone")}), config({plugin("dice"), plugin("new")}));
    CHECK(names(p.start) == std::set<std::string>{"new"});
    CHECK(names(p.stop) == std::set<std::string>{"gone"});
    CHECK(names(p.route) == std::set<std::string>{"new"});
    CHECK(names(p.unroute) == std::set<std::string>{"gone"});
    CHECK(p.summary() == "added new; replaced -; removed gone; rerouted -");
}

TEST_CASE("new settings, workers or limits: the same endpoint serves a new engine", "[reload][plan]") {
    PluginConfig changed = plugin("dice");
    SECTION("settings") { changed.engine.settings_json = R"({"max_dice":5})"; }
    SECTION("workers") { changed.engine.workers = 7; }
    SECTION("max_queued") { changed.engine.max_queued = 3; }
    SECTION("max_request_bytes") { changed.engine.max_request_bytes = 99; }
    const auto p = plan(config({plugin("dice")}), config({changed}));
    CHECK(names(p.swap) == std::set<std::string>{"dice"});
    CHECK_FALSE(p.swap.front().fresh_copy);
    CHECK(p.start.empty());
    CHECK(p.stop.empty());
    CHECK(p.route.empty());  // the endpoint and its queue stay: so do the gateway's links
    CHECK(names(p.replaced) == std::set<std::string>{"dice"});
}

TEST_CASE("a replaced .so is swapped in from a private copy", "[reload][plan]") {
    const Config current = config({plugin("dice")});
    Disk disk;
    disk.files["/plugins/dice.so"] = stamp(2);
    const auto p = plan(current, current, disk);
    REQUIRE(names(p.swap) == std::set<std::string>{"dice"});
    CHECK(p.swap.front().fresh_copy);
    SECTION("a file that vanished is planned too: loading it then fails, and nothing changes") {
        Disk none;
        none.files.clear();
        const auto q = portico::plan_reload(current, current, running_for(current),
                                            [](const std::string&) { return std::optional<FileStamp>(); });
        CHECK(names(q.swap) == std::set<std::string>{"dice"});
    }
}

TEST_CASE("a new plugin loaded from a file another engine has loaded, replaced since: a private copy",
          "[reload][plan]") {
    PluginConfig twin = plugin("twin");
    twin.engine.library = "/plugins/dice.so";
    Disk disk;
    disk.files["/plugins/dice.so"] = stamp(3);
    const auto p = plan(config({plugin("dice")}), config({plugin("dice"), twin}), disk);
    REQUIRE(names(p.start) == std::set<std::string>{"twin"});
    CHECK(p.start.front().fresh_copy);
}

TEST_CASE("a new address: a new endpoint, the old one stops, the gateway follows", "[reload][plan]") {
    const auto p = plan(config({plugin("dice", "tcp://127.0.0.1:5556")}), config({plugin("dice", "tcp://127.0.0.1:5557")}));
    CHECK(names(p.start) == std::set<std::string>{"dice"});
    CHECK(names(p.stop) == std::set<std::string>{"dice"});
    CHECK(names(p.route) == std::set<std::string>{"dice"});
    CHECK(names(p.replaced) == std::set<std::string>{"dice"});
    CHECK(p.rerouted.empty());
}

TEST_CASE("a new route (timeout, retries, connect): the gateway's link is remade, the engine stays",
          "[reload][plan]") {
    PluginConfig changed = plugin("dice");
    SECTION("timeout") { changed.route.timeout = 3s; }
    SECTION("idempotent") { changed.route.idempotent = true; }
    SECTION("connect") { changed.route.connect = {"tcp://10.0.0.5:5556"}; }
    const auto p = plan(config({plugin("dice")}), config({changed}));
    CHECK(p.start.empty());
    CHECK(p.swap.empty());
    CHECK(names(p.route) == std::set<std::string>{"dice"});
    CHECK(names(p.rerouted) == std::set<std::string>{"dice"});
}

TEST_CASE("isolated plugins: planned as the set to run, started or replaced when they change", "[reload][plan]") {
    PluginConfig isolated = plugin("test");
    isolated.serve.isolate = true;
    SECTION("in-process becomes isolated: its endpoint stops, the link moves to the private socket") {
        const auto p = plan(config({plugin("test")}), config({isolated}));
        CHECK(names(p.stop) == std::set<std::string>{"test"});
        CHECK(names(p.isolated) == std::set<std::string>{"test"});
        CHECK(names(p.route) == std::set<std::string>{"test"});
        CHECK(names(p.replaced) == std::set<std::string>{"test"});
    }
    SECTION("an isolated plugin with new settings is replaced; its link stays") {
        PluginConfig changed = isolated;
        changed.engine.settings_json = R"({"x":1})";
        const auto p = plan(config({isolated}), config({changed}));
        CHECK(names(p.isolated) == std::set<std::string>{"test"});
        CHECK(names(p.replaced) == std::set<std::string>{"test"});
        CHECK(p.route.empty());
        CHECK(p.start.empty());
    }
    SECTION("unchanged: still in the set, nothing replaced") {
        const auto p = plan(config({isolated}), config({isolated}));
        CHECK(names(p.isolated) == std::set<std::string>{"test"});
        CHECK(p.replaced.empty());
    }
    SECTION("removed: no longer in the set") {
        const auto p = plan(config({isolated, plugin("dice")}), config({plugin("dice")}));
        CHECK(p.isolated.empty());
        CHECK(names(p.removed) == std::set<std::string>{"test"});
    }
}

TEST_CASE("roles: an engine routes nothing, a gateway loads nothing", "[reload][plan]") {
    SECTION("engine") {
        const auto p = plan(config({plugin("dice")}, Role::engine), config({plugin("dice"), plugin("new")}, Role::engine));
        CHECK(names(p.start) == std::set<std::string>{"new"});
        CHECK(p.route.empty());
    }
    SECTION("gateway") {
        PluginConfig remote = plugin("dice");
        remote.route.connect = {"tcp://10.0.0.5:5556"};
        PluginConfig moved = remote;
        moved.route.connect = {"tcp://10.0.0.6:5556"};
        const auto p = plan(config({remote}, Role::gateway), config({moved}, Role::gateway));
        CHECK(p.start.empty());
        CHECK(p.stop.empty());
        CHECK(names(p.route) == std::set<std::string>{"dice"});
    }
}

TEST_CASE("gateway settings and plugin_dir need a restart: warned, not applied", "[reload][plan]") {
    Config current = config({plugin("dice")});
    Config next = current;
    next.gateway.max_message_bytes = 1024;
    next.plugin_dir = "/elsewhere";
    const auto p = plan(current, next);
    CHECK(names(p.warnings) == std::set<std::string>{"gateway settings", "plugin_dir"});
    CHECK(p.start.empty());
    CHECK(p.route.empty());
}

// Defaulted equality: the parts compare every field they hold, and the whole
// entry compares the parts, so a new field is always seen by a reload.
TEST_CASE("every field of a plugin's entry is compared", "[reload][plan][config]") {
    const PluginConfig base = plugin("dice");
    auto differs = [&base](auto change) {
        PluginConfig other = base;
        change(other);
        return other != base;
    };
    CHECK(differs([](PluginConfig& p) { p.engine.library = "/other.so"; }));
    CHECK(differs([](PluginConfig& p) { p.engine.workers = 9; }));
    CHECK(differs([](PluginConfig& p) { p.serve.also_bind = {"ipc:///tmp/x"}; }));
    CHECK(differs([](PluginConfig& p) { p.serve.isolate = true; }));
    CHECK(differs([](PluginConfig& p) { p.route.heartbeat = 1s; }));
    CHECK(differs([](PluginConfig& p) { p.route.dead_after = 9s; }));
    CHECK(differs([](PluginConfig& p) { p.route.max_attempts = 9; }));
    CHECK_FALSE(differs([](PluginConfig&) {}));
}
