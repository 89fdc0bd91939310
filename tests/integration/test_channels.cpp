// Channels (plugin API 1.3): the table plugin subscribes its players to a
// room's channel and publishes every roll there. Offsets, history and
// recovery after a reconnect, the slow-reader policy, clients that leave or
// disconnect, and the same across two gateway processes sharing one engine
// process (zmq carries the pushes).
#include "support/checks.hpp"
#include "support/portico_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_host.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
using portico::test::PorticoProcess;
using portico::test::read_json;
using portico::test::TestHost;
using portico::test::WsClient;
using namespace std::chrono_literals;

namespace {

json table_entry(json extra = json::object()) {
    json entry = portico::test::plugin_entry(PORTICO_TABLE_PLUGIN, {{"workers", 2}});
    entry.update(extra);
    return entry;
}

bool is_push(const json& message) { return message.contains("offset") && message.contains("data"); }

// Sends request `id` and reads until its reply; what was pushed meanwhile
// (and the "subscribed" notice) is kept in `pushes` and `notices`.
json ask(WsClient& client, int id, const std::string& payload, std::vector<json>* pushes = nullptr,
         std::vector<json>* notices = nullptr) {
    client.send(json{{"id", id}, {"plugin", "table"}, {"payload", payload}}.dump());
    for (;;) {
        json message = read_json(client);
        if (is_push(message)) {
            if (pushes) pushes->push_back(std::move(message));
        } else if (message.contains("subscribed")) {
            if (notices) notices->push_back(std::move(message));
        } else {
            INFO("reply: " << message.dump());
            REQUIRE(message.value("id", 0) == id);
            return message;
        }
    }
}

// The next push on `client` (notices before it are skipped).
json next_push(WsClient& client, std::chrono::milliseconds timeout = 10s) {
    for (;;) {
        json message = read_json(client, timeout);
        if (is_push(message)) return message;
    }
}

// Two players at `room`: both have joined and read each other's arrival.
void seat_two(WsClient& ann, WsClient& bob, const std::string& room) {
    std::vector<json> pushes, notices;
    const json joined = ask(ann, 1, "join " + room + " ann", &pushes, &notices);
    REQUIRE(joined.at("ok") == true);
    REQUIRE(notices.size() == 1);
    CHECK(notices[0].at("subscribed") == true);
    CHECK(notices[0].at("channel") == room);
    CHECK(notices[0].at("plugin") == "table");
    REQUIRE(ask(bob, 1, "join " + room + " bob").at("ok") == true);
    // ann's own arrival, then bob's (either may already have been read).
    while (pushes.size() < 2) pushes.push_back(next_push(ann));
    CHECK(pushes[0].at("data").at("type") == "joined");
    CHECK(pushes[0].at("data").at("who") == "ann");
    CHECK(pushes[1].at("data").at("who") == "bob");
    CHECK(pushes[1].at("offset").get<std::uint64_t>() == pushes[0].at("offset").get<std::uint64_t>() + 1);
}

// Ann and bob roll in turn; each sees every roll once, offsets consecutive.
void rolls_reach_everyone(WsClient& ann, WsClient& bob, const std::string& room) {
    std::vector<json> ann_saw, bob_saw;
    for (int i = 0; i < 6; ++i) {
        WsClient& roller = i % 2 == 0 ? ann : bob;
        const json reply = ask(roller, 10 + i, "roll " + room + " 4d6kh3", i % 2 == 0 ? &ann_saw : &bob_saw);
        REQUIRE(reply.at("ok") == true);
        const json& roll = reply.at("result");
        CHECK(roll.at("who") == (i % 2 == 0 ? "ann" : "bob"));
        CHECK(roll.at("rolls").size() == 4);
        CHECK(roll.at("kept").size() == 3);
    }
    while (ann_saw.size() < 6) ann_saw.push_back(next_push(ann));
    while (bob_saw.size() < 6) bob_saw.push_back(next_push(bob));
    REQUIRE(ann_saw.size() == 6);
    REQUIRE(bob_saw.size() == 6);
    for (std::size_t i = 0; i < 6; ++i) {
        INFO("roll " << i);
        CHECK(ann_saw[i] == bob_saw[i]);  // the same message, the same offset, for both
        CHECK(ann_saw[i].at("channel") == room);
        const json& data = ann_saw[i].at("data");
        CHECK(data.at("type") == "roll");
        CHECK(data.at("who") == (i % 2 == 0 ? "ann" : "bob"));
        CHECK(data.at("expr") == "4d6kh3");
        int kept_total = 0;
        for (const auto& die : data.at("kept")) kept_total += die.get<int>();
        CHECK(data.at("total") == kept_total);
        if (i > 0) CHECK(ann_saw[i].at("offset").get<std::uint64_t>() == ann_saw[i - 1].at("offset").get<std::uint64_t>() + 1);
    }
}

}  // namespace

