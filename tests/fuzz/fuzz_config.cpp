// The config parser (host/config/config.hpp) on any bytes, once for each role.
//
// parse_config() must never throw or crash: it returns a Config or an Error.
// A refusal is an "invalid_config" error that names the source; an accepted
// config holds every promise its header makes (valid plugin names, values in
// range, dead_after longer than heartbeat, addresses the role can use, no
// control character (NUL above all) in an address or path, plugin files that
// exist where they are served).
//
// Plugin files: LLVMFuzzerInitialize makes a private directory with dice.so,
// notepad.so and echo.so in it (empty files: only their existence is checked)
// and uses it as plugin_dir and as the config's own directory, so configs that
// serve these plugins are accepted and reach every check.
#include "config/config.hpp"
#include "fuzz_support.hpp"

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace {

namespace fs = std::filesystem;
using portico::Config;
using portico::Role;

const std::string source = "fuzz.json";
std::string plugin_dir;  // made once, removed at exit

void remove_plugin_dir() {
    std::error_code ec;
    if (!plugin_dir.empty()) fs::remove_all(plugin_dir, ec);
}

// Addresses, paths and file names go to C APIs (inet_pton, zmq_bind, dlopen)
// that stop at a NUL: what is checked and used would not be what was written.
// The config refuses every control character in them.
bool no_control(const std::string& text) {
    for (const unsigned char c : text)
        if (c < 0x20 || c == 0x7f) return false;
    return true;
}

bool is_zmq_address(const std::string& address) {
    return address.rfind("tcp://", 0) == 0 || address.rfind("ipc://", 0) == 0;
}

const char* role_name(Role role) {
    switch (role) {
        case Role::all: return "all";
        case Role::engine: return "engine";
        case Role::gateway: return "gateway";
    }
    return "?";
}

void check_gateway(const portico::GatewayConfig& gateway) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(gateway.address, ec);
    FUZZ_REQUIRE(!ec, "gateway.address \"" + gateway.address + "\"");
    FUZZ_REQUIRE(no_control(gateway.address), "gateway.address holds a control character");
    FUZZ_REQUIRE(no_control(gateway.path), "gateway.path holds a control character");
    FUZZ_REQUIRE(!gateway.path.empty() && gateway.path.front() == '/', "gateway.path " + gateway.path);
    FUZZ_REQUIRE(gateway.threads >= 1 && gateway.threads <= 64, "gateway.threads");
    FUZZ_REQUIRE(gateway.max_message_bytes >= 16 && gateway.max_message_bytes <= 64u * 1024 * 1024,
                 "gateway.max_message_bytes");
    FUZZ_REQUIRE(gateway.max_inflight_per_client >= 1 && gateway.max_inflight_per_client <= 65536,
                 "gateway.max_inflight_per_client");
    FUZZ_REQUIRE(gateway.max_outbound_bytes >= 1024 && gateway.max_outbound_bytes <= (1ull << 32),
                 "gateway.max_outbound_bytes");
    FUZZ_REQUIRE(gateway.drain_timeout.count() >= 0 && gateway.drain_timeout.count() <= 600'000,
                 "gateway.drain_timeout_ms");
}

