// CurveZMQ on the links between gateways and engines, with real processes:
// `portico keygen`; a gateway with the right keys served by an engine in
// another process; a gateway whose key the engine does not list refused,
// with both logs saying why; plain zmq clients with and without keys; an
// isolated engine behind a host with curve on; config mistakes refused.
#include "support/handshake_client.hpp"
#include "support/portico_process.hpp"
#include "support/test_host.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <zmq.h>

#include <chrono>
#include <string>

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using portico::test::HandshakeClient;
using portico::test::HandshakeOptions;
using portico::test::PorticoProcess;
using portico::test::Subprocess;
using portico::test::TempDir;

struct Keys {
    std::string public_key;
    std::string secret_key;
};

Keys make_keys() {
    char public_key[41] = {};
    char secret_key[41] = {};
    REQUIRE(zmq_curve_keypair(public_key, secret_key) == 0);
    return {public_key, secret_key};
}

std::string write_keys(const TempDir& dir, const std::string& name, const Keys& keys) {
    return dir.write(name, json{{"public_key", keys.public_key}, {"secret_key", keys.secret_key}}.dump());
}

// A config of `role` with the curve block added.
std::string config_with_curve(const TempDir& dir, const std::string& name, const json& plugins, const json& curve) {
    json config = json::parse(portico::test::make_config(plugins));
    config["curve"] = curve;
    return dir.write(name, config.dump(2));
}

json roll(HandshakeClient& client) {
    const auto reply = client.request(R"({"id":1,"plugin":"dice","payload":"3d6"})", 10s);
    return reply ? json::parse(*reply, nullptr, false) : json();
}

}  // namespace

TEST_CASE("portico keygen prints a Curve key pair as a key file", "[security][curve][keygen]") {
    Subprocess keygen({PORTICO_EXECUTABLE, "keygen"});
    const auto status = keygen.wait(10s);
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    const auto keys = json::parse(keygen.out(), nullptr, false);
    REQUIRE(keys.is_object());
    const std::string public_key = keys.value("public_key", "");
    const std::string secret_key = keys.value("secret_key", "");
    CHECK(public_key.size() == 40);
    CHECK(secret_key.size() == 40);
    char derived[41] = {};
    REQUIRE(zmq_curve_public(derived, secret_key.c_str()) == 0);
    CHECK(public_key == derived);
    CHECK(keygen.err().find(public_key) != std::string::npos);
}

TEST_CASE("Curve links: listed keys are served, an unlisted gateway is refused and both sides say why",
          "[security][curve][links]") {
    TempDir dir;
    const Keys engine_keys = make_keys();
    const Keys gateway_keys = make_keys();
    const Keys stranger_keys = make_keys();
    const Keys client_keys = make_keys();
    write_keys(dir, "engine.key", engine_keys);
    write_keys(dir, "gateway.key", gateway_keys);
    write_keys(dir, "stranger.key", stranger_keys);
    write_keys(dir, "client.key", client_keys);

    PorticoProcess engine(config_with_curve(dir, "engine.json", {{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN)}},
                                            {{"key_file", "engine.key"},
                                             {"allowed_clients", {gateway_keys.public_key, client_keys.public_key}}}),
                          {"--role", "engine"});
    REQUIRE(engine.wait_ready());
    const std::string endpoint = engine.endpoint_of("dice");
    REQUIRE_FALSE(endpoint.empty());
    const json remote_dice = {{"dice", {{"connect", {endpoint}}, {"server_key", engine_keys.public_key}}}};

    SECTION("a gateway with listed keys rolls dice through the engine") {
        PorticoProcess gateway(config_with_curve(dir, "gateway.json", remote_dice, {{"key_file", "gateway.key"}}),
                               {"--role", "gateway"});
        REQUIRE(gateway.wait_ready());
        HandshakeClient client(gateway.gateway_port(), HandshakeOptions{});
        REQUIRE(client.ok());
        const json reply = roll(client);
        CHECK(reply.value("ok", false));
        CHECK(reply["result"]["total"].is_number_integer());
    }
    SECTION("a gateway whose key is not listed gets no service; both logs say why") {
        PorticoProcess gateway(config_with_curve(dir, "stranger.json", remote_dice, {{"key_file", "stranger.key"}}),
                               {"--role", "gateway"});
        // It never sees an engine in rotation, so it may report ready only
        // after its wait for engines; requests then find none.
        REQUIRE(gateway.wait_ready(30s));
        HandshakeClient client(gateway.gateway_port(), HandshakeOptions{});
        REQUIRE(client.ok());
        const json reply = roll(client);
        CHECK(reply["error"]["code"] == "unavailable");
        CHECK(engine.wait_for_err("refused the client key " + stranger_keys.public_key, 10s));
        CHECK(gateway.wait_for_err("has never answered; with curve on", 10s));
    }
    SECTION("plain zmq clients: with a listed key they are answered, without Curve they are not") {
        Subprocess keyed({PORTICO_ZMQ_CLIENT, "--curve", engine_keys.public_key, dir.path() + "/client.key", endpoint,
                          "2d6"});
        const auto keyed_status = keyed.wait(15s);
        CHECK(keyed_status.exited);
        CHECK(keyed_status.code == 0);
        CHECK(keyed.out().find("\"total\"") != std::string::npos);

        Subprocess plain({PORTICO_ZMQ_CLIENT, endpoint, "2d6"});
        const auto plain_status = plain.wait(15s);
        CHECK(plain_status.exited);
        CHECK(plain_status.code == 1);
        CHECK(plain.err().find("no reply") != std::string::npos);
    }
}

