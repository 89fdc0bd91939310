// The engine endpoints over zmq: what a plain REQ client (or a DEALER
// speaking the PTC1 frames) sees, with a real Host in this process.
#include "support/test_host.hpp"
#include "support/zmq_client.hpp"
#include "wire/wire.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using portico::test::TestHost;
using portico::test::ZmqReqClient;
using namespace std::chrono_literals;

namespace {

std::string endpoint_config() {
    return portico::test::make_config(
        {{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN, {{"workers", 2}})},
         {"test", portico::test::plugin_entry(PORTICO_FIXTURE_MISBEHAVING, {{"workers", 2}})}});
}

// A DEALER with a bound on receiving, for hand-made multipart messages.
class Dealer {
public:
    Dealer(zmq::context_t& context, const std::string& endpoint) : socket_(context, zmq::socket_type::dealer) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.connect(endpoint);
    }

    void send(const std::vector<std::string>& frames) {
        for (std::size_t i = 0; i < frames.size(); ++i)
            socket_.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore
                                                                         : zmq::send_flags::none);
    }

    // The frames of the next message, or empty when none came in time.
    std::vector<std::string> receive(std::chrono::milliseconds timeout) {
        std::vector<std::string> frames;
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, timeout) == 0) return frames;
        bool more = true;
        while (more) {
            zmq::message_t part;
            if (!socket_.recv(part, zmq::recv_flags::none)) break;
            more = part.more();
            frames.push_back(part.to_string());
        }
        return frames;
    }

private:
    zmq::socket_t socket_;
};

}  // namespace

TEST_CASE("a REQ client rolls dice on the dice endpoint", "[zmq]") {
    TestHost host(endpoint_config());
    const std::string endpoint = host.endpoint_of("dice");
    REQUIRE_THAT(endpoint, StartsWith("tcp://127.0.0.1:"));
    CHECK_THAT(host.announcements(), Contains("portico: plugin dice 1.0.0 serving on " + endpoint));

    zmq::context_t context;
    ZmqReqClient client(context, endpoint);
    const auto reply = client.request("3d6");
    REQUIRE(reply);
    INFO("reply: " << *reply);
    REQUIRE(json::accept(*reply));
    const json result = json::parse(*reply);
    REQUIRE(result.at("rolls").size() == 3);
    unsigned sum = 0;
    for (const auto& roll : result.at("rolls")) {
        CHECK(roll.get<unsigned>() >= 1);
        CHECK(roll.get<unsigned>() <= 6);
        sum += roll.get<unsigned>();
    }
    CHECK(result.at("total").get<unsigned>() == sum);

    const auto bad = client.request("3d0");
    REQUIRE(bad);
    CHECK_THAT(*bad, StartsWith("error: "));
}

TEST_CASE("an engine that throws answers \"error: ...\" and the endpoint keeps serving", "[zmq]") {
    TestHost host(endpoint_config());
    zmq::context_t context;
    ZmqReqClient client(context, host.endpoint_of("test"));
    for (int i = 0; i < 4; ++i) {
        const auto reply = client.request("throw");
        REQUIRE(reply);
        CHECK_THAT(*reply, StartsWith("error: ") && Contains("boom"));
    }
    const auto bad_json = client.request("badjson");
    REQUIRE(bad_json);
    CHECK_THAT(*bad_json, StartsWith("error: "));
    CHECK(client.request("text still serving") == std::optional<std::string>("still serving"));
}

TEST_CASE("garbage from a DEALER is answered with an error or dropped, harming nobody", "[zmq]") {
    TestHost host(endpoint_config());
    zmq::context_t context;
    Dealer dealer(context, host.endpoint_of("dice"));
    // A well-formed request from the same DEALER, after each piece of garbage.
    const std::vector<std::string> good = {"", "1d6"};
    auto expect_good_reply = [&dealer] {
        const auto frames = dealer.receive(5s);
        REQUIRE(frames.size() == 2);
        CHECK(frames[0].empty());
        CHECK(json::accept(frames[1]));
    };

    SECTION("frames without an envelope delimiter are dropped") {
        dealer.send({"no", "delimiter", "at", "all"});
        dealer.send(good);
        expect_good_reply();
    }
    SECTION("more frames than any request has are dropped") {
        std::vector<std::string> many(20, "x");
        many[0].clear();
        dealer.send(many);
        dealer.send(good);
        expect_good_reply();
    }
    SECTION("a delimited message that is no request is answered with an error") {
        dealer.send({"", "x", "y", "z"});
        const auto frames = dealer.receive(5s);
        REQUIRE(frames.size() == 2);
        CHECK(frames[0].empty());
        CHECK_THAT(frames[1], StartsWith("error: "));
        dealer.send(good);
        expect_good_reply();
    }
    SECTION("a PTC1 request with a bad request id is answered with an error") {
        dealer.send({"", "PTC1", "abc", "client", "1d6"});
        const auto frames = dealer.receive(5s);
        REQUIRE(frames.size() == 2);
        CHECK_THAT(frames[1], StartsWith("error: "));
        dealer.send(good);
        expect_good_reply();
    }
    // Nothing else arrives: the garbage got at most the one answer checked above.
    CHECK(dealer.receive(300ms).empty());
    // And a plain REQ client is served as ever.
    ZmqReqClient client(context, host.endpoint_of("dice"));
    const auto reply = client.request("2d6");
    REQUIRE(reply);
    CHECK(json::accept(*reply));
}

