// The gateway's defences, against the real portico executable on loopback:
// TLS (certificates made by the test, never committed), the origin check,
// connection caps, the handshake deadline, pings that find dead peers, and
// rate limits. Each refusal is checked with its HTTP status or error code.
#include "support/handshake_client.hpp"
#include "support/portico_process.hpp"
#include "support/test_certificates.hpp"
#include "support/test_host.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using portico::test::HandshakeClient;
using portico::test::HandshakeOptions;
using portico::test::PorticoProcess;
using portico::test::TempDir;
using portico::test::TestCa;

std::string dice_config(const TempDir& dir, const json& gateway, const json& dice_extra = json::object()) {
    return dir.write("portico.json",
                     portico::test::make_config({{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN, dice_extra)}},
                                                gateway));
}

// Writes a server certificate of `ca` and its key where the config points.
void install_pair(const TempDir& dir, const TestCa& ca, const std::string& name) {
    const auto pair = ca.issue(name);
    dir.write("tls/server.pem", pair.certificate);
    dir.write("tls/server.key", pair.private_key);
}

const json tls_keys = {{"cert_file", "tls/server.pem"}, {"key_file", "tls/server.key"}};

HandshakeOptions trusting(const TestCa& ca) {
    HandshakeOptions options;
    options.tls = true;
    options.trusted_ca = ca.certificate();
    return options;
}

bool rolls_dice(HandshakeClient& client) {
    const auto reply = client.request(R"({"id":1,"plugin":"dice","payload":"3d6"})");
    if (!reply) return false;
    const auto parsed = json::parse(*reply, nullptr, false);
    return parsed.is_object() && parsed.value("ok", false) && parsed["result"]["total"].is_number_integer();
}

}  // namespace

TEST_CASE("wss: a client that trusts the test CA rolls dice over TLS", "[security][tls]") {
    TempDir dir;
    TestCa ca;
    install_pair(dir, ca, "localhost");
    PorticoProcess portico(dice_config(dir, {{"tls", tls_keys}}));
    REQUIRE(portico.wait_ready());
    CHECK(portico.ready()["gateway"]["tls"] == true);
    CHECK(portico.out().find("gateway listening on wss://127.0.0.1:") != std::string::npos);

    HandshakeClient client(portico.gateway_port(), trusting(ca));
    REQUIRE(client.ok());
    CHECK(rolls_dice(client));
    // Many requests on one connection, each answered.
    for (int i = 0; i < 20; ++i) CHECK(client.send(R"({"id":)" + std::to_string(i) + R"(,"plugin":"dice","payload":"d20"})"));
    int answered = 0;
    while (answered < 20 && client.read(5s)) ++answered;
    CHECK(answered == 20);

    SECTION("a client that trusts another CA refuses the server") {
        TestCa other("another CA");
        HandshakeClient stranger(portico.gateway_port(), trusting(other));
        CHECK_FALSE(stranger.ok());
        CHECK(stranger.error().find("tls") != std::string::npos);
    }
    SECTION("a client that offers only TLS 1.1 is refused by the server") {
        auto options = trusting(ca);
        options.max_tls_version = TLS1_1_VERSION;
        HandshakeClient old(portico.gateway_port(), options);
        CHECK_FALSE(old.ok());
        INFO(old.error());
        // The server's alert, not a client that could not offer TLS 1.1.
        CHECK(old.error().find("protocol version") != std::string::npos);
    }
    SECTION("a plain ws:// client gets no WebSocket") {
        HandshakeOptions plain;
        plain.timeout = 2s;
        HandshakeClient client_without_tls(portico.gateway_port(), plain);
        CHECK_FALSE(client_without_tls.ok());
    }
    SECTION("a certificate for another name is refused by a verifying client") {
        auto options = trusting(ca);
        options.server_name = "portico.example";
        HandshakeClient misnamed(portico.gateway_port(), options);
        CHECK_FALSE(misnamed.ok());
    }
}

TEST_CASE("wss: SIGHUP swaps the certificate; open connections stay, new ones get the new pair",
          "[security][tls][reload]") {
    TempDir dir;
    TestCa first("first CA");
    TestCa second("second CA");
    install_pair(dir, first, "localhost");
    PorticoProcess portico(dice_config(dir, {{"tls", tls_keys}}));
    REQUIRE(portico.wait_ready());
    HandshakeClient staying(portico.gateway_port(), trusting(first));
    REQUIRE(staying.ok());
    REQUIRE(rolls_dice(staying));

    install_pair(dir, second, "localhost");
    const auto outcome = portico.reload();
    REQUIRE(outcome.finished);
    CHECK_FALSE(outcome.refused);

    CHECK(rolls_dice(staying));  // the open connection keeps its session
    HandshakeClient fresh(portico.gateway_port(), trusting(second));
    REQUIRE(fresh.ok());
    CHECK(rolls_dice(fresh));
    HandshakeClient old_trust(portico.gateway_port(), trusting(first));
    CHECK_FALSE(old_trust.ok());

    SECTION("a bad new pair changes nothing and says why") {
        dir.write("tls/server.key", first.issue("localhost").private_key);  // not the certificate's key
        const auto refused = portico.reload();
        REQUIRE(refused.finished);
        CHECK(refused.refused);
        CHECK(refused.error().find("gateway.tls.key_file") != std::string::npos);
        CHECK(refused.error().find("does not match") != std::string::npos);
        HandshakeClient still_second(portico.gateway_port(), trusting(second));
        REQUIRE(still_second.ok());
        CHECK(rolls_dice(still_second));
        CHECK(rolls_dice(staying));
    }
}

