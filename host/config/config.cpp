#include "config/config.hpp"

#include "config/allowed_origins.hpp"

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

namespace portico {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view builtin_config = R"({
  "log_level": "info",
  "gateway": { "listen": "127.0.0.1:8088", "path": "/ws", "threads": 1 },
  "plugins": {
    "dice": { "endpoint": "tcp://127.0.0.1:5556", "workers": 2, "idempotent": true }
  }
})";

// Every key the config knows, object by object (also listed by config_keys()).
using KeyList = std::initializer_list<std::string_view>;
const KeyList root_keys = {"log_level", "log_format", "plugin_dir", "gateway", "ops", "plugins", "curve"};
const KeyList gateway_keys = {"listen", "path", "threads", "max_message_bytes", "max_inflight_per_client",
                                  "max_outbound_bytes", "drain_timeout_ms", "tls", "allowed_origins",
                                  "max_connections", "max_connections_per_ip", "handshake_timeout_ms",
                                  "ping_interval_ms", "pong_timeout_ms", "push_batch_ms", "auth", "playground"};
const KeyList tls_keys = {"cert_file", "key_file"};
const KeyList auth_keys = {"jwt"};
const KeyList jwt_keys = {"algorithms", "secret_file", "public_key_file", "issuer", "audience", "leeway_s"};
const KeyList ops_keys = {"listen", "metrics"};
const KeyList plugin_keys = {"library", "endpoint", "workers", "timeout_ms", "max_request_bytes", "settings",
                                 "connect", "idempotent", "max_attempts", "heartbeat_ms", "dead_after_ms",
                                 "max_queued", "channel_history", "channel_history_ms", "also_bind", "isolate", "rate_limit", "require_scope", "server_key"};
const KeyList rate_limit_keys = {"per_second", "burst"};
const KeyList curve_keys = {"key_file", "allowed_clients"};

// Deep enough for any settings a plugin could want.
constexpr std::size_t max_config_depth = 64;

// Thrown inside the parser only; parse_config turns it into an Error.
struct ConfigProblem {
    std::string key;
    std::string problem;
};

[[noreturn]] void fail(const std::string& key, const std::string& problem) {
    throw ConfigProblem{key, problem};
}

std::string join_key(const std::string& parent, const std::string& key) {
    return parent.empty() ? key : parent + "." + key;
}

void refuse_unknown_keys(const json& object, const std::string& where, KeyList known) {
    for (const auto& item : object.items()) {
        bool found = false;
        for (auto k : known) found = found || item.key() == k;
        if (!found) fail(join_key(where, item.key()), "unknown key");
    }
}

const json& require_object(const json& value, const std::string& key) {
    if (!value.is_object()) fail(key, "must be an object");
    return value;
}

// Paths, addresses and names go to C interfaces (open(), zmq, the kernel)
// that would stop at a NUL and mean something else: refused here.
std::string checked_text(std::string text, const std::string& key) {
    for (unsigned char c : text)
        if (c < 0x20 || c == 0x7f) fail(key, "must not hold control characters (such as \\u0000)");
    return text;
}

std::string get_string(const json& object, const std::string& parent, const char* key,
                       const std::string& fallback, bool required = false) {
    auto it = object.find(key);
    if (it == object.end()) {
        if (required) fail(join_key(parent, key), "is required");
        return fallback;
    }
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
        fail(join_key(parent, key), "must be a non-empty string");
    return checked_text(it->get<std::string>(), join_key(parent, key));
}

std::uint64_t get_unsigned(const json& object, const std::string& parent, const char* key,
                           std::uint64_t fallback, std::uint64_t min, std::uint64_t max) {
    auto it = object.find(key);
    if (it == object.end()) return fallback;
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() < min || it->get<std::uint64_t>() > max)
        fail(join_key(parent, key),
             "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return it->get<std::uint64_t>();
}

std::string resolve_path(const std::string& path, const std::string& base_dir) {
    fs::path p(path);
    if (p.is_relative() && !base_dir.empty()) p = fs::path(base_dir) / p;
    // Absolute, so that it means the same in a child process or after a chdir.
    std::error_code ec;
    const fs::path absolute = fs::absolute(p, ec);
    return (ec ? p : absolute).lexically_normal().string();
}

