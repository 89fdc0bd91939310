#pragma once
// The zmq frames between the gateway and an engine endpoint (see
// docs/protocol.md). Requests and replies carry the client id and a request id
// in frames of their own, so nothing is ever split out of a payload.
//
//   gateway -> endpoint:  ""  "PTC1"  request-id(8 bytes)  client-id  payload  [subject  claims]
//                         (the caller, when the gateway checks tokens: see core/caller.hpp)
//   endpoint -> gateway:  ""  "PTC1"  request-id  client-id  "json"|"text"  result
//                         ""  "PTC1"  request-id  client-id  "error"  code  message
//                         ""  "PTC1"  request-id  client-id  "event"  json     (any number, before the reply)
//                         ""  "PTC1"  request-id  client-id  "subscribe"  channel  grant-json  grant-number(8)
//                         ""  "PTC1"  request-id  client-id  "unsubscribe"  channel
//                         ""  "PTC1"  "push"  channel  offset(8)  json      (to gateways with subscribers)
//   gateway -> endpoint:  ""  "PTC1"  "cancel"  request-id  client-id           (stop that request)
//                         ""  "PTC1"  "gone"  client-id                         (the client's connection ended)
//                         ""  "PTC1"  "unsub"  channel  grant-number(8)     (this gateway's last subscriber left)
//
// Liveness (the zmq guide's Paranoid Pirate heartbeating, in PTC1 frames):
//   gateway -> endpoint:  ""  "PTC1"  "ping"      answered by the broker at once
//   endpoint -> gateway:  ""  "PTC1"  "pong"  info    info: the plugin's name,
//                                                      version, description and usage as a JSON object
//   endpoint -> gateway:  ""  "PTC1"  "bye"       the endpoint is shutting down
//
// A plain REQ client sends one frame (the payload) and gets one frame back:
// the result, or "error: <message>".
#include "core/caller.hpp"
#include "core/engine_reply.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <zmq.hpp>

namespace portico::wire {

inline constexpr std::string_view magic = "PTC1";
inline constexpr std::size_t max_client_id_bytes = 64;
inline constexpr std::size_t max_frames = 8;
inline constexpr std::size_t max_caller_bytes = 16 * 1024;  // each of subject and claims
inline constexpr std::size_t max_channel_bytes = 64;
// 1 to max_channel_bytes of a-z A-Z 0-9 _ - . : (safe in JSON and in text unquoted).
bool valid_channel_name(std::string_view channel) noexcept;

std::string_view frame_view(const zmq::message_t& frame) noexcept;

// Receives one whole multipart message, which the caller knows is waiting
// (zmq delivers all parts at once), into frames[0 .. capacity). Returns the
// number of frames, or 0 when there were more than `capacity`: then all of
// the message is consumed and dropped.
std::size_t receive_message(zmq::socket_t& socket, zmq::message_t* frames, std::size_t capacity);

// Sends a request without blocking. False when zmq would block: no endpoint
// is connected, or the queue to it is at its high-water mark.
bool send_request(zmq::socket_t& socket, std::uint64_t request_id, std::string_view client_id,
                  std::string_view payload, const Caller* caller = nullptr);

// The reply frames for a gateway (after the routing envelope the caller has
// sent with sndmore): PTC1 id client kind ... Never blocks.
void send_reply(zmq::socket_t& socket, const EngineReply& reply);
// The one frame a plain REQ client gets: the result, or "error: MESSAGE".
void send_plain_reply(zmq::socket_t& socket, const Reply& reply);

// Reads the reply frames (after the empty delimiter); nullopt when they are
// not a well-formed PTC1 reply.
std::optional<EngineReply> parse_reply(const zmq::message_t* frames, std::size_t count);

// A gateway's word about one of its clients (or channels), for an endpoint.
struct ClientNotice {
    enum class Kind : std::uint8_t { cancel, gone, unsub } kind = Kind::gone;
    std::uint64_t request_id = 0;  // cancel: the request; unsub: the last grant number the gateway saw
    std::string_view client_id;    // cancel, gone
    std::string_view channel;      // unsub
};
// Without blocking; false when zmq would block.
bool send_cancel(zmq::socket_t& socket, std::uint64_t request_id, std::string_view client_id);
bool send_gone(zmq::socket_t& socket, std::string_view client_id);
bool send_unsub(zmq::socket_t& socket, std::string_view channel, std::uint64_t grant);
// A channel's message for a gateway (after the envelope): PTC1 push channel offset json.
void send_push(zmq::socket_t& socket, std::string_view channel, std::uint64_t offset, std::string_view json);
// nullopt when the frames (after the delimiter) are not a push.
std::optional<EngineReply> parse_push(const zmq::message_t* frames, std::size_t count);
// nullopt when the frames (after the delimiter) are not a notice.
std::optional<ClientNotice> parse_notice(const zmq::message_t* frames, std::size_t count);

// What an endpoint worker received (after the envelope and delimiter).
struct EngineRequest {
    bool plain = true;  // a plain REQ client: one payload frame, one reply frame
    std::uint64_t request_id = 0;
    std::string_view client_id;
    std::string_view payload;
    bool has_caller = false;  // the two caller frames came
    std::string_view caller_subject;
    std::string_view caller_claims_json;
};

// nullopt with `problem` set when the frames are neither form.
std::optional<EngineRequest> parse_request(const zmq::message_t* frames, std::size_t count,
                                           std::string& problem);

enum class Control : std::uint8_t { none, ping, pong, bye };

// The control word of a PTC1 control message, or Control::none. For a pong,
// `info` (if given) receives its info frame.
Control parse_control(const zmq::message_t* frames, std::size_t count, std::string_view* info = nullptr);
// Sends "" PTC1 <word> without blocking; false when zmq would block.
bool send_control(zmq::socket_t& socket, Control control);
// The pong an endpoint answers a ping with (after the routing envelope the
// caller has sent with sndmore): PTC1 pong info.
void send_pong(zmq::socket_t& socket, std::string_view info);
std::string_view control_word(Control control);

std::string encode_request_id(std::uint64_t id);
std::optional<std::uint64_t> decode_request_id(std::string_view bytes);

}  // namespace portico::wire
