// Many clients at once through the WebSocket gateway: every reply reaches
// exactly the client and request it belongs to; a client that leaves early
// harms nobody; back-pressure pauses reading without losing anything.
#include "support/test_host.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
using portico::test::TestHost;
using portico::test::WsClient;
using namespace std::chrono_literals;

namespace {

std::string concurrency_config(const json& gateway = json::object()) {
    json gateway_keys = {{"threads", 2}};
    gateway_keys.update(gateway);
    return portico::test::make_config(
        {{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN, {{"workers", 2}})},
         {"test", portico::test::plugin_entry(PORTICO_FIXTURE_MISBEHAVING, {{"workers", 8}})}},
        gateway_keys);
}

// Problems found on client threads, reported from the test's thread
// (Catch2's assertions are not thread-safe).
class Problems {
public:
    void add(std::string problem) {
        std::lock_guard<std::mutex> lock(mutex_);
        problems_.push_back(std::move(problem));
    }
    std::vector<std::string> list() {
        std::lock_guard<std::mutex> lock(mutex_);
        return problems_;
    }

private:
    std::mutex mutex_;
    std::vector<std::string> problems_;
};

// Sends every request of `requests` (id -> envelope) at once, then reads as
// many replies; returns id -> reply, with every problem noted.
std::map<std::int64_t, json> exchange(WsClient& client, const std::map<std::int64_t, std::string>& requests,
                                      const std::string& who, Problems& problems) {
    for (const auto& [id, envelope] : requests) client.send(envelope);
    std::map<std::int64_t, json> replies;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto text = client.read(30s);
        if (!text) {
            problems.add(who + ": only " + std::to_string(i) + " replies: " + client.error());
            break;
        }
        const json reply = json::parse(*text, nullptr, false);
        if (reply.is_discarded() || !reply.contains("id") || !reply.at("id").is_number_integer()) {
            problems.add(who + ": unexpected reply " + *text);
            continue;
        }
        const auto id = reply.at("id").get<std::int64_t>();
        if (requests.count(id) == 0) problems.add(who + ": a foreign reply " + *text);
        else if (!replies.emplace(id, reply).second) problems.add(who + ": a second reply " + *text);
    }
    return replies;
}

}  // namespace

TEST_CASE("50 clients with 20 requests each in flight get exactly their own replies", "[concurrency]") {
    TestHost host(concurrency_config());
    constexpr int clients = 50;
    constexpr int per_client = 20;
    Problems problems;

    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            const std::string who = "client " + std::to_string(c);
            try {
                WsClient client(host.gateway_port());
                // Ids are unique across all clients, so a reply delivered to
                // the wrong client is recognised as foreign.
                std::map<std::int64_t, std::string> requests;
                std::map<std::int64_t, std::string> expected_text;
                for (int i = 0; i < per_client; ++i) {
                    const std::int64_t id = c * 1000 + i;
                    if (i % 2 == 0) {
                        const std::string tag = "c" + std::to_string(c) + "-" + std::to_string(i);
                        expected_text[id] = tag;
                        requests[id] = json{{"id", id}, {"plugin", "test"}, {"payload", "text " + tag}}.dump();
                    } else {
                        requests[id] = json{{"id", id}, {"plugin", "dice"}, {"payload", "2d6"}}.dump();
                    }
                }
                const auto replies = exchange(client, requests, who, problems);
                for (const auto& [id, reply] : replies) {
                    if (reply.value("ok", false) != true) {
                        problems.add(who + ": failed: " + reply.dump());
                    } else if (expected_text.count(id) && reply.at("result") != expected_text[id]) {
                        problems.add(who + ": wrong result: " + reply.dump());
                    } else if (!expected_text.count(id) && !reply.at("result").contains("total")) {
                        problems.add(who + ": not a roll: " + reply.dump());
                    }
                }
                if (replies.size() != requests.size())
                    problems.add(who + ": " + std::to_string(replies.size()) + " of " +
                                 std::to_string(requests.size()) + " replies");
            } catch (const std::exception& e) {
                problems.add(who + ": " + e.what());
            }
        });
    }
    for (auto& thread : threads) thread.join();
    const auto found = problems.list();
    for (const auto& problem : found) UNSCOPED_INFO(problem);
    CHECK(found.empty());
}

TEST_CASE("a client that leaves with requests outstanding breaks nothing", "[concurrency]") {
    TestHost host(concurrency_config());
    {
        WsClient leaver(host.gateway_port());
        for (int i = 0; i < 20; ++i)
            leaver.send(json{{"id", i}, {"plugin", "test"}, {"payload", "sleep 200"}}.dump());
        SECTION("with a close handshake") { leaver.close(); }
        SECTION("by cutting the TCP connection") { leaver.drop(); }
    }
    // Others are served, also by the engine still busy with the leaver's
    // requests, whose replies now have nobody to go to.
    WsClient stayer(host.gateway_port());
    stayer.send(R"({"id":1,"plugin":"dice","payload":"1d6"})");
    const json roll = json::parse(stayer.read_required());
    CHECK(roll.at("id") == 1);
    CHECK(roll.at("ok") == true);
    for (int i = 0; i < 3; ++i) {
        stayer.send(json{{"id", 2 + i}, {"plugin", "test"}, {"payload", "text after"}}.dump());
        const json reply = json::parse(stayer.read_required(15s));
        CHECK(reply.at("id") == 2 + i);
        CHECK(reply.at("result") == "after");
    }
    // Long enough for every orphaned reply to have come back and been dropped.
    std::this_thread::sleep_for(800ms);
    stayer.send(R"({"id":9,"plugin":"test","payload":"text still"})");
    CHECK(json::parse(stayer.read_required()).at("result") == "still");
    stayer.close();
    CHECK(host.stop(10s));
}

// While reading is paused at max_inflight_per_client, the session must stay
// alive (no read holds it then) and answer everything it took.
TEST_CASE("back-pressure: with max_inflight_per_client 4, 50 requests sent at once all get replies",
          "[concurrency]") {
    TestHost host(concurrency_config({{"max_inflight_per_client", 4}}));
    Problems problems;
    WsClient client(host.gateway_port());

    SECTION("50 quick requests") {
        std::map<std::int64_t, std::string> requests;
        for (int id = 1; id <= 50; ++id)
            requests[id] = json{{"id", id}, {"plugin", "test"}, {"payload", "text " + std::to_string(id)}}.dump();
        const auto replies = exchange(client, requests, "client", problems);
        CHECK(replies.size() == 50);
        for (const auto& [id, reply] : replies) CHECK(reply.at("result") == std::to_string(id));
    }
    SECTION("no more than 4 at once reach the engine") {
        // 12 requests of 100 ms, 8 engine workers: 4 at a time take at least
        // 300 ms; without the limit, 8 at a time would take 200 ms.
        std::map<std::int64_t, std::string> requests;
        for (int id = 1; id <= 12; ++id)
            requests[id] = json{{"id", id}, {"plugin", "test"}, {"payload", "sleep 100"}}.dump();
        const auto start = std::chrono::steady_clock::now();
        const auto replies = exchange(client, requests, "client", problems);
        const auto elapsed = std::chrono::steady_clock::now() - start;
        CHECK(replies.size() == 12);
        CHECK(elapsed >= 290ms);
    }
    const auto found = problems.list();
    for (const auto& problem : found) UNSCOPED_INFO(problem);
    CHECK(found.empty());
}
