// Config parsing and validation (host/config.hpp): the built-in default, every
// key of the gateway and plugin sections, and every way a config is refused.
// Plugin files are placeholder files in a private temp dir (config parsing only
// checks that they exist); the built-in default uses the real dice.so.
#include "config/config.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using portico::Config;
using portico::ConfigDefaults;
using portico::Expected;
using portico::LogLevel;
using portico::PluginConfig;
using portico::Role;
using portico::test::TempDir;

std::string dice_dir() { return fs::path(DICE_PLUGIN_PATH).parent_path().string(); }

std::string normal(const fs::path& path) { return path.lexically_normal().string(); }

// The message of a refused config, after checking it was refused with the config code.
std::string error_message(const Expected<Config>& result) {
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == "invalid_config");
    return result.error().message;
}

const PluginConfig* find_plugin(const Config& config, const std::string& name) {
    for (const auto& plugin : config.plugins)
        if (plugin.name == name) return &plugin;
    return nullptr;
}

// A temp dir with plugins/dice.so and plugins/echo.so, used as the default plugin dir.
class ConfigFixture {
protected:
    ConfigFixture() {
        dir_.write("plugins/dice.so");
        dir_.write("plugins/echo.so");
        defaults_.plugin_dir = (dir_ / "plugins").string();
    }

    static json minimal() {
        return json::parse(R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556"}}})");
    }

    Expected<Config> parse_text(std::string_view text, Role role = Role::all) const {
        ConfigDefaults defaults = defaults_;
        defaults.role = role;
        return portico::parse_config(text, "test.json", dir_.path(), defaults);
    }
    Expected<Config> parse(const json& document, Role role = Role::all) const {
        return parse_text(document.dump(), role);
    }

    // The document with one value replaced (or added), by JSON pointer.
    static json with(const std::string& pointer, const json& value, json document = minimal()) {
        document[json::json_pointer(pointer)] = value;
        return document;
    }

    TempDir dir_;
    ConfigDefaults defaults_;
};

}  // namespace

// ---------------------------------------------------------------- built-in default

TEST_CASE("the built-in default config serves dice and the gateway on loopback", "[config][default]") {
    const auto result = portico::default_config(ConfigDefaults{dice_dir()});
    REQUIRE(result.has_value());
    const Config& config = result.value();
    CHECK(config.source == "<built-in default config>");
    CHECK(config.log_level == LogLevel::info);
    CHECK(config.plugin_dir == dice_dir());
    CHECK(config.gateway.address == "127.0.0.1");
    CHECK(config.gateway.port == 8088);
    CHECK(config.gateway.path == "/ws");
    CHECK(config.gateway.threads == 1);
    REQUIRE(config.plugins.size() == 1);
    const PluginConfig& dice = config.plugins.front();
    CHECK(dice.name == "dice");
    CHECK(dice.serve.endpoint == "tcp://127.0.0.1:5556");
    CHECK(dice.engine.workers == 2);
    CHECK(dice.engine.library == normal(DICE_PLUGIN_PATH));
    CHECK(dice.engine.settings_json == "{}");
    CHECK(dice.route.idempotent);  // rolling dice again is harmless
    CHECK(dice.route.connect.empty());
    CHECK(config.role == Role::all);
}

TEST_CASE("the built-in default text is the JSON the default is parsed from", "[config][default]") {
    const json text = json::parse(portico::default_config_text());
    CHECK(text.at("gateway").at("listen") == "127.0.0.1:8088");
    CHECK(text.at("gateway").at("path") == "/ws");
    CHECK(text.at("plugins").at("dice").at("endpoint") == "tcp://127.0.0.1:5556");
}

TEST_CASE("the built-in default is refused when the plugin dir has no dice.so", "[config][default]") {
    TempDir empty;
    const std::string message = error_message(portico::default_config(ConfigDefaults{empty.path()}));
    CHECK_THAT(message, Catch::StartsWith("<built-in default config>: plugins.dice: plugin file \""));
    CHECK_THAT(message, Catch::Contains((empty / "dice.so").string()));
    CHECK_THAT(message, Catch::Contains("does not exist"));
}

// Keys the example leaves out, each because setting it changes what the
// example does or needs a file of the user's (docs/deployment.md has them all).
const std::set<std::string> keys_not_in_example = {
    "plugin_dir",                       // relative to the config file: the default finds the built plugins
    "curve", "curve.key_file", "curve.allowed_clients",  // a key file of the user's
    "gateway.tls", "gateway.tls.cert_file", "gateway.tls.key_file",  // certificate files
    "gateway.auth", "gateway.auth.jwt", "gateway.auth.jwt.algorithms", "gateway.auth.jwt.secret_file",
    "gateway.auth.jwt.public_key_file", "gateway.auth.jwt.issuer", "gateway.auth.jwt.audience",
    "gateway.auth.jwt.leeway_s",        // a token key of the user's
    "ops.listen",                       // absent: the ops routes on the gateway's listener
    "plugins.NAME.library",             // absent: NAME.so in the plugin dir
    "plugins.NAME.connect",             // engines elsewhere instead of this one
    "plugins.NAME.also_bind",           // a second address
    "plugins.NAME.rate_limit", "plugins.NAME.rate_limit.per_second", "plugins.NAME.rate_limit.burst",  // on: a limit
    "plugins.NAME.require_scope",       // needs gateway.auth
    "plugins.NAME.server_key",          // needs curve
};

TEST_CASE("the shipped example config holds every key the parser reads, but for those named here",
          "[config][example]") {
    std::ifstream in(PORTICO_EXAMPLE_CONFIG);
    const json example = json::parse(in);
    for (const auto& key : portico::config_keys()) {
        std::string pointer = "/" + key;
        for (auto& c : pointer)
            if (c == '.') c = '/';
        const auto at = pointer.find("/NAME/");
        if (at != std::string::npos) pointer.replace(at, 6, "/dice/");
        INFO("key: " << key);
        CHECK(example.contains(json::json_pointer(pointer)) != (keys_not_in_example.count(key) == 1));
    }
    for (const auto& key : keys_not_in_example) {
        const auto keys = portico::config_keys();
        INFO("listed as left out, but the parser knows no such key: " << key);
        CHECK(std::find(keys.begin(), keys.end(), key) != keys.end());
    }
}

TEST_CASE("the shipped example config loads with every key honoured", "[config][example]") {
    const auto result = portico::load_config_file(PORTICO_EXAMPLE_CONFIG, ConfigDefaults{dice_dir()});
    REQUIRE(result.has_value());
    const Config& config = result.value();
    CHECK(config.source == PORTICO_EXAMPLE_CONFIG);
    CHECK(config.gateway.max_message_bytes == 65536);
    CHECK(config.gateway.max_inflight_per_client == 64);
    CHECK(config.gateway.max_outbound_bytes == 4194304);
    REQUIRE(config.plugins.size() == 1);
    const PluginConfig& dice = config.plugins.front();
    CHECK(dice.route.timeout == std::chrono::milliseconds(10000));
    CHECK(dice.engine.max_request_bytes == 1048576);
    CHECK(json::parse(dice.engine.settings_json) ==
          json::parse(R"({"max_dice": 1000, "max_sides": 1000000, "max_expression_length": 256})"));
}

// ---------------------------------------------------------------- valid configs

