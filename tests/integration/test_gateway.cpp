// The WebSocket gateway, end to end: a real Host in this process serving the
// real dice.so and the misbehaving "test" fixture, a Beast client on an
// ephemeral loopback port.
#include "support/checks.hpp"
#include "support/test_host.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using portico::test::TestHost;
using portico::test::read_json;
using portico::test::WsClient;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_message_bytes = 1024;

// dice; "test" (the misbehaving fixture); "slow" (the same fixture with a
// 200 ms timeout, for the timeout tests).
std::string gateway_config() {
    return portico::test::make_config(
        {{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN)},
         {"test", portico::test::plugin_entry(PORTICO_FIXTURE_MISBEHAVING, {{"workers", 2}})},
         {"slow", portico::test::plugin_entry(PORTICO_FIXTURE_MISBEHAVING, {{"workers", 2}, {"timeout_ms", 200}})}},
        {{"max_message_bytes", max_message_bytes}});
}

// A dice result for "3d6": the expression, three dice of 1..6 and their sum.
void check_3d6(const json& result) {
    CHECK(result.at("expr") == "3d6");
    const auto& rolls = result.at("rolls");
    REQUIRE(rolls.size() == 3);
    unsigned sum = 0;
    for (const auto& roll : rolls) {
        CHECK(roll.get<unsigned>() >= 1);
        CHECK(roll.get<unsigned>() <= 6);
        sum += roll.get<unsigned>();
    }
    CHECK(result.at("total").get<unsigned>() == sum);
}

std::string error_code_of(const json& reply) {
    REQUIRE(reply.at("ok") == false);
    return reply.at("error").at("code").get<std::string>();
}

}  // namespace

TEST_CASE("shorthand: \"dice 3d6\" is answered with the roll as JSON", "[gateway]") {
    TestHost host(gateway_config());
    WsClient client(host.gateway_port());
    client.send("dice 3d6");
    check_3d6(read_json(client));
}

TEST_CASE("envelope: the reply carries the id, the plugin, ok and the result", "[gateway]") {
    TestHost host(gateway_config());
    WsClient client(host.gateway_port());
    client.send(R"({"id":7,"plugin":"dice","payload":"3d6"})");
    const json reply = read_json(client);
    CHECK(reply.at("id") == 7);
    CHECK(reply.at("plugin") == "dice");
    CHECK(reply.at("ok") == true);
    check_3d6(reply.at("result"));
}

TEST_CASE("envelope ids are echoed exactly", "[gateway]") {
    TestHost host(gateway_config());
    WsClient client(host.gateway_port());

    SECTION("the largest 64-bit unsigned integer") {
        client.send(R"({"id":18446744073709551615,"plugin":"dice","payload":"1d6"})");
        const std::string text = client.read_required();
        CHECK_THAT(text, StartsWith(R"({"id":18446744073709551615,)"));
        CHECK(json::parse(text).at("id").get<std::uint64_t>() == 18446744073709551615ull);
    }
    SECTION("a string, with escapes and non-ASCII text") {
        client.send(R"({"id":"req \"7\" \u00e9","plugin":"dice","payload":"1d6"})");
        const json reply = read_json(client);
        CHECK(reply.at("id") == "req \"7\" \xc3\xa9");
        CHECK(reply.at("ok") == true);
    }
    SECTION("a negative number and null") {
        client.send(R"({"id":-3,"plugin":"dice","payload":"1d6"})");
        CHECK(read_json(client).at("id") == -3);
        client.send(R"({"id":null,"plugin":"dice","payload":"1d6"})");
        const json reply = read_json(client);
        CHECK(reply.contains("id"));
        CHECK(reply.at("id").is_null());
    }
}

TEST_CASE("plain text results and engine errors in both forms", "[gateway]") {
    TestHost host(gateway_config());
    WsClient client(host.gateway_port());

    client.send("test text hello, world");
    CHECK(client.read_required() == "hello, world");
    client.send(R"({"id":1,"plugin":"test","payload":"text hello, world"})");
    CHECK(read_json(client).at("result") == "hello, world");

    client.send("dice 3d0");
    CHECK_THAT(client.read_required(), StartsWith("error: "));
    client.send(R"({"id":2,"plugin":"dice","payload":"3d0"})");
    const json reply = read_json(client);
    CHECK(reply.at("id") == 2);
    CHECK(error_code_of(reply) == "bad_expression");
    CHECK_FALSE(reply.at("error").at("message").get<std::string>().empty());
}

TEST_CASE("an unknown plugin is answered with unknown_plugin in both forms", "[gateway]") {
    TestHost host(gateway_config());
    WsClient client(host.gateway_port());

    client.send("nosuch 1d6");
    const std::string shorthand = client.read_required();
    CHECK_THAT(shorthand, StartsWith("error: ") && Contains("nosuch"));

    client.send(R"({"id":3,"plugin":"nosuch","payload":"1d6"})");
    const json reply = read_json(client);
    CHECK(reply.at("id") == 3);
    CHECK(error_code_of(reply) == "unknown_plugin");
    CHECK_THAT(reply.at("error").at("message").get<std::string>(), Contains("nosuch"));

    // A name that cannot be a plugin name at all.
    client.send(R"({"id":4,"plugin":"NO SUCH","payload":"1d6"})");
    CHECK(error_code_of(read_json(client)) == "unknown_plugin");
}