TEST_CASE("a DEALER speaking PTC1 gets its request id and client id back", "[zmq]") {
    TestHost host(endpoint_config());
    zmq::context_t context;
    Dealer dealer(context, host.endpoint_of("test"));
    const std::string id = portico::wire::encode_request_id(0x0102030405060708ull);

    dealer.send({"", "PTC1", id, "client-7", "text hi"});
    CHECK(dealer.receive(5s) == std::vector<std::string>{"", "PTC1", id, "client-7", "text", "hi"});

    dealer.send({"", "PTC1", id, "client-7", "client"});
    CHECK(dealer.receive(5s) == std::vector<std::string>{"", "PTC1", id, "client-7", "text", "client-7"});

    dealer.send({"", "PTC1", id, "client-8", "throw"});
    const auto error = dealer.receive(5s);
    REQUIRE(error.size() == 7);
    CHECK(std::vector<std::string>(error.begin(), error.begin() + 6) ==
          std::vector<std::string>{"", "PTC1", id, "client-8", "error", "engine_error"});
    CHECK_THAT(error[6], Contains("boom"));
}

TEST_CASE("many concurrent REQ clients each get their own replies", "[zmq]") {
    TestHost host(endpoint_config());
    zmq::context_t context;
    constexpr int threads = 8;
    constexpr int requests = 50;
    std::mutex mutex;
    std::vector<std::string> failures;
    std::atomic<int> replies{0};

    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t) {
        clients.emplace_back([&, t] {
            // Even threads ask the test engine (replies name their request),
            // odd ones roll dice.
            const bool test = t % 2 == 0;
            ZmqReqClient client(context, host.endpoint_of(test ? "test" : "dice"));
            for (int i = 0; i < requests; ++i) {
                const std::string tag = "t" + std::to_string(t) + "-" + std::to_string(i);
                const auto reply = client.request(test ? "text " + tag : "1d6");
                std::string problem;
                if (!reply) problem = tag + ": no reply";
                else if (test && *reply != tag) problem = tag + ": got \"" + *reply + "\"";
                else if (!test && !json::accept(*reply)) problem = tag + ": not JSON: " + *reply;
                if (!problem.empty()) {
                    std::lock_guard<std::mutex> lock(mutex);
                    failures.push_back(problem);
                    return;  // a REQ socket without a reply is stuck
                }
                ++replies;
            }
        });
    }
    for (auto& client : clients) client.join();
    CHECK(failures.empty());
    for (const auto& failure : failures) UNSCOPED_INFO(failure);
    CHECK(replies == threads * requests);
}

TEST_CASE("with two workers, two slow requests are served at once", "[zmq]") {
    TestHost host(endpoint_config());
    zmq::context_t context;
    const std::string endpoint = host.endpoint_of("test");

    SECTION("two 500 ms requests take less than 900 ms together") {
        const auto start = std::chrono::steady_clock::now();
        auto sleeper = [&] { return ZmqReqClient(context, endpoint).request("sleep 500"); };
        auto first = std::async(std::launch::async, sleeper);
        auto second = std::async(std::launch::async, sleeper);
        CHECK(first.get() == std::optional<std::string>("slept"));
        CHECK(second.get() == std::optional<std::string>("slept"));
        CHECK(std::chrono::steady_clock::now() - start < 900ms);
    }
    SECTION("while one worker sleeps, the other answers; both indices take turns") {
        // Each round: a sleeper takes one worker, and a "worker" request
        // answered before the sleeper finishes names the other one. The free
        // worker differs between rounds as the workers take turns.
        std::set<std::string> seen;
        for (int round = 0; round < 4 && seen.size() < 2; ++round) {
            std::atomic<bool> slept{false};
            auto sleeper = std::async(std::launch::async, [&] {
                auto reply = ZmqReqClient(context, endpoint).request("sleep 600");
                slept = true;
                return reply;
            });
            std::this_thread::sleep_for(150ms);  // let the sleeper take its worker
            const auto free_worker = ZmqReqClient(context, endpoint).request("worker");
            CHECK_FALSE(slept.load());  // served while the other worker was busy
            CHECK(sleeper.get() == std::optional<std::string>("slept"));
            REQUIRE(free_worker);
            CHECK((*free_worker == "0" || *free_worker == "1"));
            seen.insert(*free_worker);
        }
        CHECK(seen == std::set<std::string>{"0", "1"});
    }
}