TEST_CASE_METHOD(ConfigFixture, "a minimal config takes every default", "[config]") {
    const auto result = parse(minimal());
    REQUIRE(result.has_value());
    const Config& config = result.value();
    CHECK(config.source == "test.json");
    CHECK(config.log_level == LogLevel::info);
    CHECK(config.plugin_dir == defaults_.plugin_dir);

    const portico::GatewayConfig defaults;
    CHECK(config.gateway.address == "127.0.0.1");
    CHECK(config.gateway.port == 8088);
    CHECK(config.gateway.path == "/ws");
    CHECK(config.gateway.threads == defaults.threads);
    CHECK(config.gateway.max_message_bytes == 64 * 1024);
    CHECK(config.gateway.max_inflight_per_client == 64);
    CHECK(config.gateway.max_outbound_bytes == 4 * 1024 * 1024);

    REQUIRE(config.plugins.size() == 1);
    const PluginConfig& dice = config.plugins.front();
    CHECK(dice.name == "dice");
    CHECK(dice.engine.library == normal(dir_ / "plugins" / "dice.so"));
    CHECK(dice.serve.endpoint == "tcp://127.0.0.1:5556");
    CHECK(dice.engine.workers == 2);
    CHECK(dice.route.timeout == std::chrono::milliseconds(10'000));
    CHECK(dice.engine.max_request_bytes == 1024 * 1024);
    CHECK(dice.engine.settings_json == "{}");
    CHECK(dice.engine.max_queued == 10'000);
    CHECK(dice.route.connect.empty());
    CHECK_FALSE(dice.route.idempotent);
    CHECK(dice.route.max_attempts == 2);
    CHECK(dice.route.heartbeat == std::chrono::milliseconds(500));
    CHECK(dice.route.dead_after == std::chrono::milliseconds(2'000));
    CHECK(dice.serve.also_bind.empty());
    CHECK_FALSE(dice.serve.isolate);
    CHECK(dice.loaded_here(Role::all));
    CHECK(config.gateway.drain_timeout == std::chrono::milliseconds(5'000));
    CHECK(config.role == Role::all);
}

TEST_CASE_METHOD(ConfigFixture, "every gateway key is read", "[config][gateway]") {
    const auto result = parse(json::parse(R"({
        "gateway": {
            "listen": "0.0.0.0:9001",
            "path": "/engines/v1",
            "threads": 4,
            "max_message_bytes": 1000,
            "max_inflight_per_client": 7,
            "max_outbound_bytes": 2048,
            "drain_timeout_ms": 0
        },
        "plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556"}}
    })"));
    REQUIRE(result.has_value());
    const auto& gateway = result.value().gateway;
    CHECK(gateway.address == "0.0.0.0");
    CHECK(gateway.port == 9001);
    CHECK(gateway.path == "/engines/v1");
    CHECK(gateway.threads == 4);
    CHECK(gateway.max_message_bytes == 1000);
    CHECK(gateway.max_inflight_per_client == 7);
    CHECK(gateway.max_outbound_bytes == 2048);
    CHECK(gateway.drain_timeout == std::chrono::milliseconds(0));
}

TEST_CASE_METHOD(ConfigFixture, "listen accepts IPv4, bracketed IPv6 and ports 0 to 65535", "[config][gateway]") {
    struct Case {
        const char* listen;
        const char* address;
        std::uint16_t port;
    };
    const auto c = GENERATE(values<Case>({
        {"127.0.0.1:8088", "127.0.0.1", 8088},
        {"0.0.0.0:0", "0.0.0.0", 0},
        {"10.1.2.3:65535", "10.1.2.3", 65535},
        {"[::1]:8080", "::1", 8080},
        {"[::]:0", "::", 0},
        {"127.0.0.1:00080", "127.0.0.1", 80},
    }));
    INFO("listen: " << c.listen);
    const auto result = parse(with("/gateway/listen", c.listen));
    REQUIRE(result.has_value());
    CHECK(result.value().gateway.address == c.address);
    CHECK(result.value().gateway.port == c.port);
}

TEST_CASE_METHOD(ConfigFixture, "every plugin key is read", "[config][plugin]") {
    dir_.write("lib/custom-dice.so");
    const auto result = parse(json::parse(R"({
        "plugins": {
            "dice": {
                "library": "lib/custom-dice.so",
                "endpoint": "ipc:///tmp/portico-dice.sock",
                "workers": 5,
                "timeout_ms": 250,
                "max_request_bytes": 4096,
                "max_queued": 12,
                "settings": {"max_dice": 10, "names": ["a", "b"], "nested": {"x": null}},
                "connect": ["tcp://10.0.0.5:5556", "ipc:///run/dice.sock"],
                "idempotent": true,
                "max_attempts": 3,
                "heartbeat_ms": 100,
                "dead_after_ms": 450,
                "also_bind": ["tcp://*:6556", "tcp://127.0.0.1:0"],
                "isolate": true
            }
        }
    })"));
    REQUIRE(result.has_value());
    REQUIRE(result.value().plugins.size() == 1);
    const PluginConfig& dice = result.value().plugins.front();
    CHECK(dice.name == "dice");
    CHECK(dice.engine.library == normal(dir_ / "lib" / "custom-dice.so"));
    CHECK(dice.serve.endpoint == "ipc:///tmp/portico-dice.sock");
    CHECK(dice.engine.workers == 5);
    CHECK(dice.route.timeout == std::chrono::milliseconds(250));
    CHECK(dice.engine.max_request_bytes == 4096);
    CHECK(json::parse(dice.engine.settings_json) ==
          json::parse(R"({"max_dice": 10, "names": ["a", "b"], "nested": {"x": null}})"));
    CHECK(dice.engine.max_queued == 12);
    CHECK(dice.route.connect == std::vector<std::string>{"tcp://10.0.0.5:5556", "ipc:///run/dice.sock"});
    CHECK(dice.route.idempotent);
    CHECK(dice.route.max_attempts == 3);
    CHECK(dice.route.heartbeat == std::chrono::milliseconds(100));
    CHECK(dice.route.dead_after == std::chrono::milliseconds(450));
    CHECK(dice.serve.also_bind == std::vector<std::string>{"tcp://*:6556", "tcp://127.0.0.1:*"});
    CHECK(dice.serve.isolate);
    CHECK(dice.served_here(Role::all));
    CHECK_FALSE(dice.loaded_here(Role::all));  // served from a supervised child process
}

TEST_CASE_METHOD(ConfigFixture, "log_level takes each level's name", "[config]") {
    struct Case {
        const char* name;
        LogLevel level;
    };
    const auto c = GENERATE(values<Case>({{"debug", LogLevel::debug},
                                          {"info", LogLevel::info},
                                          {"warn", LogLevel::warn},
                                          {"error", LogLevel::error},
                                          {"off", LogLevel::off}}));
    INFO("log_level: " << c.name);
    const auto result = parse(with("/log_level", c.name));
    REQUIRE(result.has_value());
    CHECK(result.value().log_level == c.level);
}

TEST_CASE_METHOD(ConfigFixture, "several plugins are all configured", "[config][plugin]") {
    const auto result = parse(json::parse(R"({"plugins": {
        "echo": {"endpoint": "tcp://127.0.0.1:5557", "workers": 1},
        "dice": {"endpoint": "tcp://127.0.0.1:5556", "workers": 3}
    }})"));
    REQUIRE(result.has_value());
    const Config& config = result.value();
    REQUIRE(config.plugins.size() == 2);
    const PluginConfig* dice = find_plugin(config, "dice");
    const PluginConfig* echo = find_plugin(config, "echo");
    REQUIRE(dice != nullptr);
    REQUIRE(echo != nullptr);
    CHECK(dice->engine.workers == 3);
    CHECK(dice->serve.endpoint == "tcp://127.0.0.1:5556");
    CHECK(echo->engine.workers == 1);
    CHECK(echo->serve.endpoint == "tcp://127.0.0.1:5557");
    CHECK(echo->engine.library == normal(dir_ / "plugins" / "echo.so"));
}

TEST_CASE_METHOD(ConfigFixture, "numbers at the ends of their ranges are accepted", "[config][range]") {
    struct Case {
        const char* pointer;
        std::uint64_t value;
    };
    const auto c = GENERATE(values<Case>({
        {"/gateway/threads", 1},
        {"/gateway/threads", 64},
        {"/gateway/max_message_bytes", 16},
        {"/gateway/max_message_bytes", 64ull * 1024 * 1024},
        {"/gateway/max_inflight_per_client", 1},
        {"/gateway/max_inflight_per_client", 65536},
        {"/gateway/max_outbound_bytes", 1024},
        {"/gateway/max_outbound_bytes", 1ull << 32},
        {"/plugins/dice/workers", 1},
        {"/plugins/dice/workers", 256},
        {"/plugins/dice/timeout_ms", 1},
        {"/plugins/dice/timeout_ms", 3'600'000},
        {"/plugins/dice/max_request_bytes", 16},
        {"/plugins/dice/max_request_bytes", 64ull * 1024 * 1024},
        {"/plugins/dice/max_queued", 1},
        {"/plugins/dice/max_queued", 10'000'000},
        {"/plugins/dice/max_attempts", 1},
        {"/plugins/dice/max_attempts", 16},
        {"/plugins/dice/heartbeat_ms", 10},
        {"/plugins/dice/heartbeat_ms", 1999},  // below the default dead_after of 2000
        {"/plugins/dice/dead_after_ms", 501},   // above the default heartbeat of 500
        {"/plugins/dice/dead_after_ms", 600'000},
        {"/gateway/drain_timeout_ms", 0},
        {"/gateway/drain_timeout_ms", 600'000},
    }));
    INFO(c.pointer << " = " << c.value);
    const auto result = parse(with(c.pointer, c.value));
    REQUIRE(result.has_value());
    const Config& config = result.value();
    const std::string key = c.pointer;
    const PluginConfig& dice = config.plugins.front();
    std::uint64_t read = 0;
    if (key == "/gateway/threads") read = config.gateway.threads;
    if (key == "/gateway/max_message_bytes") read = config.gateway.max_message_bytes;
    if (key == "/gateway/max_inflight_per_client") read = config.gateway.max_inflight_per_client;
    if (key == "/gateway/max_outbound_bytes") read = config.gateway.max_outbound_bytes;
    if (key == "/plugins/dice/workers") read = dice.engine.workers;
    if (key == "/plugins/dice/timeout_ms") read = static_cast<std::uint64_t>(dice.route.timeout.count());
    if (key == "/plugins/dice/max_request_bytes") read = dice.engine.max_request_bytes;
    if (key == "/plugins/dice/max_queued") read = dice.engine.max_queued;
    if (key == "/plugins/dice/max_attempts") read = dice.route.max_attempts;
    if (key == "/plugins/dice/heartbeat_ms") read = static_cast<std::uint64_t>(dice.route.heartbeat.count());
    if (key == "/plugins/dice/dead_after_ms") read = static_cast<std::uint64_t>(dice.route.dead_after.count());
    if (key == "/gateway/drain_timeout_ms") read = static_cast<std::uint64_t>(config.gateway.drain_timeout.count());
    CHECK(read == c.value);
}

TEST_CASE("plugin names are 1 to 32 of a-z, 0-9, '_' and '-'", "[config][name]") {
    for (const char* good : {"a", "0", "dice", "my_plugin-2", "abcdefghijklmnopqrstuvwxyz012345"}) {
        INFO("name: " << good);
        CHECK(portico::is_valid_plugin_name(good));
    }
    for (const char* bad : {"", "Dice", "DICE", "di ce", "dice!", "di.ce", "di/ce", "d\xc3\xa9",
                            "abcdefghijklmnopqrstuvwxyz0123456", "dice\n"}) {
        INFO("name: " << bad);
        CHECK_FALSE(portico::is_valid_plugin_name(bad));
    }
    CHECK_FALSE(portico::is_valid_plugin_name(std::string_view("di\0ce", 5)));
}

TEST_CASE_METHOD(ConfigFixture, "a 32-character plugin name is accepted", "[config][name]") {
    const std::string name = "abcdefghijklmnopqrstuvwxyz_-0123";
    REQUIRE(name.size() == 32);
    dir_.write("plugins/" + name + ".so");
    json document;
    document["plugins"][name]["endpoint"] = "tcp://127.0.0.1:6000";
    const auto result = parse(document);
    REQUIRE(result.has_value());
    REQUIRE(result.value().plugins.size() == 1);
    CHECK(result.value().plugins.front().name == name);
}

// ---------------------------------------------------------------- endpoints

TEST_CASE_METHOD(ConfigFixture, "endpoints: tcp ':0' means any port and becomes ':*'", "[config][endpoint]") {
    struct Case {
        const char* given;
        const char* expected;
    };
    const auto c = GENERATE(values<Case>({
        {"tcp://127.0.0.1:0", "tcp://127.0.0.1:*"},
        {"tcp://*:0", "tcp://*:*"},
        {"tcp://127.0.0.1:*", "tcp://127.0.0.1:*"},
        {"tcp://127.0.0.1:5556", "tcp://127.0.0.1:5556"},
        {"tcp://127.0.0.1:10", "tcp://127.0.0.1:10"},
        {"tcp://127.0.0.1:100", "tcp://127.0.0.1:100"},
        {"ipc:///tmp/portico.sock", "ipc:///tmp/portico.sock"},
        {"ipc:///tmp/x:0", "ipc:///tmp/x:0"},  // not a port: left alone
    }));
    INFO("endpoint: " << c.given);
    const auto result = parse(with("/plugins/dice/endpoint", c.given));
    REQUIRE(result.has_value());
    CHECK(result.value().plugins.front().serve.endpoint == c.expected);
}

TEST_CASE_METHOD(ConfigFixture, "endpoints other than tcp:// and ipc:// are refused", "[config][endpoint][error]") {
    const auto endpoint = GENERATE(as<std::string>{}, "inproc://dice", "udp://127.0.0.1:5556", "127.0.0.1:5556",
                                   "TCP://127.0.0.1:5556", "pgm://eth0;239.192.1.1:5555", " tcp://127.0.0.1:1");
    INFO("endpoint: " << endpoint);
    const std::string message = error_message(parse(with("/plugins/dice/endpoint", endpoint)));
    CHECK_THAT(message, Catch::StartsWith("test.json: plugins.dice.endpoint: must be a tcp:// or ipc:// zmq address"));
    CHECK_THAT(message, Catch::Contains("\"" + endpoint + "\""));
}

TEST_CASE_METHOD(ConfigFixture, "a plugin without an endpoint (or connect) is refused, per role",
                 "[config][endpoint][error][role]") {
    const json document = json::parse(R"({"plugins": {"dice": {"workers": 2}}})");
    SECTION("role all") {
        CHECK(error_message(parse(document, Role::all)) ==
              "test.json: plugins.dice: needs \"endpoint\" (serve it here) or \"connect\" (engines elsewhere)");
    }
    SECTION("role engine") {
        CHECK(error_message(parse(document, Role::engine)) ==
              "test.json: plugins.dice.endpoint: is required to serve the plugin (role engine)");
    }
    SECTION("role gateway") {
        CHECK(error_message(parse(document, Role::gateway)) ==
              "test.json: plugins.dice.connect: is required: where are the plugin's engines? (role gateway)");
    }
    SECTION("role engine with only connect") {
        const json connect_only = json::parse(R"({"plugins": {"dice": {"connect": ["tcp://10.0.0.5:5556"]}}})");
        CHECK(error_message(parse(connect_only, Role::engine)) ==
              "test.json: plugins.dice.endpoint: is required to serve the plugin (role engine)");
    }
}

// ---------------------------------------------------------------- paths

TEST_CASE_METHOD(ConfigFixture, "plugin_dir is resolved against the config's directory", "[config][path]") {
    dir_.write("libs/dice.so");
    SECTION("relative") {
        const auto result = parse(with("/plugin_dir", "libs"));
        REQUIRE(result.has_value());
        CHECK(result.value().plugin_dir == normal(dir_ / "libs"));
        CHECK(result.value().plugins.front().engine.library == normal(dir_ / "libs" / "dice.so"));
    }
    SECTION("relative, with dot segments, is normalised") {
        const auto result = parse(with("/plugin_dir", "./other/../libs/."));
        REQUIRE(result.has_value());
        CHECK(result.value().plugins.front().engine.library == normal(dir_ / "libs" / "dice.so"));
    }
    SECTION("absolute") {
        TempDir elsewhere;
        elsewhere.write("dice.so");
        const auto result = parse(with("/plugin_dir", elsewhere.path()));
        REQUIRE(result.has_value());
        CHECK(result.value().plugin_dir == normal(elsewhere.path()));
        CHECK(result.value().plugins.front().engine.library == normal(elsewhere / "dice.so"));
    }
    SECTION("a plugin_dir without the plugin is an error naming the file") {
        dir_.write("empty/readme.txt");
        const std::string message = error_message(parse(with("/plugin_dir", "empty")));
        CHECK_THAT(message, Catch::StartsWith("test.json: plugins.dice: plugin file \""));
        CHECK_THAT(message, Catch::Contains(normal(dir_ / "empty" / "dice.so")));
    }
}

TEST_CASE("load_config_file resolves paths against the config file's own directory", "[config][path][file]") {
    TempDir dir;
    dir.write("etc/portico/libs/dice.so");
    dir.write("etc/portico/extra/echo.so");
    const std::string path = dir.write("etc/portico/portico.json", R"({
        "plugin_dir": "libs",
        "plugins": {
            "dice": {"endpoint": "tcp://127.0.0.1:5556"},
            "echo": {"endpoint": "tcp://127.0.0.1:5557", "library": "extra/echo.so"}
        }
    })");
    const auto result = portico::load_config_file(path, ConfigDefaults{"/nonexistent"});
    REQUIRE(result.has_value());
    const Config& config = result.value();
    CHECK(config.source == path);
    CHECK(config.plugin_dir == normal(dir / "etc" / "portico" / "libs"));
    const PluginConfig* dice = find_plugin(config, "dice");
    const PluginConfig* echo = find_plugin(config, "echo");
    REQUIRE(dice != nullptr);
    REQUIRE(echo != nullptr);
    CHECK(dice->engine.library == normal(dir / "etc" / "portico" / "libs" / "dice.so"));
    // An explicit library is relative to the config file, not to plugin_dir.
    CHECK(echo->engine.library == normal(dir / "etc" / "portico" / "extra" / "echo.so"));
}

TEST_CASE_METHOD(ConfigFixture, "library paths: relative to the config dir, absolute kept, normalised",
                 "[config][path]") {
    SECTION("relative to base_dir, not plugin_dir") {
        dir_.write("dice.so");  // base_dir/dice.so, not plugins/dice.so
        const auto result = parse(with("/plugins/dice/library", "dice.so"));
        REQUIRE(result.has_value());
        CHECK(result.value().plugins.front().engine.library == normal(dir_ / "dice.so"));
    }
    SECTION("dot segments are normalised") {
        const auto result = parse(with("/plugins/dice/library", "./x/../plugins/echo.so"));
        REQUIRE(result.has_value());
        CHECK(result.value().plugins.front().engine.library == normal(dir_ / "plugins" / "echo.so"));
    }
    SECTION("absolute") {
        const auto result = parse(with("/plugins/dice/library", DICE_PLUGIN_PATH));
        REQUIRE(result.has_value());
        CHECK(result.value().plugins.front().engine.library == normal(DICE_PLUGIN_PATH));
    }
    SECTION("a library that does not exist names the library key and the resolved file") {
        const std::string message = error_message(parse(with("/plugins/dice/library", "missing/dice.so")));
        CHECK_THAT(message, Catch::StartsWith("test.json: plugins.dice.library: plugin file \""));
        CHECK_THAT(message, Catch::Contains(normal(dir_ / "missing" / "dice.so")));
        CHECK_THAT(message, Catch::EndsWith("does not exist or is not a file"));
    }
    SECTION("a library that is a directory is refused") {
        fs::create_directories(dir_ / "dir.so");
        const std::string message = error_message(parse(with("/plugins/dice/library", "dir.so")));
        CHECK_THAT(message, Catch::StartsWith("test.json: plugins.dice.library: plugin file \""));
    }
}

TEST_CASE_METHOD(ConfigFixture, "a missing default plugin file is refused", "[config][path][error]") {
    const std::string message = error_message(parse(json::parse(R"({"plugins": {"nosuch": {"endpoint": "tcp://127.0.0.1:1"}}})")));
    CHECK(message == "test.json: plugins.nosuch: plugin file \"" + normal(dir_ / "plugins" / "nosuch.so") +
                         "\" does not exist or is not a file");
}

// ---------------------------------------------------------------- settings

TEST_CASE_METHOD(ConfigFixture, "settings reach the plugin as JSON text", "[config][settings]") {
    SECTION("absent: an empty object") {
        const auto result = parse(minimal());
        REQUIRE(result.has_value());
        CHECK(result.value().plugins.front().engine.settings_json == "{}");
    }
    SECTION("any object, with any keys, unchanged in meaning") {
        const json settings = json::parse(
            R"({"max_dice": 1000, "unknown_to_the_host": true, "list": [1, 2.5, "x"], "text": "a\"b\\c\u00e9", "deep": {"a": {"b": {}}}})");
        const auto result = parse(with("/plugins/dice/settings", settings));
        REQUIRE(result.has_value());
        const std::string& text = result.value().plugins.front().engine.settings_json;
        CHECK(json::parse(text) == settings);
    }
    SECTION("an empty object") {
        const auto result = parse(with("/plugins/dice/settings", json::object()));
        REQUIRE(result.has_value());
        CHECK(result.value().plugins.front().engine.settings_json == "{}");
    }
}

// ---------------------------------------------------------------- errors

// Found by fuzzing: nlohmann throws out_of_range (not parse_error) for a
// number too large for a double, which used to abort portico at start-up and
// kill a running gateway on SIGHUP.
TEST_CASE_METHOD(ConfigFixture, "numbers out of range are refused, naming the key", "[config][error][regression]") {
    SECTION("a plugin's workers") {
        const std::string message = error_message(
            parse_text(R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556", "workers": 1e400}}})"));
        CHECK(message == "test.json: plugins.dice.workers: invalid JSON: number overflow parsing '1e400'");
    }
    SECTION("negative, in the gateway") {
        const std::string message = error_message(parse_text(
            R"({"gateway": {"threads": -1e999}, "plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556"}}})"));
        CHECK(message == "test.json: gateway.threads: invalid JSON: number overflow parsing '-1e999'");
    }
    SECTION("deep in the settings") {
        const std::string message = error_message(parse_text(
            R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556", "settings": {"seed": 2E+308}}}})"));
        CHECK(message == "test.json: plugins.dice.settings.seed: invalid JSON: number overflow parsing '2E+308'");
    }
    SECTION("in a list") {
        const std::string message = error_message(parse_text(
            R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556", "also_bind": ["ipc:///tmp/a", 1e400]}}})"));
        CHECK(message == "test.json: plugins.dice.also_bind[1]: invalid JSON: number overflow parsing '1e400'");
    }
    SECTION("at the top") {
        CHECK(error_message(parse_text("1e400")) == "test.json: invalid JSON: number overflow parsing '1e400'");
    }
    SECTION("an integer beyond 64 bits is a number, but not a valid count") {
        const std::string message = error_message(parse_text(
            R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556", "workers": 123456789012345678901234567890}}})"));
        CHECK_THAT(message, Catch::StartsWith("test.json: plugins.dice.workers: must be an integer from 1 to"));
    }
}

// Found by fuzzing: a "\u0000" in a path or address reached open() and zmq,
// which stop at the NUL and so checked or bound something else.
TEST_CASE_METHOD(ConfigFixture, "control characters in paths, addresses and names are refused",
                 "[config][error][regression]") {
    CHECK(error_message(parse_text(R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556\u0000x"}}})")) ==
          "test.json: plugins.dice.endpoint: must not hold control characters (such as \\u0000)");
    CHECK(error_message(parse_text(
              R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556", "library": "dice.so\u0000.txt"}}})")) ==
          "test.json: plugins.dice.library: must not hold control characters (such as \\u0000)");
    CHECK(error_message(parse_text(
              R"({"gateway": {"path": "/ws\n"}, "plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556"}}})")) ==
          "test.json: gateway.path: must not hold control characters (such as \\u0000)");
    CHECK(error_message(parse_text(R"({"plugins": {"dice": {"connect": ["tcp://10.0.0.1:1\u0000"]}}})")) ==
          "test.json: plugins.dice.connect[0]: must not hold control characters (such as \\u0000)");
}

// Found by fuzzing: deep nesting in settings overflowed the stack when the
// document was dumped for the plugin.
TEST_CASE_METHOD(ConfigFixture, "nesting deeper than 64 levels is refused", "[config][error][regression]") {
    auto nested = [](int levels) {
        return R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556", "settings": {"x": )" +
               std::string(static_cast<std::size_t>(levels), '[') + std::string(static_cast<std::size_t>(levels), ']') +
               "}}}}";
    };
    CHECK(error_message(parse_text(nested(100000))) == "test.json: invalid JSON: nested deeper than 64 levels");
    // 4 levels above the settings' own: "x" may hold 59 more.
    CHECK(parse_text(nested(59)).has_value());
    CHECK_FALSE(parse_text(nested(61)).has_value());
}

TEST_CASE_METHOD(ConfigFixture, "invalid JSON is refused with the file name and the position", "[config][error]") {
    SECTION("bad token on line 3") {
        const std::string message = error_message(parse_text("{\n  \"log_level\": \"info\",\n  \"gateway\": {,}\n}"));
        CHECK_THAT(message, Catch::StartsWith("test.json: invalid JSON: "));
        CHECK_THAT(message, Catch::Contains("line 3, column 15"));
        CHECK_THAT(message, !Catch::Contains("[json.exception"));
    }
    SECTION("truncated") {
        const std::string message = error_message(parse_text(R"({"plugins": {"dice": )"));
        CHECK_THAT(message, Catch::StartsWith("test.json: invalid JSON: "));
        CHECK_THAT(message, Catch::Contains("line 1, column"));
    }
    SECTION("empty text") {
        CHECK_THAT(error_message(parse_text("")), Catch::StartsWith("test.json: invalid JSON: "));
    }
    SECTION("comments are not JSON") {
        CHECK_THAT(error_message(parse_text("// hi\n{}")), Catch::StartsWith("test.json: invalid JSON: "));
    }
    SECTION("trailing garbage") {
        const auto text = minimal().dump() + " x";
        CHECK_THAT(error_message(parse_text(text)), Catch::StartsWith("test.json: invalid JSON: "));
    }
}

TEST_CASE_METHOD(ConfigFixture, "a top level that is not an object is refused", "[config][error]") {
    const auto text = GENERATE(as<std::string>{}, "[]", "42", "\"config\"", "null", "true");
    INFO("text: " << text);
    CHECK(error_message(parse_text(text)) == "test.json: (top level): must be an object");
}

TEST_CASE_METHOD(ConfigFixture, "unknown keys are refused with their dotted path", "[config][error]") {
    struct Case {
        const char* pointer;
        const char* expected;
    };
    const auto c = GENERATE(values<Case>({
        {"/loglevel", "test.json: loglevel: unknown key"},
        {"/gateway/listne", "test.json: gateway.listne: unknown key"},
        {"/gateway/port", "test.json: gateway.port: unknown key"},
        {"/plugins/dice/wokers", "test.json: plugins.dice.wokers: unknown key"},
        {"/plugins/dice/timeout", "test.json: plugins.dice.timeout: unknown key"},
    }));
    INFO("key: " << c.pointer);
    CHECK(error_message(parse(with(c.pointer, 1))) == c.expected);
}

TEST_CASE_METHOD(ConfigFixture, "values of the wrong type are refused", "[config][error]") {
    struct Case {
        const char* pointer;
        const char* value_json;
        const char* expected;
    };
    const auto c = GENERATE(values<Case>({
        {"/log_level", "1", "log_level: must be a non-empty string"},
        {"/log_level", "\"\"", "log_level: must be a non-empty string"},
        {"/log_level", "\"verbose\"", "log_level: must be one of debug, info, warn, error, off"},
        {"/log_level", "\"INFO\"", "log_level: must be one of debug, info, warn, error, off"},
        {"/plugin_dir", "5", "plugin_dir: must be a non-empty string"},
        {"/plugin_dir", "\"\"", "plugin_dir: must be a non-empty string"},
        {"/gateway", "[]", "gateway: must be an object"},
        {"/gateway", "null", "gateway: must be an object"},
        {"/gateway", "\"127.0.0.1:8088\"", "gateway: must be an object"},
        {"/gateway/listen", "8088", "gateway.listen: must be a non-empty string"},
        {"/gateway/listen", "\"\"", "gateway.listen: must be a non-empty string"},
        {"/gateway/path", "5", "gateway.path: must be a non-empty string"},
        {"/gateway/path", "\"\"", "gateway.path: must be a non-empty string"},
        {"/gateway/path", "\"ws\"", "gateway.path: must start with '/'"},
        {"/gateway/threads", "\"1\"", "gateway.threads: must be an integer from 1 to 64"},
        {"/gateway/threads", "1.0", "gateway.threads: must be an integer from 1 to 64"},
        {"/gateway/threads", "1.5", "gateway.threads: must be an integer from 1 to 64"},
        {"/gateway/threads", "true", "gateway.threads: must be an integer from 1 to 64"},
        {"/gateway/threads", "null", "gateway.threads: must be an integer from 1 to 64"},
        {"/gateway/threads", "[1]", "gateway.threads: must be an integer from 1 to 64"},
        {"/plugins", "[]", "plugins: must be an object"},
        {"/plugins", "\"dice\"", "plugins: must be an object"},
        {"/plugins/dice", "[]", "plugins.dice: must be an object"},
        {"/plugins/dice", "\"tcp://127.0.0.1:5556\"", "plugins.dice: must be an object"},
        {"/plugins/dice/endpoint", "5556", "plugins.dice.endpoint: must be a non-empty string"},
        {"/plugins/dice/endpoint", "\"\"", "plugins.dice.endpoint: must be a non-empty string"},
        {"/plugins/dice/library", "5", "plugins.dice.library: must be a non-empty string"},
        {"/plugins/dice/library", "\"\"", "plugins.dice.library: must be a non-empty string"},
        {"/plugins/dice/workers", "\"2\"", "plugins.dice.workers: must be an integer from 1 to 256"},
        {"/plugins/dice/timeout_ms", "\"10s\"", "plugins.dice.timeout_ms: must be an integer from 1 to 3600000"},
        {"/plugins/dice/max_request_bytes", "{}", "plugins.dice.max_request_bytes: must be an integer from 16 to 67108864"},
        {"/plugins/dice/settings", "\"max_dice=5\"", "plugins.dice.settings: must be an object"},
        {"/plugins/dice/settings", "[]", "plugins.dice.settings: must be an object"},
        {"/plugins/dice/settings", "null", "plugins.dice.settings: must be an object"},
        {"/plugins/dice/idempotent", "1", "plugins.dice.idempotent: must be true or false"},
        {"/plugins/dice/idempotent", "\"true\"", "plugins.dice.idempotent: must be true or false"},
        {"/plugins/dice/idempotent", "null", "plugins.dice.idempotent: must be true or false"},
        {"/plugins/dice/max_attempts", "true", "plugins.dice.max_attempts: must be an integer from 1 to 16"},
        {"/plugins/dice/heartbeat_ms", "\"500\"", "plugins.dice.heartbeat_ms: must be an integer from 10 to 60000"},
        {"/plugins/dice/dead_after_ms", "2.5", "plugins.dice.dead_after_ms: must be an integer from 20 to 600000"},
        {"/plugins/dice/max_queued", "[]", "plugins.dice.max_queued: must be an integer from 1 to 10000000"},
        {"/gateway/drain_timeout_ms", "\"5s\"", "gateway.drain_timeout_ms: must be an integer from 0 to 600000"},
        {"/plugins/dice/isolate", "\"yes\"", "plugins.dice.isolate: must be true or false"},
        {"/plugins/dice/isolate", "0", "plugins.dice.isolate: must be true or false"},
    }));
    INFO(c.pointer << " = " << c.value_json);
    CHECK(error_message(parse(with(c.pointer, json::parse(c.value_json)))) == std::string("test.json: ") + c.expected);
}

TEST_CASE_METHOD(ConfigFixture, "numbers out of range are refused with the range", "[config][error][range]") {
    struct Case {
        const char* pointer;
        const char* value_json;
        const char* expected;
    };
    const auto c = GENERATE(values<Case>({
        {"/gateway/threads", "0", "gateway.threads: must be an integer from 1 to 64"},
        {"/gateway/threads", "65", "gateway.threads: must be an integer from 1 to 64"},
        {"/gateway/threads", "-1", "gateway.threads: must be an integer from 1 to 64"},
        {"/gateway/max_message_bytes", "15", "gateway.max_message_bytes: must be an integer from 16 to 67108864"},
        {"/gateway/max_message_bytes", "67108865", "gateway.max_message_bytes: must be an integer from 16 to 67108864"},
        {"/gateway/max_inflight_per_client", "0", "gateway.max_inflight_per_client: must be an integer from 1 to 65536"},
        {"/gateway/max_inflight_per_client", "65537", "gateway.max_inflight_per_client: must be an integer from 1 to 65536"},
        {"/gateway/max_outbound_bytes", "1023", "gateway.max_outbound_bytes: must be an integer from 1024 to 4294967296"},
        {"/gateway/max_outbound_bytes", "4294967297", "gateway.max_outbound_bytes: must be an integer from 1024 to 4294967296"},
        {"/plugins/dice/workers", "0", "plugins.dice.workers: must be an integer from 1 to 256"},
        {"/plugins/dice/workers", "257", "plugins.dice.workers: must be an integer from 1 to 256"},
        {"/plugins/dice/workers", "-2", "plugins.dice.workers: must be an integer from 1 to 256"},
        {"/plugins/dice/workers", "18446744073709551615", "plugins.dice.workers: must be an integer from 1 to 256"},
        {"/plugins/dice/workers", "1e30", "plugins.dice.workers: must be an integer from 1 to 256"},
        {"/plugins/dice/timeout_ms", "0", "plugins.dice.timeout_ms: must be an integer from 1 to 3600000"},
        {"/plugins/dice/timeout_ms", "3600001", "plugins.dice.timeout_ms: must be an integer from 1 to 3600000"},
        {"/plugins/dice/max_request_bytes", "15", "plugins.dice.max_request_bytes: must be an integer from 16 to 67108864"},
        {"/plugins/dice/max_request_bytes", "67108865", "plugins.dice.max_request_bytes: must be an integer from 16 to 67108864"},
        {"/plugins/dice/max_queued", "0", "plugins.dice.max_queued: must be an integer from 1 to 10000000"},
        {"/plugins/dice/max_queued", "10000001", "plugins.dice.max_queued: must be an integer from 1 to 10000000"},
        {"/plugins/dice/max_attempts", "0", "plugins.dice.max_attempts: must be an integer from 1 to 16"},
        {"/plugins/dice/max_attempts", "17", "plugins.dice.max_attempts: must be an integer from 1 to 16"},
        {"/plugins/dice/heartbeat_ms", "9", "plugins.dice.heartbeat_ms: must be an integer from 10 to 60000"},
        {"/plugins/dice/heartbeat_ms", "60001", "plugins.dice.heartbeat_ms: must be an integer from 10 to 60000"},
        {"/plugins/dice/dead_after_ms", "19", "plugins.dice.dead_after_ms: must be an integer from 20 to 600000"},
        {"/plugins/dice/dead_after_ms", "600001", "plugins.dice.dead_after_ms: must be an integer from 20 to 600000"},
        {"/gateway/drain_timeout_ms", "600001", "gateway.drain_timeout_ms: must be an integer from 0 to 600000"},
        {"/gateway/drain_timeout_ms", "-1", "gateway.drain_timeout_ms: must be an integer from 0 to 600000"},
    }));
    INFO(c.pointer << " = " << c.value_json);
    CHECK(error_message(parse(with(c.pointer, json::parse(c.value_json)))) == std::string("test.json: ") + c.expected);
}

TEST_CASE_METHOD(ConfigFixture, "a number too large for 64 bits is refused, not wrapped", "[config][error][range]") {
    // Spliced as text: nlohmann reads it as a float, so it is not an unsigned integer.
    const std::string text =
        R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556", "workers": 18446744073709551618}}})";
    CHECK(error_message(parse_text(text)) == "test.json: plugins.dice.workers: must be an integer from 1 to 256");
}

TEST_CASE_METHOD(ConfigFixture, "a bad listen address or port is refused", "[config][error][gateway]") {
    struct Case {
        const char* listen;
        const char* expected;
    };
    const auto c = GENERATE(values<Case>({
        {"127.0.0.1", "must be ADDRESS:PORT, e.g. 127.0.0.1:8088, got \"127.0.0.1\""},
        {"127.0.0.1:", "must be ADDRESS:PORT, e.g. 127.0.0.1:8088, got \"127.0.0.1:\""},
        {"8088", "must be ADDRESS:PORT"},
        {":8088", "\"\" is not an IP address"},
        {"localhost:8088", "\"localhost\" is not an IP address"},
        {"256.0.0.1:8088", "\"256.0.0.1\" is not an IP address"},
        {"[::1:8088", "\"[::1\" is not an IP address"},
        {"127.0.0.1:65536", "port \"65536\" must be a number from 0 to 65535"},
        {"127.0.0.1:99999", "port \"99999\" must be a number from 0 to 65535"},
        {"127.0.0.1:123456", "port \"123456\" must be a number from 0 to 65535"},
        {"127.0.0.1:-1", "port \"-1\" must be a number from 0 to 65535"},
        {"127.0.0.1:+80", "port \"+80\" must be a number from 0 to 65535"},
        {"127.0.0.1:80a", "port \"80a\" must be a number from 0 to 65535"},
        {"127.0.0.1: 80", "port \" 80\" must be a number from 0 to 65535"},
        {"127.0.0.1:99999999999999999999", "port \"99999999999999999999\" must be a number from 0 to 65535"},
    }));
    INFO("listen: " << c.listen);
    const std::string message = error_message(parse(with("/gateway/listen", c.listen)));
    CHECK_THAT(message, Catch::StartsWith("test.json: gateway.listen: "));
    CHECK_THAT(message, Catch::Contains(c.expected));
}

TEST_CASE_METHOD(ConfigFixture, "bad plugin names are refused", "[config][error][name]") {
    const auto name = GENERATE(as<std::string>{}, "Dice", "di ce", "dice!", "di.ce", "d\xc3\xa9",
                               "abcdefghijklmnopqrstuvwxyz0123456");
    INFO("name: " << name);
    json document;
    document["plugins"][name]["endpoint"] = "tcp://127.0.0.1:5556";
    CHECK(error_message(parse(document)) ==
          "test.json: plugins." + name + ": a plugin name is 1 to 32 characters of a-z, 0-9, '_' and '-'");
}

TEST_CASE_METHOD(ConfigFixture, "the name portico is reserved for the gateway", "[config][error][name]") {
    dir_.write("plugins/portico.so");
    const std::string message =
        error_message(parse_text(R"({"plugins": {"portico": {"endpoint": "tcp://127.0.0.1:5556"}}})"));
    CHECK(message == "test.json: plugins.portico: the name \"portico\" is the gateway's own plugin");
}

TEST_CASE_METHOD(ConfigFixture, "an empty plugin name is refused", "[config][error][name]") {
    const std::string message = error_message(parse_text(R"({"plugins": {"": {"endpoint": "tcp://127.0.0.1:5556"}}})"));
    CHECK_THAT(message, Catch::Contains("a plugin name is 1 to 32 characters"));
}

TEST_CASE_METHOD(ConfigFixture, "plugins must be present and not empty", "[config][error]") {
    SECTION("missing") {
        CHECK(error_message(parse_text(R"({"log_level": "info"})")) ==
              "test.json: plugins: is required: name at least one plugin");
    }
    SECTION("empty") {
        CHECK(error_message(parse_text(R"({"plugins": {}})")) ==
              "test.json: plugins: is empty: name at least one plugin");
    }
    SECTION("an empty document") {
        CHECK(error_message(parse_text("{}")) == "test.json: plugins: is required: name at least one plugin");
    }
}

TEST_CASE_METHOD(ConfigFixture, "the first problem found is the one reported, with the source name",
                 "[config][error]") {
    json document = with("/gateway/threads", 0);
    document["plugins"]["dice"]["workers"] = 0;
    const auto result = portico::parse_config(document.dump(), "/etc/portico/site.json", dir_.path(), defaults_);
    const std::string message = error_message(result);
    CHECK_THAT(message, Catch::StartsWith("/etc/portico/site.json: "));
    // gateway is checked before plugins
    CHECK_THAT(message, Catch::Contains("gateway.threads"));
}

// ---------------------------------------------------------------- load_config_file

TEST_CASE("load_config_file refuses what it cannot read", "[config][file][error]") {
    TempDir dir;
    SECTION("a missing file") {
        const std::string path = (dir / "nope.json").string();
        const auto result = portico::load_config_file(path, ConfigDefaults{dir.path()});
        const std::string message = error_message(result);
        CHECK_THAT(message, Catch::StartsWith(path + ": cannot read the config file"));
    }
    SECTION("a directory") {
        fs::create_directories(dir / "conf.json");
        const std::string path = (dir / "conf.json").string();
        const std::string message = error_message(portico::load_config_file(path, ConfigDefaults{dir.path()}));
        CHECK_THAT(message, Catch::StartsWith(path + ": "));
    }
    SECTION("a file over 1 MiB") {
        dir.write("plugins/dice.so");
        const std::string body = R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556"}}})";
        const std::string path = dir.write("big.json", body + std::string(1024 * 1024 + 1 - body.size(), ' '));
        REQUIRE(fs::file_size(path) == 1024 * 1024 + 1);
        const std::string message =
            error_message(portico::load_config_file(path, ConfigDefaults{(dir / "plugins").string()}));
        CHECK(message == path + ": config file is larger than 1 MiB");
    }
    SECTION("a file of invalid JSON names the file") {
        const std::string path = dir.write("bad.json", "{\"plugins\": ");
        const std::string message = error_message(portico::load_config_file(path, ConfigDefaults{dir.path()}));
        CHECK_THAT(message, Catch::StartsWith(path + ": invalid JSON: "));
    }
}

TEST_CASE("load_config_file accepts a file of exactly 1 MiB", "[config][file]") {
    TempDir dir;
    dir.write("plugins/dice.so");
    const std::string body = R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556"}}})";
    const std::string path = dir.write("padded.json", body + std::string(1024 * 1024 - body.size(), '\n'));
    REQUIRE(fs::file_size(path) == 1024 * 1024);
    const auto result = portico::load_config_file(path, ConfigDefaults{(dir / "plugins").string()});
    REQUIRE(result.has_value());
    CHECK(result.value().plugins.front().name == "dice");
}

// ---------------------------------------------------------------- roles and remote engines

TEST_CASE("parse_role knows all, engine and gateway", "[config][role]") {
    CHECK(portico::parse_role("all") == Role::all);
    CHECK(portico::parse_role("engine") == Role::engine);
    CHECK(portico::parse_role("gateway") == Role::gateway);
    for (const char* bad : {"", "ALL", "engines", "both", " gateway"}) {
        INFO("role: \"" << bad << "\"");
        CHECK_FALSE(portico::parse_role(bad).has_value());
    }
}

TEST_CASE_METHOD(ConfigFixture, "the config takes its role from the defaults", "[config][role]") {
    for (Role role : {Role::all, Role::engine, Role::gateway}) {
        const auto result = parse(minimal(), role);
        REQUIRE(result.has_value());
        CHECK(result.value().role == role);
    }
}

TEST_CASE_METHOD(ConfigFixture, "connect lists the plugin's remote engines", "[config][connect]") {
    SECTION("tcp and ipc addresses, in order") {
        const json connect = {"tcp://10.0.0.5:5556", "tcp://10.0.0.6:5556", "ipc:///run/portico/dice.sock"};
        const auto result = parse(json{{"plugins", {{"dice", {{"connect", connect}}}}}}, Role::gateway);
        REQUIRE(result.has_value());
        const PluginConfig& dice = result.value().plugins.front();
        CHECK(dice.route.connect == connect.get<std::vector<std::string>>());
        CHECK(dice.serve.endpoint.empty());
        CHECK_FALSE(dice.served_here(Role::gateway));
    }
    SECTION("63 addresses are accepted") {
        json connect = json::array();
        for (int i = 0; i < 63; ++i) connect.push_back("tcp://10.0.0.1:" + std::to_string(6000 + i));
        const auto result = parse(with("/plugins/dice/connect", connect));
        REQUIRE(result.has_value());
        CHECK(result.value().plugins.front().route.connect.size() == 63);
    }
}

TEST_CASE_METHOD(ConfigFixture, "bad connect lists are refused", "[config][connect][error]") {
    struct Case {
        const char* value_json;
        const char* expected;
    };
    const auto c = GENERATE(values<Case>({
        {"\"tcp://10.0.0.5:5556\"", "plugins.dice.connect: must be a list of 1 to 63 zmq addresses"},
        {"[]", "plugins.dice.connect: must be a list of 1 to 63 zmq addresses"},
        {"{}", "plugins.dice.connect: must be a list of 1 to 63 zmq addresses"},
        {"[5556]", "plugins.dice.connect[0]: must be a string"},
        {"[\"tcp://10.0.0.5:5556\", null]", "plugins.dice.connect[1]: must be a string"},
        {"[\"udp://10.0.0.5:5556\"]", "plugins.dice.connect[0]: must be a tcp:// or ipc:// zmq address"},
        {"[\"tcp://10.0.0.5:5556\", \"inproc://dice\"]", "plugins.dice.connect[1]: must be a tcp:// or ipc:// zmq address"},
        {"[\"tcp://*:5556\"]", "plugins.dice.connect[0]: cannot connect to a wildcard address"},
        {"[\"tcp://10.0.0.5:*\"]", "plugins.dice.connect[0]: cannot connect to a wildcard address"},
        {"[\"tcp://10.0.0.5:0\"]", "plugins.dice.connect[0]: cannot connect to a wildcard address"},
    }));
    INFO("connect: " << c.value_json);
    const std::string message = error_message(parse(with("/plugins/dice/connect", json::parse(c.value_json))));
    CHECK_THAT(message, Catch::StartsWith(std::string("test.json: ") + c.expected));
}

TEST_CASE_METHOD(ConfigFixture, "also_bind lists further addresses to bind, wildcards allowed", "[config][also_bind]") {
    SECTION("accepted and normalised") {
        const auto result = parse(with("/plugins/dice/also_bind", {"tcp://*:6000", "tcp://0.0.0.0:0", "ipc:///run/d.sock"}));
        REQUIRE(result.has_value());
        CHECK(result.value().plugins.front().serve.also_bind ==
              std::vector<std::string>{"tcp://*:6000", "tcp://0.0.0.0:*", "ipc:///run/d.sock"});
    }
    SECTION("refused like connect, but for wildcards") {
        struct Case {
            const char* value_json;
            const char* expected;
        };
        const auto c = GENERATE(values<Case>({
            {"\"tcp://*:6000\"", "plugins.dice.also_bind: must be a list of 1 to 63 zmq addresses"},
            {"[]", "plugins.dice.also_bind: must be a list of 1 to 63 zmq addresses"},
            {"[1]", "plugins.dice.also_bind[0]: must be a string"},
            {"[\"tcp://*:6000\", \"inproc://x\"]", "plugins.dice.also_bind[1]: must be a tcp:// or ipc:// zmq address"},
        }));
        INFO("also_bind: " << c.value_json);
        CHECK_THAT(error_message(parse(with("/plugins/dice/also_bind", json::parse(c.value_json)))),
                   Catch::StartsWith(std::string("test.json: ") + c.expected));
    }
}

TEST_CASE_METHOD(ConfigFixture, "64 connect addresses are too many", "[config][connect][error]") {
    json connect = json::array();
    for (int i = 0; i < 64; ++i) connect.push_back("tcp://10.0.0.1:" + std::to_string(6000 + i));
    CHECK_THAT(error_message(parse(with("/plugins/dice/connect", connect))),
               Catch::StartsWith("test.json: plugins.dice.connect: must be a list of 1 to 63 zmq addresses"));
}

TEST_CASE_METHOD(ConfigFixture, "dead_after_ms must be longer than heartbeat_ms", "[config][error]") {
    SECTION("equal") {
        json document = with("/plugins/dice/heartbeat_ms", 1000);
        document["plugins"]["dice"]["dead_after_ms"] = 1000;
        CHECK(error_message(parse(document)) == "test.json: plugins.dice.dead_after_ms: must be longer than heartbeat_ms");
    }
    SECTION("shorter") {
        json document = with("/plugins/dice/heartbeat_ms", 1000);
        document["plugins"]["dice"]["dead_after_ms"] = 999;
        CHECK(error_message(parse(document)) == "test.json: plugins.dice.dead_after_ms: must be longer than heartbeat_ms");
    }
    SECTION("a heartbeat beyond the default dead_after") {
        CHECK(error_message(parse(with("/plugins/dice/heartbeat_ms", 2000))) ==
              "test.json: plugins.dice.dead_after_ms: must be longer than heartbeat_ms");
    }
    SECTION("longer is fine") {
        json document = with("/plugins/dice/heartbeat_ms", 1000);
        document["plugins"]["dice"]["dead_after_ms"] = 1001;
        CHECK(parse(document).has_value());
    }
}

TEST_CASE_METHOD(ConfigFixture, "the plugin file must exist only where the plugin is served", "[config][role][path]") {
    // nosuch.so is not in the plugin dir.
    const json served = json::parse(R"({"plugins": {"nosuch": {"endpoint": "tcp://127.0.0.1:5556"}}})");
    const json remote = json::parse(R"({"plugins": {"nosuch": {"connect": ["tcp://10.0.0.5:5556"]}}})");
    SECTION("role all, served here: checked") {
        CHECK_THAT(error_message(parse(served, Role::all)), Catch::StartsWith("test.json: plugins.nosuch: plugin file"));
    }
    SECTION("role engine: checked") {
        CHECK_THAT(error_message(parse(served, Role::engine)),
                   Catch::StartsWith("test.json: plugins.nosuch: plugin file"));
    }
    SECTION("role gateway: not loaded here, not checked") {
        const auto result = parse(served, Role::gateway);
        REQUIRE(result.has_value());
        CHECK_FALSE(result.value().plugins.front().served_here(Role::gateway));
    }
    SECTION("role all, engines elsewhere: not checked") {
        const auto result = parse(remote, Role::all);
        REQUIRE(result.has_value());
        CHECK_FALSE(result.value().plugins.front().served_here(Role::all));
    }
    SECTION("served_here follows role and endpoint") {
        PluginConfig plugin;
        plugin.serve.endpoint = "tcp://127.0.0.1:5556";
        CHECK(plugin.served_here(Role::all));
        CHECK(plugin.served_here(Role::engine));
        CHECK_FALSE(plugin.served_here(Role::gateway));
        plugin.serve.endpoint.clear();
        CHECK_FALSE(plugin.served_here(Role::all));
    }
}

// Regression (fixed in a3bd176): in role gateway a plugin without "connect" is
// reached at its "endpoint"; a wildcard one (as the engine role binds) used to
// be accepted and made zmq's connect() throw EINVAL out of Host::start.
TEST_CASE_METHOD(ConfigFixture, "role gateway refuses an endpoint it would have to connect to a wildcard of",
                 "[config][role][error]") {
    struct Case {
        const char* endpoint;
        const char* normalised;
    };
    const auto c = GENERATE(values<Case>({{"tcp://*:5556", "tcp://*:5556"}, {"tcp://127.0.0.1:0", "tcp://127.0.0.1:*"}}));
    INFO("endpoint: " << c.endpoint);
    CHECK(error_message(parse(with("/plugins/dice/endpoint", c.endpoint), Role::gateway)) ==
          std::string("test.json: plugins.dice.connect: is required: the endpoint ") + c.normalised +
              " is a wildcard the gateway cannot connect to (role gateway)");
    // With connect given, the wildcard endpoint is only bound by the engine role.
    json document = with("/plugins/dice/endpoint", c.endpoint);
    document["plugins"]["dice"]["connect"] = {"tcp://10.0.0.5:5556"};
    CHECK(parse(document, Role::gateway).has_value());
    CHECK(parse(with("/plugins/dice/endpoint", c.endpoint), Role::all).has_value());
}

// ---------------------------------------------------------------- first-run friction

TEST_CASE_METHOD(ConfigFixture, "a key given twice in one object is refused with its path", "[config][duplicates]") {
    CHECK_THAT(error_message(parse_text(R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556", "workers": 2,
                                           "workers": 3}}})")),
               Catch::Equals("test.json: plugins.dice.workers: appears twice in its object; JSON would keep only the last"));
    CHECK_THAT(error_message(parse_text(R"({"log_level": "info", "plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556"}},
                                           "log_level": "debug"})")),
               Catch::Contains("test.json: log_level: appears twice"));
    // The same key in two objects is two keys.
    CHECK(parse_text(R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:5556", "workers": 1},
                                      "echo": {"endpoint": "tcp://127.0.0.1:5557", "workers": 1}}})")
              .has_value());
}

TEST_CASE_METHOD(ConfigFixture, "zmq ports are range-checked and localhost means 127.0.0.1", "[config][endpoint]") {
    CHECK_THAT(error_message(parse(with("/plugins/dice/endpoint", "tcp://127.0.0.1:99999"))),
               Catch::Contains("plugins.dice.endpoint: port \"99999\" must be a number from 1 to 65535"));
    CHECK_THAT(error_message(parse(with("/plugins/dice/endpoint", "tcp://127.0.0.1:65536"))),
               Catch::Contains("port \"65536\""));
    CHECK_THAT(error_message(parse(with("/plugins/dice/endpoint", "tcp://127.0.0.1:http"))),
               Catch::Contains("port \"http\""));
    CHECK_THAT(error_message(parse(with("/plugins/dice/endpoint", "tcp://127.0.0.1"))),
               Catch::Contains("must be tcp://HOST:PORT"));
    const auto local = parse(with("/plugins/dice/endpoint", "tcp://localhost:5556"));
    REQUIRE(local.has_value());
    CHECK(local->plugins.front().serve.endpoint == "tcp://127.0.0.1:5556");
    const auto any = parse(with("/plugins/dice/endpoint", "tcp://127.0.0.1:0"));
    REQUIRE(any.has_value());
    CHECK(any->plugins.front().serve.endpoint == "tcp://127.0.0.1:*");
}

TEST_CASE_METHOD(ConfigFixture, "two plugins on one endpoint name each other", "[config][endpoint]") {
    auto document = minimal();
    document["plugins"]["echo"] = {{"endpoint", "tcp://127.0.0.1:5556"}};
    CHECK_THAT(error_message(parse(document)),
               Catch::Contains("plugins.echo.endpoint: tcp://127.0.0.1:5556 is also the endpoint of plugin \"dice\""));
    document["plugins"]["echo"] = {{"endpoint", "tcp://127.0.0.1:5557"}, {"also_bind", {"tcp://127.0.0.1:5556"}}};
    CHECK_THAT(error_message(parse(document)), Catch::Contains("is also the endpoint of plugin \"dice\""));
    // Any free port is never the same one.
    document = with("/plugins/dice/endpoint", "tcp://127.0.0.1:*");
    document["plugins"]["echo"] = {{"endpoint", "tcp://127.0.0.1:*"}};
    CHECK(parse(document).has_value());
}

TEST_CASE_METHOD(ConfigFixture, "ops, log_format and the playground switch are read and checked", "[config][ops]") {
    const auto defaults = parse(minimal());
    REQUIRE(defaults.has_value());
    CHECK_FALSE(defaults->ops.has_listener());
    CHECK(defaults->ops.metrics);
    CHECK(defaults->log_format == portico::LogFormat::text);
    CHECK(defaults->gateway.playground);

    auto document = minimal();
    document["ops"] = {{"listen", "[::1]:9100"}, {"metrics", false}};
    document["log_format"] = "json";
    document["gateway"] = {{"playground", false}};
    const auto set = parse(document);
    REQUIRE(set.has_value());
    CHECK(set->ops.address == "::1");
    CHECK(set->ops.port == 9100);
    CHECK_FALSE(set->ops.metrics);
    CHECK(set->log_format == portico::LogFormat::json);
    CHECK_FALSE(set->gateway.playground);

    CHECK_THAT(error_message(parse(with("/ops/listen", "localhost:9100"))), Catch::Contains("ops.listen: \"localhost\" is not an IP address"));
    CHECK_THAT(error_message(parse(with("/ops/port", 9100))), Catch::Contains("ops.port: unknown key"));
    CHECK_THAT(error_message(parse(with("/log_format", "yaml"))), Catch::Contains("log_format: must be \"text\" or \"json\""));
    CHECK_THAT(error_message(parse(with("/gateway/playground", "yes"))), Catch::Contains("gateway.playground: must be true or false"));
    auto same = minimal();
    same["gateway"] = {{"listen", "127.0.0.1:8088"}};
    same["ops"] = {{"listen", "127.0.0.1:8088"}};
    CHECK_THAT(error_message(parse(same)), Catch::Contains("ops.listen: is the gateway's own address"));
}
