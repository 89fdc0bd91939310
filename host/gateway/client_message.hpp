#pragma once
// What a WebSocket client sends and what it gets back, with no sockets
// involved: parsing both message forms and formatting every reply.
//
//   shorthand:  "dice 3d6"                                   -> result text, or "error: <message>"
//   envelope:   {"id":7,"plugin":"dice","payload":"3d6"}    -> {"id":7,"plugin":"dice","ok":true,"result":...}
//                                                              {"id":7,"plugin":"dice","ok":false,"error":{...}}
//   events of a streaming request, before its reply:          -> {"id":7,"plugin":"odds","event":...}
//                                                 (shorthand)  -> "event: <json>"
//   channels the plugin granted (docs/protocol.md, "Channels"):
//     subscribed     {"id":7,"plugin":"table","channel":"room1","subscribed":true,"next":N[,"lost":"too_old"]}
//                    (shorthand) "table room1: subscribed, next #N[; earlier messages are lost (too_old)]"
//     a message      {"plugin":"table","channel":"room1","offset":N,"data":<json>[,"missed":K]}
//                    (shorthand) "table room1 #N: <json>[ (missed K)]"
//     unsubscribed   {"plugin":"table","channel":"room1","subscribed":false[,"error":{"code":...,"message":...}]}
//                    (shorthand) "table room1: unsubscribed[: <message>]"
#include "core/error.hpp"
#include <portico/plugin.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace portico {

enum class MessageForm : std::uint8_t { shorthand, envelope };

// The parts of a request that its reply needs again.
struct ReplyContext {
    MessageForm form = MessageForm::shorthand;
    std::string id_json;      // the envelope's "id" as JSON text; empty when it had none
    std::string plugin;       // empty when not known (the message could not be parsed)
};

struct ClientRequest {
    ReplyContext context;
    std::string payload;
};

// A message that cannot become a request: what to answer instead.
struct RejectedMessage {
    ReplyContext context;
    Error error;
};

struct ParsedMessage {
    std::optional<ClientRequest> request;
    std::optional<RejectedMessage> rejected;
};

inline constexpr std::size_t max_json_depth = 32;

ParsedMessage parse_client_message(std::string_view text);

namespace detail {
// The envelope through the full parse alone (a JSON document), which
// parse_client_message() uses only for envelopes its one-pass reader does
// not take: tests hold the two to the same answers.
ParsedMessage parse_envelope_fully(std::string_view text);
}  // namespace detail

std::string format_result(const ReplyContext& context, Reply::Kind kind, std::string_view body);
std::string format_error(const ReplyContext& context, std::string_view code, std::string_view message);
// "rate_limited", with the error's retry_after_ms (shorthand: in the text).
std::string format_rate_limited(const ReplyContext& context, std::uint64_t retry_after_ms);
// A reply built from what an engine sent (result or error).
std::string format_engine_reply(const ReplyContext& context, const Reply& reply);
// A progress event of a request still pending: {"id":7,"plugin":"odds","event":{...}}
// with "dropped":N when N events before it were dropped; shorthand: "event: {...}",
// then " (dropped N)".
std::string format_event(const ReplyContext& context, std::string_view event_json, std::uint32_t dropped = 0);

// A channel's side of the session. `context`: the form and plugin of the
// request whose engine granted the channel (its id, for "subscribed").
std::string format_subscribed(const ReplyContext& context, std::string_view channel, std::uint64_t next,
                              std::string_view lost);
std::string format_push(const ReplyContext& context, std::string_view channel, std::uint64_t offset,
                        std::string_view data_json, std::uint64_t missed);
// `reason`: null when the plugin unsubscribed the client itself.
std::string format_unsubscribed(const ReplyContext& context, std::string_view channel, const Reply* reason);

}  // namespace portico
