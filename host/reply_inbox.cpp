#include "reply_inbox.hpp"

namespace portico {

ReplyInbox::ReplyInbox(net::io_context& io, Router& router) : io_(io), router_(router) {}

void ReplyInbox::deliver(EngineResult result) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (detached_) return;
    const bool first = results_.empty();
    results_.push_back(std::move(result));
    // Posted under the lock, so detach() cannot pass while a post is under way.
    if (first) net::post(io_, [self = shared_from_this()] { self->drain(); });
}

void ReplyInbox::detach() {
    std::lock_guard<std::mutex> lock(mutex_);
    detached_ = true;
    results_.clear();
}

void ReplyInbox::drain() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        draining_.swap(results_);
    }
    for (auto& result : draining_) {
        wire::EngineReply reply;
        reply.request_id = result.request_id;
        reply.client_id = result.client_id;
        const Reply& r = result.reply;
        reply.kind = r.kind() == Reply::Kind::json   ? wire::ReplyKind::json
                     : r.kind() == Reply::Kind::text ? wire::ReplyKind::text
                                                     : wire::ReplyKind::error;
        reply.body = r.body();
        reply.code = r.code();
        router_.deliver(reply);  // false: the client has gone, the reply with it
    }
    draining_.clear();
}

}  // namespace portico
