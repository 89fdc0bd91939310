#pragma once
// Makes the links a LinkSpec names, for each gateway loop. The factory holds
// what every loop's links share (the zmq context, the log); a LoopLinks holds
// what one loop's links share (the inbox for results of in-process engines).
// The gateway sees only these interfaces, never zmq.
#include "core/logger.hpp"
#include "core/net.hpp"
#include "link/engine_link.hpp"
#include "core/curve_key_pair.hpp"
#include "link/link_plan.hpp"

#include <optional>

#include <functional>
#include <memory>

namespace zmq {
class context_t;
}

namespace portico {

class ReplyInbox;

class LoopLinks {
public:
    // `status_changed` runs (on the loop's thread) whenever a link's count of
    // engines in rotation may have changed.
    LoopLinks(net::io_context& io, ReplyHandler& replies, std::function<void()> status_changed,
              zmq::context_t& context, const std::optional<CurveKeyPair>& curve, Logger& log);
    // Results that still come for this loop are dropped: the loop is gone.
    ~LoopLinks();
    LoopLinks(const LoopLinks&) = delete;
    LoopLinks& operator=(const LoopLinks&) = delete;

    // On the loop's thread.
    std::unique_ptr<EngineLink> make(const LinkSpec& spec);

private:
    net::io_context& io_;
    ReplyHandler& replies_;
    std::function<void()> status_changed_;
    zmq::context_t& context_;
    const std::optional<CurveKeyPair>& curve_;
    Logger& log_;
    std::shared_ptr<ReplyInbox> inbox_;
};

class LinkFactory {
public:
    // `curve`: this process's key pair when its links speak Curve (filled
    // before the first link is made).
    LinkFactory(zmq::context_t& context, const std::optional<CurveKeyPair>& curve, Logger& log)
        : context_(context), curve_(curve), log_(log) {}
    std::unique_ptr<LoopLinks> for_loop(net::io_context& io, ReplyHandler& replies,
                                        std::function<void()> status_changed) const {
        return std::make_unique<LoopLinks>(io, replies, std::move(status_changed), context_, curve_, log_);
    }

private:
    zmq::context_t& context_;
    const std::optional<CurveKeyPair>& curve_;
    Logger& log_;
};

}  // namespace portico
