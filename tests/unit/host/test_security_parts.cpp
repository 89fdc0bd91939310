// The socket-free parts of the gateway's defences: the origin check
// (config/allowed_origins), the token bucket of rate limits, the connection
// limits, and the config keys that set them, each refusal with its key.
#include "config/allowed_origins.hpp"
#include "config/config.hpp"
#include "gateway/client_message.hpp"
#include "gateway/connection_limits.hpp"
#include "gateway/token_bucket.hpp"
#include "gateway/token_verifier.hpp"
#include "gateway/user_rate_buckets.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using portico::AllowedOrigins;

AllowedOrigins origins(const std::vector<std::string>& patterns) {
    auto parsed = AllowedOrigins::parse(patterns);
    REQUIRE(parsed.has_value());
    return parsed.value();
}

// A gateway-role config: its plugin lives elsewhere, so no plugin file is needed.
portico::Expected<portico::Config> gateway_config(const std::string& gateway, const std::string& plugin_extra = "") {
    const std::string text = R"({"gateway": {)" + gateway + R"(}, "plugins": {"dice": {"connect": ["tcp://127.0.0.1:5556"])" +
                             plugin_extra + "}}}";
    return portico::parse_config(text, "test.json", "/etc/portico", {"", portico::Role::gateway});
}

std::string refusal(const portico::Expected<portico::Config>& config) {
    REQUIRE_FALSE(config.has_value());
    return config.error().message;
}

}  // namespace

TEST_CASE("an origin passes only when scheme, host and port are the same", "[security][origin]") {
    const auto allowed = origins({"https://app.example.com", "http://localhost:8080"});
    CHECK(allowed.allows("https://app.example.com"));
    CHECK(allowed.allows("https://APP.Example.COM"));      // names are case-insensitive
    CHECK(allowed.allows("https://app.example.com:443"));  // the scheme's default port
    CHECK(allowed.allows("http://localhost:8080"));
    CHECK_FALSE(allowed.allows("http://app.example.com"));       // another scheme
    CHECK_FALSE(allowed.allows("https://app.example.com:8443"));  // another port
    CHECK_FALSE(allowed.allows("http://localhost"));
    CHECK_FALSE(allowed.allows("https://app.example.com.evil.net"));  // no suffix tricks
    CHECK_FALSE(allowed.allows("https://evilapp.example.com"));
    CHECK_FALSE(allowed.allows("https://example.com"));
    CHECK_FALSE(allowed.allows("https://app.example.com/"));  // an origin has no path
    CHECK_FALSE(allowed.allows("https://app.example.com/x"));
    CHECK_FALSE(allowed.allows("null"));
    CHECK_FALSE(allowed.allows(""));
    CHECK_FALSE(allowed.allows("https://app.example.com@evil.net"));
    CHECK_FALSE(allowed.allows("https://app.example.com:"));
    CHECK_FALSE(allowed.allows(std::string("https://app.example.com\0.evil.net", 33)));
    CHECK_FALSE(allowed.any());
}

TEST_CASE("a wildcard origin allows subdomains, not the domain or look-alikes", "[security][origin]") {
    const auto allowed = origins({"https://*.example.com"});
    CHECK(allowed.allows("https://app.example.com"));
    CHECK(allowed.allows("https://a.b.example.com"));
    CHECK_FALSE(allowed.allows("https://example.com"));
    CHECK_FALSE(allowed.allows("https://.example.com"));
    CHECK_FALSE(allowed.allows("https://badexample.com"));
    CHECK_FALSE(allowed.allows("https://app.example.com.evil.net"));
    CHECK_FALSE(allowed.allows("http://app.example.com"));
    CHECK_FALSE(allowed.allows("https://*.example.com"));  // a header is never a pattern
}

TEST_CASE("\"*\" allows every origin, even malformed ones and \"null\"", "[security][origin]") {
    const auto allowed = origins({"*"});
    CHECK(allowed.any());
    CHECK(allowed.allows("https://anything.example"));
    CHECK(allowed.allows("null"));
}

TEST_CASE("IPv6 origins compare with their brackets", "[security][origin]") {
    const auto allowed = origins({"http://[::1]:8088"});
    CHECK(allowed.allows("http://[::1]:8088"));
    CHECK_FALSE(allowed.allows("http://[::2]:8088"));
    CHECK_FALSE(allowed.allows("http://[::1]"));
}