TEST_CASE("two clients at one table see each other's rolls with consecutive offsets", "[channels]") {
    TestHost host(portico::test::make_config({{"table", table_entry()}}));
    WsClient ann(host.gateway_port());
    WsClient bob(host.gateway_port());
    seat_two(ann, bob, "room1");
    rolls_reach_everyone(ann, bob, "room1");

    const json who = ask(ann, 30, "who room1");
    CHECK(who.at("result") == json{{"room", "room1"}, {"seated", 2}, {"players", {"ann", "bob"}}});
    // A client that is not seated may not roll, and a name is one player's.
    WsClient eve(host.gateway_port());
    CHECK(ask(eve, 1, "roll room1 1d6").at("error").at("code") == "not_seated");
    CHECK(ask(eve, 2, "join room1 ann").at("error").at("code") == "name_taken");
    CHECK(ask(eve, 3, "join room1 eve extra words").at("error").at("code") == "bad_command");
    CHECK(ask(eve, 4, "join room/1 eve").at("error").at("code") == "bad_command");
}

TEST_CASE("shorthand renders pushes as \"PLUGIN CHANNEL #OFFSET: DATA\"", "[channels]") {
    TestHost host(portico::test::make_config({{"table", table_entry()}}));
    WsClient ann(host.gateway_port());
    ann.send("table join den ann");
    const std::string subscribed = ann.read_required();
    CHECK(subscribed.rfind("table den: subscribed, next #", 0) == 0);
    // The arrival and the reply: either order.
    std::vector<std::string> next{ann.read_required(), ann.read_required()};
    const std::string push = next[0].rfind("table den #", 0) == 0 ? next[0] : next[1];
    const std::string reply = next[0].rfind("table den #", 0) == 0 ? next[1] : next[0];
    INFO(push << " / " << reply);
    CHECK(push.find(R"(: {"room":"den","type":"joined","who":"ann"})") != std::string::npos);
    CHECK(json::parse(reply).at("you") == "ann");
}

TEST_CASE("leaving and disconnecting end subscriptions; the others are told", "[channels]") {
    TestHost host(portico::test::make_config({{"table", table_entry()}}));
    WsClient ann(host.gateway_port());
    {
        WsClient bob(host.gateway_port());
        seat_two(ann, bob, "hall");
        std::vector<json> notices;
        const json left = ask(bob, 5, "leave hall", nullptr, &notices);
        CHECK(left.at("result") == json{{"left", "hall"}});
        if (notices.empty()) notices.push_back(read_json(bob));
        CHECK(notices.at(0).at("subscribed") == false);
        CHECK(notices.at(0).at("channel") == "hall");
        const json told = next_push(ann);
        CHECK(told.at("data") == json{{"type", "left"}, {"room", "hall"}, {"who", "bob"}});
        // bob hears nothing more from the room.
        std::vector<json> rolled;
        REQUIRE(ask(ann, 6, "roll hall 1d6", &rolled).at("ok") == true);
        if (rolled.empty()) rolled.push_back(next_push(ann));
        CHECK(rolled.at(0).at("data").at("type") == "roll");
        bob.send(R"({"id":7,"plugin":"table","payload":"who hall"})");
        CHECK(read_json(bob).at("result").at("players") == json{"ann"});
        // Back in, then gone without a word.
        REQUIRE(ask(bob, 8, "join hall bob").at("ok") == true);
        CHECK(next_push(ann).at("data").at("who") == "bob");
        bob.drop();
    }
    const json gone = next_push(ann);
    CHECK(gone.at("data") == json{{"type", "left"}, {"room", "hall"}, {"who", "bob"}, {"reason", "disconnected"}});
    CHECK(ask(ann, 9, "who hall").at("result").at("players") == json{"ann"});
}