TEST_CASE("malformed JSON is answered with bad_request and the connection goes on", "[gateway]") {
    TestHost host(gateway_config());
    WsClient client(host.gateway_port());
    client.send(R"({"id":5,"plugin":"dice",)");
    CHECK(error_code_of(read_json(client)) == "bad_request");
    client.send(R"({"id":6,"payload":"1d6"})");  // no plugin
    CHECK(error_code_of(read_json(client)) == "bad_request");
    client.send(R"({"id":7,"plugin":"dice","payload":"2d6"})");
    CHECK(read_json(client).at("ok") == true);
}

TEST_CASE("a binary frame is refused and the connection keeps working", "[gateway]") {
    TestHost host(gateway_config());
    WsClient client(host.gateway_port());
    client.send_binary("dice 3d6");
    CHECK(error_code_of(read_json(client)) == "binary_frame");
    client.send("dice 3d6");
    check_3d6(read_json(client));
}

TEST_CASE("a frame larger than max_message_bytes closes the connection with 1009", "[gateway]") {
    TestHost host(gateway_config());

    SECTION("a message of exactly the limit is served") {
        WsClient client(host.gateway_port());
        std::string message = "dice 3d6";
        message.resize(max_message_bytes, ' ');  // trailing spaces are trimmed
        client.send(message);
        check_3d6(read_json(client));
    }
    SECTION("one byte more closes the connection; a new connection still works") {
        WsClient client(host.gateway_port());
        client.send(std::string(max_message_bytes + 1, 'x'));
        CHECK_FALSE(client.read(5s).has_value());
        CHECK_FALSE(client.timed_out());
        CHECK(client.close_code() == 1009);

        WsClient next(host.gateway_port());
        next.send("dice 3d6");
        check_3d6(read_json(next));
    }
}

TEST_CASE("an engine that throws gives engine_error, and the endpoint keeps serving", "[gateway]") {
    TestHost host(gateway_config());
    WsClient client(host.gateway_port());
    // More throws than workers: every worker survives its exception.
    for (int i = 0; i < 4; ++i) {
        client.send(R"({"id":)" + std::to_string(i) + R"(,"plugin":"test","payload":"throw"})");
        const json reply = read_json(client);
        CHECK(reply.at("id") == i);
        CHECK(error_code_of(reply) == "engine_error");
        CHECK_THAT(reply.at("error").at("message").get<std::string>(), Contains("boom"));
    }
    client.send("test throw");
    CHECK_THAT(client.read_required(), StartsWith("error: ") && Contains("boom"));
    client.send("test text still serving");
    CHECK(client.read_required() == "still serving");
}

TEST_CASE("an engine result that is not valid JSON gives bad_result", "[gateway]") {
    TestHost host(gateway_config());
    WsClient client(host.gateway_port());
    client.send(R"({"id":9,"plugin":"test","payload":"badjson"})");
    const json reply = read_json(client);
    CHECK(reply.at("id") == 9);
    CHECK(error_code_of(reply) == "bad_result");
    client.send("test text next");
    CHECK(client.read_required() == "next");
}

TEST_CASE("the engine sees one client id per connection, and different ones for different connections",
          "[gateway]") {
    TestHost host(gateway_config());
    WsClient first(host.gateway_port());
    WsClient second(host.gateway_port());

    first.send("test client");
    const std::string id = first.read_required();
    CHECK_FALSE(id.empty());
    CHECK(id.size() <= 64);
    for (char c : id) CHECK((c > ' ' && c < 0x7f));
    for (int i = 0; i < 3; ++i) {
        first.send(R"({"plugin":"test","payload":"client"})");
        CHECK(read_json(first).at("result") == id);
    }

    second.send("test client");
    const std::string other = second.read_required();
    CHECK(other != id);
    first.close();
    WsClient third(host.gateway_port());
    third.send("test client");
    const std::string later = third.read_required();
    CHECK(later != id);
    CHECK(later != other);
}

TEST_CASE("HTTP without an upgrade: 426 on the gateway path, 404 elsewhere", "[gateway]") {
    TestHost host(gateway_config());
    const auto upgrade = portico::test::http_get(host.gateway_port(), "/ws");
    CHECK(upgrade.status == 426);
    const auto other = portico::test::http_get(host.gateway_port(), "/elsewhere");
    CHECK(other.status == 404);
    // Neither disturbs the WebSocket service.
    WsClient client(host.gateway_port());
    client.send("dice 3d6");
    check_3d6(read_json(client));
}

TEST_CASE("a request past its timeout gets a timeout error, and its late reply is never delivered",
          "[gateway]") {
    TestHost host(gateway_config());
    WsClient client(host.gateway_port());

    const auto sent = std::chrono::steady_clock::now();
    client.send(R"({"id":1,"plugin":"slow","payload":"sleep 1000"})");
    const json timeout = read_json(client);
    const auto answered = std::chrono::steady_clock::now() - sent;
    CHECK(timeout.at("id") == 1);
    CHECK(error_code_of(timeout) == "timeout");
    // Answered at its deadline, not when the engine finished.
    CHECK(answered < 900ms);

    // Wait until the engine has replied (late), then ask again: the next
    // message must be the new reply, not the late one.
    std::this_thread::sleep_until(sent + 1300ms);
    client.send(R"({"id":2,"plugin":"dice","payload":"1d6"})");
    const json next = read_json(client);
    CHECK(next.at("id") == 2);
    CHECK(next.at("ok") == true);
    // The slow plugin serves again once its worker is free.
    client.send(R"({"id":3,"plugin":"slow","payload":"text after"})");
    const json after = read_json(client);
    CHECK(after.at("id") == 3);
    CHECK(after.at("result") == "after");
    // And nothing else is waiting.
    CHECK_FALSE(client.read(300ms).has_value());
    CHECK(client.timed_out());
}
