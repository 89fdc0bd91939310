// The gateway's link to engines in other processes (link/remote_engine_link):
// dispatch, retries of idempotent requests when an engine is lost, and the
// promise of exactly one reply per request. The engines are fakes on inproc
// ROUTER sockets that the test drives by hand, so every loss is deliberate.
#include "core/logger.hpp"
#include "link/remote_engine_link.hpp"
#include "wire/wire.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace net = portico::net;
namespace wire = portico::wire;
using namespace std::chrono_literals;

std::string unique_address() {
    static std::atomic<int> counter{0};
    return "inproc://test-remote-link-" + std::to_string(counter.fetch_add(1));
}

// An engine endpoint as the link sees it: answers pings (with an instance id
// that says which engine this is) when told to, and keeps the requests it
// gets until the test answers them.
class FakeEngine {
public:
    struct Request {
        std::string peer;  // the link's DEALER identity
        std::uint64_t wire_id = 0;
        std::string client_id;
        std::string payload;
    };

    FakeEngine(zmq::context_t& context, std::string instance)
        : address_(unique_address()), socket_(context, zmq::socket_type::router), instance_(std::move(instance)) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.bind(address_);
    }

    const std::string& address() const { return address_; }
    bool answers_pings = true;
    void restart_as(std::string instance) { instance_ = std::move(instance); }

    // Takes what is waiting without blocking.
    void pump() {
        std::array<zmq::message_t, wire::max_frames + 2> frames;
        while (socket_.get(zmq::sockopt::events) & ZMQ_POLLIN) {
            const std::size_t count = wire::receive_message(socket_, frames.data(), frames.size());
            REQUIRE(count >= 3);
            const std::string peer(wire::frame_view(frames[0]));
            if (wire::parse_control(frames.data() + 2, count - 2) == wire::Control::ping) {
                if (!answers_pings) continue;
                send_envelope(peer);
                wire::send_pong(socket_, R"({"name":"fake","instance":")" + instance_ + R"("})");
                continue;
            }
            std::string problem;
            const auto request = wire::parse_request(frames.data() + 2, count - 2, problem);
            REQUIRE(request);
            REQUIRE_FALSE(request->plain);
            requests.push_back({peer, request->request_id, std::string(request->client_id),
                                std::string(request->payload)});
        }
    }

    void answer(const Request& request, const std::string& text) {
        send_envelope(request.peer);
        wire::send_reply(socket_, portico::EngineReply{request.wire_id, request.client_id, portico::Reply::text(text)});
    }

    std::vector<Request> requests;

private:
    void send_envelope(const std::string& peer) {
        socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore);
        socket_.send(zmq::message_t(), zmq::send_flags::sndmore);
    }

    std::string address_;
    zmq::socket_t socket_;
    std::string instance_;
};

struct Replies : portico::ReplyHandler {
    void on_reply(const portico::EngineReply& reply) override { received.push_back(reply); }
    std::vector<portico::EngineReply> received;
};

portico::PluginConfig plugin_config(bool idempotent, unsigned max_attempts) {
    portico::PluginConfig plugin;
    plugin.name = "fake";
    plugin.route.idempotent = idempotent;
    plugin.route.max_attempts = max_attempts;
    plugin.route.heartbeat = 20ms;
    plugin.route.dead_after = 150ms;
    plugin.route.timeout = 5s;
    return plugin;
}

// The link, its loop and the fakes, run together until something holds.
struct Harness {
    Harness(std::size_t engines, bool idempotent, unsigned max_attempts) {
        for (std::size_t i = 0; i < engines; ++i) fakes.push_back(std::make_unique<FakeEngine>(context, "first-" + std::to_string(i)));
        std::vector<std::string> addresses;
        for (const auto& fake : fakes) addresses.push_back(fake->address());
        link.emplace(io, context, plugin_config(idempotent, max_attempts), addresses, replies, nullptr, log);
    }
    ~Harness() { link.reset(); }

    // Runs the loop and the fakes until `done` or `limit` has gone.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 2s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            for (auto& fake : fakes) fake->pump();
            if (done()) return true;
            io.restart();
            io.run_for(2ms);
        }
        return done();
    }
    // Long enough for whatever is on its way to arrive.
    void settle() { run_until([] { return false; }, 200ms); }
    bool all_alive() {
        return run_until([this] { return link->status().engines_alive == fakes.size(); });
    }
    // The one fake that holds a request, by index.
    std::optional<std::size_t> holder() const {
        std::optional<std::size_t> found;
        for (std::size_t i = 0; i < fakes.size(); ++i)
            if (!fakes[i]->requests.empty()) found = i;
        return found;
    }
    std::size_t requests_seen() const {
        std::size_t total = 0;
        for (const auto& fake : fakes) total += fake->requests.size();
        return total;
    }

    zmq::context_t context;
    net::io_context io{1};
    std::ostringstream log_text;
    portico::Logger log{portico::LogLevel::warn, &log_text};
    Replies replies;
    std::vector<std::unique_ptr<FakeEngine>> fakes;
    std::optional<portico::RemoteEngineLink> link;
};

}  // namespace

