// RFC 6455 where portico's own code sits under or beside Beast's: the wait
// before the first message, the stream under the WebSocket layer (bytes that
// come with the upgrade, a close held back until the replies owed are out),
// and the close codes for frames that break the protocol. A raw client
// builds every frame byte by byte; a real Host serves dice and the
// misbehaving "test" fixture.
#include "support/test_host.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

using nlohmann::json;
using portico::test::client_frame;
using portico::test::close_frame;
using portico::test::RawFrame;
using portico::test::TestHost;
using portico::test::WsClient;
namespace op = portico::test::ws_opcode;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_message_bytes = 4096;

std::string config() {
    return portico::test::make_config(
        {{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN)},
         {"test", portico::test::plugin_entry(PORTICO_FIXTURE_MISBEHAVING, {{"workers", 2}, {"timeout_ms", 1500}})}},
        {{"max_message_bytes", max_message_bytes}});
}

std::string roll(int id, const std::string& expression = "3d6") {
    return json{{"id", id}, {"plugin", "dice"}, {"payload", expression}}.dump();
}

// The next frame, which must be a text reply to request `id` that succeeded.
void require_ok_reply(WsClient& client, int id, std::chrono::milliseconds timeout = 10s) {
    const auto frame = client.read_frame(timeout);
    REQUIRE(frame);
    INFO("frame opcode " << int(frame->opcode) << ": " << frame->payload);
    REQUIRE(frame->opcode == op::text);
    const auto reply = json::parse(frame->payload, nullptr, false);
    REQUIRE(reply.is_object());
    CHECK(reply.value("id", -1) == id);
    CHECK(reply.value("ok", false));
}

// The next frame, which must be a close with `code`; then the server ends the TCP connection.
void require_close(WsClient& client, int code, std::chrono::milliseconds timeout = 10s) {
    const auto frame = client.read_frame(timeout);
    REQUIRE(frame);
    INFO("frame opcode " << int(frame->opcode) << ": " << frame->payload);
    REQUIRE(frame->opcode == op::close);
    CHECK(frame->close_code() == code);
    CHECK(client.wait_for_eof(10s));
}

WsClient upgraded(const TestHost& host, std::string_view then = {}) {
    WsClient client = WsClient::raw(host.gateway_port());
    REQUIRE(client.upgrade(then));
    return client;
}

}  // namespace

TEST_CASE("a ping as the very first frame is answered, then requests are served", "[websocket][protocol]") {
    TestHost host(config());
    WsClient client = WsClient::raw(host.gateway_port());
    REQUIRE(client.upgrade());
    client.send_raw(client_frame(op::ping, "hello?"));
    const auto pong = client.read_frame(5s);
    REQUIRE(pong);
    CHECK(pong->opcode == op::pong);
    CHECK(pong->payload == "hello?");
    client.send_raw(client_frame(op::text, roll(1)));
    require_ok_reply(client, 1);
}

TEST_CASE("a message in many fragments with a ping among them is one request", "[websocket][protocol]") {
    TestHost host(config());
    WsClient client = upgraded(host);
    const std::string message = roll(7, "2d20 + 1d4 + 3");
    std::string frames;
    for (std::size_t i = 0; i < message.size(); i += 3) {
        const bool first = i == 0;
        const bool last = i + 3 >= message.size();
        frames += client_frame(first ? op::text : op::continuation, message.substr(i, 3), last);
        if (i == 9) frames += client_frame(op::ping, "mid");  // control frames may come between fragments
    }
    client.send_raw(frames);
    const auto pong = client.read_frame(5s);
    REQUIRE(pong);
    CHECK(pong->opcode == op::pong);
    CHECK(pong->payload == "mid");
    require_ok_reply(client, 7);
}

TEST_CASE("frames that break the protocol close with the RFC's code", "[websocket][protocol]") {
    TestHost host(config());
    SECTION("invalid UTF-8 in a text message: 1007") {
        WsClient client = upgraded(host);
        client.send_raw(client_frame(op::text, "dice \xff\xfe"));
        require_close(client, 1007);
    }
    SECTION("a close with a code no endpoint may send: 1002") {
        WsClient client = upgraded(host);
        client.send_raw(close_frame(1005));  // "no status": reserved, never on the wire
        require_close(client, 1002);
    }
    SECTION("a close with a code below 1000: 1002") {
        WsClient client = upgraded(host);
        client.send_raw(close_frame(999));
        require_close(client, 1002);
    }
    SECTION("an unmasked frame from a client: 1002") {
        WsClient client = upgraded(host);
        client.send_raw(client_frame(op::text, roll(1), true, false));
        require_close(client, 1002);
    }
    SECTION("a message over max_message_bytes: 1009") {
        WsClient client = upgraded(host);
        client.send_raw(client_frame(op::text, std::string(max_message_bytes + 1, 'x')));
        require_close(client, 1009);
    }
    SECTION("a fragmented message that grows over max_message_bytes: 1009") {
        WsClient client = upgraded(host);
        const std::string piece(max_message_bytes / 2 + 1, 'x');
        client.send_raw(client_frame(op::text, piece, false) + client_frame(op::continuation, piece, true));
        require_close(client, 1009);
    }
    // The gateway answers a normal close in kind, and goes on serving others.
    WsClient other = upgraded(host);
    other.send_raw(client_frame(op::text, roll(2)));
    require_ok_reply(other, 2);
}

