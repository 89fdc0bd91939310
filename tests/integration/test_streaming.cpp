// Engines that talk back (plugin API 1.2): progress events ahead of the
// final reply, cancellation by the client, by the deadline and by the
// client going away, and client_gone() for per-client state. The real odds
// and notepad plugins, in this process (the local job queue) and in an
// engine process of their own reached over zmq (`portico --role engine`).
#include "support/checks.hpp"
#include "support/portico_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_host.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

using nlohmann::json;
using portico::test::PorticoProcess;
using portico::test::read_json;
using portico::test::TestHost;
using portico::test::WsClient;
using namespace std::chrono_literals;

namespace {

// odds rolls 1000d6 in batches of 2000 (about a millisecond or two each),
// far more samples than converge, so a run lasts until it is cancelled or
// its 20 s bound passes: what a test sees it do is what cancellation did.
json odds_entry(json extra = json::object()) {
    json entry = portico::test::plugin_entry(
        PORTICO_ODDS_PLUGIN,
        {{"workers", 2},
         {"timeout_ms", 30000},
         {"settings", {{"max_samples", 100000000}, {"batch", 2000}, {"precision", 1e-9}, {"max_seconds", 20}}}});
    entry.update(extra);
    return entry;
}

// The odds engine's counters, asked on a connection of their own.
json odds_stats(std::uint16_t port) {
    WsClient probe(port);
    probe.send(R"({"id":"s","plugin":"odds","payload":"stats"})");
    const json reply = read_json(probe);
    REQUIRE(reply.at("ok") == true);
    return reply.at("result");
}

// Waits (bounded) until the engine runs nothing; its counters then.
json wait_until_idle(std::uint16_t port) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    json stats = odds_stats(port);
    while (stats.at("running") != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        stats = odds_stats(port);
    }
    return stats;
}

// Sends a long odds run as request `id` and reads up to its first event.
void start_long_run(WsClient& client, int id) {
    client.send(json{{"id", id}, {"plugin", "odds"}, {"payload", "1000d6"}}.dump());
    const json event = read_json(client);
    INFO("first message: " << event.dump());
    REQUIRE(event.at("id") == id);
    REQUIRE(event.at("plugin") == "odds");
    REQUIRE(event.contains("event"));
    CHECK_FALSE(event.contains("ok"));  // an event is not the reply
    CHECK(event.at("event").at("samples").get<std::uint64_t>() >= 2000);
}

// Cancels request 1 and checks both answers and that the engine stopped.
void cancel_and_check_stopped(WsClient& client, std::uint16_t port) {
    client.send(R"({"id":2,"plugin":"portico","payload":"cancel 1"})");
    // Events already on their way may come first; then the cancelled reply.
    json reply = read_json(client);
    while (reply.contains("event")) reply = read_json(client);
    CHECK(reply.at("id") == 1);
    CHECK(reply.at("ok") == false);
    CHECK(reply.at("error").at("code") == "cancelled");
    json answer = read_json(client);
    while (answer.contains("event")) answer = read_json(client);
    CHECK(answer.at("id") == 2);
    CHECK(answer.at("result") == json{{"cancelled", 1}});

    const json stats = wait_until_idle(port);
    CHECK(stats.at("running") == 0);
    CHECK(stats.at("cancelled") == 1);
    // Stopped for good: no sample is rolled after it stopped.
    const auto samples = stats.at("samples").get<std::uint64_t>();
    std::this_thread::sleep_for(200ms);
    CHECK(odds_stats(port).at("samples").get<std::uint64_t>() == samples);
    // Nothing more for the cancelled request comes on the connection: the
    // next message is the answer to the next request.
    client.send(R"({"id":3,"plugin":"odds","payload":"stats"})");
    const json next = read_json(client);
    INFO("next: " << next.dump());
    CHECK(next.value("id", 0) == 3);
    CHECK(next.at("ok") == true);
}

}  // namespace

