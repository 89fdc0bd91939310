#include "link/link_factory.hpp"

#include "link/local_engine_link.hpp"
#include "link/remote_engine_link.hpp"
#include "link/reply_inbox.hpp"

namespace portico {

LoopLinks::LoopLinks(net::io_context& io, ReplyHandler& replies, std::function<void()> status_changed,
                     zmq::context_t& context, const std::optional<CurveKeyPair>& curve, Logger& log)
    : io_(io),
      replies_(replies),
      status_changed_(std::move(status_changed)),
      context_(context),
      curve_(curve),
      log_(log),
      inbox_(std::make_shared<ReplyInbox>(io, replies)) {}

LoopLinks::~LoopLinks() { inbox_->detach(); }

std::unique_ptr<EngineLink> LoopLinks::make(const LinkSpec& spec) {
    if (spec.local) return std::make_unique<LocalEngineLink>(io_, spec.plugin, spec.local, inbox_);
    return std::make_unique<RemoteEngineLink>(io_, context_, spec.plugin, spec.addresses, replies_, status_changed_,
                                              log_, spec.server_keys, curve_ ? &*curve_ : nullptr);
}

}  // namespace portico
