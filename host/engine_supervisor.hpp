#pragma once
// Runs one isolated plugin ("isolate": true) in a child portico process
// (--role engine) and keeps it running: a crash costs only the requests that
// child held, never the host. The supervisor is the first to know of a crash
// (it reaps the child), and says so at once (on_exit), so the gateway answers
// what the child held without waiting for it to fall silent. A child that exits is restarted after a back-off that
// doubles up to 5 s and resets once a child has run for 10 s.
#include "config.hpp"
#include "error.hpp"
#include "logger.hpp"
#include "net.hpp"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

namespace portico {

class EngineSupervisor {
public:
    EngineSupervisor(net::io_context& control, PluginConfig plugin, LogLevel level, std::string work_dir,
                     Logger& log);
    ~EngineSupervisor();
    EngineSupervisor(const EngineSupervisor&) = delete;
    EngineSupervisor& operator=(const EngineSupervisor&) = delete;

    // Called on the control thread when a child exits by itself, with the
    // address the gateway reaches it at.
    using ExitHandler = std::function<void(const std::string& plugin, const std::string& endpoint)>;
    void on_exit(ExitHandler handler) { exit_handler_ = std::move(handler); }

    // Writes the child's config and starts it; a failure to start is returned.
    Expected<bool> start();
    // Asks the child to finish (SIGTERM: it drains), waits up to `grace`,
    // then kills it. No restart afterwards.
    void stop(std::chrono::milliseconds grace);

    const PluginConfig& config() const noexcept { return plugin_; }
    // Where the gateway reaches the child: a private ipc socket.
    const std::string& private_endpoint() const noexcept { return private_endpoint_; }
    pid_t pid() const noexcept { return pid_; }

private:
    Expected<bool> spawn();
    void watch();
    void child_exited(int status);

    net::io_context& control_;
    PluginConfig plugin_;
    LogLevel level_;
    std::string work_dir_;
    std::string config_path_;
    std::string private_endpoint_;
    Logger& log_;
    net::steady_timer timer_;
    pid_t pid_ = -1;
    std::chrono::steady_clock::time_point started_at_;
    std::chrono::milliseconds backoff_{100};
    bool stopping_ = false;
    ExitHandler exit_handler_;
};

}  // namespace portico
