// Tokens at the upgrade (gateway.auth.jwt), against the real portico
// executable: every refusal gets 401 with its one-line reason; a token that
// expires closes its connection with 4001 unless refreshed; require_scope
// answers "forbidden"; the caller's identity reaches plugins (the notepad
// follows its user across connections); rate limits are per user. Tokens are
// signed by the test with OpenSSL, not by the library the gateway verifies with.
#include "support/handshake_client.hpp"
#include "support/portico_process.hpp"
#include "support/test_certificates.hpp"
#include "support/test_host.hpp"
#include "support/test_tokens.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using portico::test::HandshakeClient;
using portico::test::HandshakeOptions;
using portico::test::PorticoProcess;
using portico::test::TempDir;
using portico::test::TokenSigner;
using portico::test::unix_now;

const std::string secret = "a test secret that is long enough for HS256 ok";

// Writes the verification key and a config with gateway.auth.jwt for `signer`.
std::string auth_config(const TempDir& dir, const TokenSigner& signer, json jwt_extra = json::object(),
                        json plugins = json::object(), json gateway_extra = json::object()) {
    json jwt{{"algorithms", {signer.algorithm()}}};
    if (signer.algorithm() == "HS256") {
        dir.write("keys/secret", signer.verification_key() + "\n");
        jwt["secret_file"] = "keys/secret";
    } else {
        dir.write("keys/public.pem", signer.verification_key());
        jwt["public_key_file"] = "keys/public.pem";
    }
    jwt.update(jwt_extra);
    if (plugins.empty()) plugins["dice"] = portico::test::plugin_entry(PORTICO_DICE_PLUGIN);
    json gateway{{"auth", {{"jwt", jwt}}}};
    gateway.update(gateway_extra);
    return dir.write("portico.json", portico::test::make_config(plugins, gateway));
}

HandshakeOptions bearer(const std::string& token) {
    HandshakeOptions options;
    options.authorization = "Bearer " + token;
    return options;
}

HandshakeOptions in_query(const std::string& token) {
    HandshakeOptions options;
    options.target = "/ws?access_token=" + token;
    return options;
}

json claims(const std::string& sub, std::int64_t expires_in = 3600) {
    return json{{"sub", sub}, {"iat", unix_now()}, {"exp", unix_now() + expires_in}};
}

json reply_to(HandshakeClient& client, const std::string& plugin, const std::string& payload, int id = 1) {
    const auto text = client.request(json{{"id", id}, {"plugin", plugin}, {"payload", payload}}.dump());
    if (!text) return json();
    return json::parse(*text, nullptr, false);
}

bool rolls_dice(HandshakeClient& client) {
    const json reply = reply_to(client, "dice", "3d6");
    return reply.is_object() && reply.value("ok", false) && reply["result"]["total"].is_number_integer();
}

