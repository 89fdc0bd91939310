#pragma once
// The gateway's view of a plugin's engines, whatever carries the requests:
// the job queue of an engine in this process, zmq links to engines elsewhere,
// or the gateway's own plugin. A link reports every answer to the
// ReplyHandler it was made with (the router of its gateway loop), never to a
// session directly; it knows nothing of the gateway beyond that.
#include "core/caller.hpp"
#include "core/engine_reply.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico {

// Where a link's answers go: the router, which finds the connection by id,
// and for a channel's parts (EngineReply::channel, "PLUGIN/CHANNEL") its
// subscribers. An unsubscribe with no client id: the channel is gone for
// every subscriber of this loop (its engine was lost).
class ReplyHandler {
public:
    virtual ~ReplyHandler() = default;
    virtual void on_reply(const EngineReply& reply) = 0;
};

// Whether a link took a request. A link may also take a request and answer
// it later with an error (a full queue: "overloaded").
enum class SendResult : std::uint8_t {
    sent,
    unavailable,  // no engine reachable: answered at once by the caller
};

// One engine as a link sees it.
struct EngineState {
    std::string name;  // its zmq address, or "local" for an engine in this process
    bool up = false;   // in rotation
};

// What a link knows of its engines, as a value.
struct LinkStatus {
    std::size_t engines_alive = 0;  // in rotation
    std::size_t engines_total = 0;
    std::string info_json = "{}";   // what the engines said of the plugin (name, version, ...)
    std::vector<EngineState> engines;
    std::optional<std::size_t> queued;  // requests waiting for a worker, when the queue is in this process
};

class EngineLink {
public:
    virtual ~EngineLink() = default;
    // Takes one request; its answer reaches the ReplyHandler exactly once,
    // never from inside send(). `caller`: who sent it (null without auth),
    // carried to the engine with it.
    virtual SendResult send(std::uint64_t request_id, std::string_view client_id, std::string_view payload,
                            const CallerRef& caller) = 0;
    // How long the session waits for an answer before it says "timeout".
    virtual std::chrono::milliseconds timeout() const = 0;
    virtual LinkStatus status() const = 0;
    // Nothing waits on this link any more: a replaced link may be destroyed.
    virtual bool idle() const = 0;
    // The engine at `address` is known to be gone (its process exited): a
    // link that reaches engines by address answers what it held there now.
    virtual void engine_gone(const std::string& /*address*/) {}
    // The session has answered the request already (its client cancelled it,
    // its deadline passed, or the client went): the engine may stop working
    // on it. Whatever the engine still sends for it is dropped.
    virtual void cancel(std::uint64_t /*request_id*/, std::string_view /*client_id*/) {}
    // The client's connection ended: engines that keep state for it may free it.
    virtual void client_gone(std::string_view /*client_id*/) {}
    // No client of this gateway loop is subscribed to `channel` (of this
    // link's plugin) any more: a link whose engines push to subscribed
    // gateways tells them to stop.
    virtual void channel_unused(std::string_view /*channel*/) {}
};

}  // namespace portico