TEST_CASE("a client that comes back with its last offset gets exactly what it missed", "[channels][history]") {
    TestHost host(portico::test::make_config({{"table", table_entry({{"channel_history", 5}})}}));
    WsClient ann(host.gateway_port());
    std::uint64_t last_seen = 0;
    {
        WsClient bob(host.gateway_port());
        seat_two(ann, bob, "keep");
        bob.send(R"({"id":2,"plugin":"table","payload":"roll keep 1d20"})");
        json message = read_json(bob);
        while (!is_push(message)) message = read_json(bob);
        last_seen = message.at("offset").get<std::uint64_t>();
        bob.drop();
    }
    // While bob is away: his departure, three rolls.
    std::vector<json> ann_saw;
    ann_saw.push_back(next_push(ann));  // bob's roll
    for (int i = 0; i < 3; ++i) REQUIRE(ask(ann, 20 + i, "roll keep 2d6", &ann_saw).at("ok") == true);
    while (ann_saw.size() < 5) ann_saw.push_back(next_push(ann));  // the roll, the departure, three rolls
    REQUIRE(ann_saw[0].at("offset") == last_seen);

    WsClient bob(host.gateway_port());
    bob.send(json{{"id", 3}, {"plugin", "table"}, {"payload", "join keep bob " + std::to_string(last_seen)}}.dump());
    const json subscribed = read_json(bob);
    CHECK(subscribed.at("subscribed") == true);
    CHECK_FALSE(subscribed.contains("lost"));
    CHECK(subscribed.at("next").get<std::uint64_t>() == last_seen + 5);
    // Exactly the four after last_seen, in order, then his own arrival.
    for (std::size_t i = 1; i <= 4; ++i) {
        const json missed = next_push(bob);
        CHECK(missed == ann_saw[i]);
    }
    const json back = next_push(bob);
    CHECK(back.at("offset").get<std::uint64_t>() == last_seen + 5);
    CHECK(back.at("data").at("who") == "bob");

    SECTION("an offset the history no longer reaches is told so") {
        for (int i = 0; i < 6; ++i) REQUIRE(ask(ann, 40 + i, "roll keep 1d4").at("ok") == true);
        WsClient carl(host.gateway_port());
        carl.send(json{{"id", 1}, {"plugin", "table"}, {"payload", "join keep carl " + std::to_string(last_seen)}}.dump());
        const json told = read_json(carl);
        CHECK(told.at("subscribed") == true);
        CHECK(told.at("lost") == "too_old");
        // Only what comes from now: its own arrival.
        CHECK(next_push(carl).at("data").at("who") == "carl");
    }
    SECTION("an offset from another history (the engine restarted) is told so") {
        WsClient carl(host.gateway_port());
        carl.send(R"({"id":1,"plugin":"table","payload":"join keep carl 12345"})");
        const json told = read_json(carl);
        CHECK(told.at("lost") == "reset");
        CHECK(next_push(carl).at("data").at("who") == "carl");
    }
}

