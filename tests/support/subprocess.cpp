#include "support/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace portico::test {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throw_errno(int error, const std::string& what) {
    throw std::system_error(error, std::generic_category(), what);
}

std::string tail(const std::string& text, std::size_t max_bytes) {
    return text.size() <= max_bytes ? text : "..." + text.substr(text.size() - max_bytes);
}

ExitStatus status_from(int status) {
    ExitStatus exit;
    exit.exited = WIFEXITED(status);
    exit.code = exit.exited ? WEXITSTATUS(status) : -1;
    exit.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return exit;
}

}  // namespace

std::size_t occurrences(const std::string& text, const std::string& needle) {
    if (needle.empty()) return 0;
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
    return n;
}

std::string describe(const ExitStatus& status) {
    std::string text = status.exited ? "exited with code " + std::to_string(status.code)
                                     : "killed by signal " + std::to_string(status.signal) + " (" +
                                           strsignal(status.signal) + ")";
    return status.timed_out ? text + " after it timed out" : text;
}

Subprocess::Subprocess(std::vector<std::string> argv, std::string copy_output_to) {
    if (argv.empty()) throw std::invalid_argument("Subprocess: empty argv");
    program_ = argv.front();
    // Everything the child needs is prepared before fork(): in a threaded
    // process the child may only make async-signal-safe calls until exec.
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        const int error = errno;
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw_errno(error, "pipe2");
    }
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();
    sigset_t no_signals;
    sigemptyset(&no_signals);

    pid_ = ::fork();
    if (pid_ == 0) {
        // Dies with the test, whatever happens to the test (a ctest timeout).
        // The signal comes when the thread that forked ends: tests start
        // children from their own thread.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(126);
        // exec resets handlers, not the mask nor ignored signals.
        ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
        ::dup2(out_pipe[1], STDOUT_FILENO);
        ::dup2(err_pipe[1], STDERR_FILENO);
        // Asio opens sockets without CLOEXEC: a client connection of the test
        // inherited by the child would outlive the test's close of it.
        if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
            for (int fd = 3; fd < 1024; ++fd) ::close(fd);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    const int fork_errno = errno;
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (null_fd >= 0) ::close(null_fd);
    if (pid_ < 0) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        throw_errno(fork_errno, "fork");
    }
    const std::string out_copy = copy_output_to.empty() ? std::string() : copy_output_to + ".out";
    const std::string err_copy = copy_output_to.empty() ? std::string() : copy_output_to + ".err";
    out_reader_ = std::thread([this, fd = out_pipe[0], out_copy] { read_pipe(fd, &out_, out_copy); });
    err_reader_ = std::thread([this, fd = err_pipe[0], err_copy] { read_pipe(fd, &err_, err_copy); });
}

Subprocess::~Subprocess() {
    if (!try_reap()) {
        if (stopped_) ::kill(pid_, SIGCONT);
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        status_ = status_from(status);
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        child_gone_ = true;
    }
    if (out_reader_.joinable()) out_reader_.join();
    if (err_reader_.joinable()) err_reader_.join();
}

void Subprocess::read_pipe(int fd, std::string* sink, const std::string& copy) {
    std::ofstream file;
    if (!copy.empty()) file.open(copy, std::ios::binary | std::ios::trunc);
    std::optional<Clock::time_point> gone_since;
    char chunk[4096];
    for (;;) {
        // The pipe ends once every writer is gone: the child, and whatever
        // it started that inherited the pipe (so a wait for the child also
        // waits, bounded, for those). One that something keeps open holds
        // us for 2 s at most once the child is reaped.
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (child_gone_ && !gone_since) gone_since = Clock::now();
        }
        if (gone_since && Clock::now() - *gone_since > 2s) break;
        pollfd item{fd, POLLIN, 0};
        const int ready = ::poll(&item, 1, 100);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) break;
        if (ready == 0) continue;
        const ssize_t got = ::read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;  // the end, or an error
        if (file.is_open()) file.write(chunk, got).flush();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            sink->append(chunk, static_cast<std::size_t>(got));
        }
        changed_.notify_all();
    }
    ::close(fd);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        --open_pipes_;
    }
    changed_.notify_all();
}