TEST_CASE("wss: bad certificate files stop start-up with the key that names them", "[security][tls][config]") {
    TempDir dir;
    TestCa ca;
    const auto pair = ca.issue("localhost");
    const auto other = ca.issue("localhost");
    struct Case {
        const char* what;
        std::string cert;
        std::string key;
        const char* expected;
    };
    const std::vector<Case> cases = {
        {"a key of another certificate", pair.certificate, other.private_key, "gateway.tls.key_file"},
        {"a certificate that is not PEM", "not a certificate\n", pair.private_key, "gateway.tls.cert_file"},
        {"a key that is not PEM", pair.certificate, "not a key\n", "gateway.tls.key_file"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        dir.write("tls/server.pem", c.cert);
        dir.write("tls/server.key", c.key);
        PorticoProcess portico(dice_config(dir, {{"tls", tls_keys}}));
        const auto status = portico.wait(15s);
        CHECK(status.exited);
        CHECK(status.code != 0);
        CHECK(portico.err().find(c.expected) != std::string::npos);
        CHECK(portico.events("ready").empty());
    }
    INFO("a missing file");
    PorticoProcess missing(dice_config(dir, {{"tls", {{"cert_file", "tls/none.pem"}, {"key_file", "tls/server.key"}}}}));
    const auto status = missing.wait(15s);
    CHECK(status.exited);
    CHECK(status.code != 0);
    CHECK(missing.err().find("gateway.tls.cert_file: cannot read") != std::string::npos);
}

TEST_CASE("origins: a listed origin passes, another gets 403, no Origin passes", "[security][origin]") {
    TempDir dir;
    PorticoProcess portico(
        dice_config(dir, {{"allowed_origins", {"https://app.example.com", "https://*.example.org"}}}));
    REQUIRE(portico.wait_ready());
    const auto port = portico.gateway_port();
    auto with_origin = [](const std::string& origin) {
        HandshakeOptions options;
        options.origin = origin;
        return options;
    };
    HandshakeClient allowed(port, with_origin("https://app.example.com"));
    REQUIRE(allowed.ok());
    CHECK(rolls_dice(allowed));
    HandshakeClient subdomain(port, with_origin("https://play.example.org"));
    CHECK(subdomain.ok());
    HandshakeClient no_origin(port, HandshakeOptions{});
    CHECK(no_origin.ok());
    for (const std::string foreign : {"http://evil.example", "https://app.example.com.evil.net", "http://app.example.com",
                                      "https://example.org", "null"}) {
        INFO(foreign);
        HandshakeClient refused(port, with_origin(foreign));
        CHECK_FALSE(refused.ok());
        CHECK(refused.http_status() == 403);
        CHECK(refused.http_body() == "origin not allowed\n");
    }
    CHECK(portico.wait_for_err("origin \"http://evil.example\" is not in gateway.allowed_origins", 5s));
    CHECK(rolls_dice(allowed));  // untouched by the refusals
}

TEST_CASE("connection caps: beyond them the handshake gets 503, open connections stay", "[security][limits]") {
    TempDir dir;
    SECTION("the whole gateway") {
        PorticoProcess portico(dice_config(dir, {{"max_connections", 3}}));
        REQUIRE(portico.wait_ready());
        std::vector<std::unique_ptr<HandshakeClient>> open;
        for (int i = 0; i < 3; ++i) {
            open.push_back(std::make_unique<HandshakeClient>(portico.gateway_port(), HandshakeOptions{}));
            REQUIRE(open.back()->ok());
        }
        HandshakeClient fourth(portico.gateway_port(), HandshakeOptions{});
        CHECK_FALSE(fourth.ok());
        CHECK(fourth.http_status() == 503);
        CHECK(fourth.http_body() == "too many connections\n");
        for (auto& client : open) CHECK(rolls_dice(*client));
        // A slot given back is taken again.
        open.pop_back();
        bool admitted = false;
        for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
            HandshakeClient again(portico.gateway_port(), HandshakeOptions{});
            admitted = again.ok();
            if (!admitted) std::this_thread::sleep_for(20ms);
        }
        CHECK(admitted);
    }
    SECTION("one address") {
        PorticoProcess portico(dice_config(dir, {{"max_connections_per_ip", 2}}));
        REQUIRE(portico.wait_ready());
        HandshakeClient a(portico.gateway_port(), HandshakeOptions{});
        HandshakeClient b(portico.gateway_port(), HandshakeOptions{});
        REQUIRE(a.ok());
        REQUIRE(b.ok());
        HandshakeClient c(portico.gateway_port(), HandshakeOptions{});
        CHECK(c.http_status() == 503);
        CHECK(c.http_body() == "too many connections from your address\n");
        CHECK(rolls_dice(a));
        CHECK(rolls_dice(b));
        CHECK(portico.wait_for_err("gateway.max_connections_per_ip", 5s));
    }
}

