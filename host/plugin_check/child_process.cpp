#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

namespace portico::plugin_check {
namespace {

constexpr std::size_t output_kept = 16 * 1024;

Error start_error(const std::string& what) {
    return Error{"child_failed", "cannot start the engine process: " + what + ": " + std::strerror(errno)};
}

std::string_view signal_name(int signal) {
    switch (signal) {
        case SIGSEGV: return "SIGSEGV";
        case SIGABRT: return "SIGABRT";
        case SIGBUS: return "SIGBUS";
        case SIGFPE: return "SIGFPE";
        case SIGILL: return "SIGILL";
        case SIGKILL: return "SIGKILL";
        case SIGTERM: return "SIGTERM";
        case SIGTRAP: return "SIGTRAP";
        case SIGSYS: return "SIGSYS";
        case SIGPIPE: return "SIGPIPE";
        default: return "";
    }
}

// Puts `fd` on `target` without close-on-exec; `fd` itself keeps it.
void place(int fd, int target) {
    if (fd < 0) return;
    if (fd == target) ::fcntl(fd, F_SETFD, 0);
    else ::dup2(fd, target);
}

}  // namespace

std::string describe_wait_status(int status) {
    if (WIFSIGNALED(status)) {
        const int signal = WTERMSIG(status);
        const std::string_view name = signal_name(signal);
        return "was killed by signal " + std::to_string(signal) + (name.empty() ? "" : " (" + std::string(name) + ")");
    }
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    return "ended (wait status " + std::to_string(status) + ")";
}

Expected<std::unique_ptr<ChildProcess>> ChildProcess::start(const std::vector<std::string>& args, int recorder_fd,
                                                            int inputs_fd) {
    // Everything the child needs is made before fork: after it, only
    // async-signal-safe calls.
    // The file itself rather than /proc/self/exe, so the engine process is
    // named like the checker (in ps, and in its threads' names).
    std::error_code ec;
    const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    std::vector<std::string> argv_storage = {ec || self.empty() ? std::string("/proc/self/exe") : self};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);

    int journal_pipe[2];
    int output_pipe[2];
    if (::pipe2(journal_pipe, O_CLOEXEC) != 0) return start_error("pipe2");
    UniqueFd journal_read(journal_pipe[0]);
    UniqueFd journal_write(journal_pipe[1]);
    if (::pipe2(output_pipe, O_CLOEXEC) != 0) return start_error("pipe2");
    UniqueFd output_read(output_pipe[0]);
    UniqueFd output_write(output_pipe[1]);
    UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    // Moved above the targets first, so that placing one cannot overwrite another.
    UniqueFd high_journal(::fcntl(journal_write.get(), F_DUPFD_CLOEXEC, 10));
    UniqueFd high_recorder(::fcntl(recorder_fd, F_DUPFD_CLOEXEC, 10));
    UniqueFd high_inputs(inputs_fd >= 0 ? ::fcntl(inputs_fd, F_DUPFD_CLOEXEC, 10) : -1);
    if (!high_journal.valid() || !high_recorder.valid() || (inputs_fd >= 0 && !high_inputs.valid()))
        return start_error("fcntl");
    const pid_t parent = ::getpid();
    sigset_t no_signals;
    sigemptyset(&no_signals);

    const pid_t pid = ::fork();
    if (pid < 0) return start_error("fork");
    if (pid == 0) {
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);  // the checker died before prctl
        ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        if (null_fd.valid()) ::dup2(null_fd.get(), 0);
        ::dup2(output_write.get(), 1);
        ::dup2(output_write.get(), 2);
        place(high_journal.get(), child_journal_fd);
        place(high_recorder.get(), child_recorder_fd);
        if (high_inputs.valid()) place(high_inputs.get(), child_inputs_fd);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here: whichever runs first, the group exists before we signal it
    std::unique_ptr<ChildProcess> child(new ChildProcess());
    child->pid_ = pid;
    child->journal_fd_ = std::move(journal_read);
    child->output_fd_ = std::move(output_read);
    ::fcntl(child->journal_fd_.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(child->output_fd_.get(), F_SETFL, O_NONBLOCK);
    return Expected<std::unique_ptr<ChildProcess>>(std::move(child));
}

ChildProcess::~ChildProcess() {
    if (!reaped_) kill_and_reap(std::chrono::seconds(5));
}

bool ChildProcess::read_into(UniqueFd& fd, bool journal) {
    char buffer[65536];
    while (fd.valid()) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n > 0) {
            if (journal) {
                journal_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
            } else {
                output_bytes_ += static_cast<std::uint64_t>(n);
                output_.append(buffer, static_cast<std::size_t>(n));
                if (output_.size() > 2 * output_kept) output_.erase(0, output_.size() - output_kept);
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        fd.reset();  // end of file, or an error: nothing more will come
    }
    return false;
}

void ChildProcess::pump(std::chrono::milliseconds timeout) {
    pollfd fds[2];
    nfds_t count = 0;
    if (journal_fd_.valid()) fds[count++] = {journal_fd_.get(), POLLIN, 0};
    if (output_fd_.valid()) fds[count++] = {output_fd_.get(), POLLIN, 0};
    if (count == 0) {
        std::this_thread::sleep_for(timeout);
        return;
    }
    if (::poll(fds, count, static_cast<int>(timeout.count())) <= 0) return;
    read_into(journal_fd_, true);
    read_into(output_fd_, false);
}

void ChildProcess::drain(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    // A grandchild holding the pipes open must not keep us here.
    while ((journal_fd_.valid() || output_fd_.valid()) && std::chrono::steady_clock::now() < until)
        pump(std::chrono::milliseconds(20));
}

std::optional<int> ChildProcess::poll_exit() {
    if (reaped_) return status_;
    // Look without reaping first: while the ended leader is a zombie, its
    // group id cannot be reused, so killing the group hits only what the
    // plugin left in it.
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != pid_)
        return std::nullopt;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    status_ = status;
    return status_;
}

std::optional<int> ChildProcess::kill_and_reap(std::chrono::milliseconds timeout) {
    if (reaped_) return status_;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (auto status = poll_exit()) return status;
        if (std::chrono::steady_clock::now() >= until) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace portico::plugin_check
