#pragma once
// Serves one plugin's engine on a zmq endpoint: a ROUTER that any REQ or
// DEALER peer can talk to, in front of a pool of worker threads that call the
// engine. A broker thread hands each request to an idle worker only (the zmq
// guide's load-balancing pattern), so a slow request never holds up others
// while a worker is free; with none free, requests wait in zmq's queue.
#include "config.hpp"
#include "error.hpp"
#include "logger.hpp"
#include "plugin_loader.hpp"

#include <zmq.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace portico {

class EngineEndpoint {
public:
    EngineEndpoint(zmq::context_t& context, PluginConfig config, std::shared_ptr<LoadedPlugin> plugin,
                   Logger& log);
    ~EngineEndpoint();
    EngineEndpoint(const EngineEndpoint&) = delete;
    EngineEndpoint& operator=(const EngineEndpoint&) = delete;

    // Binds the configured address and an inproc address, then starts the
    // broker and the workers. A failed bind is returned, nothing is started.
    Expected<bool> start();
    // Stops taking requests, tells connected gateways "bye", lets the workers
    // finish the ones they hold, then joins every thread. Idempotent.
    void stop();
    // Serves a new engine (a reloaded plugin, or new settings) on the same
    // address without dropping anything: new requests go to new workers while
    // the old workers finish what they hold; returns once they have, so the
    // old plugin can be unloaded. Never concurrently with stop().
    void replace(std::shared_ptr<LoadedPlugin> plugin, PluginConfig config);

    const std::string& name() const noexcept { return config_.name; }
    // The address actually bound (a '*' port resolved), for printing.
    const std::string& bound_endpoint() const noexcept { return bound_endpoint_; }
    // Where an in-process gateway connects: no TCP on the local path.
    const std::string& inproc_endpoint() const noexcept { return inproc_endpoint_; }
    const PluginConfig& config() const noexcept { return config_; }
    const LoadedPlugin& plugin() const noexcept { return *plugin_; }

private:
    void run_broker();
    // A worker holds its own reference to the plugin it calls, so the plugin
    // is unloaded only after the last worker that can call it has returned.
    void run_worker(unsigned index, std::string routing_id, std::shared_ptr<LoadedPlugin> plugin,
                    std::size_t max_request_bytes);
    void start_workers();
    static std::string make_info_json(const std::string& name, const std::string& instance,
                                      const LoadedPlugin& plugin);

    zmq::context_t& context_;
    PluginConfig config_;
    std::shared_ptr<LoadedPlugin> plugin_;
    Logger& log_;

    std::string bound_endpoint_;
    std::string inproc_endpoint_;
    std::string backend_endpoint_;
    std::string control_endpoint_;
    std::string info_json_;  // sent with every pong: what the plugin is
    std::string instance_;   // this endpoint's identity, for its whole life

    zmq::socket_t frontend_;
    zmq::socket_t backend_;
    zmq::socket_t control_receiver_;  // owned by the broker thread once it runs
    zmq::socket_t control_sender_;    // used under control_mutex_
    std::mutex control_mutex_;

    std::thread broker_;
    std::vector<std::thread> workers_;
    unsigned generation_ = 0;  // of the current workers; in their routing ids
    bool started_ = false;
};

}  // namespace portico
