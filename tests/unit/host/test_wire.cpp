// The zmq frames between gateway and engine endpoint (host/wire.hpp): request
// ids, parsing requests, replies and control messages, and sending over a real
// zmq socket (an inproc DEALER -> ROUTER pair, the gateway's side of the link).
#include "wire/wire.hpp"

#include <catch2/catch.hpp>
#include <zmq_addon.hpp>

#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace wire = portico::wire;
using wire::Control;
using ReplyKind = portico::Reply::Kind;

constexpr std::uint64_t max_id = std::numeric_limits<std::uint64_t>::max();

std::vector<zmq::message_t> frames(std::initializer_list<std::string_view> parts) {
    std::vector<zmq::message_t> out;
    for (auto part : parts) out.emplace_back(part.data(), part.size());
    return out;
}

std::string id_bytes(std::uint64_t id) { return wire::encode_request_id(id); }

// A DEALER connected to a ROUTER over inproc, as the gateway is to an endpoint's
// broker. Sockets close before the context (members are destroyed in reverse).
class InprocPair {
public:
    explicit InprocPair(const std::string& name) {
        for (auto* socket : {&router_, &dealer_}) {
            socket->set(zmq::sockopt::linger, 0);
            socket->set(zmq::sockopt::rcvtimeo, 5000);  // a missing message fails, never hangs
        }
        router_.bind("inproc://" + name);
        dealer_.connect("inproc://" + name);
    }

    // One whole multipart message; fails the test when none arrives in time.
    static std::vector<zmq::message_t> receive(zmq::socket_t& socket) {
        std::vector<zmq::message_t> parts;
        const auto received = zmq::recv_multipart(socket, std::back_inserter(parts));
        REQUIRE(received.has_value());
        return parts;
    }

    zmq::context_t context_;
    zmq::socket_t router_{context_, zmq::socket_type::router};
    zmq::socket_t dealer_{context_, zmq::socket_type::dealer};
};

}  // namespace

// ---------------------------------------------------------------- request ids

TEST_CASE("request ids round-trip through their 8 bytes", "[wire][id]") {
    const auto id = GENERATE(as<std::uint64_t>{}, 0, 1, 2, 255, 256, 65535, 1ull << 32, 0x0123456789abcdefull,
                             1ull << 63, max_id - 1, max_id);
    INFO("id: " << id);
    const std::string bytes = wire::encode_request_id(id);
    CHECK(bytes.size() == 8);
    const auto decoded = wire::decode_request_id(bytes);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == id);
}

TEST_CASE("every byte of a request id matters", "[wire][id]") {
    std::vector<std::string> seen;
    for (int shift = 0; shift < 64; shift += 8) {
        const std::string bytes = wire::encode_request_id(1ull << shift);
        for (const auto& other : seen) CHECK(bytes != other);
        seen.push_back(bytes);
    }
    CHECK(wire::encode_request_id(0) == std::string(8, '\0'));
    CHECK(wire::encode_request_id(max_id) == std::string(8, '\xff'));
    CHECK(wire::decode_request_id(std::string(8, '\xff')) == max_id);
    CHECK(wire::decode_request_id(std::string(8, '\0')) == std::uint64_t{0});
}

TEST_CASE("a request id of the wrong length is refused", "[wire][id]") {
    for (std::size_t length : {0, 1, 4, 7, 9, 16}) {
        INFO("length: " << length);
        CHECK_FALSE(wire::decode_request_id(std::string(length, '\x01')).has_value());
    }
}

// ---------------------------------------------------------------- parse_request

TEST_CASE("parse_request: one frame is a plain REQ request", "[wire][request]") {
    const auto payload = GENERATE(as<std::string>{}, "3d6", "", "PTC1", std::string("bin\0ary", 7));
    auto parts = frames({payload});
    std::string problem = "untouched";
    const auto request = wire::parse_request(parts.data(), parts.size(), problem);
    REQUIRE(request.has_value());
    CHECK(request->plain);
    CHECK(request->request_id == 0);
    CHECK(request->client_id.empty());
    CHECK(request->payload == payload);
    CHECK(problem == "untouched");
}

