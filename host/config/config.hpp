#pragma once
// The host's configuration: what to load, where to listen, which limits hold.
// Parsed and fully validated once, at start-up; every problem is reported as
// "<file>: <key>: <problem>" so the user can find it.
#include "core/error.hpp"
#include "core/logger.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico {

// What this process runs: engines only, the gateway only, or both.
enum class Role { all, engine, gateway };
std::optional<Role> parse_role(std::string_view text);

// The listener's certificate and key (PEM; the certificate file may hold the
// chain). Read again on every SIGHUP.
struct TlsConfig {
    std::string cert_file;
    std::string key_file;

    bool operator==(const TlsConfig&) const = default;
};

// Tokens checked at the upgrade (gateway.auth.jwt). One key: an HMAC secret
// (HS256) or a PEM public key (RS256 or ES256), never both, so that a token
// can never choose how the key is used. Read again on every SIGHUP.
struct JwtConfig {
    std::vector<std::string> algorithms;  // of one family: {"HS256"}, {"RS256"} or {"ES256"}
    std::string secret_file;              // HS256: the secret's bytes (one trailing newline dropped)
    std::string public_key_file;          // RS256/ES256: PEM
    std::string issuer;                   // empty: "iss" is not checked
    std::string audience;                 // empty: "aud" is not checked
    std::chrono::seconds leeway{30};      // clock skew allowed on exp and nbf

    bool operator==(const JwtConfig&) const = default;
};

