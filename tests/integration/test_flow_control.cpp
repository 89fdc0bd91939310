// Flow control under load: every queue a client can grow has a bound, and a
// client that reaches one harms nobody else.
//   - a client that never reads is closed with 1008 once its replies waiting
//     in the gateway pass max_outbound_bytes, while others are served;
//   - a plugin whose job queue is full answers "overloaded", and serves again
//     once it drains;
//   - 10,000 connections, each with a request in flight, are all answered.
#include "support/subprocess.hpp"
#include "support/test_host.hpp"
#include "support/ws_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <thread>
#include <memory>
#include <regex>
#include <string>
#include <vector>

using nlohmann::json;
using portico::test::Subprocess;
using portico::test::TempDir;
using portico::test::TestHost;
using portico::test::WsClient;
using namespace std::chrono_literals;

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

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

// Many WebSocket connections driven by one io_context: connect and handshake
// all (a bounded number at a time, so the listen backlog never overflows),
// then send one request on each, then read one reply on each.
class Crowd {
public:
    Crowd(net::io_context& io, std::uint16_t port, int size) : io_(io), port_(port), size_(size) {}

    void start() {
        for (int i = 0; i < size_; ++i) clients_.push_back(std::make_unique<Client>(io_));
        for (int i = 0; i < max_connecting && next_ < size_; ++i) connect_next();
    }

    int connected = 0;
    int answered = 0;
    int wrong = 0;
    std::vector<std::string> problems;

private:
    static constexpr int max_connecting = 128;
    struct Client {
        explicit Client(net::io_context& io) : ws(io) {}
        websocket::stream<beast::tcp_stream> ws;
        beast::flat_buffer buffer;
        std::string request;
    };

    void fail(const std::string& what, const beast::error_code& ec) {
        if (problems.size() < 5) problems.push_back(what + ": " + ec.message());
    }

    void connect_next() {
        const int index = next_++;
        auto& client = *clients_[index];
        beast::get_lowest_layer(client.ws).async_connect(
            tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), [this, index](const beast::error_code& ec) {
                if (ec) return fail("connect", ec);
                clients_[index]->ws.async_handshake("127.0.0.1", "/ws", [this, index](const beast::error_code& hs) {
                    if (hs) return fail("handshake", hs);
                    if (next_ < size_) connect_next();
                    if (++connected == size_) send_all();
                });
            });
    }

    // Every connection is up before any request leaves: all of them are
    // connected at once, each with its request in flight.
    void send_all() {
        for (int i = 0; i < size_; ++i) {
            auto& client = *clients_[i];
            client.request = envelope(i, "dice", "1d6");
            client.ws.async_write(net::buffer(client.request), [this, i](const beast::error_code& ec, std::size_t) {
                if (ec) return fail("write", ec);
                read_one(i);
            });
        }
    }

    void read_one(int index) {
        auto& client = *clients_[index];
        client.ws.async_read(client.buffer, [this, index](const beast::error_code& ec, std::size_t) {
            if (ec) return fail("read", ec);
            auto& c = *clients_[index];
            const auto reply = json::parse(beast::buffers_to_string(c.buffer.data()), nullptr, false);
            if (reply.is_object() && reply.value("id", -1) == index && reply.value("ok", false)) ++answered;
            else ++wrong;
        });
    }

    net::io_context& io_;
    std::uint16_t port_;
    int size_;
    int next_ = 0;
    std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace

TEST_CASE("10,000 connections, each with a request in flight, are all answered", "[flow][many]") {
    constexpr int connections = 10000;
    const rlim_t limit = raise_fd_limit(connections + 1000);
    REQUIRE(limit >= connections + 100);  // the client side's descriptors

    // The gateway runs as its own process, with a descriptor table of its own
    // (portico raises its soft limit to the hard limit by itself).
    TempDir dir;
    const auto config = dir.write(
        "portico.json", portico::test::make_config({{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN)}},
                                                   {{"threads", 2}}));
    Subprocess portico({PORTICO_EXECUTABLE, "--config", config});
    REQUIRE(portico.wait_for_stdout("portico: ready", 20s));
    std::smatch match;
    const std::string out = portico.out();
    REQUIRE(std::regex_search(out, match, std::regex("ws://127\\.0\\.0\\.1:([0-9]+)/ws")));
    const auto port = static_cast<std::uint16_t>(std::stoi(match[1]));

    net::io_context io;
    Crowd crowd(io, port, connections);
    crowd.start();
    io.run_for(90s);  // bounded: a hang fails below instead of hanging the suite

    INFO("first problems: " << json(crowd.problems).dump());
    CHECK(crowd.connected == connections);
    CHECK(crowd.answered == connections);
    CHECK(crowd.wrong == 0);
    portico.send_signal(SIGTERM);
    const auto status = portico.wait(20s);
    CHECK(status.exited);
    CHECK(status.code == 0);
}
