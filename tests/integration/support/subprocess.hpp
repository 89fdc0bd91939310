#pragma once
// Runs a program as a child process with its stdout and stderr captured, and
// never waits without a bound: a child that outlives its time is killed
// (SIGKILL) and reaped, and so is any child still running at destruction.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace portico::test {

using namespace std::chrono_literals;

struct ExitStatus {
    bool exited = false;    // exited normally, with `code`
    int code = -1;
    int signal = 0;         // killed by this signal
    bool timed_out = false; // did not end in time: we killed it
};

class Subprocess {
public:
    // Starts argv[0] (a path) with the arguments; stdin is /dev/null.
    explicit Subprocess(std::vector<std::string> argv);
    ~Subprocess();
    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;

    pid_t pid() const noexcept { return pid_; }
    void send_signal(int signal);

    // Reads output until stdout contains `text`; false when the child ended
    // or `timeout` passed first.
    bool wait_for_stdout(std::string_view text, std::chrono::milliseconds timeout);
    // Waits for the child to end, reading all its output; kills it after `timeout`.
    ExitStatus wait(std::chrono::milliseconds timeout);

    const std::string& out() const noexcept { return out_; }
    const std::string& err() const noexcept { return err_; }

private:
    // Reads whatever is available within `timeout`; false when both pipes are closed.
    bool pump(std::chrono::milliseconds timeout);
    bool try_reap();

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string out_;
    std::string err_;
    bool reaped_ = false;
    ExitStatus status_;
};

// A fresh directory under /tmp, removed with everything in it at destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const noexcept { return path_; }
    // Writes `name` in the directory and returns its full path.
    std::string write(const std::string& name, std::string_view content) const;

private:
    std::string path_;
};

}  // namespace portico::test
