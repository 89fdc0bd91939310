// The zmq frame decoders (host/wire/wire.hpp) on any list of frames.
//
// Input: frames, each a length byte N and then N bytes (the last frame takes
// what is left when the input ends sooner), so "\x04PTC1\x08........" is the
// frames "PTC1" and an 8-byte request id.
//
// Checks: what parse_request (4 frames, or 6 with the caller), parse_reply, parse_control and parse_notice accept has the
// shape the protocol gives it, with views into the frames themselves; a
// refusal of a request says why; no message is two things at once; request
// ids round-trip; and through a real zmq socket pair (inproc), receive_message
// gets the frames back (or 0 beyond its capacity), a request sent with
// send_request and a control word sent with send_control parse back to
// themselves.
#include "fuzz_support.hpp"
#include "wire/wire.hpp"

#include <zmq.hpp>

#include <signal.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace wire = portico::wire;
using portico::fuzz::as_text;

std::vector<zmq::message_t> split_frames(std::string_view input) {
    std::vector<zmq::message_t> frames;
    std::size_t at = 0;
    while (at < input.size()) {
        const std::size_t length = static_cast<unsigned char>(input[at++]);
        const std::string_view frame = input.substr(at, length);
        frames.emplace_back(frame.data(), frame.size());
        at += frame.size();
    }
    return frames;
}

bool views_frame(std::string_view view, const zmq::message_t& frame) {
    return view.data() == static_cast<const char*>(frame.data()) && view.size() == frame.size();
}

// Two ends of an inproc pipe, made once: the context and sockets are costly.
struct InprocPair {
    zmq::context_t context{1};
    zmq::socket_t sender{context, zmq::socket_type::pair};
    zmq::socket_t receiver{context, zmq::socket_type::pair};
    InprocPair() {
        sender.set(zmq::sockopt::linger, 0);
        receiver.set(zmq::sockopt::linger, 0);
        receiver.bind("inproc://fuzz-wire");
        sender.connect("inproc://fuzz-wire");
    }
};