TEST_CASE("a subscriber that never reads loses the oldest pushes, is told how many, and stays; others are "
          "unaffected", "[channels][slow]") {
    TestHost host(portico::test::make_config({{"table", table_entry({{"workers", 1}})}},
                                             // No pings: a client that never reads never answers them either.
                                             {{"max_outbound_bytes", 65536}, {"ping_interval_ms", 0}}));
    WsClient ann(host.gateway_port());
    WsClient sleeper(host.gateway_port());
    seat_two(ann, sleeper, "flood");  // the sleeper reads only its join, here
    WsClient watcher(host.gateway_port());
    REQUIRE(ask(watcher, 1, "join flood watcher").at("ok") == true);

    // About 4 KB a roll: far more than the sleeper's socket buffers and bound hold.
    constexpr int rolls = 3000;
    // The watcher reads as the rolls come, on a thread of its own.
    std::vector<json> watched;
    std::string watcher_error;
    std::thread watching([&] {
        try {
            // No Catch assertions off the test's thread: plain parsing, checked after.
            while (watched.size() < static_cast<std::size_t>(rolls)) {
                json message = json::parse(watcher.read_required(20s));
                if (is_push(message) && message.at("data").at("type") == "roll") watched.push_back(std::move(message));
            }
        } catch (const std::exception& e) {
            watcher_error = e.what();
        }
    });
    std::uint64_t first = 0, last = 0;
    for (int i = 0; i < rolls; ++i) {
        ann.send(json{{"id", 100 + i}, {"plugin", "table"}, {"payload", "roll flood 1000d6"}}.dump());
        // Ann reads her reply and the push of her roll, whichever comes first.
        int seen = 0;
        while (seen < 2) {
            const json message = read_json(ann);
            if (message.contains("subscribed") || (is_push(message) && message.at("data").at("type") != "roll")) continue;
            if (!is_push(message)) {
                REQUIRE(message.at("ok") == true);
                if (first == 0) first = message.at("result").at("offset").get<std::uint64_t>();
                last = message.at("result").at("offset").get<std::uint64_t>();
            }
            ++seen;
        }
    }
    CHECK(last == first + rolls - 1);
    // The watcher, which reads, has every roll in order.
    watching.join();
    REQUIRE(watcher_error.empty());
    REQUIRE(watched.size() == static_cast<std::size_t>(rolls));
    for (std::size_t i = 0; i < watched.size(); ++i) {
        INFO("roll " << i);
        CHECK(watched[i].at("offset").get<std::uint64_t>() == first + i);
        CHECK_FALSE(watched[i].contains("missed"));
    }
    // The sleeper wakes: its connection is open, and every gap is announced.
    // Its question is answered behind what was queued for it; one more roll
    // then shows where the channel is.
    sleeper.send(R"({"id":9,"plugin":"table","payload":"who flood"})");
    std::uint64_t previous = 0, missed_total = 0, received = 0;
    auto check_push = [&](const json& push) {
        const auto offset = push.at("offset").get<std::uint64_t>();
        const auto missed = push.value("missed", std::uint64_t{0});
        if (previous != 0) {
            INFO("offset " << offset << " after " << previous);
            CHECK(offset == previous + 1 + missed);  // no silent gap
        }
        missed_total += missed;
        ++received;
        previous = offset;
    };
    for (;;) {
        const json message = read_json(sleeper, 20s);
        if (is_push(message)) {
            check_push(message);
            continue;
        }
        INFO(message.dump());
        REQUIRE(message.value("id", 0) == 9);
        CHECK(message.at("result").at("players") == json{"ann", "bob", "watcher"});  // the sleeper sat as bob
        break;
    }
    REQUIRE(ask(ann, 99, "roll flood 1d6").at("ok") == true);
    const json final_push = next_push(sleeper);
    CHECK(final_push.at("offset").get<std::uint64_t>() == last + 1);
    check_push(final_push);
    CHECK(missed_total > 0);
    CHECK(received + missed_total == static_cast<std::uint64_t>(rolls) + 2);  // the watcher's arrival, the rolls, the last
}