bool Subprocess::try_reap() {
    if (status_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    status_ = status_from(status);
    drain();
    return true;
}

void Subprocess::drain() {
    std::unique_lock<std::mutex> lock(mutex_);
    child_gone_ = true;
    changed_.notify_all();
    changed_.wait_for(lock, 3s, [this] { return open_pipes_ == 0; });
}

void Subprocess::send_signal(int signal) {
    if (try_reap()) return;
    if (signal == SIGSTOP) stopped_ = true;
    if (signal == SIGCONT) stopped_ = false;
    ::kill(pid_, signal);
}

void Subprocess::kill() { send_signal(SIGKILL); }
void Subprocess::stop() {
    send_signal(SIGSTOP);
    if (status_) return;  // it had ended already
    // kill() returns once the signal is queued, not once the process has
    // stopped: one thread takes the signal and only then stops the others,
    // which on a busy machine may run on (answering requests) for a while.
    // The parent hears of the group stop through waitpid(WUNTRACED).
    const auto deadline = Clock::now() + 5s;
    for (;;) {
        int status = 0;
        const pid_t got = ::waitpid(pid_, &status, WUNTRACED | WNOHANG);
        if (got == pid_ && WIFSTOPPED(status)) return;
        if (got == pid_) {  // it ended instead
            status_ = status_from(status);
            drain();
            return;
        }
        if (got < 0 && errno != EINTR) return;
        if (Clock::now() >= deadline) throw std::runtime_error("Subprocess: SIGSTOP did not stop " + program_);
        std::this_thread::sleep_for(1ms);
    }
}
void Subprocess::resume() { send_signal(SIGCONT); }
void Subprocess::terminate() { send_signal(SIGTERM); }

bool Subprocess::running() { return !try_reap(); }

std::optional<ExitStatus> Subprocess::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!try_reap()) {
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(5ms);
    }
    return status_;
}

ExitStatus Subprocess::wait(std::chrono::milliseconds timeout) {
    if (auto status = wait_exit(timeout)) return *status;
    if (stopped_) ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = status_from(status);
    status_->timed_out = true;
    drain();
    return *status_;
}

bool Subprocess::wait_until(const std::function<bool(const std::string&, const std::string&)>& done,
                            std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        // Reaped first, so that once it is, the output below is all there is.
        const bool ended = !running();
        std::unique_lock<std::mutex> lock(mutex_);
        if (done(out_, err_)) return true;
        if (ended || Clock::now() >= deadline) return false;
        changed_.wait_until(lock, std::min(deadline, Clock::now() + 20ms));
    }
}

bool Subprocess::wait_for_out(const std::string& text, std::chrono::milliseconds timeout, std::size_t n) {
    return wait_until([&](const std::string& out, const std::string&) { return occurrences(out, text) >= n; },
                      timeout);
}

bool Subprocess::wait_for_err(const std::string& text, std::chrono::milliseconds timeout, std::size_t n) {
    return wait_until([&](const std::string&, const std::string& err) { return occurrences(err, text) >= n; },
                      timeout);
}

std::size_t Subprocess::count_in_out(const std::string& text) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return occurrences(out_, text);
}

std::size_t Subprocess::count_in_err(const std::string& text) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return occurrences(err_, text);
}

std::string Subprocess::out() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return out_;
}

std::string Subprocess::err() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return err_;
}

std::string Subprocess::summary() const {
    const std::string state = status_ ? describe(*status_) : stopped_ ? std::string("stopped") : std::string("running");
    std::lock_guard<std::mutex> lock(mutex_);
    return program_ + " (pid " + std::to_string(pid_) + ", " + state + ")\n--- stdout:\n" + tail(out_, 3000) +
           "\n--- stderr:\n" + tail(err_, 6000);
}

}  // namespace portico::test
