#pragma once
// An engine's answer to one request, on its whole way back to the client:
// from a worker in this process, from the zmq wire (decoded), or from the
// gateway's own plugin. The same type all the way; only the wire encodes it.
#include <portico/plugin.hpp>

#include <cstdint>
#include <string>

namespace portico {

// A request gets any number of events (progress, Reply::json each), then
// exactly one final reply.
enum class ReplyPart : std::uint8_t { final, event };

struct EngineReply {
    std::uint64_t request_id = 0;  // the session's id for the request
    std::string client_id;         // the connection that asked
    Reply reply = Reply::error("engine_error", "no reply");
    ReplyPart part = ReplyPart::final;
};

}  // namespace portico
