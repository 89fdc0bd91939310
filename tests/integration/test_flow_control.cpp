// Flow control under load: every queue a client can grow has a bound, and a
// client that reaches one harms nobody else.
//   - a client that never reads is closed with 1008 once its replies waiting
//     in the gateway pass max_outbound_bytes, while others are served;
//   - a plugin whose job queue is full answers "overloaded", and serves again
//     once it drains;
//   - 10,000 connections, each with a request in flight, are all answered.
#include "support/pipelined_client.hpp"
#include "support/portico_process.hpp"
#include "support/test_host.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

using nlohmann::json;
using portico::test::LoadReport;
using portico::test::PipelinedClient;
using portico::test::PipelineOptions;
using portico::test::PorticoProcess;
using portico::test::StreamOptions;
using portico::test::TempDir;
using portico::test::TestHost;
using portico::test::WsClient;
using namespace std::chrono_literals;

namespace {

std::string envelope(int id, const std::string& plugin, const std::string& payload) {
    return json{{"id", id}, {"plugin", plugin}, {"payload", payload}}.dump();
}

}  // namespace

TEST_CASE("a client that never reads is closed with 1008 past max_outbound_bytes; others are served meanwhile",
          "[flow]") {
    // "settings" answers with the engine's settings: 256 KiB per reply here,
    // so a few dozen unread replies overflow the kernel's socket buffers and
    // then the gateway's 1 MiB bound.
    const std::string blob(256 * 1024, 'x');
    TestHost host(portico::test::make_config(
        {{"test", portico::test::plugin_entry(PORTICO_FIXTURE_MISBEHAVING, {{"settings", {{"blob", blob}}}})},
         {"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN)}},
        {{"max_outbound_bytes", 1024 * 1024}, {"max_inflight_per_client", 16}}));

    WsClient sluggard(host.gateway_port());
    constexpr int asked = 120;  // 30 MiB of replies: far beyond every buffer on the way
    for (int i = 0; i < asked; ++i) sluggard.send(envelope(i, "test", "settings"));

    // While the sluggard's replies pile up, another client is served in full.
    WsClient other(host.gateway_port());
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 10; ++i) other.send(envelope(round * 10 + i, "dice", "3d6"));
        for (int i = 0; i < 10; ++i) {
            const auto reply = json::parse(other.read_required());
            REQUIRE(reply["ok"] == true);
        }
    }

    // The sluggard now reads: what the kernel held, then the close.
    int received = 0;
    while (auto message = sluggard.read(20s)) {
        const auto reply = json::parse(*message);
        REQUIRE(reply["ok"] == true);
        ++received;
    }
    CHECK_FALSE(sluggard.timed_out());
    CHECK(sluggard.close_code() == 1008);
    CHECK(received < asked);

    // The gateway goes on serving new clients.
    WsClient late(host.gateway_port());
    late.send("dice 1d6");
    CHECK_FALSE(late.read_required().empty());
}

TEST_CASE("a plugin whose queue is full answers overloaded, then serves again", "[flow]") {
    TestHost host(portico::test::make_config(
        {{"test", portico::test::plugin_entry(PORTICO_FIXTURE_MISBEHAVING, {{"workers", 1}, {"max_queued", 2}})}}));
    WsClient client(host.gateway_port());
    // One request in the worker's hands, two waiting: the rest are refused at once.
    client.send(envelope(0, "test", "sleep 300"));
    std::this_thread::sleep_for(100ms);
    for (int i = 1; i <= 6; ++i) client.send(envelope(i, "test", "text queued"));
    int overloaded = 0, served = 0;
    for (int i = 0; i <= 6; ++i) {
        const auto reply = json::parse(client.read_required());
        if (reply["ok"] == true) {
            ++served;
        } else {
            CHECK(reply["error"]["code"] == "overloaded");
            ++overloaded;
        }
    }
    CHECK(served == 3);
    CHECK(overloaded == 4);
    client.send(envelope(9, "test", "text again"));
    CHECK(json::parse(client.read_required())["result"] == "again");
}

namespace {

// Raises this process's open-file limit as far as it may go; returns the limit.
rlim_t raise_fd_limit(rlim_t wanted) {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_max < wanted) {
        rlimit higher{wanted, wanted};
        if (setrlimit(RLIMIT_NOFILE, &higher) == 0) return wanted;  // root may raise the hard limit
    }
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
    return limit.rlim_cur;
}

}  // namespace

TEST_CASE("10,000 connections, each with a request in flight, are all answered", "[flow][many]") {
    constexpr unsigned connections = 10000;
    const rlim_t limit = raise_fd_limit(connections + 1000);
    REQUIRE(limit >= connections + 100);  // the client side's descriptors

    // The gateway runs as its own process, with a descriptor table of its own
    // (portico raises its soft limit to the hard limit by itself).
    TempDir dir;
    const auto config = dir.write(
        "portico.json", portico::test::make_config({{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN)}},
                                                   {{"threads", 2}, {"max_connections", 20000}, {"max_connections_per_ip", 20000}}));
    PorticoProcess portico(config);
    REQUIRE(portico.wait_ready(20s));
    const auto port = portico.gateway_port();
    REQUIRE(port != 0);

    // One client, many connections on one io_context: all of them connect
    // (128 at a time, so the listen backlog never overflows) before any
    // request leaves, so that all are connected at once, each with its
    // request in flight. Bounded: a hang fails below instead of hanging the suite.
    PipelineOptions crowd_options;
    crowd_options.port = port;
    crowd_options.connections = connections;
    PipelinedClient crowd(crowd_options);
    const auto started = std::chrono::steady_clock::now();
    crowd.connect(60s);
    StreamOptions one_roll;
    one_roll.payload = "1d6";
    one_roll.in_flight = 1;
    one_roll.max_per_connection = 1;
    crowd.start_stream("crowd", one_roll);
    crowd.wait_until([](const LoadReport& r) { return r.replies >= connections; },
                     std::max(90s - std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::steady_clock::now() - started),
                              std::chrono::seconds(1)));

    const LoadReport r = crowd.report();
    INFO(r.summary());
    CHECK(r.connected == connections);
    CHECK(r.ok == connections);
    // Every reply is an ok one, to the connection's own request, once.
    CHECK(r.replies == r.ok);
    CHECK(r.duplicates == 0);
    CHECK(r.unknown_ids == 0);
    CHECK(r.malformed == 0);
    portico.send_signal(SIGTERM);
    const auto status = portico.wait(20s);
    CHECK(status.exited);
    CHECK(status.code == 0);
}