struct GatewayConfig {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8088;  // 0: any free port (printed at start-up)
    std::string path = "/ws";
    unsigned threads = 1;
    std::size_t max_message_bytes = 64 * 1024;      // larger frames: close 1009
    unsigned max_inflight_per_client = 64;          // then reading pauses
    std::size_t max_outbound_bytes = 4 * 1024 * 1024;  // then close 1008
    std::chrono::milliseconds drain_timeout{5'000};  // on shutdown, for requests in flight
    std::optional<TlsConfig> tls;                    // set: the listener speaks only TLS (wss://)
    // Origins a browser page may connect from: "https://app.example.com",
    // "https://*.example.com", "*" (any). Handshakes without Origin pass.
    std::vector<std::string> allowed_origins{"*"};
    unsigned max_connections = 10'000;               // WebSocket connections, whole gateway; then 503
    unsigned max_connections_per_ip = 256;           // from one client address; then 503
    std::chrono::milliseconds handshake_timeout{5'000};  // from connect to a completed upgrade
    std::chrono::milliseconds ping_interval{30'000};     // silence after which a client is pinged; 0: never
    std::chrono::milliseconds pong_timeout{10'000};      // then, silence after which it is dropped
    // Channel messages that come within this long of the last batch's writes
    // wait for the next batch, so a busy channel's subscribers get many per send.
    std::chrono::milliseconds push_batch{2};
    std::optional<JwtConfig> jwt;                    // set: every upgrade needs a valid token
    bool playground = true;                          // GET / serves the playground page (and /portico.js)

    bool operator==(const GatewayConfig&) const = default;
};

// The operator's endpoints: GET /metrics (Prometheus text), /healthz and
// /readyz. Served on the gateway's listener unless `listen` names an address
// of their own, and then only there.
struct OpsConfig {
    std::string address;  // empty: on the gateway's listener
    std::uint16_t port = 0;
    bool metrics = true;  // false: nothing is counted, /metrics answers 404

    bool has_listener() const noexcept { return !address.empty(); }
    bool operator==(const OpsConfig&) const = default;
};


// A plugin's entry, in three parts by what a change to it needs (a reload
// compares the parts with their defaulted ==, so a field added to one can
// never escape it).
//
// What the engine is made of: a change means a new engine.
struct EngineConfig {
    std::string library;  // resolved path of the .so
    unsigned workers = 2;
    std::size_t max_request_bytes = 1024 * 1024;
    std::size_t max_queued = 10'000;   // requests waiting for a worker; beyond: "overloaded"
    std::string settings_json = "{}";  // handed to the plugin as text
    std::size_t channel_history = 100;                       // messages kept per channel, for resuming clients
    std::chrono::milliseconds channel_history_ms{300'000};   // ... and for at most this long

    bool operator==(const EngineConfig&) const = default;
};

// Where this host serves the engine (roles all and engine): a change means a
// new endpoint.
struct ServeConfig {
    std::string endpoint;                // zmq address to bind; empty: not served here
    std::vector<std::string> also_bind;  // further addresses for the same endpoint
    bool isolate = false;                // in a supervised child process

    bool operator==(const ServeConfig&) const = default;
};

// How a gateway reaches and uses the engines (roles all and gateway): a
// change means a new link.
// A token bucket per connection and plugin (per user and plugin with
// gateway.auth): `burst` requests at once, then `per_second` on average.
// per_second 0: no limit.
struct RateLimit {
    double per_second = 0;
    unsigned burst = 0;

    bool limited() const noexcept { return per_second > 0; }
    bool operator==(const RateLimit&) const = default;
};

struct RouteConfig {
    std::vector<std::string> connect;  // remote engine endpoints
    std::chrono::milliseconds timeout{10'000};
    bool idempotent = false;           // a request may be retried on another engine
    unsigned max_attempts = 2;         // for idempotent requests: first try + retries
    std::chrono::milliseconds heartbeat{500};
    std::chrono::milliseconds dead_after{2'000};  // silence after which an engine is out
    RateLimit rate_limit;
    std::string require_scope;         // set: the token's "scope" must hold it (gateway.auth)
    std::string server_key;            // curve: the engines' public key (Z85); empty: this process's own

    bool operator==(const RouteConfig&) const = default;
};

struct PluginConfig {
    std::string name;  // routing prefix, [a-z0-9_-]{1,32}
    EngineConfig engine;
    ServeConfig serve;
    RouteConfig route;

    // This host serves the plugin (in-process, or in a child it supervises).
    bool served_here(Role role) const { return role != Role::gateway && !serve.endpoint.empty(); }
    // ... and loads it into its own process.
    bool loaded_here(Role role) const { return served_here(role) && !serve.isolate; }

    bool operator==(const PluginConfig&) const = default;
};

// CurveZMQ on every zmq link (config key "curve"): this process's key pair,
// and the public keys of the clients (gateways, zmq clients) its endpoints
// admit. Its own key is always admitted: its gateway and isolated engines use it.
struct CurveConfig {
    std::string key_file;                      // written by `portico keygen`
    std::vector<std::string> allowed_clients;  // Z85 public keys

    bool operator==(const CurveConfig&) const = default;
};

struct Config {
    std::string source;  // the file it came from, for messages
    Role role = Role::all;
    LogLevel log_level = LogLevel::info;
    LogFormat log_format = LogFormat::text;
    std::string plugin_dir;
    GatewayConfig gateway;
    OpsConfig ops;
    std::vector<PluginConfig> plugins;
    std::optional<CurveConfig> curve;  // set: every zmq link speaks Curve

    bool operator==(const Config&) const = default;
};

// What the config cannot know by itself: where the executable's plugins are.
struct ConfigDefaults {
    std::string plugin_dir;
    Role role = Role::all;  // decides which plugin files must exist
};

// Parses config text. `source` names it in messages; relative paths in it are
// resolved against `base_dir`.
Expected<Config> parse_config(std::string_view text, const std::string& source,
                              const std::string& base_dir, const ConfigDefaults& defaults);

// Reads and parses a config file.
Expected<Config> load_config_file(const std::string& path, const ConfigDefaults& defaults);

// The built-in default: the dice plugin on tcp://127.0.0.1:5556 and the
// gateway on ws://127.0.0.1:8088/ws.
Expected<Config> default_config(const ConfigDefaults& defaults);
std::string_view default_config_text();

bool is_valid_plugin_name(std::string_view name);

// Every key the parser reads, as dotted paths ("gateway.listen",
// "plugins.NAME.workers"): for the test that keeps examples/portico.json whole.
std::vector<std::string> config_keys();

}  // namespace portico