TEST_CASE("an isolated engine behind a host with curve on serves through its private link", "[security][curve][isolated]") {
    TempDir dir;
    write_keys(dir, "host.key", make_keys());
    PorticoProcess host(config_with_curve(dir, "portico.json",
                                          {{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN, {{"isolate", true}})}},
                                          {{"key_file", "host.key"}}));
    REQUIRE(host.wait_ready(30s));
    HandshakeClient client(host.gateway_port(), HandshakeOptions{});
    REQUIRE(client.ok());
    CHECK(roll(client).value("ok", false));
}

TEST_CASE("curve settings that cannot work stop start-up naming the key", "[security][curve][config]") {
    TempDir dir;
    const Keys keys = make_keys();
    struct Case {
        const char* what;
        json plugins;
        json curve;  // null: no curve block
        const char* expected;
    };
    const json dice = portico::test::plugin_entry(PORTICO_DICE_PLUGIN);
    const Case cases[] = {
        {"a missing key file", {{"dice", dice}}, {{"key_file", "none.key"}}, "curve.key_file: cannot read"},
        {"a key file that is not one", {{"dice", dice}}, {{"key_file", "bad.key"}}, "curve.key_file:"},
        {"keys that do not belong together", {{"dice", dice}}, {{"key_file", "mixed.key"}},
         "the public key is not the secret key's"},
        {"an allowed client that is not a key", {{"dice", dice}}, {{"key_file", "good.key"}, {"allowed_clients", {"short"}}},
         "curve.allowed_clients[0]: must be a 40-character Z85 public key"},
        {"connect without server_key", {{"dice", {{"connect", {"tcp://127.0.0.1:9"}}}}}, {{"key_file", "good.key"}},
         "plugins.dice.server_key: is required with curve"},
    };
    dir.write("bad.key", "not json\n");
    dir.write("good.key", json{{"public_key", keys.public_key}, {"secret_key", keys.secret_key}}.dump());
    dir.write("mixed.key", json{{"public_key", make_keys().public_key}, {"secret_key", keys.secret_key}}.dump());
    for (const auto& c : cases) {
        INFO(c.what);
        PorticoProcess portico(config_with_curve(dir, "portico.json", c.plugins, c.curve));
        const auto status = portico.wait(15s);
        CHECK(status.exited);
        CHECK(status.code != 0);
        INFO("stderr: " << portico.err());
        CHECK(portico.err().find(c.expected) != std::string::npos);
    }
    INFO("server_key without curve");
    PorticoProcess without(dir.write("plain.json", portico::test::make_config(
                                                       {{"dice", {{"connect", {"tcp://127.0.0.1:9"}},
                                                                  {"server_key", keys.public_key}}}})));
    const auto status = without.wait(15s);
    CHECK(status.exited);
    CHECK(without.err().find("plugins.dice.server_key: needs curve.key_file") != std::string::npos);
}
