#pragma once
// The gateway's link to a plugin whose engine runs in this process: requests
// go straight into the engine's job queue, and results come back through the
// loop's ReplyInbox. No zmq frames, no broker, no heartbeats: the engine
// cannot be lost without the process. Deadlines are the session's, as for
// remote engines.
//
// The requests of one turn of the loop (every connection that had input) are
// queued together, with one lock and one wake-up of the workers: on a busy
// core, waking a worker per request would cost a context switch per request.
// A request the queue refuses (full, or closed by a shutdown) is answered
// through the inbox like any result, with "overloaded" or "unavailable".
//
// Channels: the plugin's hub hands every published message to the inbox of
// every loop with a link to it; the router finds the subscribers.
#include "config/config.hpp"
#include "engine/channel_hub.hpp"
#include "engine/engine_job_queue.hpp"
#include "core/lifetime.hpp"
#include "core/net.hpp"
#include "link/reply_inbox.hpp"
#include "link/engine_link.hpp"

#include <memory>
#include <string>
#include <vector>

namespace portico {

class LocalEngineLink final : public EngineLink {
public:
    LocalEngineLink(net::io_context& io, const PluginConfig& plugin, std::shared_ptr<EngineJobQueue> jobs,
                    std::shared_ptr<ReplyInbox> inbox);

    SendResult send(std::uint64_t request_id, std::string_view client_id, std::string_view payload,
                    const CallerRef& caller) override;
    std::chrono::milliseconds timeout() const override { return timeout_; }
    void cancel(std::uint64_t request_id, std::string_view client_id) override;
    void client_gone(std::string_view client_id) override;
    LinkStatus status() const override;
    // A flush still to run refers to this link.
    bool idle() const override { return !flush_posted_; }

private:
    void flush();

    net::io_context& io_;
    std::string plugin_;
    std::chrono::milliseconds timeout_;
    std::shared_ptr<EngineJobQueue> jobs_;
    std::shared_ptr<ReplyInbox> inbox_;
    std::shared_ptr<ChannelHub> channels_;  // keeps the plugin's history while a link to it lives
    std::vector<EngineJob> staged_;
    bool flush_posted_ = false;
    Lifetime lifetime_;  // for the flush queued when this is destroyed
};

}  // namespace portico
