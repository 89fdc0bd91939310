#include "engine/engine_endpoint.hpp"

#include "engine/checked_reply.hpp"
#include "core/client_id.hpp"
#include "core/thread_signals.hpp"
#include "wire/wire.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <vector>

namespace portico {

// The zmq envelope (routing ids and the empty delimiter) a reply goes back with.
struct BrokerRoute {
    std::vector<zmq::message_t> envelope;
    bool plain = false;  // a REQ client: one frame back
};

namespace {

constexpr std::string_view stop_signal = "STOP";

// A unique suffix for inproc names, so endpoints never collide (also when a
// plugin is served twice during a reload).
std::string unique_suffix() {
    static std::atomic<unsigned> counter{0};
    return std::to_string(counter.fetch_add(1) + 1);
}

// Sends the reply to a request that came through the ROUTER: one frame for a
// plain REQ client, PTC1 frames for a gateway.
void send_result(zmq::socket_t& socket, BrokerRoute& route, const EngineReply& reply) {
    if (reply.part != ReplyPart::final) {
        if (route.plain) return;  // a REQ client takes one frame: the final reply
        // The envelope is still needed for the final reply: sent as copies.
        for (const auto& frame : route.envelope) {
            zmq::message_t copy;
            copy.copy(const_cast<zmq::message_t&>(frame));
            socket.send(copy, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        }
        wire::send_reply(socket, reply);
        return;
    }
    for (auto& frame : route.envelope) socket.send(frame, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    if (route.plain) wire::send_plain_reply(socket, reply.reply);
    else wire::send_reply(socket, reply);
}

// RequestStream for one job on a worker: events go where its reply goes.
class WorkerStream final : public RequestStream {
public:
    // Events closer together than this are dropped: a plugin that emits in a
    // tight loop must not flood its clients' queues.
    static constexpr std::chrono::milliseconds min_event_gap{10};

    // `route`: where the job's reply goes back (taken out of the job already).
    WorkerStream(const EngineJob& job, std::shared_ptr<BrokerRoute> route, const CancelBoard& cancels,
                 ChannelHub& hub)
        : job_(job), route_(std::move(route)), cancels_(cancels), hub_(hub) {}

    void subscribe(std::string_view channel, std::uint64_t last_seen) override {
        if (job_.client_id.empty()) return;  // a plain zmq client: nobody to push to
        try {
            hub_.subscribe(channel, last_seen, job_.client_id, job_.request_id, job_.sink, route_);
        } catch (...) {
            // Out of memory: the client is not subscribed; its reply still goes.
        }
    }
    void unsubscribe(std::string_view channel) override {
        if (job_.client_id.empty()) return;
        try {
            hub_.unsubscribe(channel, job_.client_id, job_.request_id, job_.sink, route_);
        } catch (...) {
        }
    }

    bool emit(std::string json_text) override {
        if (cancelled()) return false;
        const auto now = std::chrono::steady_clock::now();
        if (sent_any_ && now - last_sent_ < min_event_gap) return true;
        Reply checked = check_reply(Reply::json(std::move(json_text)));
        if (!checked.ok()) return true;  // not one JSON value: dropped
        sent_any_ = true;
        last_sent_ = now;
        EngineResult event;
        event.reply = EngineReply{job_.request_id, job_.client_id, std::move(checked), ReplyPart::event};
        event.route = route_;
        job_.sink->deliver(std::move(event));
        return !cancelled();
    }
    bool cancelled() const noexcept override {
        try {
            return cancels_.cancelled(job_.client_id, job_.request_id);
        } catch (...) {
            return false;  // out of memory while looking: go on
        }
    }

private:
    const EngineJob& job_;
    std::shared_ptr<BrokerRoute> route_;
    const CancelBoard& cancels_;
    ChannelHub& hub_;
    bool sent_any_ = false;
    std::chrono::steady_clock::time_point last_sent_;
};

}  // namespace

EngineEndpoint::EngineEndpoint(zmq::context_t& context, PluginConfig config,
                               std::shared_ptr<LoadedPlugin> plugin, Logger& log, const CurveKeyPair* curve)
    : context_(context), curve_(curve), name_(config.name), config_(std::move(config)), plugin_(std::move(plugin)), log_(log) {}

EngineEndpoint::~EngineEndpoint() { stop(); }

Expected<bool> EngineEndpoint::start() {
    const std::string suffix = unique_suffix();
    inproc_endpoint_ = "inproc://portico/endpoint/" + config_.name + "/" + suffix;
    control_endpoint_ = "inproc://portico/control/" + config_.name + "/" + suffix;
    try {
        frontend_ = zmq::socket_t(context_, zmq::socket_type::router);
        frontend_.set(zmq::sockopt::linger, 0);
        // A gateway that reconnects under its routing id keeps it (its channels).
        frontend_.set(zmq::sockopt::router_handover, 1);
        // A peer that sends more than this is disconnected by zmq itself.
        // (Per frame: the caller's frames may be larger than a small payload limit.)
        frontend_.set(zmq::sockopt::maxmsgsize,
                      static_cast<int64_t>(std::max(config_.engine.max_request_bytes, wire::max_caller_bytes) + 1024));
        frontend_.set(zmq::sockopt::rcvhwm, 100000);
        frontend_.set(zmq::sockopt::sndhwm, 100000);
        // Every address of this socket then speaks Curve (inproc has no handshake).
        if (curve_) make_curve_server(frontend_, *curve_);
        try {
            frontend_.bind(config_.serve.endpoint);
        } catch (const zmq::error_t& e) {
            frontend_.close();
            return Error{"bind_failed", "plugins." + config_.name + ".endpoint: cannot bind " +
                                            config_.serve.endpoint + ": " + e.what()};
        }
        bound_endpoint_ = frontend_.get(zmq::sockopt::last_endpoint);
        for (const auto& extra : config_.serve.also_bind) {
            try {
                frontend_.bind(extra);
            } catch (const zmq::error_t& e) {
                frontend_.close();
                return Error{"bind_failed", "plugins." + config_.name + ".also_bind: cannot bind " + extra + ": " +
                                                e.what()};
            }
        }
        frontend_.bind(inproc_endpoint_);

        control_receiver_ = zmq::socket_t(context_, zmq::socket_type::pair);
        control_receiver_.set(zmq::sockopt::linger, 0);
        control_receiver_.bind(control_endpoint_);
        control_sender_ = zmq::socket_t(context_, zmq::socket_type::pair);
        control_sender_.set(zmq::sockopt::linger, 0);
        control_sender_.connect(control_endpoint_);
    } catch (const zmq::error_t& e) {
        return Error{"bind_failed", "plugin " + config_.name + ": cannot set up its endpoint: " + e.what()};
    }

    instance_ = make_client_id();
    jobs_ = std::make_shared<EngineJobQueue>(config_.engine.max_queued, make_info_json(config_.name, instance_, *plugin_));
    outbox_ = std::make_shared<BrokerOutbox>();
    hub_ = channel_hub_for(config_);
    hub_->add_sink(outbox_);  // remote gateways get the channels' messages through the broker
    started_ = true;
    start_workers();
    broker_ = std::thread([this] {
        block_control_signals_in_this_thread();
        run_broker();
    });
    return true;
}

std::string EngineEndpoint::make_info_json(const std::string& name, const std::string& instance,
                                           const LoadedPlugin& plugin) {
    // "instance" changes when the endpoint behind an address does (a process
    // restart): what a gateway had outstanding on the old one is lost. A swap
    // keeps it: the old workers still answer what they hold.
    return nlohmann::json{{"name", name},
                          {"instance", instance},
                          {"version", plugin.version()},
                          {"description", plugin.description()},
                          {"usage", plugin.usage()}}
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void EngineEndpoint::start_workers() {
    for (unsigned i = 0; i < config_.engine.workers; ++i)
        workers_.emplace_back([this, i, generation = generation_, plugin = plugin_,
                               limit = config_.engine.max_request_bytes] {
            block_control_signals_in_this_thread();
            run_worker(i, generation, plugin, limit);
        });
}

void EngineEndpoint::replace(std::shared_ptr<LoadedPlugin> plugin, PluginConfig config) {
    std::vector<std::thread> old_workers;
    {
        std::lock_guard<std::mutex> lock(control_mutex_);
        if (!started_) return;
        old_workers = std::move(workers_);
        workers_.clear();
        plugin_ = std::move(plugin);
        config_ = std::move(config);
        ++generation_;
        start_workers();
        // The old workers leave once the job in their hands is done.
        jobs_->renew(generation_, config_.engine.max_queued, make_info_json(config_.name, instance_, *plugin_));
    }
    for (auto& worker : old_workers) worker.join();
}

void EngineEndpoint::stop() {
    {
        std::lock_guard<std::mutex> lock(control_mutex_);
        if (!started_) return;
        started_ = false;
        control_sender_.send(zmq::buffer(stop_signal), zmq::send_flags::none);
    }
    broker_.join();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
    control_sender_.close();
}

void EngineEndpoint::run_broker() {
    using Clock = std::chrono::steady_clock;
    // After "bye", requests already on their way are still taken until none
    // has come for quiet_window: a gateway that reads the "bye" late (a busy
    // machine) keeps the window open by sending, up to quiet_limit.
    constexpr auto quiet_window = std::chrono::milliseconds(200);
    constexpr auto quiet_limit = std::chrono::seconds(5);
    bool stopping = false;
    Clock::time_point quiet_until;
    Clock::time_point quiet_end;

    while (true) {
        const auto now = Clock::now();
        const bool take = !stopping || now < quiet_until;
        if (!take) {
            jobs_->close();
            if (jobs_->drained() && outbox_->empty()) break;
        }
        zmq::pollitem_t items[] = {
            {nullptr, outbox_->fd(), ZMQ_POLLIN, 0},
            {control_receiver_.handle(), 0, ZMQ_POLLIN, 0},
            {frontend_.handle(), 0, ZMQ_POLLIN, 0},
        };
        try {
            zmq::poll(items, take ? 3 : 2, stopping ? std::chrono::milliseconds(20) : std::chrono::milliseconds(-1));
        } catch (const zmq::error_t& e) {
            if (e.num() == EINTR) continue;
            log_.error("endpoint {}: poll failed: {}", name_, e.what());
            break;
        }

        if (items[0].revents & ZMQ_POLLIN) {
            for (auto& result : outbox_->take()) send_from_outbox(result);
        }
        if (items[1].revents & ZMQ_POLLIN) {
            zmq::message_t signal[1];
            wire::receive_message(control_receiver_, signal, 1);
            if (!stopping) {
                stopping = true;
                // Tell every gateway first, so that they send nothing new; what
                // is already on its way is still taken for a moment.
                for (const auto& peer : gateways_) {
                    frontend_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
                    wire::send_control(frontend_, wire::Control::bye);
                }
                const auto said_bye = Clock::now();
                quiet_until = said_bye + quiet_window;
                quiet_end = said_bye + quiet_limit;
            }
        }
        if (take && (items[2].revents & ZMQ_POLLIN) && take_requests(stopping) > 0 && stopping)
            quiet_until = std::min(Clock::now() + quiet_window, quiet_end);
    }
    frontend_.close();
    control_receiver_.close();
}

// Takes everything waiting on the ROUTER: pings are answered here, at once,
// so that a busy engine is not mistaken for a dead one; requests are queued
// for the workers together (one lock, one wake-up), and those the queue
// refuses are answered at once.
std::size_t EngineEndpoint::take_requests(bool stopping) {
    constexpr std::size_t max_gateways = 4096;
    std::array<zmq::message_t, wire::max_frames + 2> frames;
    while (frontend_.get(zmq::sockopt::events) & ZMQ_POLLIN) {
        const std::size_t count = wire::receive_message(frontend_, frames.data(), frames.size());
        if (count < 2) continue;  // more frames than any request has: dropped
        std::size_t delimiter = 0;
        while (delimiter < count && frames[delimiter].size() != 0) ++delimiter;
        if (delimiter == 0 || delimiter >= count) continue;  // nobody to answer
        const auto control = wire::parse_control(frames.data() + delimiter + 1, count - delimiter - 1);
        if (control == wire::Control::ping) {
            if (stopping) continue;  // a pong would bring this engine back into rotation
            if (delimiter == 1 && gateways_.size() < max_gateways) gateways_.emplace(wire::frame_view(frames[0]));
            if (delimiter == 1) heard_gateway(wire::frame_view(frames[0]));
            for (std::size_t i = 0; i <= delimiter; ++i)
                frontend_.send(frames[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
            wire::send_pong(frontend_, jobs_->info_json());
            continue;
        }
        if (control != wire::Control::none) continue;  // nothing else is sent to an endpoint
        if (const auto notice = wire::parse_notice(frames.data() + delimiter + 1, count - delimiter - 1)) {
            if (notice->kind == wire::ClientNotice::Kind::cancel) {
                jobs_->cancels().cancel(notice->client_id, notice->request_id);
            } else if (notice->kind == wire::ClientNotice::Kind::unsub) {
                // The gateway's last subscriber left, unless a grant went to it since.
                auto channel = channel_gateways_.find(notice->channel);
                if (delimiter == 1 && channel != channel_gateways_.end()) {
                    auto gateway = channel->second.find(wire::frame_view(frames[0]));
                    if (gateway != channel->second.end() && gateway->second <= notice->request_id)
                        channel->second.erase(gateway);
                    if (channel->second.empty()) channel_gateways_.erase(channel);
                }
            } else {
                EngineJob gone;
                gone.kind = JobKind::client_gone;
                gone.client_id = std::string(notice->client_id);
                jobs_->push_notice(std::move(gone));
            }
            continue;
        }

        std::string problem;
        const auto request = wire::parse_request(frames.data() + delimiter + 1, count - delimiter - 1, problem);
        EngineJob job;
        job.route = std::make_shared<BrokerRoute>();
        job.route->envelope.reserve(delimiter + 1);
        for (std::size_t i = 0; i <= delimiter; ++i) job.route->envelope.push_back(std::move(frames[i]));
        if (!request) {
            job.route->plain = true;
            send_result(frontend_, *job.route,
                        EngineReply{0, {}, Reply::error("bad_request", "malformed request: " + problem)});
            continue;
        }
        job.route->plain = request->plain;
        job.request_id = request->request_id;
        job.client_id = request->client_id;
        job.payload = request->payload;
        if (request->has_caller)
            job.caller = std::make_shared<const Caller>(
                Caller{std::string(request->caller_subject), std::string(request->caller_claims_json)});
        job.sink = outbox_;
        arrived_.push_back(std::move(job));
    }
    const auto taken = jobs_->push_all(arrived_);
    for (std::size_t i = taken.count; i < arrived_.size(); ++i) {
        EngineJob& refused = arrived_[i];
        send_result(frontend_, *refused.route,
                    EngineReply{refused.request_id, refused.client_id, jobs_->refusal(taken.rest, name_)});
    }
    const std::size_t requests = arrived_.size();
    arrived_.clear();
    return requests;
}

void EngineEndpoint::send_from_outbox(EngineResult& result) {
    EngineReply& reply = result.reply;
    if (reply.part == ReplyPart::push) {
        // "PLUGIN/CHANNEL" in this process; the wire names the channel alone.
        const std::string_view channel = std::string_view(reply.channel).substr(name_.size() + 1);
        auto subscribed = channel_gateways_.find(channel);
        if (subscribed == channel_gateways_.end()) return;
        for (const auto& [gateway, grant] : subscribed->second) {
            frontend_.send(zmq::buffer(gateway), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
            frontend_.send(zmq::const_buffer(nullptr, 0), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
            wire::send_push(frontend_, channel, reply.offset, reply.reply.body());
        }
        return;
    }
    if (!result.route) return;
    BrokerRoute& route = *result.route;
    if (reply.part == ReplyPart::subscribe || reply.part == ReplyPart::unsubscribe) {
        reply.channel = reply.channel.substr(name_.size() + 1);
        // A gateway (a DEALER: its routing id, then the delimiter) with a
        // subscriber now gets the channel's messages; sent in order with them.
        if (reply.part == ReplyPart::subscribe) {
            constexpr std::size_t max_channel_gateways = 4096;
            const bool gateway_peer = !route.plain && route.envelope.size() == 2;
            const std::string gateway = gateway_peer ? std::string(wire::frame_view(route.envelope[0])) : std::string();
            auto channel = channel_gateways_.find(reply.channel);
            const bool room = channel == channel_gateways_.end() || channel->second.size() < max_channel_gateways ||
                              channel->second.count(gateway) > 0;
            if (gateway_peer && room) {
                reply.offset = ++grants_;
                channel_gateways_[reply.channel][gateway] = reply.offset;
                touch_gateway(gateway, std::chrono::steady_clock::now());  // its silence counts from now
            } else {
                // No push could reach it: the client hears that it is not subscribed.
                reply.part = ReplyPart::unsubscribe;
            }
        }
    }
    send_result(frontend_, route, reply);
}

void EngineEndpoint::touch_gateway(std::string_view routing_id, std::chrono::steady_clock::time_point now) {
    constexpr std::size_t max_heard = 4096;
    auto heard = gateway_heard_.find(routing_id);
    if (heard != gateway_heard_.end()) heard->second = now;
    else if (gateway_heard_.size() < max_heard) gateway_heard_.emplace(std::string(routing_id), now);
}

void EngineEndpoint::heard_gateway(std::string_view routing_id) {
    // Gateways ping every heartbeat. One silent this long has gone (a crash,
    // a restart under a new id) without saying "unsub": its channels are
    // dropped, so pushes stop going nowhere and make room for others.
    constexpr auto silent_for = std::chrono::seconds(60);
    const auto now = std::chrono::steady_clock::now();
    touch_gateway(routing_id, now);
    if (now - last_gateway_sweep_ < std::chrono::seconds(10)) return;
    last_gateway_sweep_ = now;
    auto silent = [&](const std::string& id) {
        auto it = gateway_heard_.find(id);
        return it == gateway_heard_.end() || now - it->second > silent_for;
    };
    for (auto channel = channel_gateways_.begin(); channel != channel_gateways_.end();) {
        for (auto gateway = channel->second.begin(); gateway != channel->second.end();)
            gateway = silent(gateway->first) ? channel->second.erase(gateway) : std::next(gateway);
        channel = channel->second.empty() ? channel_gateways_.erase(channel) : std::next(channel);
    }
    for (auto it = gateway_heard_.begin(); it != gateway_heard_.end();)
        it = now - it->second > silent_for ? gateway_heard_.erase(it) : std::next(it);
}

void EngineEndpoint::run_worker(unsigned index, unsigned generation, std::shared_ptr<LoadedPlugin> plugin,
                                std::size_t max_request_bytes) {
    Engine& engine = plugin->engine();
    const bool talks_back = (plugin->api_version() & 0xffffu) >= 2;  // 1.2: streams, hears client_gone
    CancelBoard& cancels = jobs_->cancels();
    while (auto job = jobs_->pop(generation)) {
        if (job->kind == JobKind::client_gone) {
            if (talks_back) engine.client_gone(job->client_id);
            job.reset();
            jobs_->done();
            continue;
        }
        EngineResult result;
        result.reply.request_id = job->request_id;
        result.route = std::move(job->route);
        Reply& reply = result.reply.reply;
        if (cancels.cancelled(job->client_id, job->request_id)) {
            // Answered by its gateway already; the engine never sees it.
            reply = Reply::error("cancelled", "the request was cancelled before an engine took it");
        } else if (job->payload.size() > max_request_bytes) {
            reply = Reply::error("too_large", "the request is larger than " + std::to_string(max_request_bytes) +
                                                  " bytes");
        } else {
            Request call;
            call.client_id = job->client_id;
            call.payload = job->payload;
            call.worker = index;
            if (job->caller) {
                call.caller_subject = job->caller->subject;
                call.caller_claims_json = job->caller->claims_json;
            }
            WorkerStream stream(*job, result.route, cancels, *hub_);
            if (talks_back) call.stream = &stream;
            try {
                reply = check_reply(engine.handle(call));
            } catch (...) {
                // PORTICO_PLUGIN keeps exceptions inside the plugin; one written
                // without it must still not take the host down.
                reply = Reply::error("engine_error", "the engine let an exception escape handle()");
            }
        }
        cancels.forget(job->client_id, job->request_id);
        result.reply.client_id = std::move(job->client_id);
        job->sink->deliver(std::move(result));
        job.reset();  // drops the sink before the queue counts the job done
        jobs_->done();
    }
}

}  // namespace portico