TEST_CASE("a streaming request sends events with its id, then its one reply", "[streaming][events]") {
    TestHost host(portico::test::make_config(
        {{"odds", portico::test::plugin_entry(PORTICO_ODDS_PLUGIN,
                                              {{"settings", {{"batch", 5000}, {"max_samples", 40000}, {"precision", 1e-9}}}})}}));
    WsClient client(host.gateway_port());
    client.send(R"({"id":"q","plugin":"odds","payload":"2d6"})");
    std::uint64_t last_samples = 0;
    int events = 0;
    json message = read_json(client);
    while (message.contains("event")) {
        CHECK(message.at("id") == "q");
        const auto samples = message.at("event").at("samples").get<std::uint64_t>();
        CHECK(samples > last_samples);  // progress, in order
        last_samples = samples;
        ++events;
        message = read_json(client);
    }
    CHECK(events >= 1);  // at most 7; events closer than 10 ms apart are dropped
    CHECK(events <= 7);
    REQUIRE(message.at("ok") == true);
    const json& result = message.at("result");
    CHECK(result.at("expr") == "2d6");
    CHECK(result.at("samples") == 40000);
    CHECK(result.at("min").get<int>() >= 2);
    CHECK(result.at("max").get<int>() <= 12);
    CHECK(std::abs(result.at("mean").get<double>() - 7.0) < 0.1);
    double total = 0;
    for (const auto& [value, p] : result.at("distribution").items()) total += p.get<double>();
    CHECK(std::abs(total - 1.0) < 1e-9);
}

TEST_CASE("shorthand: events read \"event: ...\", then the result", "[streaming][events]") {
    TestHost host(portico::test::make_config(
        {{"odds", portico::test::plugin_entry(PORTICO_ODDS_PLUGIN,
                                              {{"settings", {{"batch", 5000}, {"max_samples", 20000}, {"precision", 1e-9}}}})}}));
    WsClient client(host.gateway_port());
    client.send("odds 1d20");
    std::string text = client.read_required();
    while (text.rfind("event: ", 0) == 0) {
        CHECK(json::accept(text.substr(7)));
        text = client.read_required();
    }
    REQUIRE(json::accept(text));
    CHECK(json::parse(text).at("samples") == 20000);
}

TEST_CASE("a client cancels a streaming request: its engine stops", "[streaming][cancel]") {
    TestHost host(portico::test::make_config({{"odds", odds_entry()}}));
    WsClient client(host.gateway_port());
    start_long_run(client, 1);
    cancel_and_check_stopped(client, host.gateway_port());
}

TEST_CASE("portico cancel: a wrong id cancels nothing, a bad one is refused", "[streaming][cancel]") {
    TestHost host(portico::test::make_config({{"odds", odds_entry()}}));
    WsClient client(host.gateway_port());
    client.send(R"({"id":1,"plugin":"portico","payload":"cancel 99"})");
    CHECK(read_json(client).at("result") == json{{"cancelled", 0}});
    client.send(R"({"id":2,"plugin":"portico","payload":"cancel {\"x\":1}"})");
    const json refused = read_json(client);
    CHECK(refused.at("ok") == false);
    CHECK(refused.at("error").at("code") == "bad_request");
    client.send("portico cancel");  // shorthand: every request of the connection
    CHECK(json::parse(client.read_required()) == json{{"cancelled", 0}});
}

TEST_CASE("the deadline cancels a streaming request at its engine", "[streaming][cancel]") {
    TestHost host(portico::test::make_config({{"odds", odds_entry({{"timeout_ms", 300}})}}));
    WsClient client(host.gateway_port());
    client.send(R"({"id":1,"plugin":"odds","payload":"1000d6"})");
    json reply = read_json(client);
    while (reply.contains("event")) reply = read_json(client);
    CHECK(reply.at("error").at("code") == "timeout");
    const json stats = wait_until_idle(host.gateway_port());
    CHECK(stats.at("running") == 0);
    CHECK(stats.at("cancelled") == 1);
}

TEST_CASE("a client that goes away cancels what it had running", "[streaming][cancel]") {
    TestHost host(portico::test::make_config({{"odds", odds_entry()}}));
    {
        WsClient client(host.gateway_port());
        start_long_run(client, 1);
        client.drop();
    }
    const json stats = wait_until_idle(host.gateway_port());
    CHECK(stats.at("running") == 0);
    CHECK(stats.at("cancelled") == 1);
}