TEST_CASE("parse_request: a PTC1 request of four frames", "[wire][request]") {
    const auto id = GENERATE(as<std::uint64_t>{}, 0, 1, max_id);
    const std::string identifier = id_bytes(id);
    auto parts = frames({"PTC1", identifier, "client-42", "2d20"});
    std::string problem;
    const auto request = wire::parse_request(parts.data(), parts.size(), problem);
    REQUIRE(request.has_value());
    CHECK_FALSE(request->plain);
    CHECK(request->request_id == id);
    CHECK(request->client_id == "client-42");
    CHECK(request->payload == "2d20");
    CHECK(problem.empty());
    // Views into the frames, not copies.
    CHECK(request->payload.data() == parts[3].data<char>());
}

TEST_CASE("parse_request: client ids up to 64 bytes, empty payloads", "[wire][request]") {
    const std::string identifier = id_bytes(9);
    SECTION("64 bytes") {
        const std::string client(wire::max_client_id_bytes, 'c');
        auto parts = frames({"PTC1", identifier, client, "x"});
        std::string problem;
        const auto request = wire::parse_request(parts.data(), parts.size(), problem);
        REQUIRE(request.has_value());
        CHECK(request->client_id == client);
    }
    SECTION("empty client id and payload") {
        auto parts = frames({"PTC1", identifier, "", ""});
        std::string problem;
        const auto request = wire::parse_request(parts.data(), parts.size(), problem);
        REQUIRE(request.has_value());
        CHECK_FALSE(request->plain);
        CHECK(request->client_id.empty());
        CHECK(request->payload.empty());
    }
}

TEST_CASE("parse_request: an oversized client id is refused", "[wire][request][error]") {
    const std::string client(wire::max_client_id_bytes + 1, 'c');
    auto parts = frames({"PTC1", id_bytes(1), client, "3d6"});
    std::string problem;
    CHECK_FALSE(wire::parse_request(parts.data(), parts.size(), problem).has_value());
    CHECK(problem == "client id is longer than 64 bytes");
}

TEST_CASE("parse_request: the caller's two frames are read; oversized ones are refused", "[wire][request][caller]") {
    std::string problem;
    auto parts = frames({"PTC1", id_bytes(3), "client", "note list", "alice", R"({"sub":"alice"})"});
    const auto request = wire::parse_request(parts.data(), parts.size(), problem);
    REQUIRE(request);
    CHECK(request->has_caller);
    CHECK(request->caller_subject == "alice");
    CHECK(request->caller_claims_json == R"({"sub":"alice"})");
    CHECK(request->payload == "note list");

    auto without = frames({"PTC1", id_bytes(3), "client", "3d6"});
    const auto anonymous = wire::parse_request(without.data(), without.size(), problem);
    REQUIRE(anonymous);
    CHECK_FALSE(anonymous->has_caller);

    auto big = frames({"PTC1", id_bytes(3), "client", "3d6", "bob", std::string(wire::max_caller_bytes + 1, 'x')});
    CHECK_FALSE(wire::parse_request(big.data(), big.size(), problem).has_value());
    CHECK(problem == "caller frames are longer than 16 KiB");
}

TEST_CASE("parse_request: a request id that is not 8 bytes is refused", "[wire][request][error]") {
    const auto length = GENERATE(as<std::size_t>{}, 0, 7, 9);
    auto parts = frames({"PTC1", std::string(length, '\x02'), "client", "3d6"});
    std::string problem;
    CHECK_FALSE(wire::parse_request(parts.data(), parts.size(), problem).has_value());
    CHECK(problem == "request id frame must be 8 bytes");
}