TEST_CASE("a request goes to a live engine and its reply comes back once, with the session's id", "[link][remote]") {
    Harness h(2, false, 1);
    REQUIRE(h.all_alive());
    REQUIRE(h.link->send(41, "client-1", "roll", nullptr) == portico::SendResult::sent);
    REQUIRE(h.run_until([&] { return h.requests_seen() == 1; }));
    const auto at = h.holder();
    REQUIRE(at);
    const auto request = h.fakes[*at]->requests.front();
    CHECK(request.client_id == "client-1");
    CHECK(request.payload == "roll");
    h.fakes[*at]->answer(request, "4");
    REQUIRE(h.run_until([&] { return !h.replies.received.empty(); }));
    REQUIRE(h.replies.received.size() == 1);
    CHECK(h.replies.received[0].request_id == 41);
    CHECK(h.replies.received[0].client_id == "client-1");
    CHECK(h.replies.received[0].reply.body() == "4");
    CHECK(h.link->idle());

    SECTION("the same answer again is dropped: it is no longer outstanding") {
        h.fakes[*at]->answer(request, "4");
        h.settle();
        CHECK(h.replies.received.size() == 1);
    }
}

TEST_CASE("an idempotent request held by a lost engine is retried on another, and answered once",
          "[link][remote][retry]") {
    Harness h(2, true, 2);
    REQUIRE(h.all_alive());
    REQUIRE(h.link->send(7, "client-7", "3d6", nullptr) == portico::SendResult::sent);
    REQUIRE(h.run_until([&] { return h.requests_seen() == 1; }));
    const std::size_t first = *h.holder();
    const std::size_t second = 1 - first;
    const auto original = h.fakes[first]->requests.front();

    SECTION("lost because its process exited") {
        h.link->engine_gone(h.fakes[first]->address());
    }
    SECTION("lost because another engine now answers at its address") {
        h.fakes[first]->restart_as("second-life");
    }
    SECTION("lost because it went silent") {
        h.fakes[first]->answers_pings = false;
    }
    REQUIRE(h.run_until([&] { return h.fakes[second]->requests.size() == 1; }));
    const auto retried = h.fakes[second]->requests.front();
    CHECK(retried.payload == "3d6");
    CHECK(retried.client_id == "client-7");
    CHECK(h.replies.received.empty());  // the retry is not an answer

    h.fakes[second]->answer(retried, "11");
    REQUIRE(h.run_until([&] { return !h.replies.received.empty(); }));
    CHECK(h.replies.received[0].request_id == 7);
    CHECK(h.replies.received[0].reply.body() == "11");
    CHECK(h.link->idle());
    // The first engine's late answer (a silent engine may only have been
    // slow) must not make a second reply.
    h.fakes[first]->answer(original, "9");
    h.settle();
    CHECK(h.replies.received.size() == 1);
}

TEST_CASE("a request that may not be retried is answered 'unavailable' when its engine is lost",
          "[link][remote][retry]") {
    Harness h(2, false, 2);
    REQUIRE(h.all_alive());
    REQUIRE(h.link->send(3, "client-3", "note add x", nullptr) == portico::SendResult::sent);
    REQUIRE(h.run_until([&] { return h.requests_seen() == 1; }));
    const std::size_t first = *h.holder();
    h.link->engine_gone(h.fakes[first]->address());
    REQUIRE(h.run_until([&] { return !h.replies.received.empty(); }));
    REQUIRE(h.replies.received.size() == 1);
    CHECK(h.replies.received[0].request_id == 3);
    CHECK(h.replies.received[0].reply.code() == "unavailable");
    CHECK(h.replies.received[0].reply.body().find("was lost") != std::string::npos);
    CHECK(h.fakes[1 - first]->requests.empty());  // never sent twice
    CHECK(h.link->idle());
}

TEST_CASE("retries stop at max_attempts: then the request is answered 'unavailable'", "[link][remote][retry]") {
    Harness h(3, true, 2);
    REQUIRE(h.all_alive());
    REQUIRE(h.link->send(9, "client-9", "4d6kh3", nullptr) == portico::SendResult::sent);
    REQUIRE(h.run_until([&] { return h.requests_seen() == 1; }));
    const std::size_t first = *h.holder();
    h.link->engine_gone(h.fakes[first]->address());
    REQUIRE(h.run_until([&] { return h.requests_seen() == 2; }));  // the one retry allowed
    std::size_t second = first;
    for (std::size_t i = 0; i < h.fakes.size(); ++i)
        if (i != first && !h.fakes[i]->requests.empty()) second = i;
    REQUIRE(second != first);
    h.link->engine_gone(h.fakes[second]->address());
    REQUIRE(h.run_until([&] { return !h.replies.received.empty(); }));
    REQUIRE(h.replies.received.size() == 1);
    CHECK(h.replies.received[0].reply.code() == "unavailable");
    CHECK(h.requests_seen() == 2);  // the third engine never saw it
}

TEST_CASE("with no engine left in rotation, a request is refused at once", "[link][remote]") {
    Harness h(1, true, 2);
    REQUIRE(h.all_alive());
    h.fakes[0]->answers_pings = false;
    REQUIRE(h.run_until([&] { return h.link->status().engines_alive == 0; }));
    CHECK(h.link->send(1, "client-1", "3d6", nullptr) == portico::SendResult::unavailable);
    CHECK(h.replies.received.empty());  // the caller answers an unavailable send
    CHECK(h.link->status().engines_total == 1);
    SECTION("and an engine that answers again rejoins") {
        h.fakes[0]->answers_pings = true;
        REQUIRE(h.all_alive());
        CHECK(h.link->send(2, "client-1", "3d6", nullptr) == portico::SendResult::sent);
    }
}
