#include "subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace portico::test {
namespace {

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace

Subprocess::Subprocess(std::vector<std::string> argv) {
    if (argv.empty()) throw std::invalid_argument("Subprocess: empty argv");
    // Everything the child needs is prepared before fork: after it, in a
    // threaded process, the child may only make async-signal-safe calls.
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw std::system_error(errno, std::generic_category(), "pipe2");
    }
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    sigset_t all_signals;
    sigemptyset(&all_signals);

    pid_ = ::fork();
    if (pid_ == 0) {
        // The test runner may have blocked or redirected signals; the child
        // starts with none blocked (exec resets handlers, not the mask).
        ::sigprocmask(SIG_SETMASK, &all_signals, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        if (null_fd >= 0) ::dup2(null_fd, 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    const int fork_errno = errno;
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (null_fd >= 0) ::close(null_fd);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    if (pid_ < 0) {
        close_fd(out_fd_);
        close_fd(err_fd_);
        throw std::system_error(fork_errno, std::generic_category(), "fork");
    }
}

Subprocess::~Subprocess() {
    if (!try_reap()) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    close_fd(out_fd_);
    close_fd(err_fd_);
}

void Subprocess::send_signal(int signal) {
    if (!try_reap()) ::kill(pid_, signal);
}

bool Subprocess::try_reap() {
    if (reaped_) return true;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r != pid_) return false;
    reaped_ = true;
    if (WIFEXITED(status)) {
        status_.exited = true;
        status_.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        status_.signal = WTERMSIG(status);
    }
    return true;
}

bool Subprocess::pump(std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (out_fd_ < 0 && err_fd_ < 0) return false;
    const int n = ::poll(fds, 2, static_cast<int>(timeout.count()));
    if (n <= 0) return true;
    std::string* sinks[2] = {&out_, &err_};
    int* fd_of[2] = {&out_fd_, &err_fd_};
    for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        char chunk[4096];
        const ssize_t got = ::read(fds[i].fd, chunk, sizeof chunk);
        if (got > 0) sinks[i]->append(chunk, static_cast<std::size_t>(got));
        else if (got == 0 || errno != EINTR) close_fd(*fd_of[i]);  // EOF or error
    }
    return out_fd_ >= 0 || err_fd_ >= 0;
}

bool Subprocess::wait_for_stdout(std::string_view text, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_.find(text) == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        if (!pump(std::min(left, std::chrono::milliseconds(50))) && out_.find(text) == std::string::npos) return false;
    }
    return true;
}

ExitStatus Subprocess::wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!try_reap()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
            reaped_ = true;
            status_ = ExitStatus{};
            status_.signal = SIGKILL;
            status_.timed_out = true;
            break;
        }
        if (!pump(std::chrono::milliseconds(20))) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // The child is gone; what it wrote is still in the pipes (bounded, in
    // case something it started still holds them open).
    const auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (pump(std::chrono::milliseconds(50)) && std::chrono::steady_clock::now() < drain_deadline) {
    }
    return status_;
}

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "portico-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, std::string_view content) const {
    const std::string file = path_ + "/" + name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + file);
    return file;
}

}  // namespace portico::test