TEST_CASE("parse_request: wrong frame counts or magic are refused", "[wire][request][error]") {
    const std::string id = id_bytes(1);
    const std::string expected = "expected one payload frame, or a PTC1 request of 4 frames (6 with the caller)";
    SECTION("no frames") {
        std::string problem;
        CHECK_FALSE(wire::parse_request(nullptr, 0, problem).has_value());
        CHECK(problem == expected);
    }
    SECTION("2, 3, 5, 7 and 8 frames") {
        std::vector<std::vector<zmq::message_t>> messages;
        messages.push_back(frames({"PTC1", id}));
        messages.push_back(frames({"PTC1", id, "client"}));
        messages.push_back(frames({"PTC1", id, "client", "3d6", "extra"}));
        messages.push_back(frames({"PTC1", id, "client", "3d6", "a", "b", "c"}));
        messages.push_back(frames({"PTC1", id, "client", "3d6", "a", "b", "c", "d"}));
        for (auto& parts : messages) {
            INFO("frames: " << parts.size());
            std::string problem;
            CHECK_FALSE(wire::parse_request(parts.data(), parts.size(), problem).has_value());
            CHECK(problem == expected);
        }
    }
    SECTION("four frames without the magic") {
        for (auto magic : {"PTC2", "ptc1", "", "PTC1 "}) {
            INFO("magic: \"" << magic << "\"");
            auto parts = frames({magic, id, "client", "3d6"});
            std::string problem;
            CHECK_FALSE(wire::parse_request(parts.data(), parts.size(), problem).has_value());
            CHECK(problem == expected);
        }
    }
}

// ---------------------------------------------------------------- parse_reply

TEST_CASE("parse_reply: json and text results of five frames", "[wire][reply]") {
    SECTION("json") {
        auto parts = frames({"PTC1", id_bytes(max_id), "client-1", "json", R"({"total":9})"});
        const auto reply = wire::parse_reply(parts.data(), parts.size());
        REQUIRE(reply.has_value());
        CHECK(reply->request_id == max_id);
        CHECK(reply->client_id == "client-1");
        CHECK(reply->reply.kind() == ReplyKind::json);
        CHECK(reply->reply.body() == R"({"total":9})");
        CHECK(reply->reply.code().empty());
    }
    SECTION("text") {
        auto parts = frames({"PTC1", id_bytes(0), "", "text", ""});
        const auto reply = wire::parse_reply(parts.data(), parts.size());
        REQUIRE(reply.has_value());
        CHECK(reply->request_id == 0);
        CHECK(reply->client_id.empty());
        CHECK(reply->reply.kind() == ReplyKind::text);
        CHECK(reply->reply.body().empty());
    }
}

TEST_CASE("parse_reply: an error of six frames", "[wire][reply]") {
    auto parts = frames({"PTC1", id_bytes(77), "client-9", "error", "bad_expression", "unexpected 'x'"});
    const auto reply = wire::parse_reply(parts.data(), parts.size());
    REQUIRE(reply.has_value());
    CHECK(reply->request_id == 77);
    CHECK(reply->client_id == "client-9");
    CHECK(reply->reply.kind() == ReplyKind::error);
    CHECK(reply->reply.code() == "bad_expression");
    CHECK(reply->reply.body() == "unexpected 'x'");
}

TEST_CASE("parse_reply: malformed replies are refused", "[wire][reply][error]") {
    const std::string id = id_bytes(5);
    struct Case {
        const char* what;
        std::vector<zmq::message_t> parts;
    };
    std::vector<Case> cases;
    cases.push_back({"no frames", {}});
    cases.push_back({"four frames", frames({"PTC1", id, "c", "json"})});
    cases.push_back({"json with six frames", frames({"PTC1", id, "c", "json", "{}", "extra"})});
    cases.push_back({"text with six frames", frames({"PTC1", id, "c", "text", "x", "extra"})});
    cases.push_back({"error with five frames", frames({"PTC1", id, "c", "error", "message only"})});
    cases.push_back({"error with seven frames", frames({"PTC1", id, "c", "error", "code", "message", "x"})});
    cases.push_back({"wrong magic", frames({"PTC0", id, "c", "json", "{}"})});
    cases.push_back({"lower-case magic", frames({"ptc1", id, "c", "json", "{}"})});
    cases.push_back({"short id", frames({"PTC1", "1234567", "c", "json", "{}"})});
    cases.push_back({"long id", frames({"PTC1", "123456789", "c", "json", "{}"})});
    cases.push_back({"unknown kind", frames({"PTC1", id, "c", "xml", "<x/>"})});
    cases.push_back({"upper-case kind", frames({"PTC1", id, "c", "JSON", "{}"})});
    cases.push_back({"empty kind", frames({"PTC1", id, "c", "", "{}"})});
    for (auto& c : cases) {
        INFO(c.what);
        CHECK_FALSE(wire::parse_reply(c.parts.data(), c.parts.size()).has_value());
    }
}

