#pragma once
// One channel message on its way to the subscribers on this loop, framed
// once per client form. A server's frames are not masked, so every
// subscriber that has missed nothing gets the same bytes: ten thousand
// subscribers cost one format and ten thousand copies, not ten thousand
// formats. A subscriber that missed some gets its own frame, which says how
// many.
#include "core/engine_reply.hpp"
#include "gateway/client_message.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace portico {

class SharedPush {
public:
    explicit SharedPush(EngineReply push) : push_(std::move(push)) {}

    const EngineReply& reply() const noexcept { return push_; }
    const std::string& key() const noexcept { return push_.channel; }  // "PLUGIN/CHANNEL"
    std::uint64_t offset() const noexcept { return push_.offset; }
    std::string_view data_json() const noexcept { return push_.reply.body(); }

    struct Frame {
        std::string_view bytes;     // header and payload
        std::size_t payload_bytes;  // what the client reads as the message
    };
    // The whole frame for a subscriber that missed nothing. `context` and
    // `channel` are the subscription's: its form picks the rendering, and
    // its plugin and channel are this push's key.
    Frame frame(const ReplyContext& context, std::string_view channel);

private:
    EngineReply push_;
    std::string framed_[2];  // by MessageForm; made when first asked for
    std::size_t payload_bytes_[2] = {0, 0};
};

}  // namespace portico
