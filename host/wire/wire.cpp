#include "wire/wire.hpp"

#include <cstring>

namespace portico::wire {

std::string_view frame_view(const zmq::message_t& frame) noexcept {
    return {static_cast<const char*>(frame.data()), frame.size()};
}

std::size_t receive_message(zmq::socket_t& socket, zmq::message_t* frames, std::size_t capacity) {
    std::size_t count = 0;
    bool overflow = false;
    for (bool more = true; more;) {
        zmq::message_t part;
        if (!socket.recv(part, zmq::recv_flags::dontwait)) break;  // cannot happen mid-message
        more = part.more();
        if (count < capacity) frames[count++] = std::move(part);
        else overflow = true;
    }
    return overflow ? 0 : count;
}

bool valid_channel_name(std::string_view channel) noexcept {
    if (channel.empty() || channel.size() > max_channel_bytes) return false;
    for (const char c : channel) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '-' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

std::string encode_request_id(std::uint64_t id) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((id >> (8 * i)) & 0xff);
    return bytes;
}

std::optional<std::uint64_t> decode_request_id(std::string_view bytes) {
    if (bytes.size() != 8) return std::nullopt;
    std::uint64_t id = 0;
    for (int i = 7; i >= 0; --i) id = (id << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    return id;
}

std::string_view control_word(Control control) {
    switch (control) {
        case Control::ping: return "ping";
        case Control::pong: return "pong";
        case Control::bye: return "bye";
        case Control::none: break;
    }
    return {};
}

Control parse_control(const zmq::message_t* frames, std::size_t count, std::string_view* info) {
    if (count < 2 || count > 3 || frame_view(frames[0]) != magic) return Control::none;
    const auto word = frame_view(frames[1]);
    if (word == "pong") {
        if (info) *info = count == 3 ? frame_view(frames[2]) : std::string_view();
        return Control::pong;
    }
    if (count != 2) return Control::none;
    if (word == "ping") return Control::ping;
    if (word == "bye") return Control::bye;
    return Control::none;
}

bool send_control(zmq::socket_t& socket, Control control) {
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    if (!socket.send(zmq::const_buffer(nullptr, 0), more)) return false;
    socket.send(zmq::buffer(magic), more);
    socket.send(zmq::buffer(control_word(control)), zmq::send_flags::dontwait);
    return true;
}

bool send_request(zmq::socket_t& socket, std::uint64_t request_id, std::string_view client_id,
                  std::string_view payload, const Caller* caller) {
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    // Once the first part is queued, zmq queues the rest of the message atomically.
    if (!socket.send(zmq::const_buffer(nullptr, 0), more)) return false;
    const std::string id = encode_request_id(request_id);
    socket.send(zmq::buffer(magic), more);
    socket.send(zmq::buffer(id), more);
    socket.send(zmq::buffer(client_id), more);
    if (caller == nullptr) {
        socket.send(zmq::buffer(payload), zmq::send_flags::dontwait);
        return true;
    }
    socket.send(zmq::buffer(payload), more);
    socket.send(zmq::buffer(caller->subject), more);
    socket.send(zmq::buffer(caller->claims_json), zmq::send_flags::dontwait);
    return true;
}

namespace {

void send_text(zmq::socket_t& socket, std::string_view text, bool more) {
    socket.send(zmq::buffer(text), (more ? zmq::send_flags::sndmore : zmq::send_flags::none) | zmq::send_flags::dontwait);
}

std::string_view kind_word(Reply::Kind kind) {
    switch (kind) {
        case Reply::Kind::json: return "json";
        case Reply::Kind::text: return "text";
        case Reply::Kind::error: return "error";
    }
    return "error";
}

}  // namespace

void send_pong(zmq::socket_t& socket, std::string_view info) {
    send_text(socket, magic, true);
    send_text(socket, control_word(Control::pong), true);
    send_text(socket, info, false);
}

void send_reply(zmq::socket_t& socket, const EngineReply& reply) {
    const Reply& r = reply.reply;
    send_text(socket, magic, true);
    send_text(socket, encode_request_id(reply.request_id), true);
    send_text(socket, reply.client_id, true);
    switch (reply.part) {
        case ReplyPart::subscribe:
            send_text(socket, "subscribe", true);
            send_text(socket, reply.channel, true);
            send_text(socket, r.body(), true);
            send_text(socket, encode_request_id(reply.offset), false);
            return;
        case ReplyPart::unsubscribe:
            send_text(socket, "unsubscribe", true);
            send_text(socket, reply.channel, false);
            return;
        case ReplyPart::event: send_text(socket, "event", true); break;
        case ReplyPart::final:
        case ReplyPart::push: send_text(socket, kind_word(r.kind()), true); break;
    }
    if (r.kind() == Reply::Kind::error) send_text(socket, r.code(), true);
    send_text(socket, r.body(), false);
}

void send_push(zmq::socket_t& socket, std::string_view channel, std::uint64_t offset, std::string_view json) {
    send_text(socket, magic, true);
    send_text(socket, "push", true);
    send_text(socket, channel, true);
    send_text(socket, encode_request_id(offset), true);
    send_text(socket, json, false);
}

std::optional<EngineReply> parse_push(const zmq::message_t* frames, std::size_t count) {
    if (count != 5 || frame_view(frames[0]) != magic || frame_view(frames[1]) != "push") return std::nullopt;
    const auto offset = decode_request_id(frame_view(frames[3]));
    const auto channel = frame_view(frames[2]);
    if (!offset || !valid_channel_name(channel)) return std::nullopt;
    EngineReply push;
    push.part = ReplyPart::push;
    push.channel = std::string(channel);
    push.offset = *offset;
    push.reply = Reply::json(std::string(frame_view(frames[4])));
    return push;
}

void send_plain_reply(zmq::socket_t& socket, const Reply& reply) {
    send_text(socket, reply.ok() ? reply.body() : "error: " + reply.body(), false);
}

std::optional<EngineReply> parse_reply(const zmq::message_t* frames, std::size_t count) {
    if (count < 5 || frame_view(frames[0]) != magic) return std::nullopt;
    auto id = decode_request_id(frame_view(frames[1]));
    if (!id) return std::nullopt;
    const auto kind = frame_view(frames[3]);
    std::optional<Reply> reply;
    ReplyPart part = ReplyPart::final;
    if ((kind == "subscribe" && count == 7) || (kind == "unsubscribe" && count == 5)) {
        const auto channel = frame_view(frames[4]);
        if (!valid_channel_name(channel)) return std::nullopt;
        EngineReply grant{*id, std::string(frame_view(frames[2])), Reply::json("{}"), ReplyPart::unsubscribe};
        grant.channel = std::string(channel);
        if (kind == "subscribe") {
            const auto number = decode_request_id(frame_view(frames[6]));
            if (!number) return std::nullopt;
            grant.part = ReplyPart::subscribe;
            grant.reply = Reply::json(std::string(frame_view(frames[5])));
            grant.offset = *number;
        }
        return grant;
    }
    if (kind == "event" && count == 5) {
        reply = Reply::json(std::string(frame_view(frames[4])));
        part = ReplyPart::event;
    } else if (kind == "json" && count == 5) reply = Reply::json(std::string(frame_view(frames[4])));
    else if (kind == "text" && count == 5) reply = Reply::text(std::string(frame_view(frames[4])));
    else if (kind == "error" && count == 6)
        reply = Reply::error(std::string(frame_view(frames[4])), std::string(frame_view(frames[5])));
    if (!reply) return std::nullopt;
    return EngineReply{*id, std::string(frame_view(frames[2])), std::move(*reply), part};
}

bool send_unsub(zmq::socket_t& socket, std::string_view channel, std::uint64_t grant) {
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    if (!socket.send(zmq::const_buffer(nullptr, 0), more)) return false;
    const std::string number = encode_request_id(grant);
    socket.send(zmq::buffer(magic), more);
    socket.send(zmq::buffer(std::string_view("unsub")), more);
    socket.send(zmq::buffer(channel), more);
    socket.send(zmq::buffer(number), zmq::send_flags::dontwait);
    return true;
}

bool send_cancel(zmq::socket_t& socket, std::uint64_t request_id, std::string_view client_id) {
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    if (!socket.send(zmq::const_buffer(nullptr, 0), more)) return false;
    const std::string id = encode_request_id(request_id);
    socket.send(zmq::buffer(magic), more);
    socket.send(zmq::buffer(std::string_view("cancel")), more);
    socket.send(zmq::buffer(id), more);
    socket.send(zmq::buffer(client_id), zmq::send_flags::dontwait);
    return true;
}

bool send_gone(zmq::socket_t& socket, std::string_view client_id) {
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    if (!socket.send(zmq::const_buffer(nullptr, 0), more)) return false;
    socket.send(zmq::buffer(magic), more);
    socket.send(zmq::buffer(std::string_view("gone")), more);
    socket.send(zmq::buffer(client_id), zmq::send_flags::dontwait);
    return true;
}

std::optional<ClientNotice> parse_notice(const zmq::message_t* frames, std::size_t count) {
    if (count < 3 || frame_view(frames[0]) != magic) return std::nullopt;
    const auto word = frame_view(frames[1]);
    ClientNotice notice;
    if (word == "cancel" && count == 4) {
        const auto id = decode_request_id(frame_view(frames[2]));
        if (!id) return std::nullopt;
        notice.kind = ClientNotice::Kind::cancel;
        notice.request_id = *id;
        notice.client_id = frame_view(frames[3]);
    } else if (word == "gone" && count == 3) {
        notice.kind = ClientNotice::Kind::gone;
        notice.client_id = frame_view(frames[2]);
    } else if (word == "unsub" && count == 4) {
        const auto grant = decode_request_id(frame_view(frames[3]));
        notice.channel = frame_view(frames[2]);
        if (!grant || !valid_channel_name(notice.channel)) return std::nullopt;
        notice.kind = ClientNotice::Kind::unsub;
        notice.request_id = *grant;
        return notice;
    } else {
        return std::nullopt;
    }
    if (notice.client_id.empty() || notice.client_id.size() > max_client_id_bytes) return std::nullopt;
    return notice;
}

std::optional<EngineRequest> parse_request(const zmq::message_t* frames, std::size_t count,
                                           std::string& problem) {
    EngineRequest request;
    if (count == 1) {
        request.payload = frame_view(frames[0]);
        return request;
    }
    if ((count == 4 || count == 6) && frame_view(frames[0]) == magic) {
        auto id = decode_request_id(frame_view(frames[1]));
        if (!id) {
            problem = "request id frame must be 8 bytes";
            return std::nullopt;
        }
        request.plain = false;
        request.request_id = *id;
        request.client_id = frame_view(frames[2]);
        request.payload = frame_view(frames[3]);
        if (request.client_id.size() > max_client_id_bytes) {
            problem = "client id is longer than 64 bytes";
            return std::nullopt;
        }
        if (count == 6) {
            request.has_caller = true;
            request.caller_subject = frame_view(frames[4]);
            request.caller_claims_json = frame_view(frames[5]);
            if (request.caller_subject.size() > max_caller_bytes || request.caller_claims_json.size() > max_caller_bytes) {
                problem = "caller frames are longer than 16 KiB";
                return std::nullopt;
            }
        }
        return request;
    }
    problem = "expected one payload frame, or a PTC1 request of 4 frames (6 with the caller)";
    return std::nullopt;
}

}  // namespace portico::wire