// The upgrade is refused with 401 and a body that holds `reason`.
void require_refused(std::uint16_t port, const HandshakeOptions& options, const std::string& reason) {
    HandshakeClient client(port, options);
    REQUIRE_FALSE(client.ok());
    CHECK(client.http_status() == 401);
    const std::string body = client.http_body();
    INFO("body: " << body);
    CHECK(body.rfind("unauthorized: ", 0) == 0);
    CHECK(body.find(reason) != std::string::npos);
    CHECK(std::count(body.begin(), body.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("HS256: a valid token in the header or the query is let in; every bad one gets 401", "[security][auth][tokens]") {
    TempDir dir;
    const auto signer = TokenSigner::hs256(secret);
    PorticoProcess portico(auth_config(dir, signer, {{"issuer", "https://issuer.test"}, {"audience", "portico"}, {"leeway_s", 5}}));
    REQUIRE(portico.wait_ready());
    const auto port = portico.gateway_port();
    json good = claims("alice");
    good["iss"] = "https://issuer.test";
    good["aud"] = json::array({"other", "portico"});

    HandshakeClient by_header(port, bearer(signer.sign(good)));
    REQUIRE(by_header.ok());
    CHECK(rolls_dice(by_header));
    HandshakeClient by_query(port, in_query(signer.sign(good)));
    REQUIRE(by_query.ok());
    CHECK(rolls_dice(by_query));

    require_refused(port, HandshakeOptions{}, "no token");
    require_refused(port, bearer("not-a-token"), "malformed");
    require_refused(port, bearer("a.b.c"), "malformed");
    require_refused(port, bearer(TokenSigner::hs256("another secret, just as long as the real one").sign(good)),
                    "signature does not verify");
    json expired = good;
    expired["exp"] = unix_now() - 60;  // beyond the 5 s leeway
    require_refused(port, bearer(signer.sign(expired)), "expired");
    json early = good;
    early["nbf"] = unix_now() + 60;
    require_refused(port, bearer(signer.sign(early)), "not valid yet");
    json foreign = good;
    foreign["iss"] = "https://evil.test";
    require_refused(port, bearer(signer.sign(foreign)), "issuer");
    json elsewhere = good;
    elsewhere["aud"] = "someone-else";
    require_refused(port, bearer(signer.sign(elsewhere)), "audience");
    require_refused(port, bearer(portico::test::unsigned_token(good)), "algorithm \"none\" is not accepted");
    require_refused(port, bearer(TokenSigner::rs256().sign(good)), "algorithm \"RS256\" is not accepted");
    json odd = good;
    odd["sub"] = 42;
    require_refused(port, bearer(signer.sign(odd)), "\"sub\" must be a string");
    require_refused(port, bearer(std::string(5000, 'a')), "longer than 4096");
    // The refusals left the gateway serving.
    CHECK(rolls_dice(by_header));
}

TEST_CASE("RS256 and ES256 tokens verify against a public key; algorithm confusion is refused", "[security][auth][tokens]") {
    TempDir dir;
    const bool rsa = GENERATE(true, false);
    const auto signer = rsa ? TokenSigner::rs256() : TokenSigner::es256();
    PorticoProcess portico(auth_config(dir, signer));
    REQUIRE(portico.wait_ready());
    HandshakeClient client(portico.gateway_port(), bearer(signer.sign(claims("carol"))));
    REQUIRE(client.ok());
    CHECK(rolls_dice(client));
    // An HS256 token "signed" with the server's own public key as the secret.
    require_refused(portico.gateway_port(),
                    bearer(portico::test::hs256_token_with_key(signer.verification_key(), claims("mallory"))),
                    "algorithm \"HS256\" is not accepted");
    const auto other = rsa ? TokenSigner::rs256() : TokenSigner::es256();
    require_refused(portico.gateway_port(), bearer(other.sign(claims("carol"))), "signature does not verify");
}

TEST_CASE("a token that expires closes its connection with 4001; a refresh keeps it open", "[security][auth][expiry]") {
    TempDir dir;
    const auto signer = TokenSigner::hs256(secret);
    PorticoProcess portico(auth_config(dir, signer, {{"leeway_s", 0}}));
    REQUIRE(portico.wait_ready());
    const auto port = portico.gateway_port();

    HandshakeClient lapsing(port, bearer(signer.sign(claims("dave", 2))));
    REQUIRE(lapsing.ok());
    HandshakeClient refreshed(port, bearer(signer.sign(claims("dave", 2))));
    REQUIRE(refreshed.ok());
    CHECK(rolls_dice(lapsing));

    // Refresh refusals leave the connection as it was.
    json wrong = reply_to(refreshed, "portico", "refresh " + signer.sign(claims("eve", 600)), 2);
    CHECK(wrong["error"]["code"] == "forbidden");
    json bad = reply_to(refreshed, "portico", "refresh garbage", 3);
    CHECK(bad["error"]["code"] == "unauthorized");
    json ok = reply_to(refreshed, "portico", "refresh " + signer.sign(claims("dave", 600)), 4);
    REQUIRE(ok.value("ok", false));
    CHECK(ok["result"]["refreshed"] == true);
    CHECK(ok["result"]["expires_at"].get<std::int64_t>() > unix_now() + 500);

    // The unrefreshed one is closed once its exp has passed.
    CHECK_FALSE(lapsing.read(6s));
    CHECK(lapsing.close_code() == 4001);
    CHECK(lapsing.close_reason() == "token expired");
    // The refreshed one outlives its first token.
    CHECK(rolls_dice(refreshed));
    const json who = reply_to(refreshed, "portico", "whoami", 5);
    CHECK(who["result"]["subject"] == "dave");
    CHECK(who["result"]["authenticated"] == true);
}

TEST_CASE("require_scope: a token without the scope gets forbidden, the connection stays open", "[security][auth][scope]") {
    TempDir dir;
    const auto signer = TokenSigner::hs256(secret);
    json plugins{{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN, {{"require_scope", "dice:roll"}})}};
    PorticoProcess portico(auth_config(dir, signer, json::object(), plugins));
    REQUIRE(portico.wait_ready());

    json reader = claims("frank");
    reader["scope"] = "notes:read dice:rollx";
    HandshakeClient without(portico.gateway_port(), bearer(signer.sign(reader)));
    REQUIRE(without.ok());
    const json refused = reply_to(without, "dice", "3d6");
    CHECK(refused["error"]["code"] == "forbidden");
    CHECK(refused["error"]["message"].get<std::string>().find("dice:roll") != std::string::npos);
    CHECK(reply_to(without, "portico", "version", 2).value("ok", false));  // still open

    json roller = claims("grace");
    roller["scope"] = "notes:read dice:roll";
    HandshakeClient with(portico.gateway_port(), bearer(signer.sign(roller)));
    REQUIRE(with.ok());
    CHECK(rolls_dice(with));
}

TEST_CASE("the caller reaches the plugin: notes follow their user across connections", "[security][auth][identity]") {
    TempDir dir;
    const auto signer = TokenSigner::hs256(secret);
    json plugins{{"note", portico::test::plugin_entry(PORTICO_NOTEPAD_PLUGIN)}};
    PorticoProcess portico(auth_config(dir, signer, json::object(), plugins));
    REQUIRE(portico.wait_ready());
    const auto port = portico.gateway_port();
    {
        HandshakeClient first(port, bearer(signer.sign(claims("heidi"))));
        REQUIRE(first.ok());
        CHECK(reply_to(first, "note", "add remember the milk").value("ok", false));
    }
    HandshakeClient again(port, bearer(signer.sign(claims("heidi"))));
    REQUIRE(again.ok());
    const json notes = reply_to(again, "note", "list");
    CHECK(notes["result"]["notes"] == json::array({"remember the milk"}));
    HandshakeClient other(port, bearer(signer.sign(claims("ivan"))));
    REQUIRE(other.ok());
    CHECK(reply_to(other, "note", "list")["result"]["notes"] == json::array());
}

TEST_CASE("with auth, a rate limit is per user across that user's connections", "[security][auth][rate]") {
    TempDir dir;
    const auto signer = TokenSigner::hs256(secret);
    json plugins{{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN,
                                                      {{"rate_limit", {{"per_second", 0.01}, {"burst", 2}}}})}};
    PorticoProcess portico(auth_config(dir, signer, json::object(), plugins));
    REQUIRE(portico.wait_ready());
    HandshakeClient one(portico.gateway_port(), bearer(signer.sign(claims("judy"))));
    HandshakeClient two(portico.gateway_port(), bearer(signer.sign(claims("judy"))));
    HandshakeClient stranger(portico.gateway_port(), bearer(signer.sign(claims("kim"))));
    REQUIRE((one.ok() && two.ok() && stranger.ok()));
    CHECK(rolls_dice(one));
    CHECK(rolls_dice(two));
    const json third = reply_to(two, "dice", "3d6");
    CHECK(third["error"]["code"] == "rate_limited");
    CHECK(third["error"]["retry_after_ms"].get<std::int64_t>() > 0);
    CHECK(rolls_dice(stranger));  // another user has a bucket of its own
}

TEST_CASE("auth settings that cannot work stop start-up with the key that is wrong", "[security][auth][config]") {
    TempDir dir;
    const auto rsa = TokenSigner::rs256();
    struct Case {
        const char* what;
        std::function<std::string()> write_config;  // returns the config's path
        const char* expected;
    };
    const Case cases[] = {
        {"a secret shorter than 32 bytes", [&] { return auth_config(dir, TokenSigner::hs256("short")); },
         "gateway.auth.jwt.secret_file: the secret in"},
        {"an RSA key for ES256", [&] { return auth_config(dir, rsa, {{"algorithms", {"ES256"}}}); },
         "ES256 needs an EC public key on P-256"},
        {"a key file that is missing", [&] { return auth_config(dir, rsa, {{"public_key_file", "keys/none.pem"}}); },
         "gateway.auth.jwt.public_key_file: cannot read"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        PorticoProcess portico(c.write_config());
        const auto status = portico.wait(15s);
        CHECK(status.exited);
        CHECK(status.code != 0);
        INFO("stderr: " << portico.err());
        CHECK(portico.err().find(c.expected) != std::string::npos);
        CHECK(portico.events("ready").empty());
    }
}

TEST_CASE("SIGHUP reads the token key again: new tokens verify with the new key", "[security][auth][rotation]") {
    TempDir dir;
    const auto first = TokenSigner::es256();
    PorticoProcess portico(auth_config(dir, first));
    REQUIRE(portico.wait_ready());
    HandshakeClient before(portico.gateway_port(), bearer(first.sign(claims("leo"))));
    REQUIRE(before.ok());

    const auto second = TokenSigner::es256();
    dir.write("keys/public.pem", second.verification_key());
    const auto applied = portico.reload();
    REQUIRE(applied.finished);
    CHECK_FALSE(applied.refused);
    HandshakeClient after(portico.gateway_port(), bearer(second.sign(claims("leo"))));
    CHECK(after.ok());
    require_refused(portico.gateway_port(), bearer(first.sign(claims("leo"))), "signature does not verify");
    CHECK(rolls_dice(before));  // an open connection stays

    dir.write("keys/public.pem", "not a key\n");
    const auto refused = portico.reload();
    REQUIRE(refused.finished);
    CHECK(refused.refused);
    CHECK(refused.error().find("gateway.auth.jwt.public_key_file") != std::string::npos);
    HandshakeClient still(portico.gateway_port(), bearer(second.sign(claims("leo"))));
    CHECK(still.ok());
}

TEST_CASE("a page's way in: wss, an allowed Origin and the token in the query; another origin gets 403",
          "[security][auth][browser]") {
    TempDir dir;
    const auto signer = TokenSigner::es256();
    portico::test::TestCa ca;
    const auto pair = ca.issue("localhost");
    dir.write("tls/server.pem", pair.certificate);
    dir.write("tls/server.key", pair.private_key);
    PorticoProcess portico(auth_config(dir, signer, json::object(), json::object(),
                                       {{"tls", {{"cert_file", "tls/server.pem"}, {"key_file", "tls/server.key"}}},
                                        {"allowed_origins", {"https://app.example.com"}}}));
    REQUIRE(portico.wait_ready());
    HandshakeOptions page = in_query(signer.sign(claims("nina")));
    page.tls = true;
    page.trusted_ca = ca.certificate();
    page.origin = "https://app.example.com";
    HandshakeClient allowed(portico.gateway_port(), page);
    REQUIRE(allowed.ok());
    CHECK(rolls_dice(allowed));

    page.origin = "https://app.example.com.evil.net";
    HandshakeClient foreign(portico.gateway_port(), page);
    CHECK_FALSE(foreign.ok());
    CHECK(foreign.http_status() == 403);
    // The origin is checked before the token: a page elsewhere learns nothing of it.
    page.origin = "https://app.example.com";
    page.target = "/ws?access_token=" + TokenSigner::es256().sign(claims("nina"));
    HandshakeClient forged(portico.gateway_port(), page);
    CHECK(forged.http_status() == 401);
}