TEST_CASE("a bad origin pattern is refused with its index", "[security][origin][config]") {
    for (const std::string bad : {"app.example.com", "ftp://x.example", "https://x.example/path", "https://",
                                  "https://x..example", "https://x.example:0", "https://x.example:99999",
                                  "https://*.", "https://a.*.example.com"}) {
        INFO(bad);
        auto parsed = AllowedOrigins::parse({"https://ok.example", bad});
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().message.rfind("[1]: ", 0) == 0);
    }
}

TEST_CASE("a token bucket admits exactly its burst, then one per 1/rate", "[security][rate]") {
    const portico::RateLimit limit{2.0, 3};  // 2 a second, 3 at once
    auto now = std::chrono::steady_clock::time_point{} + 100s;
    portico::TokenBucket bucket(limit, now);
    CHECK(bucket.take(limit, now) == 0);
    CHECK(bucket.take(limit, now) == 0);
    CHECK(bucket.take(limit, now) == 0);
    const auto wait = bucket.take(limit, now);
    CHECK(wait == 500);  // one token comes in half a second
    now += 499ms;
    CHECK(bucket.take(limit, now) > 0);
    now += 2ms;
    CHECK(bucket.take(limit, now) == 0);
    now += 1h;  // refills to the burst, no further
    for (int i = 0; i < 3; ++i) CHECK(bucket.take(limit, now) == 0);
    CHECK(bucket.take(limit, now) > 0);
}

TEST_CASE("rate_limited tells the client when to retry, in both forms", "[security][rate]") {
    portico::ReplyContext envelope;
    envelope.form = portico::MessageForm::envelope;
    envelope.id_json = "7";
    envelope.plugin = "dice";
    const auto reply = nlohmann::json::parse(portico::format_rate_limited(envelope, 250));
    CHECK(reply["id"] == 7);
    CHECK(reply["ok"] == false);
    CHECK(reply["error"]["code"] == "rate_limited");
    CHECK(reply["error"]["retry_after_ms"] == 250);
    CHECK(reply["error"]["message"].get<std::string>().find("250 ms") != std::string::npos);
    portico::ReplyContext shorthand;
    shorthand.plugin = "dice";
    CHECK(portico::format_rate_limited(shorthand, 250).rfind("error: ", 0) == 0);
}

TEST_CASE("connection limits: the whole gateway and each address, slots given back", "[security][limits]") {
    portico::ConnectionLimits limits(3, 2);
    const auto a = portico::net::ip::make_address("10.0.0.1");
    const auto b = portico::net::ip::make_address("10.0.0.2");
    using Refusal = portico::ConnectionLimits::Refusal;
    auto a1 = limits.admit(a);
    auto a2 = limits.admit(a);
    CHECK(a1.refusal == Refusal::none);
    CHECK(a2.refusal == Refusal::none);
    CHECK(limits.admit(a).refusal == Refusal::address_full);
    // The same client over a dual-stack listener is the same address.
    CHECK(limits.admit(portico::net::ip::make_address("::ffff:10.0.0.1")).refusal == Refusal::address_full);
    auto b1 = limits.admit(b);
    CHECK(b1.refusal == Refusal::none);
    CHECK(limits.admit(portico::net::ip::make_address("10.0.0.3")).refusal == Refusal::gateway_full);
    CHECK(limits.total() == 3);
    {
        auto released = std::move(a1.slot);
    }
    CHECK(limits.total() == 2);
    auto a3 = limits.admit(a);
    CHECK(a3.refusal == Refusal::none);
    CHECK(limits.total() == 3);
}