namespace {

std::string id8(std::uint64_t id) { return portico::wire::encode_request_id(id); }

// A PTC1 request from a hand-made "gateway".
std::vector<std::string> ptc1_request(std::uint64_t id, const std::string& client, const std::string& payload) {
    return {"", "PTC1", id8(id), client, payload};
}

// What a gateway DEALER reads: the message's kind ("subscribe", "push", a
// reply's "json" or "error", "pong") and its frames after the delimiter.
struct Received {
    std::string kind;
    std::vector<std::string> frames;
};

Received receive_part(Dealer& dealer, std::chrono::milliseconds timeout = 5s) {
    auto frames = dealer.receive(timeout);
    if (frames.empty()) return {};
    frames.erase(frames.begin());  // the delimiter
    if (frames.size() >= 2 && (frames[1] == "push" || frames[1] == "pong")) return {frames[1], frames};
    return {frames.size() >= 4 ? frames[3] : "?", frames};
}

// Reads until the final reply to request `id`; returns the grant number of
// the grant among what came first (0: none), the pushes in `pushes`.
std::uint64_t until_reply(Dealer& dealer, std::uint64_t id, std::vector<json>* pushes = nullptr) {
    std::uint64_t grant = 0;
    for (int i = 0; i < 20; ++i) {
        const Received got = receive_part(dealer);
        REQUIRE_FALSE(got.kind.empty());
        if (got.kind == "push") {
            if (pushes) pushes->push_back(json::parse(got.frames[4]));
        } else if (got.kind == "subscribe") {
            REQUIRE(got.frames.size() == 7);
            grant = *portico::wire::decode_request_id(got.frames[6]);
        } else if (got.frames[1] == id8(id)) {
            INFO("reply: " << got.frames.back());
            CHECK(got.kind == "json");
            return grant;
        }
    }
    FAIL("no reply to request " << id);
    return 0;
}

// Nothing but the pong: no push reached this gateway in between.
void expect_only_pong(Dealer& dealer) {
    dealer.send({"", "PTC1", "ping"});
    const Received got = receive_part(dealer);
    INFO("got " << got.kind);
    CHECK(got.kind == "pong");
}

}  // namespace

TEST_CASE("channels over zmq: the broker pushes to each granted gateway once, until it unsubscribes",
          "[zmq][channels]") {
    TestHost host(portico::test::make_config({{"table", portico::test::plugin_entry(PORTICO_TABLE_PLUGIN)}}));
    zmq::context_t context;
    Dealer east(context, host.endpoint_of("table"));
    Dealer west(context, host.endpoint_of("table"));

    east.send(ptc1_request(1, "client-ann", "join r ann"));
    const std::uint64_t first_grant = until_reply(east, 1);
    CHECK(first_grant > 0);
    west.send(ptc1_request(1, "client-bob", "join r bob"));
    const std::uint64_t west_grant = until_reply(west, 1);
    CHECK(west_grant > first_grant);
    // East hears bob's arrival (ann's came before its reply), once.
    Received arrival = receive_part(east);
    REQUIRE(arrival.kind == "push");
    CHECK(arrival.frames[2] == "r");  // the channel, without the plugin's name
    CHECK(json::parse(arrival.frames[4]).at("who") == "bob");
    expect_only_pong(east);

    // East's last subscriber left: it stops getting the channel.
    east.send({"", "PTC1", "unsub", "r", id8(first_grant)});
    expect_only_pong(east);  // the unsub is in before the pong
    west.send(ptc1_request(2, "client-bob", "roll r 1d6"));
    std::vector<json> west_pushes;
    until_reply(west, 2, &west_pushes);
    REQUIRE(west_pushes.size() == 1);
    expect_only_pong(east);

    // Granted again; then an unsub older than that grant is stale: ignored.
    east.send(ptc1_request(3, "client-cid", "watch r"));
    const std::uint64_t second_grant = until_reply(east, 3);
    CHECK(second_grant > west_grant);
    east.send({"", "PTC1", "unsub", "r", id8(first_grant)});
    expect_only_pong(east);
    west.send(ptc1_request(4, "client-bob", "roll r 1d6"));
    until_reply(west, 4);
    const Received roll = receive_part(east);
    REQUIRE(roll.kind == "push");
    CHECK(json::parse(roll.frames[4]).at("type") == "roll");
}