// "ADDRESS:PORT" (an IPv6 address in brackets) into its parts.
std::pair<std::string, std::uint16_t> parse_listen(const std::string& text, const std::string& key) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 == text.size())
        fail(key, "must be ADDRESS:PORT, e.g. 127.0.0.1:8088, got \"" + text + "\"");
    std::string host = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    if (ec) fail(key, "\"" + host + "\" is not an IP address");
    if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
        std::stoul(port) > 65535)
        fail(key, "port \"" + port + "\" must be a number from 0 to 65535");
    return {host, static_cast<std::uint16_t>(std::stoul(port))};
}

std::chrono::milliseconds get_millis(const json& object, const std::string& parent, const char* key,
                                     std::chrono::milliseconds fallback, std::uint64_t min, std::uint64_t max);
bool get_bool(const json& object, const std::string& parent, const char* key, bool fallback);

std::optional<TlsConfig> parse_tls(const json& gateway, const std::string& base_dir) {
    auto it = gateway.find("tls");
    if (it == gateway.end()) return std::nullopt;
    const std::string where = "gateway.tls";
    require_object(*it, where);
    refuse_unknown_keys(*it, where, tls_keys);
    TlsConfig tls;
    tls.cert_file = resolve_path(get_string(*it, where, "cert_file", "", true), base_dir);
    tls.key_file = resolve_path(get_string(*it, where, "key_file", "", true), base_dir);
    return tls;
}

std::optional<JwtConfig> parse_auth(const json& gateway, const std::string& base_dir) {
    auto it = gateway.find("auth");
    if (it == gateway.end()) return std::nullopt;
    require_object(*it, "gateway.auth");
    refuse_unknown_keys(*it, "gateway.auth", auth_keys);
    auto jwt = it->find("jwt");
    if (jwt == it->end()) fail("gateway.auth.jwt", "is required (the only kind of auth)");
    const std::string where = "gateway.auth.jwt";
    require_object(*jwt, where);
    refuse_unknown_keys(*jwt, where, jwt_keys);
    JwtConfig config;
    const std::string list_key = where + ".algorithms";
    auto algorithms = jwt->find("algorithms");
    if (algorithms == jwt->end()) fail(list_key, "is required, e.g. [\"RS256\"]");
    if (!algorithms->is_array() || algorithms->empty() || algorithms->size() > 3)
        fail(list_key, "must be a list of 1 to 3 of \"HS256\", \"RS256\", \"ES256\"");
    bool hmac = false, rsa = false, ec = false;
    for (std::size_t i = 0; i < algorithms->size(); ++i) {
        const auto& item = (*algorithms)[i];
        const std::string item_key = list_key + "[" + std::to_string(i) + "]";
        if (!item.is_string()) fail(item_key, "must be a string");
        const auto name = item.get<std::string>();
        if (name == "HS256") hmac = true;
        else if (name == "RS256") rsa = true;
        else if (name == "ES256") ec = true;
        else fail(item_key, "\"" + checked_text(name.substr(0, 40), item_key) +
                                "\" is not supported: use HS256, RS256 or ES256 (\"none\" is never accepted)");
        config.algorithms.push_back(name);
    }
    if (hmac + rsa + ec > 1)
        fail(list_key, "mixes key types: one key serves one algorithm family, or a token could pick how "
                       "the key is used (an HS256 token signed with the RSA public key as its secret)");
    const bool has_secret = jwt->contains("secret_file");
    const bool has_public = jwt->contains("public_key_file");
    if (has_secret && has_public) fail(where, "has both secret_file and public_key_file: give the one key its algorithm needs");
    if (hmac) {
        if (!has_secret) fail(where + ".secret_file", "is required for HS256");
        config.secret_file = resolve_path(get_string(*jwt, where, "secret_file", ""), base_dir);
    } else {
        if (!has_public) fail(where + ".public_key_file", std::string("is required for ") + (rsa ? "RS256" : "ES256"));
        config.public_key_file = resolve_path(get_string(*jwt, where, "public_key_file", ""), base_dir);
    }
    config.issuer = get_string(*jwt, where, "issuer", "");
    config.audience = get_string(*jwt, where, "audience", "");
    config.leeway = std::chrono::seconds(
        get_unsigned(*jwt, where, "leeway_s", static_cast<std::uint64_t>(config.leeway.count()), 0, 600));
    return config;
}