TEST_CASE("frames that arrive in the same TCP segment as the upgrade request are served",
          "[websocket][protocol][early]") {
    TestHost host(config());
    WsClient client = WsClient::raw(host.gateway_port());
    REQUIRE(client.upgrade(client_frame(op::text, roll(1)) + client_frame(op::text, roll(2))));
    std::set<int> ids;  // replies come in the order engines finish
    for (int i = 0; i < 2; ++i) {
        const auto frame = client.read_frame(10s);
        REQUIRE(frame);
        REQUIRE(frame->opcode == op::text);
        const auto reply = json::parse(frame->payload);
        CHECK(reply.value("ok", false));
        ids.insert(reply.value("id", 0));
    }
    CHECK(ids == std::set<int>{1, 2});
    client.send_raw(client_frame(op::text, roll(3)));
    require_ok_reply(client, 3);
}

TEST_CASE("a request and a close in one TCP write: the reply comes before the close",
          "[websocket][protocol][close]") {
    TestHost host(config());
    SECTION("a quick engine") {
        WsClient client = upgraded(host);
        client.send_raw(client_frame(op::text, roll(1)) + close_frame(1000, "bye"));
        require_ok_reply(client, 1);
        require_close(client, 1000);
    }
    SECTION("a slow engine: the close waits for its reply") {
        WsClient client = upgraded(host);
        client.send_raw(client_frame(op::text, R"({"id":5,"plugin":"test","payload":"sleep 300"})") +
                        close_frame(1000));
        require_ok_reply(client, 5);
        require_close(client, 1000);
    }
    SECTION("several requests, then a close in the same write as the upgrade") {
        WsClient client = WsClient::raw(host.gateway_port());
        REQUIRE(client.upgrade(client_frame(op::text, roll(1)) + client_frame(op::text, roll(2)) +
                               client_frame(op::text, roll(3)) + close_frame(1001)));
        int seen = 0;
        for (int i = 0; i < 3; ++i) {
            const auto frame = client.read_frame(10s);
            REQUIRE(frame);
            REQUIRE(frame->opcode == op::text);
            seen += json::parse(frame->payload).value("id", 0);
        }
        CHECK(seen == 1 + 2 + 3);
        require_close(client, 1001);
    }
    SECTION("a request, then a frame that breaks the protocol: the reply, then 1002") {
        WsClient client = upgraded(host);
        client.send_raw(client_frame(op::text, roll(4)) + client_frame(op::text, roll(9), true, false));
        require_ok_reply(client, 4);
        require_close(client, 1002);
    }
    SECTION("an engine slower than its timeout: the close follows the timeout error") {
        WsClient client = upgraded(host);
        const auto sent = std::chrono::steady_clock::now();
        client.send_raw(client_frame(op::text, R"({"id":6,"plugin":"test","payload":"sleep 4000"})") +
                        close_frame(1000));
        const auto frame = client.read_frame(4s);
        REQUIRE(frame);
        REQUIRE(frame->opcode == op::text);
        const auto reply = json::parse(frame->payload);
        CHECK(reply.value("id", -1) == 6);
        CHECK(reply["error"].value("code", "") == "timeout");
        require_close(client, 1000, 4s);
        CHECK(std::chrono::steady_clock::now() - sent < 3500ms);
    }
}

// Regression: a drain used to close as soon as nothing was pending, though
// the client's next requests were already in the gateway's socket, unread:
// they got no reply at all. Here reading is paused (one request in flight at
// most) while two more wait in the socket when the shutdown begins.
TEST_CASE("a shutdown answers every request that reached the gateway, read or not",
          "[websocket][protocol][drain][regression]") {
    auto host = std::make_unique<TestHost>(portico::test::make_config(
        {{"test", portico::test::plugin_entry(PORTICO_FIXTURE_MISBEHAVING, {{"workers", 2}})}},
        {{"max_inflight_per_client", 1}, {"drain_timeout_ms", 5000}}));
    WsClient client = upgraded(*host);
    client.send_raw(client_frame(op::text, R"({"id":1,"plugin":"test","payload":"sleep 400"})") +
                    client_frame(op::text, R"({"id":2,"plugin":"test","payload":"text two"})") +
                    client_frame(op::text, R"({"id":3,"plugin":"test","payload":"text three"})"));
    std::this_thread::sleep_for(100ms);  // request 1 is with the engine; 2 and 3 wait unread
    auto stopped = std::async(std::launch::async, [&host] { return host->stop(20s); });

    std::map<int, std::string> answers;  // id -> "ok" or the error code
    for (int i = 0; i < 3; ++i) {
        const auto frame = client.read_frame(10s);
        REQUIRE(frame);
        INFO("frame opcode " << int(frame->opcode) << ": " << frame->payload);
        REQUIRE(frame->opcode == op::text);
        const auto reply = json::parse(frame->payload);
        answers[reply.at("id").get<int>()] =
            reply.value("ok", false) ? "ok" : reply.at("error").at("code").get<std::string>();
    }
    CHECK(answers == std::map<int, std::string>{{1, "ok"}, {2, "shutting_down"}, {3, "shutting_down"}});
    require_close(client, 1001);
    CHECK(stopped.get());
}
