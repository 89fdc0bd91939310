// Isolated plugins under churn: reload after reload adds, replaces (new
// settings) and removes isolated plugins, one refused reload among them,
// while the children of the others are killed (SIGKILL by PID) or crashed
// (the fixture's "crash" command) between reloads. Every reload must be
// applied as asked, the one bad config refused and nothing else; afterwards
// every configured plugin answers with its latest settings, every removed one
// is unknown, each crash had exactly one error reply, dice (in the host's own
// process) never noticed, and the host stops cleanly leaving no child behind.
#include "reload_scenario.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <map>
#include <set>
#include <thread>
#include <vector>

namespace portico::reload_tests {
namespace {

using nlohmann::json;
using test::LoadReport;
using test::PipelinedClient;
using namespace std::chrono_literals;

constexpr int rounds = 20;
// The round before which a config that does not parse is reloaded (and refused).
constexpr int refused_round = rounds / 2;

// The isolated plugins configured: name -> generation.
using Wanted = std::map<std::string, int>;

json plugins_of(const Wanted& wanted) {
    json plugins = {{"dice", dice_entry()}};
    for (const auto& [name, generation] : wanted) plugins[name] = isolated_test_entry({{"generation", generation}});
    return plugins;
}

// How many isolated engine processes of `plugin` portico announced on `out`, its stdout.
std::size_t starts_of(const std::string& out, const std::string& plugin) {
    std::size_t n = 0;
    for (const auto& event : test::parse_events(out, "isolated_started"))
        if (event.value("plugin", "") == plugin) ++n;
    return n;
}

// Waits until portico has announced more than `before` processes of `plugin`.
bool wait_for_start(test::PorticoProcess& host, const std::string& plugin, std::size_t before,
                    std::chrono::milliseconds timeout) {
    return host.wait_until([&](const std::string& out, const std::string&) { return starts_of(out, plugin) > before; },
                           timeout);
}

bool has_settings(const std::optional<json>& reply, int generation) {
    return reply && reply->value("ok", false) && reply->value("result", json()) == json{{"generation", generation}};
}

}  // namespace

TEST_CASE("isolated plugins churn: added, replaced and removed reload after reload while their children "
          "crash, every reload is applied and every plugin answers as configured",
          "[isolate_churn]") {
    Wanted wanted = {{"iso-a", 1}, {"iso-b", 1}};
    HostUnderTest host(plugins_of(wanted));
    test::PorticoProcess& portico = host.process();
    PipelinedClient client({host.gateway_port()});
    REQUIRE(client.connect());
    client.start_stream("roll", requests("dice", "3d6", 2, dice_roll_check(3, 6)));
    REQUIRE(client.wait_stream_progress("roll", 20, 10s));
    for (const auto& [name, generation] : wanted) {
        const auto settings = call_until(
            client, name, "settings", [g = generation](const auto& r) { return has_settings(r, g); }, 15s);
        INFO(name << " before the churn: " << show(settings) << "\n" << host.summary());
        REQUIRE(has_settings(settings, generation));
    }

    std::vector<std::string> order = {"iso-a", "iso-b"};  // the configured ones, oldest first
    std::set<std::string> removed;        // removed (names are never used again)
    std::vector<std::uint64_t> crashes;   // "crash" requests sent
    std::vector<pid_t> killed;            // children killed with SIGKILL
    int next_plugin = 0;
    // The plugin a crash or a kill goes to: the configured ones in turn,
    // never the one this round's reload changed (its old child may be leaving).
    auto victim = [&](int round, const std::string& changed) -> std::string {
        std::vector<std::string> candidates;
        for (const auto& name : order)
            if (name != changed) candidates.push_back(name);
        return candidates.empty() ? std::string() : candidates[static_cast<std::size_t>(round) % candidates.size()];
    };

    for (int round = 1; round <= rounds; ++round) {
        INFO("round " << round);
        if (round == refused_round) {
            // A config that does not parse, among the good ones: refused, nothing changes.
            host.write_config_text("{ \"plugins\": { \"iso-a\": ");
            const auto refused = require_refused(host);
            CHECK_THAT(refused.error(), Catch::Contains("invalid JSON"));
        }

        // add, replace, add, remove, replace, remove: two to four plugins;
        // the one replaced in turn, the one removed the oldest.
        std::string changed;
        std::set<std::string> added, replaced, gone_now;
        switch ((round - 1) % 6) {
        case 0:
        case 2:
            changed = "iso-" + std::to_string(++next_plugin);
            wanted[changed] = 1;
            order.push_back(changed);
            added.insert(changed);
            break;
        case 1:
        case 4:
            changed = order[static_cast<std::size_t>(round) % order.size()];
            wanted[changed] = round;  // new settings: a new engine process
            replaced.insert(changed);
            break;
        default:
            changed = order.front();
            order.erase(order.begin());
            wanted.erase(changed);
            gone_now.insert(changed);
            removed.insert(changed);
            break;
        }
        const std::size_t starts_before = starts_of(portico.out(), changed);
        host.write_config(plugins_of(wanted));
        const auto outcome = require_applied(host);
        INFO("reload: " << outcome.event.dump());
        CHECK(outcome.names("added") == added);
        CHECK(outcome.names("replaced") == replaced);
        CHECK(outcome.names("removed") == gone_now);
        // A plugin added or replaced has its new engine process before the next step.
        if (gone_now.empty()) CHECK(wait_for_start(portico, changed, starts_before, 10s));

        // Then a child of another plugin dies: killed, or crashed by a request.
        const std::string target = victim(round, changed);
        if (target.empty()) continue;
        if (round % 2 == 0) {
            if (const pid_t child = portico.signal_isolated(target, SIGKILL); child > 0) killed.push_back(child);
        } else if (portico.isolated_pid(target) > 0) {
            crashes.push_back(client.send(target, "crash"));
        }
    }
    INFO(host.summary());
    CHECK(portico.running());
    CHECK_FALSE(killed.empty());
    CHECK_FALSE(crashes.empty());

    // Nothing was refused but the bad config.
    CHECK(portico.events("reload_refused").size() == 1);
    CHECK(portico.events("reloaded").size() == static_cast<std::size_t>(rounds));

    // Every crash had one reply, an error that says what happened: the child
    // was lost, or (when the next reload removed its plugin first) the plugin
    // was shutting down or gone.
    const std::set<std::string> crash_codes = {"unavailable", "timeout", "shutting_down", "unknown_plugin"};
    for (const auto id : crashes) {
        const auto reply = client.wait_reply(id, 10s);
        INFO("crash " << id << ": " << show(reply));
        REQUIRE(reply);
        CHECK_FALSE(reply->value("ok", false));
        CHECK(crash_codes.count(error_code(reply)) == 1);
    }

    // Every configured plugin answers with its latest settings, restarted
    // after its kills; the removed ones are gone.
    for (const auto& [name, generation] : wanted) {
        const auto settings = call_until(
            client, name, "settings", [g = generation](const auto& r) { return has_settings(r, g); }, 20s);
        INFO(name << " (generation " << generation << "): " << show(settings));
        CHECK(has_settings(settings, generation));
    }
    for (const auto& name : removed) {
        const auto reply = client.call(name, "settings");
        INFO(name << " (removed): " << show(reply));
        CHECK(error_code(reply) == "unknown_plugin");
    }
    std::set<std::string> expected = {"dice", "portico"};
    for (const auto& [name, generation] : wanted) expected.insert(name);
    CHECK(live_plugins(client) == expected);

    // Dice, in the host's own process, never noticed.
    const LoadReport report = client.stop_stream("roll", 10s);
    INFO("dice stream: " << report.summary());
    CHECK(report.clean());
    CHECK(client.connected());
    std::this_thread::sleep_for(300ms);  // room for a second reply to a crash
    for (const auto id : crashes) CHECK(client.replies_for(id) == 1);
    CHECK(client.unexpected().empty());

    // SIGTERM: the host stops, exits 0, and takes every child with it.
    require_clean_stop(host, 20s);
    for (const pid_t child : portico.isolated_pids()) {
        INFO("isolated engine process " << child);
        CHECK(process_state(child) == "gone");
    }
}

}  // namespace portico::reload_tests
