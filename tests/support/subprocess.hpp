#pragma once
// A program run as a child process of the test, with a bound on every wait.
// Its stdout and stderr are read as they come by two threads of ours (so a
// chatty child never blocks on a full pipe), kept in memory and, if asked,
// copied to files. Whatever a test does, the child does not outlive it: one
// still running at destruction is resumed (if stopped), killed and reaped,
// and it dies with the test process should that die first. Signals go to
// the child's PID only, never to a process the test did not start.
//
// One thread owns a Subprocess (the test's): the reader threads only append
// to the output, under a mutex. TempDir comes with this header: a program a
// test runs mostly wants a scratch directory beside it.
#include "support/temp_dir.hpp"

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {

using namespace std::chrono_literals;

// How a child ended.
struct ExitStatus {
    bool exited = false;     // exited normally, with `code`
    int code = -1;
    int signal = 0;          // or was killed by this signal
    bool timed_out = false;  // wait() gave up on it and killed it
};
std::string describe(const ExitStatus& status);

class Subprocess {
public:
    // Starts argv[0] (a path) with the arguments, stdin /dev/null. With
    // `copy_output_to` ("DIR/NAME"), stdout and stderr are also written to
    // DIR/NAME.out and DIR/NAME.err. Throws std::system_error if it cannot start.
    explicit Subprocess(std::vector<std::string> argv, std::string copy_output_to = {});
    ~Subprocess();
    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;

    pid_t pid() const noexcept { return pid_; }
    // How it ended, once it has been reaped (by running(), a wait, or a signal sent).
    const std::optional<ExitStatus>& status() const noexcept { return status_; }

    // Sends a signal by PID; nothing once the child has been reaped.
    void send_signal(int signal);
    void kill();
    void stop();       // SIGSTOP, and returns once every thread of it has stopped
    void resume();     // SIGCONT
    void terminate();  // SIGTERM
    // True while the child has not ended (reaping it if it has).
    bool running();
    // Waits for the child to end; nullopt if it still runs after `timeout`.
    // Once it has ended, what it wrote has been read: the output ends when
    // the child and whatever it started that shares its stdout and stderr
    // are gone (2 s at most after the child).
    std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);
    // wait_exit(), but a child still running after `timeout` is killed (timed_out).
    ExitStatus wait(std::chrono::milliseconds timeout);

    // Waits until `done(stdout, stderr)` holds for the output so far; false
    // when `timeout` passed or the child ended (and its output was read) first.
    bool wait_until(const std::function<bool(const std::string& out, const std::string& err)>& done,
                    std::chrono::milliseconds timeout);
    // Waits until stdout (stderr) holds `text` at least `occurrences` times.
    bool wait_for_out(const std::string& text, std::chrono::milliseconds timeout, std::size_t occurrences = 1);
    bool wait_for_err(const std::string& text, std::chrono::milliseconds timeout, std::size_t occurrences = 1);
    std::size_t count_in_out(const std::string& text) const;
    std::size_t count_in_err(const std::string& text) const;
    std::string out() const;
    std::string err() const;

    // The program, PID, state and the end of both outputs: for failure messages.
    std::string summary() const;

private:
    void read_pipe(int fd, std::string* sink, const std::string& copy);
    bool try_reap();
    // After the child has ended: waits (bounded) for the readers to reach the end.
    void drain();

    std::string program_;
    pid_t pid_ = -1;
    std::optional<ExitStatus> status_;  // set once reaped
    bool stopped_ = false;              // SIGSTOP sent and no SIGCONT since

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::string out_;
    std::string err_;
    bool child_gone_ = false;  // reaped: a reader stops at its pipe's next quiet moment
    int open_pipes_ = 2;       // readers still reading
    std::thread out_reader_;
    std::thread err_reader_;
};

// How often `needle` occurs in `text` (not overlapping).
std::size_t occurrences(const std::string& text, const std::string& needle);

}  // namespace portico::test