// ---------------------------------------------------------------- control

TEST_CASE("control words", "[wire][control]") {
    CHECK(wire::control_word(Control::ping) == "ping");
    CHECK(wire::control_word(Control::pong) == "pong");
    CHECK(wire::control_word(Control::bye) == "bye");
    CHECK(wire::control_word(Control::none).empty());
    for (Control control : {Control::ping, Control::pong, Control::bye}) {
        auto parts = frames({"PTC1", wire::control_word(control)});
        CHECK(wire::parse_control(parts.data(), parts.size()) == control);
    }
}

TEST_CASE("parse_control: a pong may carry the plugin's info", "[wire][control]") {
    SECTION("with info") {
        auto parts = frames({"PTC1", "pong", R"({"name":"dice","version":"1.0"})"});
        std::string_view info = "untouched";
        CHECK(wire::parse_control(parts.data(), parts.size(), &info) == Control::pong);
        CHECK(info == R"({"name":"dice","version":"1.0"})");
        CHECK(info.data() == parts[2].data<char>());
        CHECK(wire::parse_control(parts.data(), parts.size()) == Control::pong);  // info not asked for
    }
    SECTION("without info") {
        auto parts = frames({"PTC1", "pong"});
        std::string_view info = "untouched";
        CHECK(wire::parse_control(parts.data(), parts.size(), &info) == Control::pong);
        CHECK(info.empty());
    }
    SECTION("other words leave info alone") {
        auto parts = frames({"PTC1", "ping"});
        std::string_view info = "untouched";
        CHECK(wire::parse_control(parts.data(), parts.size(), &info) == Control::ping);
        CHECK(info == "untouched");
    }
}

TEST_CASE("parse_control: anything else is none", "[wire][control]") {
    struct Case {
        const char* what;
        std::vector<zmq::message_t> parts;
    };
    std::vector<Case> cases;
    cases.push_back({"no frames", {}});
    cases.push_back({"magic only", frames({"PTC1"})});
    cases.push_back({"ping with an extra frame", frames({"PTC1", "ping", "x"})});
    cases.push_back({"bye with an extra frame", frames({"PTC1", "bye", "x"})});
    cases.push_back({"pong with two extra frames", frames({"PTC1", "pong", "{}", "x"})});
    cases.push_back({"wrong magic", frames({"PTC2", "ping"})});
    cases.push_back({"upper case", frames({"PTC1", "PING"})});
    cases.push_back({"unknown word", frames({"PTC1", "hello"})});
    cases.push_back({"empty word", frames({"PTC1", ""})});
    cases.push_back({"a request", frames({"PTC1", id_bytes(1), "c", "3d6"})});
    for (auto& c : cases) {
        INFO(c.what);
        CHECK(wire::parse_control(c.parts.data(), c.parts.size()) == Control::none);
    }
}

// ---------------------------------------------------------------- over a socket