std::vector<std::string> parse_allowed_origins(const json& gateway, std::vector<std::string> fallback) {
    auto it = gateway.find("allowed_origins");
    if (it == gateway.end()) return fallback;
    const std::string key = "gateway.allowed_origins";
    if (!it->is_array() || it->empty() || it->size() > 256)
        fail(key, "must be a list of 1 to 256 origins, e.g. [\"https://app.example.com\"] or [\"*\"]");
    std::vector<std::string> origins;
    for (std::size_t i = 0; i < it->size(); ++i) {
        const std::string item_key = key + "[" + std::to_string(i) + "]";
        if (!(*it)[i].is_string()) fail(item_key, "must be a string");
        origins.push_back(checked_text((*it)[i].get<std::string>(), item_key));
    }
    auto parsed = AllowedOrigins::parse(origins);
    if (!parsed) fail(key + parsed.error().message.substr(0, parsed.error().message.find(':')),
                      parsed.error().message.substr(parsed.error().message.find(':') + 2));
    return origins;
}

GatewayConfig parse_gateway(const json& value, const std::string& base_dir) {
    const std::string where = "gateway";
    require_object(value, where);
    refuse_unknown_keys(value, where, gateway_keys);
    GatewayConfig gateway;
    std::tie(gateway.address, gateway.port) =
        parse_listen(get_string(value, where, "listen", "127.0.0.1:8088"), "gateway.listen");
    gateway.path = get_string(value, where, "path", gateway.path);
    if (gateway.path.front() != '/') fail("gateway.path", "must start with '/'");
    gateway.threads = static_cast<unsigned>(get_unsigned(value, where, "threads", gateway.threads, 1, 64));
    gateway.max_message_bytes = get_unsigned(value, where, "max_message_bytes",
                                             gateway.max_message_bytes, 16, 64 * 1024 * 1024);
    gateway.max_inflight_per_client = static_cast<unsigned>(get_unsigned(
        value, where, "max_inflight_per_client", gateway.max_inflight_per_client, 1, 65536));
    gateway.max_outbound_bytes = get_unsigned(value, where, "max_outbound_bytes",
                                              gateway.max_outbound_bytes, 1024, 1ull << 32);
    gateway.drain_timeout = std::chrono::milliseconds(get_unsigned(
        value, where, "drain_timeout_ms", static_cast<std::uint64_t>(gateway.drain_timeout.count()), 0, 600'000));
    gateway.tls = parse_tls(value, base_dir);
    gateway.allowed_origins = parse_allowed_origins(value, gateway.allowed_origins);
    gateway.max_connections = static_cast<unsigned>(
        get_unsigned(value, where, "max_connections", gateway.max_connections, 1, 1'000'000));
    gateway.max_connections_per_ip = static_cast<unsigned>(
        get_unsigned(value, where, "max_connections_per_ip", gateway.max_connections_per_ip, 1, 1'000'000));
    gateway.handshake_timeout = get_millis(value, where, "handshake_timeout_ms", gateway.handshake_timeout, 100, 120'000);
    gateway.ping_interval = get_millis(value, where, "ping_interval_ms", gateway.ping_interval, 0, 3'600'000);
    if (gateway.ping_interval.count() > 0 && gateway.ping_interval.count() < 100)
        fail("gateway.ping_interval_ms", "must be 0 (no pings) or from 100 to 3600000");
    gateway.pong_timeout = get_millis(value, where, "pong_timeout_ms", gateway.pong_timeout, 100, 600'000);
    gateway.push_batch = get_millis(value, where, "push_batch_ms", gateway.push_batch, 0, 100);
    gateway.jwt = parse_auth(value, base_dir);
    gateway.playground = get_bool(value, where, "playground", gateway.playground);
    return gateway;
}

OpsConfig parse_ops(const json& root) {
    OpsConfig ops;
    auto it = root.find("ops");
    if (it == root.end()) return ops;
    const std::string where = "ops";
    require_object(*it, where);
    refuse_unknown_keys(*it, where, ops_keys);
    if (it->contains("listen")) std::tie(ops.address, ops.port) = parse_listen(get_string(*it, where, "listen", ""), "ops.listen");
    ops.metrics = get_bool(*it, where, "metrics", ops.metrics);
    return ops;
}

std::string normalise_endpoint(std::string endpoint, const std::string& key) {
    const bool tcp = endpoint.rfind("tcp://", 0) == 0;
    const bool ipc = endpoint.rfind("ipc://", 0) == 0;
    if (!tcp && !ipc) fail(key, "must be a tcp:// or ipc:// zmq address, got \"" + endpoint + "\"");
    // zmq spells "any free port" as '*'; accept the socket convention ':0' too.
    if (tcp && endpoint.size() > 2 && endpoint.compare(endpoint.size() - 2, 2, ":0") == 0)
        endpoint.replace(endpoint.size() - 1, 1, "*");
    if (tcp) {
        const auto colon = endpoint.rfind(':');
        const std::string host = endpoint.substr(6, colon == std::string::npos || colon < 6 ? 0 : colon - 6);
        const std::string port = colon == std::string::npos || colon < 6 ? "" : endpoint.substr(colon + 1);
        if (host.empty() || port.empty())
            fail(key, "must be tcp://HOST:PORT, e.g. tcp://127.0.0.1:5556, got \"" + endpoint + "\"");
        // zmq would take the number modulo 65536 and bind another port.
        if (port != "*" && (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
                            std::stoul(port) == 0 || std::stoul(port) > 65535))
            fail(key, "port \"" + port + "\" must be a number from 1 to 65535, or 0 or * for any free port");
        // zmq binds to an interface's address, never a host name, and would
        // fail with "No such device": the one name everybody means is mapped.
        if (host == "localhost") endpoint = "tcp://127.0.0.1:" + port;
    }
    return endpoint;
}

bool get_bool(const json& object, const std::string& parent, const char* key, bool fallback) {
    auto it = object.find(key);
    if (it == object.end()) return fallback;
    if (!it->is_boolean()) fail(join_key(parent, key), "must be true or false");
    return it->get<bool>();
}

std::chrono::milliseconds get_millis(const json& object, const std::string& parent, const char* key,
                                     std::chrono::milliseconds fallback, std::uint64_t min, std::uint64_t max) {
    return std::chrono::milliseconds(
        get_unsigned(object, parent, key, static_cast<std::uint64_t>(fallback.count()), min, max));
}

std::vector<std::string> get_addresses(const json& object, const std::string& parent, const char* key,
                                       bool connecting) {
    std::vector<std::string> addresses;
    auto it = object.find(key);
    if (it == object.end()) return addresses;
    const std::string list_key = join_key(parent, key);
    if (!it->is_array() || it->empty() || it->size() > 63)
        fail(list_key, "must be a list of 1 to 63 zmq addresses, e.g. [\"tcp://10.0.0.5:5556\"]");
    for (std::size_t i = 0; i < it->size(); ++i) {
        const std::string item_key = list_key + "[" + std::to_string(i) + "]";
        const auto& address = (*it)[i];
        if (!address.is_string()) fail(item_key, "must be a string");
        std::string text = normalise_endpoint(checked_text(address.get<std::string>(), item_key), item_key);
        if (connecting && text.find('*') != std::string::npos)
            fail(item_key, "cannot connect to a wildcard address");
        addresses.push_back(std::move(text));
    }
    return addresses;
}

bool looks_like_curve_key(const std::string& text);

PluginConfig parse_plugin(const std::string& name, const json& value, const std::string& plugin_dir,
                          const std::string& base_dir, Role role) {
    const std::string where = "plugins." + name;
    if (!is_valid_plugin_name(name))
        fail(where, "a plugin name is 1 to 32 characters of a-z, 0-9, '_' and '-'");
    if (name == "portico") fail(where, "the name \"portico\" is the gateway's own plugin");
    require_object(value, where);
    refuse_unknown_keys(value, where, plugin_keys);
    PluginConfig plugin;
    plugin.name = name;
    const std::string library = get_string(value, where, "library", "");
    plugin.engine.library = library.empty() ? resolve_path(name + ".so", plugin_dir) : resolve_path(library, base_dir);
    if (value.contains("endpoint"))
        plugin.serve.endpoint = normalise_endpoint(get_string(value, where, "endpoint", ""), where + ".endpoint");
    plugin.engine.workers = static_cast<unsigned>(get_unsigned(value, where, "workers", plugin.engine.workers, 1, 256));
    plugin.route.timeout = get_millis(value, where, "timeout_ms", plugin.route.timeout, 1, 3'600'000);
    plugin.engine.max_request_bytes =
        get_unsigned(value, where, "max_request_bytes", plugin.engine.max_request_bytes, 16, 64 * 1024 * 1024);
    plugin.engine.max_queued = get_unsigned(value, where, "max_queued", plugin.engine.max_queued, 1, 10'000'000);
    plugin.engine.channel_history =
        get_unsigned(value, where, "channel_history", plugin.engine.channel_history, 0, 100'000);
    plugin.engine.channel_history_ms =
        get_millis(value, where, "channel_history_ms", plugin.engine.channel_history_ms, 1000, 86'400'000);
    if (auto it = value.find("settings"); it != value.end()) {
        if (!it->is_object()) fail(where + ".settings", "must be an object");
        plugin.engine.settings_json = it->dump();
    }
    plugin.route.connect = get_addresses(value, where, "connect", true);
    plugin.serve.also_bind = get_addresses(value, where, "also_bind", false);
    plugin.serve.isolate = get_bool(value, where, "isolate", plugin.serve.isolate);
    plugin.route.idempotent = get_bool(value, where, "idempotent", plugin.route.idempotent);
    plugin.route.max_attempts =
        static_cast<unsigned>(get_unsigned(value, where, "max_attempts", plugin.route.max_attempts, 1, 16));
    plugin.route.heartbeat = get_millis(value, where, "heartbeat_ms", plugin.route.heartbeat, 10, 60'000);
    plugin.route.dead_after = get_millis(value, where, "dead_after_ms", plugin.route.dead_after, 20, 600'000);
    if (plugin.route.dead_after <= plugin.route.heartbeat)
        fail(where + ".dead_after_ms", "must be longer than heartbeat_ms");
    if (auto it = value.find("rate_limit"); it != value.end()) {
        const std::string key = where + ".rate_limit";
        require_object(*it, key);
        refuse_unknown_keys(*it, key, rate_limit_keys);
        auto rate = it->find("per_second");
        if (rate == it->end()) fail(key + ".per_second", "is required");
        if (!rate->is_number() || !(rate->get<double>() >= 0.001) || rate->get<double>() > 1e6)
            fail(key + ".per_second", "must be a number from 0.001 to 1000000");
        plugin.route.rate_limit.per_second = rate->get<double>();
        const auto fallback = static_cast<std::uint64_t>(std::max(1.0, plugin.route.rate_limit.per_second));
        plugin.route.rate_limit.burst =
            static_cast<unsigned>(get_unsigned(*it, key, "burst", fallback, 1, 1'000'000));
    }
    if (value.contains("server_key")) {
        plugin.route.server_key = get_string(value, where, "server_key", "");
        if (!looks_like_curve_key(plugin.route.server_key))
            fail(where + ".server_key", "must be a 40-character Z85 public key, as `portico keygen` prints");
    }
    if (value.contains("require_scope")) {
        plugin.route.require_scope = get_string(value, where, "require_scope", "");
        if (plugin.route.require_scope.find(' ') != std::string::npos)
            fail(where + ".require_scope", "is one scope: it must not hold a space");
    }

    // What this role needs of the entry.
    if (role == Role::engine && plugin.serve.endpoint.empty())
        fail(where + ".endpoint", "is required to serve the plugin (role engine)");
    if (role == Role::gateway && plugin.route.connect.empty() && plugin.serve.endpoint.empty())
        fail(where + ".connect", "is required: where are the plugin's engines? (role gateway)");
    if (role == Role::gateway && plugin.route.connect.empty() && plugin.serve.endpoint.find('*') != std::string::npos)
        fail(where + ".connect", "is required: the endpoint " + plugin.serve.endpoint +
                                     " is a wildcard the gateway cannot connect to (role gateway)");
    if (role == Role::all && plugin.route.connect.empty() && plugin.serve.endpoint.empty())
        fail(where, "needs \"endpoint\" (serve it here) or \"connect\" (engines elsewhere)");
    if (plugin.served_here(role)) {
        std::error_code ec;
        if (!fs::is_regular_file(plugin.engine.library, ec))
            fail(where + (library.empty() ? "" : ".library"),
                 "plugin file \"" + plugin.engine.library + "\" does not exist or is not a file");
    }
    return plugin;
}

// Follows the keys during a second, failing parse, so that an error JSON
// gives no position for names where it is:
// "plugins.dice.workers: invalid JSON: number overflow parsing '1e400'".
class KeyPathTracker final : public json::json_sax_t {
public:
    bool null() override { return value(); }
    bool boolean(bool) override { return value(); }
    bool number_integer(number_integer_t) override { return value(); }
    bool number_unsigned(number_unsigned_t) override { return value(); }
    bool number_float(number_float_t, const string_t&) override { return value(); }
    bool string(string_t&) override { return value(); }
    bool binary(binary_t&) override { return value(); }
    bool start_object(std::size_t) override { return open(false); }
    bool start_array(std::size_t) override { return open(true); }
    bool end_object() override { return close(); }
    bool end_array() override { return close(); }
    bool key(string_t& name) override {
        if (!path_.empty()) path_.back().key = name;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        for (const auto& level : path_) {
            if (level.array) {
                where_ += "[" + std::to_string(level.index) + "]";
            } else if (!level.key.empty()) {
                where_ = join_key(where_, level.key);
            }
        }
        return false;
    }

    const std::string& where() const noexcept { return where_; }

private:
    struct Level {
        bool array = false;
        std::size_t index = 0;
        std::string key;
    };
    bool value() {
        if (!path_.empty() && path_.back().array) ++path_.back().index;
        return true;
    }
    bool open(bool array) {
        path_.push_back(Level{array, 0, {}});
        return true;
    }
    bool close() {
        path_.pop_back();
        value();  // the container was one value of its parent
        return true;
    }

    std::vector<Level> path_;
    std::string where_;
};

// Finds the first key given twice in one object (nlohmann keeps the last
// silently), with its path, from the parser's callback events.
class DuplicateKeyFinder {
public:
    void see(json::parse_event_t event, const json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start: frames_.push_back({false, {}, {}}); break;
            case json::parse_event_t::array_start: frames_.push_back({true, {}, {}}); break;
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                if (!frames_.empty()) frames_.pop_back();
                break;
            case json::parse_event_t::key: {
                if (frames_.empty() || !parsed.is_string()) break;
                Frame& top = frames_.back();
                top.key = parsed.get<std::string>();
                if (!top.keys.insert(top.key).second && found_.empty()) {
                    for (const auto& frame : frames_)
                        found_ = frame.array ? found_ + "[]" : join_key(found_, frame.key);
                }
                break;
            }
            case json::parse_event_t::value: break;
        }
    }
    const std::string& found() const noexcept { return found_; }

private:
    struct Frame {
        bool array;
        std::set<std::string> keys;
        std::string key;
    };
    std::vector<Frame> frames_;
    std::string found_;
};

std::string describe_json_error(std::string_view text, const json::exception& e) {
    // nlohmann's message without its "[json.exception....] " prefix.
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    // A syntax error names its line and column; other errors (a number too
    // large for a double) name nothing, so the key is found for them.
    if (dynamic_cast<const json::parse_error*>(&e) != nullptr) return "invalid JSON: " + what;
    KeyPathTracker tracker;
    json::sax_parse(text.begin(), text.end(), &tracker);
    if (tracker.where().empty()) return "invalid JSON: " + what;
    return tracker.where() + ": invalid JSON: " + what;
}

// Z85 (zmq RFC 32) text of a 32-byte Curve key: 40 characters of its alphabet.
bool looks_like_curve_key(const std::string& text) {
    constexpr std::string_view alphabet =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    return text.size() == 40 && text.find_first_not_of(alphabet) == std::string::npos;
}

std::optional<CurveConfig> parse_curve(const json& root, const std::string& base_dir) {
    auto it = root.find("curve");
    if (it == root.end()) return std::nullopt;
    require_object(*it, "curve");
    refuse_unknown_keys(*it, "curve", curve_keys);
    CurveConfig curve;
    curve.key_file = resolve_path(get_string(*it, "curve", "key_file", "", true), base_dir);
    if (auto list = it->find("allowed_clients"); list != it->end()) {
        if (!list->is_array() || list->size() > 4096)
            fail("curve.allowed_clients", "must be a list of up to 4096 Z85 public keys");
        for (std::size_t i = 0; i < list->size(); ++i) {
            const std::string item_key = "curve.allowed_clients[" + std::to_string(i) + "]";
            const auto& item = (*list)[i];
            if (!item.is_string() || !looks_like_curve_key(item.get<std::string>()))
                fail(item_key, "must be a 40-character Z85 public key, as `portico keygen` prints");
            curve.allowed_clients.push_back(item.get<std::string>());
        }
    }
    return curve;
}

Config parse_document(const json& root, const std::string& base_dir, const ConfigDefaults& defaults) {
    require_object(root, "(top level)");
    refuse_unknown_keys(root, "", root_keys);
    Config config;
    config.role = defaults.role;
    const std::string level = get_string(root, "", "log_level", "info");
    const auto parsed_level = parse_log_level(level);
    if (!parsed_level) fail("log_level", "must be one of debug, info, warn, error, off");
    config.log_level = *parsed_level;
    const std::string format = get_string(root, "", "log_format", "text");
    if (format == "json") config.log_format = LogFormat::json;
    else if (format != "text") fail("log_format", "must be \"text\" or \"json\"");

    const std::string dir = get_string(root, "", "plugin_dir", "");
    config.plugin_dir = dir.empty() ? defaults.plugin_dir : resolve_path(dir, base_dir);

    config.gateway = parse_gateway(root.contains("gateway") ? root.at("gateway") : json::object(), base_dir);
    config.ops = parse_ops(root);
    if (config.ops.has_listener() && config.ops.address == config.gateway.address &&
        config.ops.port == config.gateway.port && config.ops.port != 0)
        fail("ops.listen", "is the gateway's own address: leave it out to serve the ops routes there");

    auto plugins = root.find("plugins");
    if (plugins == root.end()) fail("plugins", "is required: name at least one plugin");
    require_object(*plugins, "plugins");
    if (plugins->empty()) fail("plugins", "is empty: name at least one plugin");
    for (const auto& item : plugins->items())
        config.plugins.push_back(parse_plugin(item.key(), item.value(), config.plugin_dir, base_dir, config.role));
    config.curve = parse_curve(root, base_dir);
    // Two plugins cannot bind one address; the second would fail at start-up
    // with zmq's "Address already in use" and no name.
    std::map<std::string, std::string> bound_by;
    for (const auto& plugin : config.plugins) {
        if (!plugin.served_here(config.role)) continue;
        std::vector<std::string> addresses{plugin.serve.endpoint};
        addresses.insert(addresses.end(), plugin.serve.also_bind.begin(), plugin.serve.also_bind.end());
        for (const auto& address : addresses) {
            if (address.find('*') != std::string::npos) continue;  // any free port: never the same
            const auto [it, fresh] = bound_by.emplace(address, plugin.name);
            if (!fresh && it->second != plugin.name)
                fail("plugins." + plugin.name + ".endpoint",
                     address + " is also the endpoint of plugin \"" + it->second + "\": give each plugin its own");
        }
    }
    for (const auto& plugin : config.plugins) {
        if (!plugin.route.server_key.empty() && !config.curve)
            fail("plugins." + plugin.name + ".server_key", "needs curve.key_file: the link's own key pair");
        if (config.curve && config.role != Role::engine && !plugin.route.connect.empty() && plugin.route.server_key.empty())
            fail("plugins." + plugin.name + ".server_key",
                 "is required with curve: the public key of the engines in \"connect\"");
    }
    if (config.role != Role::engine && !config.gateway.jwt)
        for (const auto& plugin : config.plugins)
            if (!plugin.route.require_scope.empty())
                fail("plugins." + plugin.name + ".require_scope", "needs gateway.auth: without tokens there are no scopes");
    return config;
}

}  // namespace

std::optional<Role> parse_role(std::string_view text) {
    if (text == "all") return Role::all;
    if (text == "engine") return Role::engine;
    if (text == "gateway") return Role::gateway;
    return std::nullopt;
}

bool is_valid_plugin_name(std::string_view name) {
    if (name.empty() || name.size() > 32) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    return true;
}

Expected<Config> parse_config(std::string_view text, const std::string& source, const std::string& base_dir,
                              const ConfigDefaults& defaults) {
    json root;
    try {
        // Bounded while parsing: a hostile nesting must not recurse deep
        // later, when the document is copied, dumped or destroyed.
        bool too_deep = false;
        DuplicateKeyFinder duplicates;
        json::parser_callback_t check = [&too_deep, &duplicates](int depth, json::parse_event_t event, json& parsed) {
            const bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
            if (depth + (opens ? 1 : 0) > static_cast<int>(max_config_depth)) too_deep = true;
            duplicates.see(event, parsed);
            return !too_deep;
        };
        root = json::parse(text.begin(), text.end(), check);
        if (too_deep)
            return Error{"invalid_config", source + ": invalid JSON: nested deeper than " +
                                               std::to_string(max_config_depth) + " levels"};
        if (!duplicates.found().empty())
            return Error{"invalid_config", source + ": " + duplicates.found() +
                                               ": appears twice in its object; JSON would keep only the last"};
    } catch (const json::exception& e) {
        // Any of nlohmann's errors (syntax, a number too large for a double, ...).
        return Error{"invalid_config", source + ": " + describe_json_error(text, e)};
    }
    try {
        Config config = parse_document(root, base_dir, defaults);
        config.source = source;
        return config;
    } catch (const ConfigProblem& p) {
        return Error{"invalid_config", source + ": " + p.key + ": " + p.problem};
    } catch (const std::exception& e) {
        // Never expected: every value is type-checked before it is read.
        return Error{"invalid_config", source + ": cannot read the config: " + e.what()};
    }
}

Expected<Config> load_config_file(const std::string& path, const ConfigDefaults& defaults) {
    constexpr std::uintmax_t max_config_bytes = 1024 * 1024;
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) return Error{"invalid_config", path + ": cannot read the config file: " + ec.message()};
    if (size > max_config_bytes)
        return Error{"invalid_config", path + ": config file is larger than 1 MiB"};
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{"invalid_config", path + ": cannot read the config file"};
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return Error{"invalid_config", path + ": error while reading the config file"};
    const std::string base_dir = fs::path(path).parent_path().string();
    return parse_config(text.str(), path, base_dir.empty() ? "." : base_dir, defaults);
}

std::string_view default_config_text() { return builtin_config; }

std::vector<std::string> config_keys() {
    std::vector<std::string> keys;
    auto add = [&keys](const std::string& prefix, KeyList list) {
        for (const auto key : list) keys.push_back(prefix + std::string(key));
    };
    add("", root_keys);
    add("gateway.", gateway_keys);
    add("gateway.tls.", tls_keys);
    add("gateway.auth.", auth_keys);
    add("gateway.auth.jwt.", jwt_keys);
    add("ops.", ops_keys);
    add("plugins.NAME.", plugin_keys);
    add("plugins.NAME.rate_limit.", rate_limit_keys);
    add("curve.", curve_keys);
    return keys;
}

Expected<Config> default_config(const ConfigDefaults& defaults) {
    return parse_config(builtin_config, "<built-in default config>", "", defaults);
}

}  // namespace portico
