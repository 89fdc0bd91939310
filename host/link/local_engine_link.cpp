#include "link/local_engine_link.hpp"

namespace portico {

LocalEngineLink::LocalEngineLink(net::io_context& io, const PluginConfig& plugin,
                                 std::shared_ptr<EngineJobQueue> jobs, std::shared_ptr<ReplyInbox> inbox)
    : io_(io),
      plugin_(plugin.name),
      timeout_(plugin.route.timeout),
      jobs_(std::move(jobs)),
      inbox_(std::move(inbox)),
      channels_(channel_hub_for(plugin)) {
    channels_->add_sink(inbox_);
}

SendResult LocalEngineLink::send(std::uint64_t request_id, std::string_view client_id, std::string_view payload,
                                 const CallerRef& caller) {
    EngineJob& job = staged_.emplace_back();
    job.request_id = request_id;
    job.client_id = client_id;
    job.payload = payload;
    job.caller = caller;
    job.sink = inbox_;
    if (!flush_posted_) {
        flush_posted_ = true;
        // Runs after the handlers already queued: the rest of this turn's input.
        net::post(io_, [this, alive = lifetime_.watch()] {
            if (!alive.expired()) flush();
        });
    }
    return SendResult::sent;
}

void LocalEngineLink::flush() {
    flush_posted_ = false;
    const auto taken = jobs_->push_all(staged_);
    for (std::size_t i = taken.count; i < staged_.size(); ++i) {
        EngineJob& job = staged_[i];
        EngineResult refused;
        refused.reply = EngineReply{job.request_id, std::move(job.client_id), jobs_->refusal(taken.rest, plugin_)};
        inbox_->deliver(std::move(refused));
    }
    staged_.clear();
}

void LocalEngineLink::cancel(std::uint64_t request_id, std::string_view client_id) {
    jobs_->cancels().cancel(client_id, request_id);
}

void LocalEngineLink::client_gone(std::string_view client_id) {
    if (!staged_.empty()) flush();  // its last requests queue ahead of the notice
    EngineJob gone;
    gone.kind = JobKind::client_gone;
    gone.client_id = std::string(client_id);
    jobs_->push_notice(std::move(gone));
}

LinkStatus LocalEngineLink::status() const {
    const bool up = jobs_->accepting();
    LinkStatus status{up ? 1u : 0u, 1, jobs_->info_json(), {EngineState{"local", up}}, jobs_->size()};
    return status;
}

}  // namespace portico
