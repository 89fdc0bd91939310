#pragma once
// An engine's answer to one request, on its whole way back to the client:
// from a worker in this process, from the zmq wire (decoded), or from the
// gateway's own plugin. The same type all the way; only the wire encodes it.
#include <portico/plugin.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace portico {

// A request gets any number of events (progress, Reply::json each), then
// exactly one final reply. Besides replies, an engine's channels send:
//   push         a published message (Reply::json) for every subscriber of
//                `channel`, at `offset`; no client or request
//   subscribe    the plugin grants `client_id` the channel: Reply::json holds
//                {"next":N,"replay":[[offset,message],...],"lost":"too_old"|"reset"}
//                (replay and lost only when it asked to resume); `offset`:
//                the broker's grant number (0 in this process)
//   unsubscribe  the plugin ends `client_id`'s subscription to `channel`
enum class ReplyPart : std::uint8_t { final, event, push, subscribe, unsubscribe };

struct EngineReply {
    EngineReply() = default;
    EngineReply(std::uint64_t id, std::string client, Reply answer, ReplyPart kind = ReplyPart::final)
        : request_id(id), client_id(std::move(client)), reply(std::move(answer)), part(kind) {}

    std::uint64_t request_id = 0;  // the session's id for the request
    std::string client_id;         // the connection that asked
    Reply reply = Reply::error("engine_error", "no reply");
    ReplyPart part = ReplyPart::final;
    std::string channel;           // channel parts: "PLUGIN/CHANNEL" in a process, CHANNEL on the wire
    std::uint64_t offset = 0;      // push: the message's offset; subscribe: the grant number
};

}  // namespace portico