TEST_CASE("two gateway processes sharing one engine process: rolls reach both", "[channels][remote]") {
    portico::test::TempDir dir;
    const std::string engine_config = dir.write("engine.json", portico::test::make_config({{"table", table_entry()}}));
    PorticoProcess engine(engine_config, {"--role", "engine"});
    REQUIRE(engine.wait_ready());
    const json gateway_plugins = {{"table", {{"connect", {engine.endpoint_of("table")}}}}};
    const std::string gateway_config = dir.write("gateway.json", portico::test::make_config(gateway_plugins));
    PorticoProcess east(gateway_config, {"--role", "gateway"});
    PorticoProcess west(gateway_config, {"--role", "gateway"});
    REQUIRE(east.wait_ready());
    REQUIRE(west.wait_ready());

    WsClient ann(east.gateway_port());
    WsClient bob(west.gateway_port());
    seat_two(ann, bob, "bridge");
    rolls_reach_everyone(ann, bob, "bridge");

    // A second player on one gateway: the engine sends each push to that
    // gateway once, and both get it.
    WsClient cid(west.gateway_port());
    REQUIRE(ask(cid, 1, "join bridge cid").at("ok") == true);
    REQUIRE(ask(ann, 50, "roll bridge 1d8").at("ok") == true);
    json seen_by_bob = next_push(bob);
    while (seen_by_bob.at("data").at("type") != "roll") seen_by_bob = next_push(bob);
    json seen_by_cid = next_push(cid);
    while (seen_by_cid.at("data").at("type") != "roll") seen_by_cid = next_push(cid);
    CHECK(seen_by_bob == seen_by_cid);

    // Resuming works across gateways: bob leaves west and comes back on east.
    const auto last_seen = seen_by_bob.at("offset").get<std::uint64_t>();
    bob.drop();
    std::vector<json> ann_saw;
    REQUIRE(ask(ann, 51, "roll bridge 1d10", &ann_saw).at("ok") == true);
    // West tells the engine he went: until then his name is taken (the
    // join would be refused), so come back once ann has seen him leave.
    const auto left = [](const json& push) { return push.at("data").at("type") == "left"; };
    while (std::none_of(ann_saw.begin(), ann_saw.end(), left)) ann_saw.push_back(next_push(ann));
    WsClient bob_again(east.gateway_port());
    bob_again.send(json{{"id", 1}, {"plugin", "table"}, {"payload", "join bridge bob " + std::to_string(last_seen)}}.dump());
    const json subscribed = read_json(bob_again);
    CHECK_FALSE(subscribed.contains("lost"));
    std::vector<std::string> types;
    for (int i = 0; i < 3; ++i) {  // his departure and ann's roll (either first), his arrival
        const json push = next_push(bob_again);
        CHECK(push.at("offset").get<std::uint64_t>() == last_seen + 1 + static_cast<std::uint64_t>(i));
        types.push_back(push.at("data").at("type"));
    }
    CHECK(types.back() == "joined");
    std::sort(types.begin(), types.end());
    CHECK(types == std::vector<std::string>{"joined", "left", "roll"});
}

TEST_CASE("subscribers are told when the engine process of their channel is lost", "[channels][remote]") {
    portico::test::TempDir dir;
    json entry = table_entry({{"isolate", true}, {"heartbeat_ms", 250}, {"dead_after_ms", 3000}});
    const std::string config = dir.write("portico.json", portico::test::make_config({{"table", entry}}));
    PorticoProcess portico_process(config);
    REQUIRE(portico_process.wait_ready());
    WsClient ann(portico_process.gateway_port());
    REQUIRE(ask(ann, 1, "join lost ann").at("ok") == true);
    REQUIRE(portico_process.signal_isolated("table", SIGKILL) > 0);
    json told = read_json(ann, 15s);
    while (is_push(told)) told = read_json(ann, 15s);
    CHECK(told.at("subscribed") == false);
    CHECK(told.at("channel") == "lost");
    CHECK(told.at("error").at("code") == "engine_lost");
}