TEST_CASE("a handshake that dribbles is dropped at handshake_timeout_ms", "[security][limits][timeout]") {
    TempDir dir;
    PorticoProcess portico(dice_config(dir, {{"handshake_timeout_ms", 400}}));
    REQUIRE(portico.wait_ready());
    auto slow = portico::test::WsClient::raw(portico.gateway_port());
    const std::string request = "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n";
    const auto start = std::chrono::steady_clock::now();
    bool dropped = false;
    // A byte every 50 ms: each read succeeds, the deadline holds all the same.
    for (std::size_t i = 0; i < request.size() && !dropped; ++i) {
        try {
            slow.send_raw(request.substr(i, 1));
        } catch (const std::exception&) {
            dropped = true;
            break;
        }
        dropped = slow.wait_for_eof(50ms);
    }
    if (!dropped) dropped = slow.wait_for_eof(3s);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(dropped);
    CHECK(elapsed >= 350ms);
    CHECK(elapsed < 3s);
    HandshakeClient prompt(portico.gateway_port(), HandshakeOptions{});
    CHECK(prompt.ok());
}

TEST_CASE("a peer that stops answering pings is dropped; one that answers stays", "[security][limits][ping]") {
    TempDir dir;
    PorticoProcess portico(dice_config(dir, {{"ping_interval_ms", 200}, {"pong_timeout_ms", 200}}));
    REQUIRE(portico.wait_ready());
    // A raw connection sends the upgrade and then nothing, not even a pong.
    auto silent = portico::test::WsClient::raw(portico.gateway_port());
    REQUIRE(silent.upgrade());
    HandshakeClient alive(portico.gateway_port(), HandshakeOptions{});
    REQUIRE(alive.ok());
    REQUIRE(rolls_dice(alive));
    const auto start = std::chrono::steady_clock::now();
    // A Beast client answers pings by itself while it reads: nothing comes in
    // 1.5 s (several intervals), and the server has not closed it.
    CHECK_FALSE(alive.read(1500ms));
    CHECK(alive.error() == "read timed out");
    // Meanwhile the silent one was pinged, then dropped.
    const auto frame = silent.read_frame(1s);
    REQUIRE(frame);
    CHECK(frame->opcode == 0x9);
    CHECK(silent.wait_for_eof(2s));
    CHECK(std::chrono::steady_clock::now() - start < 4s);
}

TEST_CASE("rate_limit admits exactly its burst, then rate_limited with retry_after_ms", "[security][rate]") {
    TempDir dir;
    PorticoProcess portico(dice_config(dir, json::object(), {{"rate_limit", {{"per_second", 0.5}, {"burst", 3}}}}));
    REQUIRE(portico.wait_ready());
    HandshakeClient client(portico.gateway_port(), HandshakeOptions{});
    REQUIRE(client.ok());
    for (int i = 0; i < 6; ++i) REQUIRE(client.send(R"({"id":)" + std::to_string(i) + R"(,"plugin":"dice","payload":"d6"})"));
    int ok = 0;
    int limited = 0;
    for (int i = 0; i < 6; ++i) {
        const auto reply = client.read(5s);
        REQUIRE(reply);
        const auto parsed = json::parse(*reply);
        if (parsed["ok"] == true) {
            ++ok;
        } else {
            CHECK(parsed["error"]["code"] == "rate_limited");
            CHECK(parsed["error"]["retry_after_ms"].get<int>() > 0);
            CHECK(parsed["error"]["retry_after_ms"].get<int>() <= 2000);
            ++limited;
        }
    }
    CHECK(ok == 3);
    CHECK(limited == 3);
    // The connection stays open, and other plugins are not limited.
    const auto version = client.request(R"({"plugin":"portico","payload":"version"})");
    REQUIRE(version);
    CHECK(json::parse(*version)["ok"] == true);
    // Another connection has a bucket of its own.
    HandshakeClient other(portico.gateway_port(), HandshakeOptions{});
    REQUIRE(other.ok());
    CHECK(rolls_dice(other));
}
