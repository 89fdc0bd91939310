#pragma once
// The real `portico` executable as a child process, for the reload tests: a
// scratch directory holding its config and its plugin files, its stdout (the
// announcements) and stderr (the log) captured in memory, signals sent by PID,
// and a bound on every wait. Whatever a test does, the destructor leaves no
// process behind: the host is asked to stop (SIGTERM), then killed, and
// reaped; the isolated engine processes it announced are killed and reaped
// too if they outlived it (this process is their subreaper).
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace portico::reload_tests {

// A fresh directory under the system temp dir, removed with its content.
// PORTICO_RELOAD_KEEP=1 in the environment keeps it, for a post-mortem.
class ScratchDir {
public:
    ScratchDir();
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const std::string& path() const noexcept { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    // Writes the file whole: a temporary file renamed over `name`, so a reader
    // sees the old content or the new one, never a part.
    void write(const std::string& name, const std::string& content) const;
    // Puts a copy of `source` at `name` as a new file (new inode): copied to
    // a temporary name, then renamed over `name`, as `cp` + `mv` would.
    void install(const std::string& source, const std::string& name) const;

private:
    std::string path_;
};

struct ExitStatus {
    bool exited = false;  // exited normally with `code`
    int code = -1;
    int signal = 0;  // or was killed by `signal`
};
std::string describe(const ExitStatus& status);

// One `portico --config FILE` process.
class PorticoProcess {
public:
    // Starts `executable --config config_path`. Throws std::runtime_error if
    // it cannot start.
    PorticoProcess(const std::string& executable, const std::string& config_path);
    ~PorticoProcess();
    PorticoProcess(const PorticoProcess&) = delete;
    PorticoProcess& operator=(const PorticoProcess&) = delete;

    pid_t pid() const noexcept { return pid_; }

    // Waits for "portico: ready"; false if the process ended or time ran out.
    bool wait_ready(std::chrono::milliseconds timeout);
    // After wait_ready(): the gateway's port, from its announcement (0: none).
    std::uint16_t gateway_port() const;
    // The PIDs of isolated engine processes, in the order they were announced
    // (stdout) or logged as started (stderr, restarts included).
    std::vector<pid_t> isolated_pids() const;

    // Waits until stdout (`in_log` false) or stderr (`in_log` true) holds
    // `text` at least `occurrences` times.
    bool wait_for(const std::string& text, std::size_t occurrences, bool in_log, std::chrono::milliseconds timeout);
    // Waits until `done(log)` holds for the log (stderr) so far.
    bool wait_log_until(const std::function<bool(const std::string& log)>& done, std::chrono::milliseconds timeout);
    std::size_t count(const std::string& text, bool in_log) const;
    std::string out() const;
    std::string log() const;
    // PID, state and the end of stdout and stderr: for failure messages.
    std::string summary() const;

    // Sends a signal by PID; nothing once the process has been reaped.
    void send_signal(int signal);
    // True while the process has not been reaped (reaping it if it ended).
    bool running();
    // Waits for the process to end and reaps it; nullopt if it still runs.
    std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);

private:
    void read_pipe(int fd, std::string* sink);
    bool try_reap();
    void reap_orphans();

    pid_t pid_ = -1;
    std::optional<ExitStatus> status_;
    bool terminate_sent_ = false;  // a test already asked it to stop

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::string out_;
    std::string log_;
    bool stop_reading_ = false;
    int open_pipes_ = 2;  // readers still reading
    std::thread out_reader_;
    std::thread log_reader_;
};

// The outcome of one SIGHUP: the host's log line that ends the reload.
struct ReloadOutcome {
    bool finished = false;  // false: neither line came in time
    bool refused = false;   // "reload refused, nothing changed: ..."
    std::string line;       // the whole log line, for the test to check
};
// Sends SIGHUP and waits for the reload it starts to succeed or be refused.
ReloadOutcome reload(PorticoProcess& host, std::chrono::milliseconds timeout);

}  // namespace portico::reload_tests