TEST_CASE("the notepad frees a connection's notes when it ends", "[streaming][client_gone]") {
    TestHost host(portico::test::make_config({{"note", portico::test::plugin_entry(PORTICO_NOTEPAD_PLUGIN)}}));
    WsClient keeper(host.gateway_port());
    keeper.send("note add stays");
    CHECK(json::parse(keeper.read_required()) == json{{"notes", 1}});
    {
        WsClient leaver(host.gateway_port());
        leaver.send("note add goes");
        CHECK(json::parse(leaver.read_required()) == json{{"notes", 1}});
        keeper.send("note stats");
        CHECK(json::parse(keeper.read_required()) == json{{"notepads", 2}});
        leaver.close();
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    json stats;
    do {
        keeper.send("note stats");
        stats = json::parse(keeper.read_required());
        if (stats.at("notepads") == 1) break;
        std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < deadline);
    CHECK(stats == json{{"notepads", 1}});
    keeper.send("note list");
    CHECK(json::parse(keeper.read_required()) == json{{"notes", {"stays"}}});
}

TEST_CASE("over zmq: events, cancellation and client_gone reach an engine in another process", "[streaming][remote]") {
    portico::test::TempDir dir;
    const std::string engine_config = dir.write("engine.json", portico::test::make_config(
        {{"odds", odds_entry()}, {"note", portico::test::plugin_entry(PORTICO_NOTEPAD_PLUGIN)}}));
    PorticoProcess engine(engine_config, {"--role", "engine"});
    REQUIRE(engine.wait_ready());
    json gateway_plugins = {{"odds", {{"connect", {engine.endpoint_of("odds")}}, {"timeout_ms", 30000}}},
                            {"note", {{"connect", {engine.endpoint_of("note")}}}}};
    const std::string gateway_config = dir.write("gateway.json", portico::test::make_config(gateway_plugins));
    PorticoProcess gateway(gateway_config, {"--role", "gateway"});
    REQUIRE(gateway.wait_ready());
    const std::uint16_t port = gateway.gateway_port();

    WsClient client(port);
    start_long_run(client, 1);
    cancel_and_check_stopped(client, port);

    WsClient keeper(port);
    keeper.send("note add stays");
    CHECK(json::parse(keeper.read_required()) == json{{"notes", 1}});
    {
        WsClient leaver(port);
        leaver.send("note add goes");
        CHECK(json::parse(leaver.read_required()) == json{{"notes", 1}});
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    json stats;
    do {
        keeper.send("note stats");
        stats = json::parse(keeper.read_required());
        if (stats.at("notepads") == 1) break;
        std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < deadline);
    CHECK(stats == json{{"notepads", 1}});
}

TEST_CASE("an isolated streaming engine that crashes mid-stream ends each open request with an error",
          "[streaming][isolated]") {
    portico::test::TempDir dir;
    const std::string config = dir.write(
        "portico.json",
        portico::test::make_config(
            {{"odds", odds_entry({{"isolate", true}, {"idempotent", false}, {"heartbeat_ms", 250}, {"dead_after_ms", 3000}})}}));
    PorticoProcess portico_process(config);
    REQUIRE(portico_process.wait_ready());
    const std::uint16_t port = portico_process.gateway_port();
    WsClient first(port);
    WsClient second(port);
    start_long_run(first, 1);
    start_long_run(second, 1);
    REQUIRE(portico_process.signal_isolated("odds", SIGKILL) > 0);
    for (WsClient* client : {&first, &second}) {
        json reply = read_json(*client, 15s);
        while (reply.contains("event")) reply = read_json(*client, 15s);
        INFO("reply: " << reply.dump());
        CHECK(reply.at("id") == 1);
        CHECK(reply.at("ok") == false);
        CHECK(reply.at("error").at("code") == "unavailable");
    }
    // Its successor serves the next request.
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    json answer;
    do {
        WsClient probe(port);
        probe.send(R"({"id":"s","plugin":"odds","payload":"stats"})");
        answer = read_json(probe);
        if (answer.value("ok", false)) break;
        std::this_thread::sleep_for(100ms);
    } while (std::chrono::steady_clock::now() < deadline);
    CHECK(answer.value("ok", false) == true);
}
