// An isolated plugin ("isolate": true) runs in a child portico process under
// the host's supervision. Its crash costs exactly the request that crashed it
// (one error reply), never the host nor the other plugins; the child is
// restarted and serves again; and a stopping host leaves no child behind.
#include "reload_scenario.hpp"

#include <catch2/catch.hpp>

#include <thread>

namespace portico::reload_tests {
namespace {

using nlohmann::json;
using test::LoadReport;
using test::PipelinedClient;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Waits until the gateway has had a heartbeat answer (pong) from the plugin's
// engine: `portico plugins` lists what the engine said of itself (its version)
// only once a pong came.
bool wait_for_pong(PipelinedClient& client, const std::string& plugin, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        const auto reply = client.call("portico", "plugins", 2s);
        if (reply && reply->value("ok", false)) {
            for (const auto& entry : reply->value("result", json::object()).value("plugins", json::array()))
                if (entry.value("name", "") == plugin && entry.contains("version") &&
                    entry.value("engines", json::object()).value("alive", 0) >= 1)
                    return true;
        }
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

struct CrashResult {
    std::uint64_t id = 0;
    std::optional<json> reply;
    long long elapsed_ms = 0;
};

CrashResult crash_it(PipelinedClient& client) {
    CrashResult result;
    const auto sent = Clock::now();
    result.id = client.send("test", "crash");
    result.reply = client.wait_reply(result.id, 8s);
    result.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent).count();
    return result;
}

}  // namespace

TEST_CASE("an isolated plugin's crash costs one error reply; it is restarted; the host and dice are unaffected; "
          "the host stops cleanly without leaving a child",
          "[isolate]") {
    HostUnderTest host(json{{"dice", dice_entry()}, {"test", isolated_test_entry()}});
    const auto announced = host.process().isolated_pids();
    INFO(host.summary());
    REQUIRE(announced.size() == 1);
    const pid_t first_child = announced.front();
    CHECK(host.process().count_in_out("portico: plugin test isolated in process " + std::to_string(first_child) +
                                      ", serving on ") == 1);

    PipelinedClient client({host.gateway_port()});
    REQUIRE(client.connect());
    client.start_stream("roll", requests("dice", "3d6", 4, dice_roll_check(3, 6)));
    REQUIRE(client.wait_stream_progress("roll", 40, 10s));

    const auto a = call_until(client, "test", "text a", [](const auto& r) { return is_ok_text(r, "a"); }, 10s);
    INFO("test text a: " << show(a));
    REQUIRE(is_ok_text(a, "a"));
    // The test below crashes it before its first heartbeat instead.
    REQUIRE(wait_for_pong(client, "test", 5s));

    // The crash: exactly one reply, "unavailable", quickly: the restarted
    // child answers the next heartbeat as another instance (or the old one
    // falls silent for dead_after_ms 400), long before timeout_ms 5000.
    const CrashResult crash = crash_it(client);
    INFO("test crash: " << show(crash.reply) << " after " << crash.elapsed_ms << " ms\n" << host.summary());
    REQUIRE(crash.reply);
    CHECK(error_code(crash.reply) == "unavailable");
    CHECK(crash.elapsed_ms < 2500);
    CHECK(host.process().running());

    // The supervisor restarts the child; the plugin serves again.
    const auto b = call_until(client, "test", "text b", [](const auto& r) { return is_ok_text(r, "b"); }, 10s);
    INFO("test text b: " << show(b));
    CHECK(is_ok_text(b, "b"));
    const auto children = host.process().isolated_pids();
    CHECK(children.size() >= 2);
    CHECK(process_state(first_child) == "gone");  // reaped by the supervisor

    // Dice never noticed.
    REQUIRE(client.wait_stream_progress("roll", 40, 10s));
    const LoadReport report = client.stop_stream("roll", 10s);
    INFO("dice stream: " << report.summary());
    CHECK(report.clean());
    CHECK(client.connected());
    std::this_thread::sleep_for(300ms);  // room for a second reply to the crash
    CHECK(client.replies_for(crash.id) == 1);
    CHECK(client.call_anomalies().empty());
    CHECK(client.unexpected().empty());

    // SIGTERM: the host stops, exits 0, and takes its children with it.
    require_clean_stop(host, 20s);
    for (const pid_t child : host.process().isolated_pids()) {
        INFO("isolated engine process " << child);
        CHECK(process_state(child) == "gone");
    }
}

// The crash comes right after the child's first answer, possibly before the
// gateway has heard its first pong and learnt its instance: heartbeats alone
// could then take the restarted child for the same engine, and the request
// the crashed child held would wait for its full timeout. The supervisor
// tells the gateway of the exit at once, so it is answered "unavailable"
// within moments, whatever the timing.
TEST_CASE("an isolated plugin that crashes right after its first answer: one quick unavailable reply",
          "[isolate_first_crash]") {
    HostUnderTest host(json{{"dice", dice_entry()}, {"test", isolated_test_entry()}});
    PipelinedClient client({host.gateway_port()});
    REQUIRE(client.connect());
    const auto a = call_until(client, "test", "text a", [](const auto& r) { return is_ok_text(r, "a"); }, 10s);
    INFO("test text a: " << show(a));
    REQUIRE(is_ok_text(a, "a"));

    const CrashResult crash = crash_it(client);
    INFO("test crash: " << show(crash.reply) << " after " << crash.elapsed_ms << " ms\n" << host.summary());
    REQUIRE(crash.reply);
    CHECK(error_code(crash.reply) == "unavailable");
    CHECK(crash.elapsed_ms < 2500);
    const auto b = call_until(client, "test", "text b", [](const auto& r) { return is_ok_text(r, "b"); }, 10s);
    CHECK(is_ok_text(b, "b"));
    std::this_thread::sleep_for(300ms);
    CHECK(client.replies_for(crash.id) == 1);
    CHECK(host.process().running());

    require_clean_stop(host, 20s);
}

}  // namespace portico::reload_tests
