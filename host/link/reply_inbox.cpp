#include "link/reply_inbox.hpp"

namespace portico {

ReplyInbox::ReplyInbox(net::io_context& io, ReplyHandler& replies) : io_(io), replies_(replies) {}

void ReplyInbox::deliver(EngineResult result) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (detached_) return;
    // Replies are bounded by the requests in flight; channel messages by this
    // alone. One dropped here shows as a gap its subscribers are told of.
    if (result.reply.part == ReplyPart::push) {
        const std::size_t bytes = result.reply.reply.body().size();
        if (results_.size() >= max_waiting || push_bytes_ + bytes > max_push_bytes) return;
        push_bytes_ += bytes;
    }
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
        push_bytes_ = 0;
    }
    for (auto& result : draining_) replies_.on_reply(result.reply);  // a client that has gone drops it
    draining_.clear();
}

}  // namespace portico