void check_plugin(const portico::PluginConfig& plugin, Role role) {
    const std::string where = "plugins." + plugin.name + " (role " + role_name(role) + ")";
    FUZZ_REQUIRE(portico::is_valid_plugin_name(plugin.name) && plugin.name != "portico", where);
    FUZZ_REQUIRE(plugin.engine.workers >= 1 && plugin.engine.workers <= 256, where + ".workers");
    FUZZ_REQUIRE(plugin.route.timeout.count() >= 1 && plugin.route.timeout.count() <= 3'600'000, where + ".timeout_ms");
    FUZZ_REQUIRE(plugin.engine.max_request_bytes >= 16 && plugin.engine.max_request_bytes <= 64u * 1024 * 1024,
                 where + ".max_request_bytes");
    FUZZ_REQUIRE(plugin.engine.max_queued >= 1 && plugin.engine.max_queued <= 10'000'000, where + ".max_queued");
    FUZZ_REQUIRE(plugin.route.max_attempts >= 1 && plugin.route.max_attempts <= 16, where + ".max_attempts");
    FUZZ_REQUIRE(plugin.route.heartbeat.count() >= 10 && plugin.route.heartbeat.count() <= 60'000, where + ".heartbeat_ms");
    FUZZ_REQUIRE(plugin.route.dead_after > plugin.route.heartbeat && plugin.route.dead_after.count() <= 600'000,
                 where + ".dead_after_ms");

    const nlohmann::json settings = nlohmann::json::parse(plugin.engine.settings_json, nullptr, false);
    FUZZ_REQUIRE(settings.is_object(), where + ".settings: " + plugin.engine.settings_json);

    FUZZ_REQUIRE(no_control(plugin.engine.library), where + ".library holds a control character");
    FUZZ_REQUIRE(no_control(plugin.serve.endpoint), where + ".endpoint holds a control character");
    for (const auto& address : plugin.route.connect) FUZZ_REQUIRE(no_control(address), where + ".connect holds a control character");
    for (const auto& address : plugin.serve.also_bind) FUZZ_REQUIRE(no_control(address), where + ".also_bind holds a control character");
    FUZZ_REQUIRE(plugin.serve.endpoint.empty() || is_zmq_address(plugin.serve.endpoint), where + ".endpoint " + plugin.serve.endpoint);
    FUZZ_REQUIRE(plugin.route.connect.size() <= 63 && plugin.serve.also_bind.size() <= 63, where);
    for (const auto& address : plugin.route.connect)
        FUZZ_REQUIRE(is_zmq_address(address) && address.find('*') == std::string::npos, where + ".connect " + address);
    for (const auto& address : plugin.serve.also_bind) FUZZ_REQUIRE(is_zmq_address(address), where + ".also_bind " + address);

    switch (role) {
        case Role::engine: FUZZ_REQUIRE(!plugin.serve.endpoint.empty(), where + ": nothing to serve"); break;
        case Role::gateway:
            FUZZ_REQUIRE(!plugin.route.connect.empty() ||
                             (!plugin.serve.endpoint.empty() && plugin.serve.endpoint.find('*') == std::string::npos),
                         where + ": no engine to reach");
            break;
        case Role::all:
            FUZZ_REQUIRE(!plugin.route.connect.empty() || !plugin.serve.endpoint.empty(), where + ": neither served nor reached");
            break;
    }
    FUZZ_REQUIRE(fs::path(plugin.engine.library).is_absolute(), where + ".library " + plugin.engine.library);
    if (plugin.served_here(role)) {
        std::error_code ec;
        FUZZ_REQUIRE(fs::is_regular_file(plugin.engine.library, ec), where + ": served from a missing " + plugin.engine.library);
    }
}

void check_config(const Config& config, Role role) {
    FUZZ_REQUIRE(config.source == source && config.role == role, "source or role");
    FUZZ_REQUIRE(no_control(config.plugin_dir), "plugin_dir holds a control character");
    check_gateway(config.gateway);
    FUZZ_REQUIRE(!config.plugins.empty(), "no plugins");
    for (std::size_t i = 0; i < config.plugins.size(); ++i) {
        check_plugin(config.plugins[i], role);
        for (std::size_t j = 0; j < i; ++j)
            FUZZ_REQUIRE(config.plugins[j].name != config.plugins[i].name, "plugin twice: " + config.plugins[i].name);
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::error_code ec;
    std::string pattern = (fs::temp_directory_path(ec) / "portico-fuzz-plugins-XXXXXX").string();
    if (ec || ::mkdtemp(pattern.data()) == nullptr) {
        std::fprintf(stderr, "fuzz_config: cannot make a temporary directory\n");
        std::abort();
    }
    plugin_dir = pattern;
    std::atexit(remove_plugin_dir);
    for (const char* name : {"dice.so", "notepad.so", "echo.so"}) std::ofstream(fs::path(plugin_dir) / name) << "";

    // The built-in default parses, or nothing else is worth fuzzing.
    const auto builtin = portico::default_config(portico::ConfigDefaults{plugin_dir, Role::all});
    FUZZ_REQUIRE(builtin.has_value(), builtin.error().message);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = portico::fuzz::as_text(data, size);
    for (const Role role : {Role::all, Role::engine, Role::gateway}) {
        const portico::Expected<Config> parsed =
            portico::parse_config(text, source, plugin_dir, portico::ConfigDefaults{plugin_dir, role});
        if (parsed) {
            check_config(parsed.value(), role);
        } else {
            const portico::Error& error = parsed.error();
            FUZZ_REQUIRE(error.code == "invalid_config", error.code + ": " + error.message);
            FUZZ_REQUIRE(error.message.rfind(source + ": ", 0) == 0 && error.message.size() > source.size() + 2,
                         error.message);
        }
    }
    return 0;
}
