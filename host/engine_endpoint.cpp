#include "engine_endpoint.hpp"

#include "client_id.hpp"
#include "wire.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <set>
#include <vector>

namespace portico {
namespace {

constexpr std::string_view ready_signal = "READY";
constexpr std::string_view stop_signal = "STOP";
constexpr std::string_view swap_signal = "SWAP";

// A unique suffix for inproc names, so endpoints never collide (also when a
// plugin is served twice during a reload).
std::string unique_suffix() {
    static std::atomic<unsigned> counter{0};
    return std::to_string(counter.fetch_add(1) + 1);
}

// Receives one whole multipart message into `frames`; returns the number of
// frames, or 0 when it has more than frames.size() (all of it is consumed).
template <std::size_t N>
std::size_t receive_message(zmq::socket_t& socket, std::array<zmq::message_t, N>& frames) {
    std::size_t count = 0;
    bool overflow = false;
    while (true) {
        zmq::message_t part;
        if (!socket.recv(part, zmq::recv_flags::none)) continue;
        const bool more = part.more();
        if (count < N) frames[count++] = std::move(part);
        else overflow = true;
        if (!more) break;
    }
    return overflow ? 0 : count;
}

void send_frames(zmq::socket_t& socket, zmq::message_t* frames, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i)
        socket.send(frames[i], i + 1 < count ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

void send_text(zmq::socket_t& socket, std::string_view text, bool more) {
    socket.send(zmq::buffer(text), more ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

bool is_ascii(const std::string& text) {
    for (unsigned char c : text)
        if (c >= 0x80) return false;
    return true;
}

// WebSocket text frames must be UTF-8: invalid sequences become U+FFFD.
std::string valid_utf8(const std::string& text) {
    if (is_ascii(text)) return text;
    using nlohmann::json;
    return json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

// Checks what a plugin returned before it reaches any client.
Reply checked(Reply reply) {
    switch (reply.kind()) {
        case Reply::Kind::json:
            if (!nlohmann::json::accept(reply.body()))
                return Reply::error("bad_result", "the engine returned a result that is not valid JSON");
            return reply;
        case Reply::Kind::text:
            return is_ascii(reply.body()) ? std::move(reply) : Reply::text(valid_utf8(reply.body()));
        case Reply::Kind::error:
            if (reply.code().empty() || !is_ascii(reply.code()) || !is_ascii(reply.body()))
                return Reply::error(reply.code().empty() || !is_ascii(reply.code()) ? "engine_error" : reply.code(),
                                    valid_utf8(reply.body()));
            return reply;
    }
    return reply;
}

// Worker routing ids are "g<generation>.w<index>".
unsigned long worker_generation(const std::string& worker_id) {
    return std::strtoul(worker_id.c_str() + 1, nullptr, 10);
}

// Sends `reply` for the request in `frames` (envelope, "", body): one frame
// for a plain REQ client, PTC1 frames for a gateway.
void send_reply(zmq::socket_t& socket, zmq::message_t* frames, std::size_t count, std::size_t delimiter,
                const Reply& reply) {
    std::string ignored;
    const auto request = wire::parse_request(frames + delimiter + 1, count - delimiter - 1, ignored);
    // Only the identifiers are needed, so copy them before the frames move.
    const bool plain = !request || request->plain;
    const std::uint64_t request_id = request ? request->request_id : 0;
    const std::string client_id = request ? std::string(request->client_id) : std::string();
    for (std::size_t i = 0; i <= delimiter; ++i) socket.send(frames[i], zmq::send_flags::sndmore);
    if (plain) {
        send_text(socket, reply.ok() ? reply.body() : "error: " + reply.body(), false);
        return;
    }
    send_text(socket, wire::magic, true);
    send_text(socket, wire::encode_request_id(request_id), true);
    send_text(socket, client_id, true);
    switch (reply.kind()) {
        case Reply::Kind::json: send_text(socket, "json", true); break;
        case Reply::Kind::text: send_text(socket, "text", true); break;
        case Reply::Kind::error:
            send_text(socket, "error", true);
            send_text(socket, reply.code(), true);
            break;
    }
    send_text(socket, reply.body(), false);
}

}  // namespace

EngineEndpoint::EngineEndpoint(zmq::context_t& context, PluginConfig config,
                               std::shared_ptr<LoadedPlugin> plugin, Logger& log)
    : context_(context), config_(std::move(config)), plugin_(std::move(plugin)), log_(log) {}

EngineEndpoint::~EngineEndpoint() { stop(); }

Expected<bool> EngineEndpoint::start() {
    const std::string suffix = unique_suffix();
    inproc_endpoint_ = "inproc://portico/endpoint/" + config_.name + "/" + suffix;
    backend_endpoint_ = "inproc://portico/workers/" + config_.name + "/" + suffix;
    control_endpoint_ = "inproc://portico/control/" + config_.name + "/" + suffix;
    try {
        frontend_ = zmq::socket_t(context_, zmq::socket_type::router);
        frontend_.set(zmq::sockopt::linger, 0);
        // A peer that sends more than this is disconnected by zmq itself.
        frontend_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(config_.max_request_bytes + 1024));
        frontend_.set(zmq::sockopt::rcvhwm, 100000);
        frontend_.set(zmq::sockopt::sndhwm, 100000);
        try {
            frontend_.bind(config_.endpoint);
        } catch (const zmq::error_t& e) {
            frontend_.close();
            return Error{"bind_failed", "plugins." + config_.name + ".endpoint: cannot bind " +
                                            config_.endpoint + ": " + e.what()};
        }
        bound_endpoint_ = frontend_.get(zmq::sockopt::last_endpoint);
        for (const auto& extra : config_.also_bind) {
            try {
                frontend_.bind(extra);
            } catch (const zmq::error_t& e) {
                frontend_.close();
                return Error{"bind_failed", "plugins." + config_.name + ".also_bind: cannot bind " + extra + ": " +
                                                e.what()};
            }
        }
        frontend_.bind(inproc_endpoint_);

        backend_ = zmq::socket_t(context_, zmq::socket_type::router);
        backend_.set(zmq::sockopt::linger, 0);
        backend_.bind(backend_endpoint_);

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
    info_json_ = make_info_json(config_.name, instance_, *plugin_);
    started_ = true;
    start_workers();
    broker_ = std::thread([this] { run_broker(); });
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
    for (unsigned i = 0; i < config_.workers; ++i) {
        std::string routing_id = "g" + std::to_string(generation_) + ".w" + std::to_string(i);
        workers_.emplace_back([this, i, routing_id, plugin = plugin_, limit = config_.max_request_bytes] {
            run_worker(i, routing_id, plugin, limit);
        });
    }
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
        // SWAP generation workers max_queued info
        control_sender_.send(zmq::buffer(swap_signal), zmq::send_flags::sndmore);
        control_sender_.send(zmq::buffer(std::to_string(generation_)), zmq::send_flags::sndmore);
        control_sender_.send(zmq::buffer(std::to_string(config_.workers)), zmq::send_flags::sndmore);
        control_sender_.send(zmq::buffer(std::to_string(config_.max_queued)), zmq::send_flags::sndmore);
        control_sender_.send(zmq::buffer(make_info_json(config_.name, instance_, *plugin_)), zmq::send_flags::none);
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
    using Message = std::vector<zmq::message_t>;
    const std::string name = config_.name;  // config_ may be replaced while this runs
    std::deque<std::string> idle;  // routing ids of workers waiting for work
    // Workers not idle. Unsigned on purpose: a new worker's READY may arrive
    // before the SWAP that counts it; the arithmetic still comes out right.
    unsigned busy_or_starting = config_.workers;
    std::deque<Message> queue;     // requests waiting for a worker (bounded: max_queued)
    std::set<std::string> gateways;  // peers that ping us: told "bye" when we stop
    constexpr std::size_t max_gateways = 4096;
    bool stopping = false;
    unsigned long current_generation = generation_;
    std::size_t max_queued = config_.max_queued;
    Clock::time_point quiet_until;  // after "bye", requests already on their way still count
    std::array<zmq::message_t, wire::max_frames + 2> frames;

    while (true) {
        const auto now = Clock::now();
        if (stopping && queue.empty() && busy_or_starting == 0 && now >= quiet_until) break;
        const bool take_requests = !stopping || now < quiet_until;
        zmq::pollitem_t items[] = {
            {backend_.handle(), 0, ZMQ_POLLIN, 0},
            {control_receiver_.handle(), 0, ZMQ_POLLIN, 0},
            {frontend_.handle(), 0, ZMQ_POLLIN, 0},
        };
        try {
            zmq::poll(items, take_requests ? 3 : 2,
                      stopping ? std::chrono::milliseconds(20) : std::chrono::milliseconds(-1));
        } catch (const zmq::error_t& e) {
            if (e.num() == EINTR) continue;
            log_.error("endpoint " + name + ": poll failed: " + e.what());
            break;
        }

        if (items[0].revents & ZMQ_POLLIN) {
            // [worker id] READY, or [worker id] [envelope...] "" [reply...]
            const std::size_t count = receive_message(backend_, frames);
            if (count >= 2) {
                std::string worker_id(wire::frame_view(frames[0]));
                if (!(count == 2 && wire::frame_view(frames[1]) == ready_signal))
                    send_frames(frontend_, frames.data() + 1, count - 1);
                --busy_or_starting;
                // Workers of the current or a newer generation (whose SWAP may
                // not have been read yet) stay; older ones are let go.
                if (worker_generation(worker_id) >= current_generation) {
                    idle.push_back(std::move(worker_id));
                } else {
                    // A worker of a replaced engine: its work is done, let it go.
                    backend_.send(zmq::buffer(worker_id), zmq::send_flags::sndmore);
                    backend_.send(zmq::buffer(stop_signal), zmq::send_flags::none);
                }
            }
        }
        if (items[1].revents & ZMQ_POLLIN) {
            const std::size_t count = receive_message(control_receiver_, frames);
            if (count == 5 && wire::frame_view(frames[0]) == swap_signal) {
                current_generation = std::stoul(frames[1].to_string());
                busy_or_starting += static_cast<unsigned>(std::stoul(frames[2].to_string()));
                max_queued = std::stoul(frames[3].to_string());
                info_json_ = frames[4].to_string();
                std::deque<std::string> keep;
                for (auto& worker_id : idle) {
                    if (worker_generation(worker_id) >= current_generation) {
                        keep.push_back(std::move(worker_id));
                        continue;
                    }
                    backend_.send(zmq::buffer(worker_id), zmq::send_flags::sndmore);
                    backend_.send(zmq::buffer(stop_signal), zmq::send_flags::none);
                }
                idle = std::move(keep);
                continue;
            }
            stopping = true;
            // Tell every gateway first, so that they send nothing new; what is
            // already on its way is still taken for a moment, then drained.
            for (const auto& peer : gateways) {
                frontend_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
                wire::send_control(frontend_, wire::Control::bye);
            }
            quiet_until = Clock::now() + std::chrono::milliseconds(200);
        }
        if (take_requests && (items[2].revents & ZMQ_POLLIN)) {
            // Take everything waiting: pings are answered here, at once, so
            // that a busy engine is not mistaken for a dead one.
            while (frontend_.get(zmq::sockopt::events) & ZMQ_POLLIN) {
                const std::size_t count = receive_message(frontend_, frames);
                if (count < 2) continue;  // more frames than any request has: dropped
                std::size_t delimiter = 0;
                while (delimiter < count && frames[delimiter].size() != 0) ++delimiter;
                if (delimiter == 0 || delimiter >= count) continue;  // nobody to answer
                const auto control = wire::parse_control(frames.data() + delimiter + 1, count - delimiter - 1);
                if (control == wire::Control::ping) {
                    if (stopping) continue;
                    if (delimiter == 1 && gateways.size() < max_gateways)
                        gateways.emplace(wire::frame_view(frames[0]));
                    for (std::size_t i = 0; i <= delimiter; ++i)
                        frontend_.send(frames[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
                    send_text(frontend_, wire::magic, true);
                    send_text(frontend_, wire::control_word(wire::Control::pong), true);
                    send_text(frontend_, info_json_, false);
                    continue;
                }
                if (queue.size() >= max_queued) {
                    send_reply(frontend_, frames.data(), count, delimiter,
                               Reply::error("overloaded", "plugin \"" + name + "\" has " +
                                                              std::to_string(queue.size()) +
                                                              " requests waiting; try again later"));
                    continue;
                }
                Message message;
                message.reserve(count);
                for (std::size_t i = 0; i < count; ++i) message.push_back(std::move(frames[i]));
                queue.push_back(std::move(message));
            }
        }
        while (!idle.empty() && !queue.empty()) {
            backend_.send(zmq::buffer(idle.front()), zmq::send_flags::sndmore);
            idle.pop_front();
            ++busy_or_starting;
            send_frames(backend_, queue.front().data(), queue.front().size());
            queue.pop_front();
        }
    }
    for (const auto& worker_id : idle) {
        backend_.send(zmq::buffer(worker_id), zmq::send_flags::sndmore);
        backend_.send(zmq::buffer(stop_signal), zmq::send_flags::none);
    }
    frontend_.close();
    backend_.close();
    control_receiver_.close();
}

void EngineEndpoint::run_worker(unsigned index, std::string routing_id, std::shared_ptr<LoadedPlugin> plugin,
                                std::size_t max_request_bytes) {
    zmq::socket_t socket(context_, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::routing_id, routing_id);
    socket.connect(backend_endpoint_);
    send_text(socket, ready_signal, false);

    Engine& engine = plugin->engine();
    std::array<zmq::message_t, wire::max_frames + 2> frames;
    while (true) {
        const std::size_t count = receive_message(socket, frames);
        if (count == 1 && wire::frame_view(frames[0]) == stop_signal) break;
        // The broker only forwards messages with an envelope and a delimiter.
        std::size_t delimiter = 0;
        while (delimiter < count && frames[delimiter].size() != 0) ++delimiter;
        if (count == 0 || delimiter >= count) {
            send_text(socket, ready_signal, false);
            continue;
        }
        std::string problem;
        auto request = wire::parse_request(frames.data() + delimiter + 1, count - delimiter - 1, problem);
        Reply reply = Reply::error("bad_request", "malformed request: " + problem);
        if (request && request->payload.size() > max_request_bytes) {
            reply = Reply::error("too_large", "the request is larger than " +
                                                  std::to_string(max_request_bytes) + " bytes");
        } else if (request) {
            Request call;
            call.client_id = request->client_id;
            call.payload = request->payload;
            call.worker = index;
            reply = checked(engine.handle(call));
        }
        send_reply(socket, frames.data(), count, delimiter, reply);
    }
    socket.close();
}

}  // namespace portico