TEST_CASE("the security keys of the gateway are read, with safe defaults", "[security][config]") {
    auto defaults = gateway_config("");
    REQUIRE(defaults.has_value());
    const auto& d = defaults.value().gateway;
    CHECK_FALSE(d.tls);
    CHECK(d.allowed_origins == std::vector<std::string>{"*"});
    CHECK(d.max_connections == 10'000);
    CHECK(d.max_connections_per_ip == 256);
    CHECK(d.handshake_timeout == 5000ms);
    CHECK(d.ping_interval == 30'000ms);
    CHECK(d.pong_timeout == 10'000ms);
    CHECK_FALSE(defaults.value().plugins[0].route.rate_limit.limited());

    auto set = gateway_config(
        R"("tls": {"cert_file": "certs/server.pem", "key_file": "/keys/server.key"},
           "allowed_origins": ["https://app.example.com", "https://*.example.org"],
           "max_connections": 100, "max_connections_per_ip": 5, "handshake_timeout_ms": 800,
           "ping_interval_ms": 0, "pong_timeout_ms": 2000)",
        R"(, "rate_limit": {"per_second": 2.5, "burst": 4})");
    REQUIRE(set.has_value());
    const auto& g = set.value().gateway;
    REQUIRE(g.tls);
    CHECK(g.tls->cert_file == "/etc/portico/certs/server.pem");  // relative to the config file
    CHECK(g.tls->key_file == "/keys/server.key");
    CHECK(g.allowed_origins.size() == 2);
    CHECK(g.max_connections == 100);
    CHECK(g.max_connections_per_ip == 5);
    CHECK(g.handshake_timeout == 800ms);
    CHECK(g.ping_interval == 0ms);
    CHECK(g.pong_timeout == 2000ms);
    const auto& rate = set.value().plugins[0].route.rate_limit;
    CHECK(rate.per_second == 2.5);
    CHECK(rate.burst == 4);

    auto burst_default = gateway_config("", R"(, "rate_limit": {"per_second": 10})");
    REQUIRE(burst_default.has_value());
    CHECK(burst_default.value().plugins[0].route.rate_limit.burst == 10);
}

TEST_CASE("bad security settings are refused at start-up with their key", "[security][config][error]") {
    CHECK(refusal(gateway_config(R"("tls": {"cert_file": "a.pem"})")).find("gateway.tls.key_file: is required") !=
          std::string::npos);
    CHECK(refusal(gateway_config(R"("tls": {"cert_file": "a.pem", "key_file": "b", "ca": 1})"))
              .find("gateway.tls.ca: unknown key") != std::string::npos);
    CHECK(refusal(gateway_config(R"("tls": "yes")")).find("gateway.tls: must be an object") != std::string::npos);
    CHECK(refusal(gateway_config(R"("allowed_origins": [])")).find("gateway.allowed_origins: must be a list") !=
          std::string::npos);
    CHECK(refusal(gateway_config(R"("allowed_origins": ["https://ok.example", "example.com"])"))
              .find("gateway.allowed_origins[1]: \"example.com\" is not an origin") != std::string::npos);
    CHECK(refusal(gateway_config(R"("allowed_origins": [3])")).find("gateway.allowed_origins[0]: must be a string") !=
          std::string::npos);
    CHECK(refusal(gateway_config(R"("max_connections": 0)")).find("gateway.max_connections: must be an integer") !=
          std::string::npos);
    CHECK(refusal(gateway_config(R"("max_connections_per_ip": -1)")).find("gateway.max_connections_per_ip") !=
          std::string::npos);
    CHECK(refusal(gateway_config(R"("handshake_timeout_ms": 10)")).find("gateway.handshake_timeout_ms") !=
          std::string::npos);
    CHECK(refusal(gateway_config(R"("ping_interval_ms": 50)")).find("gateway.ping_interval_ms: must be 0") !=
          std::string::npos);
    CHECK(refusal(gateway_config(R"("pong_timeout_ms": 1e400)")).find("invalid JSON") != std::string::npos);
    CHECK(refusal(gateway_config("", R"(, "rate_limit": {"burst": 3})"))
              .find("plugins.dice.rate_limit.per_second: is required") != std::string::npos);
    CHECK(refusal(gateway_config("", R"(, "rate_limit": {"per_second": 0})"))
              .find("plugins.dice.rate_limit.per_second: must be a number") != std::string::npos);
    CHECK(refusal(gateway_config("", R"(, "rate_limit": {"per_second": "fast"})"))
              .find("plugins.dice.rate_limit.per_second") != std::string::npos);
    CHECK(refusal(gateway_config("", R"(, "rate_limit": {"per_second": 1, "burst": 0})"))
              .find("plugins.dice.rate_limit.burst: must be an integer") != std::string::npos);
    CHECK(refusal(gateway_config("", R"(, "rate_limit": {"per_second": 1, "every": 2})"))
              .find("plugins.dice.rate_limit.every: unknown key") != std::string::npos);
}

TEST_CASE("gateway.auth.jwt: keys, algorithms and their refusals", "[security][auth][config]") {
    SECTION("a public-key config, paths relative to the config file") {
        auto config = gateway_config(R"("auth": {"jwt": {"algorithms": ["RS256"], "public_key_file": "keys/pub.pem",
                                      "issuer": "https://id.example", "audience": "portico", "leeway_s": 10}})");
        REQUIRE(config.has_value());
        REQUIRE(config->gateway.jwt);
        CHECK(config->gateway.jwt->algorithms == std::vector<std::string>{"RS256"});
        CHECK(config->gateway.jwt->public_key_file == "/etc/portico/keys/pub.pem");
        CHECK(config->gateway.jwt->secret_file.empty());
        CHECK(config->gateway.jwt->issuer == "https://id.example");
        CHECK(config->gateway.jwt->leeway == std::chrono::seconds(10));
    }
    SECTION("no auth: no jwt") {
        auto config = gateway_config(R"("listen": "127.0.0.1:0")");
        REQUIRE(config.has_value());
        CHECK_FALSE(config->gateway.jwt);
    }
    struct Case {
        const char* auth;
        const char* expected;
    };
    const Case cases[] = {
        {R"({})", "test.json: gateway.auth.jwt: is required"},
        {R"({"jwt": {"secret_file": "s"}})", "gateway.auth.jwt.algorithms: is required"},
        {R"({"jwt": {"algorithms": [], "secret_file": "s"}})", "gateway.auth.jwt.algorithms: must be a list of 1 to 3"},
        {R"({"jwt": {"algorithms": ["none"], "secret_file": "s"}})", "gateway.auth.jwt.algorithms[0]: \"none\" is not supported"},
        {R"({"jwt": {"algorithms": ["HS512"], "secret_file": "s"}})", "\"HS512\" is not supported: use HS256, RS256 or ES256"},
        {R"({"jwt": {"algorithms": ["HS256", "RS256"], "secret_file": "s"}})", "gateway.auth.jwt.algorithms: mixes key types"},
        {R"({"jwt": {"algorithms": ["RS256", "ES256"], "public_key_file": "p"}})", "mixes key types"},
        {R"({"jwt": {"algorithms": ["HS256"]}})", "gateway.auth.jwt.secret_file: is required for HS256"},
        {R"({"jwt": {"algorithms": ["ES256"], "secret_file": "s"}})", "gateway.auth.jwt.public_key_file: is required for ES256"},
        {R"({"jwt": {"algorithms": ["HS256"], "secret_file": "s", "public_key_file": "p"}})", "has both secret_file and public_key_file"},
        {R"({"jwt": {"algorithms": ["HS256"], "secret_file": "s", "leeway_s": 1e400}})", "leeway_s"},
        {R"({"jwt": {"algorithms": ["HS256"], "secret_file": "s", "leeway_s": 601}})", "gateway.auth.jwt.leeway_s: must be an integer from 0 to 600"},
        {R"({"jwt": {"algorithms": ["HS256"], "secret_file": "s", "kid": "x"}})", "gateway.auth.jwt.kid: unknown key"},
        {R"({"oauth": {}})", "gateway.auth.oauth: unknown key"},
    };
    for (const auto& c : cases) {
        INFO(c.auth);
        const std::string message = refusal(gateway_config(std::string(R"("auth": )") + c.auth));
        CHECK_THAT(message, Catch::Matchers::Contains(c.expected));
    }
}

TEST_CASE("plugins.NAME.require_scope needs gateway.auth and is one scope", "[security][auth][config]") {
    const std::string auth = R"("auth": {"jwt": {"algorithms": ["HS256"], "secret_file": "s"}})";
    auto config = gateway_config(auth, R"(, "require_scope": "dice:roll")");
    REQUIRE(config.has_value());
    CHECK(config->plugins[0].route.require_scope == "dice:roll");
    CHECK_THAT(refusal(gateway_config(R"("listen": "127.0.0.1:0")", R"(, "require_scope": "dice:roll")")),
               Catch::Matchers::Contains("plugins.dice.require_scope: needs gateway.auth"));
    CHECK_THAT(refusal(gateway_config(auth, R"(, "require_scope": "a b")")),
               Catch::Matchers::Contains("plugins.dice.require_scope: is one scope"));
}

TEST_CASE("the token comes from Authorization: Bearer, else from access_token in the query", "[security][auth]") {
    using portico::find_bearer_token;
    CHECK(find_bearer_token("Bearer abc.def.ghi", "/ws") == "abc.def.ghi");
    CHECK(find_bearer_token("bearer   abc.def.ghi  ", "/ws") == "abc.def.ghi");
    CHECK(find_bearer_token("Basic dXNlcjpwYXNz", "/ws").empty());
    CHECK(find_bearer_token("", "/ws?access_token=abc.def.ghi") == "abc.def.ghi");
    CHECK(find_bearer_token("", "/ws?x=1&access_token=a%2Eb.c&y=2") == "a.b.c");
    CHECK(find_bearer_token("", "/ws?my_access_token=zzz").empty());
    CHECK(find_bearer_token("", "/ws?access_token=abc#frag") == "abc");
    CHECK(find_bearer_token("", "/ws?access_token=%zz%4") == "%zz%4");  // not escapes: kept as sent
    CHECK(find_bearer_token("Bearer header", "/ws?access_token=query") == "header");
    CHECK(find_bearer_token("", "/ws").empty());
}

TEST_CASE("per-user rate buckets: shared by a subject, bounded by forgetting the least recent", "[security][rate]") {
    portico::UserRateBuckets buckets(2);
    const portico::RateLimit limit{0.001, 2};
    const auto now = portico::UserRateBuckets::Clock::now();
    CHECK(buckets.take("alice", limit, now) == 0);
    CHECK(buckets.take("alice", limit, now) == 0);
    CHECK(buckets.take("alice", limit, now) > 0);  // her burst is spent, whatever connection asks
    CHECK(buckets.take("bob", limit, now) == 0);
    CHECK(buckets.size() == 2);
    CHECK(buckets.take("carol", limit, now) == 0);  // alice, heard from least recently, goes
    CHECK(buckets.size() == 2);
    CHECK(buckets.take("bob", limit, now) == 0);
    CHECK(buckets.take("bob", limit, now) > 0);
}

TEST_CASE("curve: key file, allowed clients and server_key, each refusal with its key", "[security][curve][config]") {
    const std::string key(40, 'k');
    const auto parse = [](const std::string& top, const std::string& plugin_extra) {
        const std::string text = "{" + top + R"(, "plugins": {"dice": {"connect": ["tcp://127.0.0.1:5556"])" + plugin_extra + "}}}";
        return portico::parse_config(text, "test.json", "/etc/portico", {"", portico::Role::gateway});
    };
    auto config = parse(R"("curve": {"key_file": "keys/gw.key", "allowed_clients": [")" + key + R"("]})",
                        R"(, "server_key": ")" + key + "\"");
    REQUIRE(config.has_value());
    REQUIRE(config->curve);
    CHECK(config->curve->key_file == "/etc/portico/keys/gw.key");
    CHECK(config->curve->allowed_clients == std::vector<std::string>{key});
    CHECK(config->plugins[0].route.server_key == key);

    CHECK_THAT(refusal(parse(R"("curve": {})", "")), Catch::Matchers::Contains("curve.key_file: is required"));
    CHECK_THAT(refusal(parse(R"("curve": {"key_file": "k", "allowed_clients": ["nope"]})", R"(, "server_key": ")" + key + "\"")),
               Catch::Matchers::Contains("curve.allowed_clients[0]: must be a 40-character Z85 public key"));
    CHECK_THAT(refusal(parse(R"("curve": {"key_file": "k"})", "")),
               Catch::Matchers::Contains("plugins.dice.server_key: is required with curve"));
    CHECK_THAT(refusal(parse(R"("log_level": "warn")", R"(, "server_key": ")" + key + "\"")),
               Catch::Matchers::Contains("plugins.dice.server_key: needs curve.key_file"));
    CHECK_THAT(refusal(parse(R"("curve": {"key_file": "k"})", R"(, "server_key": "~~~")")),
               Catch::Matchers::Contains("plugins.dice.server_key: must be a 40-character Z85 public key"));
    CHECK_THAT(refusal(parse(R"("curve": {"key_file": "k", "servers": []})", "")),
               Catch::Matchers::Contains("curve.servers: unknown key"));
}
