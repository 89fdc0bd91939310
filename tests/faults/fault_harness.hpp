#pragma once
// Runs the real `portico` executable as child processes for the fault tests:
// a config written to a temporary directory, stdout and stderr read through
// pipes into files (and memory), the announced ports parsed from the ready
// lines, signals sent by PID, and every wait bounded. A process still running
// when its PorticoProcess is destroyed is resumed (if stopped), killed and
// reaped, so no test leaves a process behind.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace portico::faults {

// A fresh directory under /tmp, removed with its content at destruction
// (kept when the environment variable PORTICO_FAULTS_KEEP is set).
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const noexcept { return path_; }
    // Writes `name` in the directory and returns its full path.
    std::string write(const std::string& name, const std::string& content) const;

private:
    std::string path_;
};

// How a child ended.
struct ExitStatus {
    bool exited = false;  // exited normally, with `code`
    int code = -1;
    int signal = 0;       // or killed by this signal
};
std::string describe(const ExitStatus& status);

// One `portico --role ROLE --config FILE` child process.
class PorticoProcess {
public:
    // Writes the config to DIR/NAME.json and starts portico; its output goes
    // to DIR/NAME.out and DIR/NAME.err. Throws std::runtime_error if it cannot.
    PorticoProcess(const TempDir& dir, std::string name, std::string role, const std::string& config_json);
    ~PorticoProcess();
    PorticoProcess(const PorticoProcess&) = delete;
    PorticoProcess& operator=(const PorticoProcess&) = delete;

    const std::string& name() const noexcept { return name_; }
    pid_t pid() const noexcept { return pid_; }

    // Waits for the "portico: ready" line and parses the announced ports;
    // false when the process ended or `timeout` passed first.
    bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // After wait_ready(): the port a plugin's endpoint bound (0: none), its
    // address, and the gateway's WebSocket port (0: none).
    std::uint16_t engine_port(const std::string& plugin = "dice") const;
    std::string engine_address(const std::string& plugin = "dice") const;
    std::uint16_t gateway_port() const noexcept { return gateway_port_; }

    // Signals by PID; nothing is sent to a process already reaped.
    void send_signal(int signal);
    void kill() { send_signal(SIGKILL); }
    void stop() { send_signal(SIGSTOP); }
    void resume() { send_signal(SIGCONT); }
    void terminate() { send_signal(SIGTERM); }

    // Waits for the process to end; nullopt when it still runs after `timeout`.
    std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);
    bool running();

    // Waits until stderr (the log) holds `text` at least `occurrences` times.
    bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout, std::size_t occurrences = 1);
    std::size_t log_count(const std::string& text) const;
    std::string out() const;
    std::string err() const;
    // Name, PID, state and the end of its output: for failure messages.
    std::string summary() const;

private:
    void read_output(int fd, std::string* sink, const std::string& file);
    bool try_reap();

    std::string name_;
    pid_t pid_ = -1;
    std::optional<ExitStatus> status_;  // set once reaped
    bool stopped_ = false;              // SIGSTOP sent and no SIGCONT since

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::string out_;
    std::string err_;
    std::atomic<bool> child_gone_{false};  // reaped: the readers stop at the next quiet moment
    std::thread out_reader_;
    std::thread err_reader_;

    std::map<std::string, std::string> engine_addresses_;  // plugin -> bound address
    std::uint16_t gateway_port_ = 0;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound, read, closed):
// for an engine the gateway must know before it starts.
std::uint16_t pick_free_port();

// Configs, as JSON text.
struct EngineSettings {
    std::string endpoint = "tcp://127.0.0.1:0";
    unsigned workers = 2;
    std::string log_level = "warn";
};
std::string engine_config(const EngineSettings& settings);

struct GatewaySettings {
    std::vector<std::string> connect;  // the engines' addresses
    bool idempotent = true;
    unsigned max_attempts = 2;
    unsigned heartbeat_ms = 100;
    unsigned dead_after_ms = 400;
    unsigned timeout_ms = 2000;
    unsigned drain_timeout_ms = 5000;
    // info: the gateway logs each engine leaving and coming back, which the
    // tests read to know when an engine rejoined.
    std::string log_level = "info";
};
std::string gateway_config(const GatewaySettings& settings);

// "tcp://127.0.0.1:PORT"
std::string tcp_address(std::uint16_t port);

}  // namespace portico::faults
