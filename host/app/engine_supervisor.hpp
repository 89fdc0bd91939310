#pragma once
// Runs one isolated plugin ("isolate": true) in a child portico process
// (--role engine) and keeps it running: a crash costs only the requests that
// child held, never the host. The supervisor is the first to know of a crash:
// it waits on the child's pidfd, reaps it the moment it exits and says so at
// once (on_exit), so the gateway answers what the child held without waiting
// for it to fall silent. A child that exits is restarted after a back-off
// that doubles up to 5 s and resets once a child has run for 10 s.
//
// Every step runs on the control thread (its io_context): start, the exit
// watch, restarts and async_stop. Destroy it only once async_stop() is done
// and its cancelled handlers have run (post the destruction), or from the
// control thread after stop_now().
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

namespace portico {

class EngineSupervisor {
public:
    EngineSupervisor(net::io_context& control, PluginConfig plugin, LogLevel level, std::string work_dir,
                     Logger& log, std::optional<CurveConfig> curve = std::nullopt);
    ~EngineSupervisor();
    EngineSupervisor(const EngineSupervisor&) = delete;
    EngineSupervisor& operator=(const EngineSupervisor&) = delete;

    // Where the gateway of a host with `work_dir` reaches the isolated engine
    // of `plugin`: a private ipc socket.
    static std::string private_endpoint_for(const std::string& work_dir, const std::string& plugin);

    // Called on the control thread when a child exits by itself, with the
    // address the gateway reaches it at, its pid and its wait status.
    using ExitHandler =
        std::function<void(const std::string& plugin, const std::string& endpoint, pid_t pid, int status)>;
    void on_exit(ExitHandler handler) { exit_handler_ = std::move(handler); }
    // Called on the control thread each time a child starts (restarts too).
    using SpawnHandler = std::function<void(const std::string& plugin, pid_t pid)>;
    void on_spawn(SpawnHandler handler) { spawn_handler_ = std::move(handler); }

    // Writes the child's config and starts it; a failure to start is returned.
    Expected<bool> start();
    // Asks the child to finish (SIGTERM: it drains), kills it after `grace`,
    // reaps it, then posts `done`. No restart afterwards.
    void async_stop(std::chrono::milliseconds grace, std::function<void()> done);
    // The same, blocking the calling thread (shutdown, destruction).
    void stop_now(std::chrono::milliseconds grace);

    const PluginConfig& config() const noexcept { return plugin_; }
    const std::string& private_endpoint() const noexcept { return private_endpoint_; }
    pid_t pid() const noexcept { return pid_; }
    bool stopping() const noexcept { return stopping_; }

private:
    Expected<bool> spawn();
    void watch();
    // The child is gone: reaped, its pidfd closed.
    int reap();
    void child_exited(pid_t pid, int status);
    void finish_stop();

    net::io_context& control_;
    PluginConfig plugin_;
    LogLevel level_;
    std::optional<CurveConfig> curve_;  // written into the child's config
    std::string work_dir_;
    std::string config_path_;
    std::string private_endpoint_;
    Logger& log_;
    net::steady_timer timer_;                 // restart back-off, or the stop's grace
    net::posix::stream_descriptor exit_watch_;  // the child's pidfd: readable once it exits
    pid_t pid_ = -1;
    std::chrono::steady_clock::time_point started_at_;
    std::chrono::milliseconds backoff_{100};
    bool stopping_ = false;
    ExitHandler exit_handler_;
    SpawnHandler spawn_handler_;
    std::function<void()> stop_done_;
};

}  // namespace portico