TEST_CASE("send_request puts a PTC1 request on the wire", "[wire][socket]") {
    InprocPair pair("wire-send-request");
    const auto id = GENERATE(as<std::uint64_t>{}, 0, 1, max_id);
    const std::string payload = "3d6+2";
    REQUIRE(wire::send_request(pair.dealer_, id, "client-abc", payload));

    const auto parts = InprocPair::receive(pair.router_);
    // ROUTER adds the peer's identity; then the empty delimiter and 4 PTC1 frames.
    REQUIRE(parts.size() == 6);
    CHECK(parts[1].size() == 0);
    CHECK(wire::frame_view(parts[2]) == "PTC1");
    CHECK(wire::frame_view(parts[3]) == id_bytes(id));
    CHECK(wire::frame_view(parts[4]) == "client-abc");
    CHECK(wire::frame_view(parts[5]) == payload);

    std::string problem;
    const auto request = wire::parse_request(parts.data() + 2, parts.size() - 2, problem);
    REQUIRE(request.has_value());
    CHECK_FALSE(request->plain);
    CHECK(request->request_id == id);
    CHECK(request->client_id == "client-abc");
    CHECK(request->payload == payload);
}

TEST_CASE("send_request with a caller adds its subject and claims", "[wire][socket][caller]") {
    InprocPair pair("wire-send-caller");
    const portico::Caller caller{"alice", R"({"sub":"alice","scope":"notes"})"};
    REQUIRE(wire::send_request(pair.dealer_, 9, "client-abc", "note list", &caller));
    const auto parts = InprocPair::receive(pair.router_);
    REQUIRE(parts.size() == 8);
    std::string problem;
    const auto request = wire::parse_request(parts.data() + 2, parts.size() - 2, problem);
    REQUIRE(request.has_value());
    CHECK(request->has_caller);
    CHECK(request->caller_subject == "alice");
    CHECK(request->caller_claims_json == caller.claims_json);
    CHECK(request->payload == "note list");
}

TEST_CASE("send_request: empty and binary payloads, several in order", "[wire][socket]") {
    InprocPair pair("wire-send-order");
    const std::string binary("\0\xff\x01zero", 7);
    const std::string large(256 * 1024, 'L');
    REQUIRE(wire::send_request(pair.dealer_, 1, "c1", ""));
    REQUIRE(wire::send_request(pair.dealer_, 2, "", binary));
    REQUIRE(wire::send_request(pair.dealer_, 3, "c3", large));

    const std::vector<std::pair<std::uint64_t, std::string>> expected{{1, ""}, {2, binary}, {3, large}};
    for (const auto& [id, payload] : expected) {
        const auto parts = InprocPair::receive(pair.router_);
        REQUIRE(parts.size() == 6);
        std::string problem;
        const auto request = wire::parse_request(parts.data() + 2, 4, problem);
        REQUIRE(request.has_value());
        CHECK(request->request_id == id);
        CHECK(request->payload == payload);
    }
}

TEST_CASE("a reply sent back by the ROUTER parses on the DEALER", "[wire][socket]") {
    InprocPair pair("wire-reply");
    REQUIRE(wire::send_request(pair.dealer_, 41, "client-z", "1d4"));
    auto request = InprocPair::receive(pair.router_);
    REQUIRE(request.size() == 6);

    // Answer as the endpoint does: identity, delimiter, PTC1 reply frames.
    const std::string id = id_bytes(41);
    auto reply_parts = frames({"", "PTC1", id, "client-z", "error", "bad_expression", "no dice"});
    pair.router_.send(request[0], zmq::send_flags::sndmore);
    for (std::size_t i = 0; i < reply_parts.size(); ++i)
        pair.router_.send(reply_parts[i], i + 1 < reply_parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);

    const auto parts = InprocPair::receive(pair.dealer_);
    REQUIRE(parts.size() == 7);
    CHECK(parts[0].size() == 0);
    const auto reply = wire::parse_reply(parts.data() + 1, parts.size() - 1);
    REQUIRE(reply.has_value());
    CHECK(reply->request_id == 41);
    CHECK(reply->client_id == "client-z");
    CHECK(reply->reply.kind() == ReplyKind::error);
    CHECK(reply->reply.code() == "bad_expression");
    CHECK(reply->reply.body() == "no dice");
}

