// SIGHUP reload of the real portico executable while a WebSocket client keeps
// rolling dice on one connection (4 requests in flight, every reply checked):
// plugins are added, removed and replaced (new settings, new .so file), and a
// bad config is refused with everything still serving. Every scenario asserts
// that the rolling client lost nothing, got nothing twice and saw no error,
// and that it never had to reconnect.
#include "reload_scenario.hpp"

#include <catch2/catch.hpp>

#include <thread>

namespace portico::reload_tests {
namespace {

using nlohmann::json;
using test::LoadReport;
using test::PipelinedClient;
using test::ReloadOutcome;
using namespace std::chrono_literals;

// The rolling client's stream: 3d6 with 4 requests in flight.
constexpr const char* rolling = "roll";

void start_rolling(PipelinedClient& client) {
    client.start_stream(rolling, requests("dice", "3d6", 4, dice_roll_check(3, 6)));
    REQUIRE(client.wait_stream_progress(rolling, 40, 10s));
}

// Stops a stream and checks that each of its requests had exactly one
// reply, as expected, and that the connection is the one it started on.
void require_clean(PipelinedClient& client, const std::string& stream, const HostUnderTest& host) {
    const LoadReport report = client.stop_stream(stream, 5s);
    INFO("stream " << stream << ": " << report.summary());
    INFO("connection: " << (client.connected() ? std::string("open") : client.connection_error()));
    INFO(host.summary());
    CHECK(report.clean());
    CHECK(client.connected());
}

void require_calls_answered_once(PipelinedClient& client) {
    std::this_thread::sleep_for(200ms);  // room for a duplicate to show up
    const auto anomalies = client.call_anomalies();
    std::string text;
    for (const auto& a : anomalies) text += a + "\n";
    INFO("calls without exactly one reply:\n" << text);
    CHECK(anomalies.empty());
    const auto unexpected = client.unexpected();
    INFO("first reply nobody asked for: " << (unexpected.empty() ? std::string("-") : unexpected.front()));
    CHECK(unexpected.empty());
}

// How every scenario ends: each of its streams clean on the connection it
// started on, every call answered exactly once, and a clean stop.
void require_clean_end(PipelinedClient& client, HostUnderTest& host, std::initializer_list<std::string> streams) {
    for (const auto& stream : streams) require_clean(client, stream, host);
    require_calls_answered_once(client);
    require_clean_stop(host);
}

}  // namespace

TEST_CASE("reload adds a plugin: it serves on the same connection while dice keeps rolling", "[reload][add]") {
    HostUnderTest host(json{{"dice", dice_entry()}});
    PipelinedClient client({host.gateway_port()});
    REQUIRE(client.connect());
    start_rolling(client);

    const auto before = client.call("test", "text hi");
    INFO("before the reload: " << show(before));
    CHECK(error_code(before) == "unknown_plugin");
    CHECK(live_plugins(client).count("test") == 0);

    host.write_config({{"dice", dice_entry()}, {"test", test_entry()}});
    const ReloadOutcome outcome = require_applied(host);
    CHECK(outcome.names("added") == std::set<std::string>{"test"});
    CHECK(outcome.names("replaced").empty());
    CHECK(outcome.names("removed").empty());
    // Announced on stdout (another pipe than the log: it may come a little later).
    CHECK(host.process().wait_for_out("portico: plugin test 0.1.0 serving on tcp://127.0.0.1:", 5s));

    // The same connection sees the new plugin within a few seconds.
    const auto hi = call_until(client, "test", "text hi", [](const auto& r) { return is_ok_text(r, "hi"); }, 5s);
    INFO("after the reload: " << show(hi));
    CHECK(is_ok_text(hi, "hi"));
    const auto live = live_plugins(client);
    CHECK(live.count("test") == 1);
    CHECK(live.count("dice") == 1);

    REQUIRE(client.wait_stream_progress(rolling, 40, 10s));
    require_clean_end(client, host, {rolling});
}

TEST_CASE("reload removes a plugin: unknown_plugin afterwards, its requests in flight still answered, "
          "dice unaffected",
          "[reload][remove]") {
    HostUnderTest host(json{{"dice", dice_entry()}, {"test", test_entry()}});
    PipelinedClient client({host.gateway_port()});
    REQUIRE(client.connect());
    start_rolling(client);
    const auto x = call_until(client, "test", "text x", [](const auto& r) { return is_ok_text(r, "x"); }, 5s);
    REQUIRE(is_ok_text(x, "x"));

    // Two slow requests that the removed plugin holds while it drains.
    const auto slow1 = client.send("test", "sleep 1000");
    const auto slow2 = client.send("test", "sleep 1000");
    std::this_thread::sleep_for(250ms);

    host.write_config({{"dice", dice_entry()}});
    const ReloadOutcome outcome = require_applied(host);
    CHECK(outcome.names("removed") == std::set<std::string>{"test"});
    CHECK(outcome.names("added").empty());

    // "removed ones stop taking requests, finish those in flight"
    const auto r1 = client.wait_reply(slow1, 5s);
    const auto r2 = client.wait_reply(slow2, 5s);
    INFO("in flight during the removal: " << show(r1) << " / " << show(r2));
    CHECK(is_ok_text(r1, "slept"));
    CHECK(is_ok_text(r2, "slept"));

    const auto gone = call_until(
        client, "test", "text x", [](const auto& r) { return error_code(r) == "unknown_plugin"; }, 5s);
    INFO("after the reload: " << show(gone));
    CHECK(error_code(gone) == "unknown_plugin");
    const auto live = live_plugins(client);
    CHECK(live.count("test") == 0);
    CHECK(live.count("dice") == 1);

    REQUIRE(client.wait_stream_progress(rolling, 40, 10s));
    require_clean_end(client, host, {rolling});
}

// A replaced engine must hand over without losing anything: the new workers
// take what is queued and what comes while the old ones finish what they
// hold, and the endpoint keeps its "instance", so that the gateway does not
// take the swap for a restart and answer what is in flight "unavailable".
TEST_CASE("reload replaces a plugin whose settings changed, while requests are in flight",
          "[reload][replace_settings]") {
    HostUnderTest host(json{{"dice", dice_entry()}, {"test", test_entry({{"generation", 1}})}});
    PipelinedClient client({host.gateway_port()});
    REQUIRE(client.connect());
    start_rolling(client);
    const auto six = client.call("dice", "6d6");
    INFO("6d6 before: " << show(six));
    REQUIRE((six && six->value("ok", false)));

    // Dice is loaded anew with max_dice 5 while the rolling client rolls 3d6.
    {
        host.write_config({{"dice", dice_entry({{"max_dice", 5}})}, {"test", test_entry({{"generation", 1}})}});
        const ReloadOutcome outcome = require_applied(host);
        CHECK(outcome.names("replaced") == std::set<std::string>{"dice"});
        CHECK(outcome.names("added").empty());

        const auto limited = call_until(
            client, "dice", "6d6", [](const auto& r) { return error_code(r) == "bad_expression"; }, 5s);
        INFO("6d6 after max_dice 5: " << show(limited));
        REQUIRE(error_code(limited) == "bad_expression");
        CHECK_THAT(limited->at("error").value("message", ""), Catch::Contains("at most 5"));
        const auto five = client.call("dice", "5d6");
        INFO("5d6 after: " << show(five));
        CHECK((five && five->value("ok", false)));
        CHECK(client.wait_stream_progress(rolling, 40, 10s));
    }

    // test's settings change while a stream of its own keeps it busy.
    client.start_stream("echo", requests("test", "text ping", 2, text_check("test", "ping")));
    CHECK(client.wait_stream_progress("echo", 20, 5s));
    {
        host.write_config({{"dice", dice_entry({{"max_dice", 5}})}, {"test", test_entry({{"generation", 2}})}});
        const ReloadOutcome outcome = require_applied(host);
        CHECK(outcome.names("replaced") == std::set<std::string>{"test"});
        const auto settings = call_until(
            client, "test", "settings",
            [](const auto& r) { return r && r->value("result", json()) == json{{"generation", 2}}; }, 5s);
        INFO("settings after: " << show(settings));
        CHECK((settings && settings->value("result", json()) == json{{"generation", 2}}));
    }
    // The dice limit survived the reload that did not touch dice.
    CHECK(error_code(client.call("dice", "6d6")) == "bad_expression");

    CHECK(client.wait_stream_progress("echo", 20, 5s));
    CHECK(client.wait_stream_progress(rolling, 40, 10s));
    require_clean_end(client, host, {"echo", rolling});
}

TEST_CASE("reload replaces a plugin whose .so changed on disk, while requests are in flight",
          "[reload][replace_file]") {
    HostUnderTest host(json{{"dice", dice_entry()}, {"test", test_entry({{"generation", 1}})}});
    PipelinedClient client({host.gateway_port()});
    REQUIRE(client.connect());
    start_rolling(client);
    const auto first = call_until(client, "test", "settings", [](const auto& r) { return r && r->value("ok", false); }, 5s);
    INFO("settings before: " << show(first));
    REQUIRE((first && first->value("result", json()) == json{{"generation", 1}}));

    // In flight to test during the swap: a stream and two slow requests.
    client.start_stream("echo", requests("test", "text ping", 2, text_check("test", "ping")));
    REQUIRE(client.wait_stream_progress("echo", 20, 5s));
    const auto slow1 = client.send("test", "sleep 800");
    const auto slow2 = client.send("test", "sleep 800");
    std::this_thread::sleep_for(200ms);

    // cp + mv: the same name, a new inode.
    host.dir().install(misbehaving_library(), "test.so");
    const ReloadOutcome outcome = require_applied(host);
    CHECK(outcome.names("replaced") == std::set<std::string>{"test"});
    CHECK(outcome.names("added").empty());

    const auto r1 = client.wait_reply(slow1, 5s);
    const auto r2 = client.wait_reply(slow2, 5s);
    INFO("in flight during the swap: " << show(r1) << " / " << show(r2));
    CHECK(is_ok_text(r1, "slept"));
    CHECK(is_ok_text(r2, "slept"));
    const auto still = client.call("test", "text still");
    INFO("after the swap: " << show(still));
    CHECK(is_ok_text(still, "still"));
    const auto settings = client.call("test", "settings");
    INFO("settings after: " << show(settings));
    CHECK((settings && settings->value("result", json()) == json{{"generation", 1}}));

    CHECK(client.wait_stream_progress("echo", 20, 5s));
    CHECK(client.wait_stream_progress(rolling, 40, 10s));
    require_clean_end(client, host, {"echo", rolling});
}

TEST_CASE("a refused reload changes nothing: bad JSON, a number out of range, a missing .so, a plugin of another "
          "API version",
          "[reload][refused]") {
    HostUnderTest host(json{{"dice", dice_entry()}, {"test", test_entry()}});
    PipelinedClient client({host.gateway_port()});
    REQUIRE(client.connect());
    start_rolling(client);
    REQUIRE(is_ok_text(call_until(client, "test", "text a", [](const auto& r) { return is_ok_text(r, "a"); }, 5s), "a"));
    const std::size_t announced = host.process().count_in_out("portico: plugin ");

    // Everything still serves as before: test answers, dice has no limit of 5,
    // no new plugin is routed, nothing new was announced.
    auto still_serving = [&](const std::string& step) {
        INFO("after " << step << "\n" << host.summary());
        CHECK(host.process().running());
        const auto text = client.call("test", "text still");
        INFO("test: " << show(text));
        CHECK(is_ok_text(text, "still"));
        const auto six = client.call("dice", "6d6");
        INFO("dice 6d6: " << show(six));
        CHECK((six && six->value("ok", false)));
        CHECK(error_code(client.call("extra", "text no")) == "unknown_plugin");
        CHECK(live_plugins(client) == std::set<std::string>{"dice", "portico", "test"});
        CHECK(host.process().count_in_out("portico: plugin ") == announced);
        CHECK(client.wait_stream_progress(rolling, 20, 10s));
    };

    SECTION("invalid JSON") {
        host.write_config_text("{ \"plugins\": { \"dice\": ");
        const ReloadOutcome outcome = require_refused(host);
        CHECK_THAT(outcome.error(), Catch::Contains("invalid JSON"));
        still_serving("invalid JSON");
    }
    SECTION("a number too large for a double") {
        // Regression: nlohmann's out_of_range used to escape the config
        // parser and kill the running gateway with every client on it.
        host.write_config_text(R"({"plugins": {"dice": {"endpoint": "tcp://127.0.0.1:0", "workers": 1e400}}})");
        const ReloadOutcome outcome = require_refused(host);
        CHECK_THAT(outcome.error(), Catch::Contains("plugins.dice.workers: invalid JSON: number overflow"));
        still_serving("a number out of range");
    }
    SECTION("a plugin whose .so is missing") {
        json plugins = {{"dice", dice_entry({{"max_dice", 5}})}, {"test", test_entry()}};
        plugins["extra"] = test_entry(json::object(), "missing.so");
        host.write_config(plugins);
        const ReloadOutcome outcome = require_refused(host);
        CHECK_THAT(outcome.error(), Catch::Contains("missing.so"));
        still_serving("a missing .so");
    }
    SECTION("a plugin of another API version, after a good new plugin and a dice change") {
        // Plugins are applied in name order: "dice" (changed) and "extra" (new,
        // valid) are prepared before "wrong" fails; none of it may stay.
        host.dir().install(misbehaving_library(), "extra.so");
        host.dir().install(wrong_version_library(), "wrong.so");
        json plugins = {{"dice", dice_entry({{"max_dice", 5}})}, {"test", test_entry()}};
        plugins["extra"] = test_entry(json::object(), "extra.so");
        plugins["wrong"] = test_entry(json::object(), "wrong.so");
        host.write_config(plugins);
        const ReloadOutcome outcome = require_refused(host);
        CHECK_THAT(outcome.error(), Catch::Contains("wrong"));
        CHECK_THAT(outcome.error(), Catch::Contains("plugin API 99.0"));
        still_serving("a wrong API version");
    }

    // A good reload after the refused one still works.
    host.write_config({{"dice", dice_entry()}});
    const ReloadOutcome outcome = require_applied(host);
    CHECK(outcome.names("removed") == std::set<std::string>{"test"});

    require_clean_end(client, host, {rolling});
}

}  // namespace portico::reload_tests