// libFuzzer's timeout timer raises SIGALRM every second; a signal that lands
// inside a zmq call makes it fail with EINTR, which cppzmq throws. Held off
// around the socket round trips (and delivered right after), so that a
// failure there is about the input; the parsers run with the timer live. How
// the host copes with EINTR is no property of an input, so no finding here.
class AsyncSignalsHeld {
public:
    AsyncSignalsHeld() {
        sigset_t held;
        sigemptyset(&held);
        for (const int signal : {SIGALRM, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&held, signal);
        pthread_sigmask(SIG_BLOCK, &held, &previous_);
    }
    ~AsyncSignalsHeld() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
    AsyncSignalsHeld(const AsyncSignalsHeld&) = delete;
    AsyncSignalsHeld& operator=(const AsyncSignalsHeld&) = delete;

private:
    sigset_t previous_;
};

InprocPair& inproc_pair() {
    static InprocPair instance;
    return instance;
}

// Receives what the sender just sent; the frames are waiting already (inproc).
std::size_t receive(std::array<zmq::message_t, wire::max_frames>& frames) {
    return wire::receive_message(inproc_pair().receiver, frames.data(), frames.size());
}

void check_request(const std::vector<zmq::message_t>& frames) {
    std::string problem;
    const auto request = wire::parse_request(frames.data(), frames.size(), problem);
    if (!request) {
        FUZZ_REQUIRE(!problem.empty(), "refused without a reason");
        return;
    }
    if (request->plain) {
        FUZZ_REQUIRE(frames.size() == 1 && views_frame(request->payload, frames[0]), "plain request");
        return;
    }
    FUZZ_REQUIRE((frames.size() == 4 || frames.size() == 6) && wire::frame_view(frames[0]) == wire::magic,
                 "PTC1 request shape");
    FUZZ_REQUIRE(request->has_caller == (frames.size() == 6), "caller frames");
    if (request->has_caller)
        FUZZ_REQUIRE(views_frame(request->caller_subject, frames[4]) && views_frame(request->caller_claims_json, frames[5]) &&
                         request->caller_subject.size() <= wire::max_caller_bytes &&
                         request->caller_claims_json.size() <= wire::max_caller_bytes,
                     "caller views");
    FUZZ_REQUIRE(wire::encode_request_id(request->request_id) == wire::frame_view(frames[1]), "request id");
    FUZZ_REQUIRE(views_frame(request->client_id, frames[2]) && views_frame(request->payload, frames[3]),
                 "request views");
    FUZZ_REQUIRE(request->client_id.size() <= wire::max_client_id_bytes, "client id too long");

    // The same request through send_request() and a socket reads back the same.
    const AsyncSignalsHeld held;
    const portico::Caller caller{std::string(request->caller_subject), std::string(request->caller_claims_json)};
    FUZZ_REQUIRE(wire::send_request(inproc_pair().sender, request->request_id, request->client_id, request->payload,
                                    request->has_caller ? &caller : nullptr),
                 "send_request would block");
    std::array<zmq::message_t, wire::max_frames> received;
    const std::size_t count = receive(received);
    const std::size_t expected = request->has_caller ? 7 : 5;
    FUZZ_REQUIRE(count == expected && received[0].size() == 0, "sent request: " + std::to_string(count) + " frames");
    std::string again_problem;
    const auto again = wire::parse_request(received.data() + 1, count - 1, again_problem);
    FUZZ_REQUIRE(again && !again->plain && again->request_id == request->request_id &&
                     again->client_id == request->client_id && again->payload == request->payload &&
                     again->has_caller == request->has_caller && again->caller_subject == request->caller_subject &&
                     again->caller_claims_json == request->caller_claims_json,
                 "sent request parses differently: " + again_problem);
}

void check_reply(const std::vector<zmq::message_t>& frames) {
    const auto reply = wire::parse_reply(frames.data(), frames.size());
    if (!reply) return;
    FUZZ_REQUIRE(frames.size() >= 5 && wire::frame_view(frames[0]) == wire::magic, "reply shape");
    FUZZ_REQUIRE(wire::encode_request_id(reply->request_id) == wire::frame_view(frames[1]), "reply id");
    FUZZ_REQUIRE(reply->client_id == wire::frame_view(frames[2]), "reply client id");
    const std::string_view kind = wire::frame_view(frames[3]);
    const portico::Reply& r = reply->reply;
    if (reply->part == portico::ReplyPart::subscribe || reply->part == portico::ReplyPart::unsubscribe) {
        const bool grant = reply->part == portico::ReplyPart::subscribe;
        FUZZ_REQUIRE(wire::valid_channel_name(reply->channel) && reply->channel == wire::frame_view(frames[4]),
                     "channel part's channel");
        FUZZ_REQUIRE(grant ? frames.size() == 7 && kind == "subscribe" && r.body() == wire::frame_view(frames[5]) &&
                                 wire::encode_request_id(reply->offset) == wire::frame_view(frames[6])
                           : frames.size() == 5 && kind == "unsubscribe",
                     "subscribe or unsubscribe shape");
        // Sent again, it reads the same.
        const AsyncSignalsHeld held;
        wire::send_reply(inproc_pair().sender, *reply);
        std::array<zmq::message_t, wire::max_frames> received;
        const std::size_t count = receive(received);
        const auto again = wire::parse_reply(received.data(), count);
        FUZZ_REQUIRE(again && again->part == reply->part && again->channel == reply->channel &&
                         again->offset == reply->offset && again->request_id == reply->request_id &&
                         again->client_id == reply->client_id && (!grant || again->reply.body() == r.body()),
                     "sent channel part parses differently");
        return;
    }
    FUZZ_REQUIRE(reply->part == portico::ReplyPart::final || reply->part == portico::ReplyPart::event,
                 "reply part");
    switch (r.kind()) {
        case portico::Reply::Kind::json:
        case portico::Reply::Kind::text: {
            const bool event = reply->part == portico::ReplyPart::event;
            FUZZ_REQUIRE(!event || r.kind() == portico::Reply::Kind::json, "an event that is not JSON");
            const char* word = event ? "event" : r.kind() == portico::Reply::Kind::json ? "json" : "text";
            FUZZ_REQUIRE(frames.size() == 5 && kind == word && r.body() == wire::frame_view(frames[4]) &&
                             r.code().empty(),
                         "result or event reply");
            break;
        }
        case portico::Reply::Kind::error:
            FUZZ_REQUIRE(frames.size() == 6 && kind == "error" && r.code() == wire::frame_view(frames[4]) &&
                             r.body() == wire::frame_view(frames[5]),
                         "error reply");
            break;
    }
}

void check_notice(const std::vector<zmq::message_t>& frames) {
    const auto notice = wire::parse_notice(frames.data(), frames.size());
    if (!notice) return;
    FUZZ_REQUIRE(wire::frame_view(frames[0]) == wire::magic, "notice magic");
    if (notice->kind == wire::ClientNotice::Kind::unsub) {
        FUZZ_REQUIRE(frames.size() == 4 && wire::frame_view(frames[1]) == "unsub" &&
                         views_frame(notice->channel, frames[2]) && wire::valid_channel_name(notice->channel) &&
                         wire::encode_request_id(notice->request_id) == wire::frame_view(frames[3]) &&
                         notice->client_id.empty(),
                     "unsub shape");
    } else {
        FUZZ_REQUIRE(!notice->client_id.empty() && notice->client_id.size() <= wire::max_client_id_bytes,
                     "notice client id bounds");
    }
    if (notice->kind == wire::ClientNotice::Kind::cancel) {
        FUZZ_REQUIRE(frames.size() == 4 && wire::frame_view(frames[1]) == "cancel" &&
                         wire::encode_request_id(notice->request_id) == wire::frame_view(frames[2]) &&
                         views_frame(notice->client_id, frames[3]),
                     "cancel shape");
    } else if (notice->kind == wire::ClientNotice::Kind::gone) {
        FUZZ_REQUIRE(frames.size() == 3 && wire::frame_view(frames[1]) == "gone" && views_frame(notice->client_id, frames[2]),
                     "gone shape");
    }
    // A notice is neither a control word, a request nor a reply.
    FUZZ_REQUIRE(wire::parse_control(frames.data(), frames.size()) == wire::Control::none, "notice parses as control");
    FUZZ_REQUIRE(!wire::parse_reply(frames.data(), frames.size()), "notice parses as a reply");

    const AsyncSignalsHeld held;
    const bool sent = notice->kind == wire::ClientNotice::Kind::cancel
                          ? wire::send_cancel(inproc_pair().sender, notice->request_id, notice->client_id)
                      : notice->kind == wire::ClientNotice::Kind::unsub
                          ? wire::send_unsub(inproc_pair().sender, notice->channel, notice->request_id)
                          : wire::send_gone(inproc_pair().sender, notice->client_id);
    FUZZ_REQUIRE(sent, "send of a notice would block");
    std::array<zmq::message_t, wire::max_frames> received;
    const std::size_t count = receive(received);
    FUZZ_REQUIRE(count >= 2 && received[0].size() == 0, "sent notice has no delimiter");
    const auto again = wire::parse_notice(received.data() + 1, count - 1);
    FUZZ_REQUIRE(again && again->kind == notice->kind && again->request_id == notice->request_id &&
                     again->client_id == notice->client_id && again->channel == notice->channel,
                 "sent notice parses differently");
}

void check_push(const std::vector<zmq::message_t>& frames) {
    const auto push = wire::parse_push(frames.data(), frames.size());
    if (!push) return;
    FUZZ_REQUIRE(frames.size() == 5 && wire::frame_view(frames[0]) == wire::magic &&
                     wire::frame_view(frames[1]) == "push" && push->channel == wire::frame_view(frames[2]) &&
                     wire::valid_channel_name(push->channel) &&
                     wire::encode_request_id(push->offset) == wire::frame_view(frames[3]) &&
                     push->reply.body() == wire::frame_view(frames[4]) && push->part == portico::ReplyPart::push &&
                     push->client_id.empty(),
                 "push shape");
    FUZZ_REQUIRE(!wire::parse_reply(frames.data(), frames.size()), "push parses as a reply");
    FUZZ_REQUIRE(!wire::parse_notice(frames.data(), frames.size()), "push parses as a notice");
    FUZZ_REQUIRE(wire::parse_control(frames.data(), frames.size()) == wire::Control::none, "push parses as control");
    const AsyncSignalsHeld held;
    wire::send_push(inproc_pair().sender, push->channel, push->offset, push->reply.body());
    std::array<zmq::message_t, wire::max_frames> received;
    const std::size_t count = receive(received);
    const auto again = wire::parse_push(received.data(), count);
    FUZZ_REQUIRE(again && again->channel == push->channel && again->offset == push->offset &&
                     again->reply.body() == push->reply.body(),
                 "sent push parses differently");
}

void check_control(const std::vector<zmq::message_t>& frames) {
    std::string_view info = "untouched";
    const wire::Control control = wire::parse_control(frames.data(), frames.size(), &info);
    FUZZ_REQUIRE(wire::parse_control(frames.data(), frames.size()) == control, "info changes the answer");
    if (control == wire::Control::none) {
        FUZZ_REQUIRE(info == "untouched", "info set for no control message");
        return;
    }
    FUZZ_REQUIRE(frames.size() >= 2 && wire::frame_view(frames[0]) == wire::magic &&
                     wire::frame_view(frames[1]) == wire::control_word(control),
                 "control shape");
    if (control == wire::Control::pong) {
        FUZZ_REQUIRE(frames.size() == 3 ? views_frame(info, frames[2]) : info.empty(), "pong info");
    } else {
        FUZZ_REQUIRE(frames.size() == 2, "ping or bye with extra frames");
    }
    // A control message is neither a request nor a reply.
    std::string problem;
    const auto request = wire::parse_request(frames.data(), frames.size(), problem);
    FUZZ_REQUIRE(!request || request->plain, "control message parses as a PTC1 request");
    FUZZ_REQUIRE(!wire::parse_reply(frames.data(), frames.size()), "control message parses as a reply");

    if (control == wire::Control::pong) return;  // send_control() sends no info frame
    const AsyncSignalsHeld held;
    FUZZ_REQUIRE(wire::send_control(inproc_pair().sender, control), "send_control would block");
    std::array<zmq::message_t, wire::max_frames> received;
    const std::size_t count = receive(received);
    FUZZ_REQUIRE(count == 3 && received[0].size() == 0 &&
                     wire::parse_control(received.data() + 1, count - 1) == control,
                 "sent control word parses differently");
}

void check_receive(const std::vector<zmq::message_t>& frames) {
    if (frames.empty()) return;  // zmq has no message of no frames
    const AsyncSignalsHeld held;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                                 : zmq::send_flags::dontwait;
        FUZZ_REQUIRE(inproc_pair().sender.send(zmq::buffer(frames[i].data(), frames[i].size()), flags), "send would block");
    }
    std::array<zmq::message_t, wire::max_frames> received;
    const std::size_t count = receive(received);
    if (frames.size() > wire::max_frames) {
        FUZZ_REQUIRE(count == 0, "an oversized message was not dropped");
    } else {
        FUZZ_REQUIRE(count == frames.size(), "received " + std::to_string(count) + " of " +
                                                 std::to_string(frames.size()) + " frames");
        for (std::size_t i = 0; i < count; ++i)
            FUZZ_REQUIRE(wire::frame_view(received[i]) == wire::frame_view(frames[i]), "frame " + std::to_string(i));
    }
    // Nothing is left behind for the next input.
    zmq::message_t extra;
    FUZZ_REQUIRE(!inproc_pair().receiver.recv(extra, zmq::recv_flags::dontwait), "frames left over");
}

void check_request_ids(const std::vector<zmq::message_t>& frames) {
    for (const auto& frame : frames) {
        const std::string_view bytes = wire::frame_view(frame);
        const auto id = wire::decode_request_id(bytes);
        FUZZ_REQUIRE(id.has_value() == (bytes.size() == 8), "decode_request_id accepts " + std::to_string(bytes.size()));
        if (id) FUZZ_REQUIRE(wire::encode_request_id(*id) == bytes, "request id does not round-trip");
        if (bytes.size() >= 8) {
            std::uint64_t value = 0;
            for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
            const std::string encoded = wire::encode_request_id(value);
            FUZZ_REQUIRE(encoded.size() == 8 && wire::decode_request_id(encoded) == value, "encode then decode");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<zmq::message_t> frames = split_frames(as_text(data, size));
    check_request(frames);
    check_reply(frames);
    check_control(frames);
    check_notice(frames);
    check_push(frames);
    check_request_ids(frames);
    check_receive(frames);
    return 0;
}