TEST_CASE("send_control puts a PTC1 control word on the wire", "[wire][socket][control]") {
    InprocPair pair("wire-control");
    REQUIRE(wire::send_control(pair.dealer_, Control::ping));
    const auto parts = InprocPair::receive(pair.router_);
    REQUIRE(parts.size() == 4);
    CHECK(parts[1].size() == 0);
    CHECK(wire::parse_control(parts.data() + 2, 2) == Control::ping);
}

TEST_CASE("sending without a connected peer fails at once instead of blocking", "[wire][socket]") {
    zmq::context_t context;
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    CHECK_FALSE(wire::send_request(dealer, 1, "client", "3d6"));
    CHECK_FALSE(wire::send_control(dealer, Control::ping));
}

TEST_CASE("send_request fails at the high-water mark and queues only whole messages", "[wire][socket]") {
    zmq::context_t context;
    zmq::socket_t router(context, zmq::socket_type::router);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    for (auto* socket : {&router, &dealer}) {
        socket->set(zmq::sockopt::linger, 0);
        socket->set(zmq::sockopt::sndhwm, 2);
        socket->set(zmq::sockopt::rcvhwm, 2);
        socket->set(zmq::sockopt::rcvtimeo, 5000);
    }
    router.bind("inproc://wire-hwm");
    dealer.connect("inproc://wire-hwm");

    std::size_t sent = 0;
    while (sent < 1000 && wire::send_request(dealer, sent, "client", "payload")) ++sent;
    CHECK(sent > 0);
    CHECK(sent < 1000);  // it stopped: the queue filled up and send did not block

    for (std::size_t i = 0; i < sent; ++i) {
        const auto parts = InprocPair::receive(router);
        REQUIRE(parts.size() == 6);
        std::string problem;
        const auto request = wire::parse_request(parts.data() + 2, 4, problem);
        REQUIRE(request.has_value());
        CHECK(request->request_id == i);
        CHECK(request->payload == "payload");
    }
    // Nothing beyond the whole messages that were accepted.
    router.set(zmq::sockopt::rcvtimeo, 50);
    zmq::message_t extra;
    CHECK_FALSE(router.recv(extra).has_value());
}

TEST_CASE("send_reply encodes every kind of reply as parse_reply reads it", "[wire][socket]") {
    InprocPair pair("wire-send-reply");
    REQUIRE(wire::send_request(pair.dealer_, 1, "client-r", "x"));
    auto request = InprocPair::receive(pair.router_);
    const std::vector<portico::EngineReply> replies{
        {max_id, "client-r", portico::Reply::json(R"({"total":3})")},
        {2, "client-r", portico::Reply::text("three")},
        {3, "", portico::Reply::error("bad_expression", "no dice")},
        {4, "client-r", portico::Reply::json(R"({"samples":2000})"), portico::ReplyPart::event}};
    for (const auto& sent : replies) {
        zmq::message_t identity(request[0].data(), request[0].size());  // a send empties the message
        pair.router_.send(identity, zmq::send_flags::sndmore);
        pair.router_.send(zmq::message_t(), zmq::send_flags::sndmore);
        wire::send_reply(pair.router_, sent);
        const auto parts = InprocPair::receive(pair.dealer_);
        REQUIRE(parts.size() >= 6);
        const auto got = wire::parse_reply(parts.data() + 1, parts.size() - 1);
        REQUIRE(got.has_value());
        CHECK(got->request_id == sent.request_id);
        CHECK(got->client_id == sent.client_id);
        CHECK(got->reply.kind() == sent.reply.kind());
        CHECK(got->reply.body() == sent.reply.body());
        CHECK(got->reply.code() == sent.reply.code());
        CHECK(got->part == sent.part);
    }
}

