#pragma once
// Serves one plugin's engine: a pool of worker threads that call the engine,
// fed by one bounded job queue (engine_job_queue.hpp). Two kinds of producer
// share that queue:
//   - the broker thread, which owns a zmq ROUTER that any REQ or DEALER peer
//     can talk to (remote gateways, isolated children's parents, any REQ
//     client in any language), answers their pings at once, and sends back
//     the results workers leave in its outbox;
//   - gateway loops in this process, which queue directly (LocalEngineLink).
// Idle workers take one job at a time, so a slow request never holds up
// others while a worker is free.
#include "engine/broker_outbox.hpp"
#include "config/config.hpp"
#include "engine/channel_hub.hpp"
#include "engine/engine_job_queue.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "plugin/plugin_loader.hpp"

#include <zmq.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include "wire/curve.hpp"

#include <thread>
#include <vector>

namespace portico {

class EngineEndpoint {
public:
    // `curve`: this process's key pair when its endpoints speak Curve (null: plain).
    EngineEndpoint(zmq::context_t& context, PluginConfig config, std::shared_ptr<LoadedPlugin> plugin,
                   Logger& log, const CurveKeyPair* curve = nullptr);
    ~EngineEndpoint();
    EngineEndpoint(const EngineEndpoint&) = delete;
    EngineEndpoint& operator=(const EngineEndpoint&) = delete;

    // Binds the configured address and an inproc address, then starts the
    // broker and the workers. A failed bind is returned, nothing is started.
    Expected<bool> start();
    // Stops taking requests, tells connected gateways "bye", lets the workers
    // finish what is queued and held, then joins every thread. Idempotent.
    void stop();
    // Serves a new engine (a reloaded plugin, or new settings) on the same
    // address without dropping anything: new workers take what is queued and
    // what comes, while the old ones finish the job they hold; returns once
    // they have, so the old plugin can be unloaded. Never concurrently with stop().
    void replace(std::shared_ptr<LoadedPlugin> plugin, PluginConfig config);

    const std::string& name() const noexcept { return name_; }
    // The address actually bound (a '*' port resolved), for printing.
    const std::string& bound_endpoint() const noexcept { return bound_endpoint_; }
    // Where a zmq peer in this process can connect (no TCP).
    const std::string& inproc_endpoint() const noexcept { return inproc_endpoint_; }
    // Where a gateway loop in this process queues requests: no zmq at all.
    const std::shared_ptr<EngineJobQueue>& jobs() const noexcept { return jobs_; }
    const LoadedPlugin& plugin() const noexcept { return *plugin_; }

private:
    void run_broker();
    // A result, event or channel message from the outbox, onto the ROUTER.
    void send_from_outbox(EngineResult& result);
    // A ping from the gateway with this routing id; now and then, the
    // channels of gateways long silent are dropped.
    void heard_gateway(std::string_view routing_id);
    void touch_gateway(std::string_view routing_id, std::chrono::steady_clock::time_point now);
    // Returns how many requests it took (pings not counted).
    std::size_t take_requests(bool stopping);
    // A worker holds its own reference to the plugin it calls, so the plugin
    // is unloaded only after the last worker that can call it has returned.
    void run_worker(unsigned index, unsigned generation, std::shared_ptr<LoadedPlugin> plugin,
                    std::size_t max_request_bytes);
    void start_workers();
    static std::string make_info_json(const std::string& name, const std::string& instance,
                                      const LoadedPlugin& plugin);

    zmq::context_t& context_;
    const CurveKeyPair* curve_;
    const std::string name_;  // never changes: the broker reads it without a lock
    PluginConfig config_;     // replace() changes it, under control_mutex_
    std::shared_ptr<LoadedPlugin> plugin_;
    Logger& log_;

    std::string bound_endpoint_;
    std::string inproc_endpoint_;
    std::string control_endpoint_;
    std::string instance_;  // this endpoint's identity, for its whole life

    std::shared_ptr<EngineJobQueue> jobs_;
    std::shared_ptr<BrokerOutbox> outbox_;
    std::shared_ptr<ChannelHub> hub_;  // the plugin's channels, shared with its engines and local links
    // Broker thread: for each channel, the gateways with subscribers (their
    // routing ids) and the number of the last grant each was sent: an
    // "unsub" older than that grant is stale and ignored.
    std::map<std::string, std::map<std::string, std::uint64_t, std::less<>>, std::less<>> channel_gateways_;
    std::uint64_t grants_ = 0;
    std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> gateway_heard_;  // broker thread
    std::chrono::steady_clock::time_point last_gateway_sweep_{};
    zmq::socket_t frontend_;
    zmq::socket_t control_receiver_;  // owned by the broker thread once it runs
    zmq::socket_t control_sender_;    // used under control_mutex_
    std::mutex control_mutex_;
    std::set<std::string> gateways_;  // broker thread: peers that ping, told "bye" at stop
    std::vector<EngineJob> arrived_;  // broker thread: requests of one wake-up, queued together

    std::thread broker_;
    std::vector<std::thread> workers_;
    unsigned generation_ = 0;  // of the current workers
    bool started_ = false;
};

}  // namespace portico