TEST_CASE("an event is a JSON value in five frames; anything else with its word is no reply", "[wire][event]") {
    const std::string nine = id_bytes(9);
    const auto event = frames({"PTC1", nine, "c", "event", R"({"p":1})"});
    const auto got = wire::parse_reply(event.data(), event.size());
    REQUIRE(got.has_value());
    CHECK(got->part == portico::ReplyPart::event);
    CHECK(got->reply.kind() == portico::Reply::Kind::json);
    CHECK(got->reply.body() == R"({"p":1})");
    const auto six = frames({"PTC1", nine, "c", "event", "code", "x"});
    CHECK_FALSE(wire::parse_reply(six.data(), six.size()));
}

TEST_CASE("notices: cancel and gone parse to what was sent, and only those shapes", "[wire][notice]") {
    InprocPair pair("wire-notices");
    REQUIRE(wire::send_cancel(pair.dealer_, 42, "client-n"));
    auto parts = InprocPair::receive(pair.router_);
    REQUIRE(parts.size() == 6);  // identity, delimiter, PTC1 cancel id client
    auto notice = wire::parse_notice(parts.data() + 2, parts.size() - 2);
    REQUIRE(notice.has_value());
    CHECK(notice->kind == wire::ClientNotice::Kind::cancel);
    CHECK(notice->request_id == 42);
    CHECK(notice->client_id == "client-n");

    REQUIRE(wire::send_gone(pair.dealer_, "client-n"));
    parts = InprocPair::receive(pair.router_);
    notice = wire::parse_notice(parts.data() + 2, parts.size() - 2);
    REQUIRE(notice.has_value());
    CHECK(notice->kind == wire::ClientNotice::Kind::gone);
    CHECK(notice->client_id == "client-n");

    const auto refused = [](std::initializer_list<std::string_view> parts) {
        const auto message = frames(parts);
        return !wire::parse_notice(message.data(), message.size());
    };
    const std::string long_id(65, 'c');
    const std::string one = id_bytes(1);
    CHECK(refused({"PTC1", "gone"}));
    CHECK(refused({"PTC1", "gone", ""}));
    CHECK(refused({"PTC1", "gone", long_id}));
    CHECK(refused({"PTC1", "cancel", "short", "c"}));
    CHECK(refused({"PTC1", "cancel", one}));
    CHECK(refused({"PTC2", "gone", "c"}));
    CHECK(refused({"PTC1", "cancel", one, "c", "extra"}));
    // Not a request either: the broker answers nothing for a notice.
    const auto gone = frames({"PTC1", "gone", "c"});
    CHECK(wire::parse_control(gone.data(), gone.size()) == wire::Control::none);
}

TEST_CASE("channel parts: grants, unsubscriptions and pushes parse to what was sent", "[wire][channels]") {
    InprocPair pair("wire-channels");
    REQUIRE(wire::send_request(pair.dealer_, 1, "client-c", "x"));
    auto request = InprocPair::receive(pair.router_);
    auto envelope = [&] {
        zmq::message_t identity(request[0].data(), request[0].size());
        pair.router_.send(identity, zmq::send_flags::sndmore);
        pair.router_.send(zmq::message_t(), zmq::send_flags::sndmore);
    };

    portico::EngineReply grant{7, "client-c", portico::Reply::json(R"({"next":12,"replay":[[11,{"a":1}]]})"),
                               portico::ReplyPart::subscribe};
    grant.channel = "room.1";
    grant.offset = 3;  // the grant number
    envelope();
    wire::send_reply(pair.router_, grant);
    auto parts = InprocPair::receive(pair.dealer_);
    auto got = wire::parse_reply(parts.data() + 1, parts.size() - 1);
    REQUIRE(got.has_value());
    CHECK(got->part == portico::ReplyPart::subscribe);
    CHECK(got->request_id == 7);
    CHECK(got->client_id == "client-c");
    CHECK(got->channel == "room.1");
    CHECK(got->offset == 3);
    CHECK(got->reply.body() == grant.reply.body());

    portico::EngineReply leave{8, "client-c", portico::Reply::json("{}"), portico::ReplyPart::unsubscribe};
    leave.channel = "room.1";
    envelope();
    wire::send_reply(pair.router_, leave);
    parts = InprocPair::receive(pair.dealer_);
    got = wire::parse_reply(parts.data() + 1, parts.size() - 1);
    REQUIRE(got.has_value());
    CHECK(got->part == portico::ReplyPart::unsubscribe);
    CHECK(got->channel == "room.1");
    CHECK(got->request_id == 8);

    envelope();
    wire::send_push(pair.router_, "room.1", max_id, R"({"total":4})");
    parts = InprocPair::receive(pair.dealer_);
    REQUIRE(parts.size() == 6);  // delimiter, PTC1 push channel offset json
    CHECK_FALSE(wire::parse_reply(parts.data() + 1, parts.size() - 1));  // a push is no reply
    const auto push = wire::parse_push(parts.data() + 1, parts.size() - 1);
    REQUIRE(push.has_value());
    CHECK(push->part == portico::ReplyPart::push);
    CHECK(push->channel == "room.1");
    CHECK(push->offset == max_id);
    CHECK(push->reply.body() == R"({"total":4})");
    CHECK(push->client_id.empty());

    // A gateway's "unsub" names the channel and the last grant it saw.
    REQUIRE(wire::send_unsub(pair.dealer_, "room.1", 3));
    parts = InprocPair::receive(pair.router_);
    const auto notice = wire::parse_notice(parts.data() + 2, parts.size() - 2);
    REQUIRE(notice.has_value());
    CHECK(notice->kind == wire::ClientNotice::Kind::unsub);
    CHECK(notice->channel == "room.1");
    CHECK(notice->request_id == 3);
}

TEST_CASE("channel names are checked wherever frames carry them", "[wire][channels]") {
    CHECK(wire::valid_channel_name("room-1_a.b:c"));
    CHECK(wire::valid_channel_name(std::string(64, 'r')));
    CHECK_FALSE(wire::valid_channel_name(""));
    CHECK_FALSE(wire::valid_channel_name(std::string(65, 'r')));
    CHECK_FALSE(wire::valid_channel_name("room 1"));
    CHECK_FALSE(wire::valid_channel_name("room\"1"));
    CHECK_FALSE(wire::valid_channel_name("room/1"));

    const std::string one = id_bytes(1);
    const auto refused_push = [](std::initializer_list<std::string_view> parts) {
        const auto message = frames(parts);
        return !wire::parse_push(message.data(), message.size());
    };
    CHECK(refused_push({"PTC1", "push", "bad name", one, "{}"}));
    CHECK(refused_push({"PTC1", "push", "", one, "{}"}));
    CHECK(refused_push({"PTC1", "push", "room", "short", "{}"}));
    CHECK(refused_push({"PTC1", "push", "room", one}));
    CHECK(refused_push({"PTC2", "push", "room", one, "{}"}));
    CHECK_FALSE(refused_push({"PTC1", "push", "room", one, "{}"}));

    const auto refused_reply = [](std::initializer_list<std::string_view> parts) {
        const auto message = frames(parts);
        return !wire::parse_reply(message.data(), message.size());
    };
    CHECK(refused_reply({"PTC1", one, "c", "subscribe", "bad/name", "{}", one}));
    CHECK(refused_reply({"PTC1", one, "c", "subscribe", "room", "{}", "short"}));
    CHECK(refused_reply({"PTC1", one, "c", "subscribe", "room", "{}"}));
    CHECK(refused_reply({"PTC1", one, "c", "unsubscribe", "room", "extra"}));
    CHECK(refused_reply({"PTC1", one, "c", "unsubscribe", "a b"}));

    const auto refused_notice = [](std::initializer_list<std::string_view> parts) {
        const auto message = frames(parts);
        return !wire::parse_notice(message.data(), message.size());
    };
    CHECK(refused_notice({"PTC1", "unsub", "room"}));
    CHECK(refused_notice({"PTC1", "unsub", "a b", one}));
    CHECK(refused_notice({"PTC1", "unsub", "room", "short"}));
}
