#include "portico_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace portico::reload_tests {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
    return n;
}

std::string tail(const std::string& text, std::size_t max_bytes) {
    return text.size() <= max_bytes ? text : "..." + text.substr(text.size() - max_bytes);
}

// The whole line holding the last occurrence of `needle` ("" if none).
std::string last_line_with(const std::string& text, const std::string& needle) {
    const auto pos = text.rfind(needle);
    if (pos == std::string::npos) return {};
    const auto begin = text.rfind('\n', pos);
    const auto end = text.find('\n', pos);
    const auto from = begin == std::string::npos ? 0 : begin + 1;
    return text.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

// Every number that follows `prefix` in `text` (and is followed by `suffix`).
std::vector<pid_t> numbers_after(const std::string& text, const std::string& prefix, const std::string& suffix) {
    std::vector<pid_t> found;
    for (auto pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos + 1)) {
        const char* start = text.c_str() + pos + prefix.size();
        char* end = nullptr;
        const long value = std::strtol(start, &end, 10);
        if (end == start || value <= 0) continue;
        if (text.compare(static_cast<std::size_t>(end - text.c_str()), suffix.size(), suffix) != 0) continue;
        found.push_back(static_cast<pid_t>(value));
    }
    return found;
}

// The parent of `pid` according to /proc (-1 if it is gone).
pid_t parent_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return -1;
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t parent = -1;
    rest >> state >> parent;
    return parent;
}

}  // namespace

// ---- ScratchDir ----

ScratchDir::ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "portico-reload-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp");
    path_ = pattern;
}

ScratchDir::~ScratchDir() {
    if (std::getenv("PORTICO_RELOAD_KEEP") != nullptr) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

void ScratchDir::write(const std::string& name, const std::string& content) const {
    const std::string temporary = file(name + ".writing");
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << content;
        out.close();
        if (!out) throw std::runtime_error("cannot write " + temporary);
    }
    fs::rename(temporary, file(name));
}

void ScratchDir::install(const std::string& source, const std::string& name) const {
    const std::string temporary = file(name + ".copying");
    fs::copy_file(source, temporary, fs::copy_options::overwrite_existing);
    fs::rename(temporary, file(name));
}

std::string describe(const ExitStatus& status) {
    if (status.exited) return "exited with code " + std::to_string(status.code);
    return "killed by signal " + std::to_string(status.signal) + " (" + strsignal(status.signal) + ")";
}

// ---- PorticoProcess ----

PorticoProcess::PorticoProcess(const std::string& executable, const std::string& config_path) {
    // Isolated engines are the host's children; should the host die first,
    // they become ours, so that the destructor can reap them.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);

    int out_pipe[2];
    int log_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw_errno("pipe2");
    if (::pipe2(log_pipe, O_CLOEXEC) != 0) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw_errno("pipe2");
    }
    // Everything the child needs is prepared before fork(): after it, only
    // async-signal-safe calls.
    std::vector<std::string> args = {executable, "--config", config_path};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int saved = errno;
        for (int fd : {out_pipe[0], out_pipe[1], log_pipe[0], log_pipe[1]}) ::close(fd);
        errno = saved;
        throw_errno("fork");
    }
    if (pid == 0) {
        // Dies with the test, whatever happens to the test.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(126);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        const int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
        ::dup2(out_pipe[1], STDOUT_FILENO);
        ::dup2(log_pipe[1], STDERR_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    pid_ = pid;
    ::close(out_pipe[1]);
    ::close(log_pipe[1]);
    out_reader_ = std::thread([this, fd = out_pipe[0]] { read_pipe(fd, &out_); });
    log_reader_ = std::thread([this, fd = log_pipe[0]] { read_pipe(fd, &log_); });
}

PorticoProcess::~PorticoProcess() {
    if (running()) {
        // A clean stop first, so that the host stops its own children; unless
        // a test asked for one already and is here because it did not come.
        if (!terminate_sent_) send_signal(SIGTERM);
        if (!wait_exit(terminate_sent_ ? std::chrono::seconds(0) : std::chrono::seconds(10))) {
            send_signal(SIGKILL);
            wait_exit(std::chrono::seconds(10));
        }
    }
    reap_orphans();
    if (status_ && !status_->exited) {
        // Killed, it could not remove its private work directory (see
        // Host::start): an orphan now, so remove it for it.
        std::error_code ignored;
        fs::remove_all(fs::temp_directory_path() / ("portico-" + std::to_string(pid_)), ignored);
    }
    {
        // The pipes end when every writer is gone; an orphan that escaped us
        // could keep one open, so the readers stop after a bound anyway.
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait_for(lock, std::chrono::seconds(2), [this] { return open_pipes_ == 0; });
        stop_reading_ = true;
    }
    if (out_reader_.joinable()) out_reader_.join();
    if (log_reader_.joinable()) log_reader_.join();
}

void PorticoProcess::reap_orphans() {
    // Only processes that are now our children: a PID seen long ago may since
    // belong to something else.
    for (const pid_t orphan : isolated_pids()) {
        if (parent_of(orphan) != ::getpid()) continue;
        ::kill(orphan, SIGKILL);
        int status = 0;
        ::waitpid(orphan, &status, 0);
    }
}

void PorticoProcess::read_pipe(int fd, std::string* sink) {
    char buffer[4096];
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stop_reading_) break;
        }
        pollfd item{fd, POLLIN, 0};
        const int ready = ::poll(&item, 1, 100);
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            sink->append(buffer, static_cast<std::size_t>(n));
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

bool PorticoProcess::wait_ready(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (count("portico: ready", false) > 0) return true;
        if (!running()) return false;
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait_for(lock, std::chrono::milliseconds(20));
    }
    return count("portico: ready", false) > 0;
}

std::uint16_t PorticoProcess::gateway_port() const {
    const std::string line = last_line_with(out(), "portico: gateway listening on ws://");
    if (line.empty()) return 0;
    const auto host = line.find("ws://") + 5;
    const auto path = line.find('/', host);
    const auto colon = line.rfind(':', path);
    if (path == std::string::npos || colon == std::string::npos || colon < host) return 0;
    return static_cast<std::uint16_t>(std::strtoul(line.c_str() + colon + 1, nullptr, 10));
}

std::vector<pid_t> PorticoProcess::isolated_pids() const {
    std::vector<pid_t> pids = numbers_after(out(), "isolated in process ", ",");
    for (pid_t pid : numbers_after(log(), "isolated engine process ", " started"))
        if (std::find(pids.begin(), pids.end(), pid) == pids.end()) pids.push_back(pid);
    return pids;
}

bool PorticoProcess::wait_for(const std::string& text, std::size_t n, bool in_log,
                              std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return occurrences(in_log ? log_ : out_, text) >= n; });
}

bool PorticoProcess::wait_log_until(const std::function<bool(const std::string&)>& done,
                                    std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done(log_); });
}

std::size_t PorticoProcess::count(const std::string& text, bool in_log) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return occurrences(in_log ? log_ : out_, text);
}

std::string PorticoProcess::out() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return out_;
}

std::string PorticoProcess::log() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return log_;
}

std::string PorticoProcess::summary() const {
    std::string state = status_ ? describe(*status_) : std::string("running");
    return "portico pid " + std::to_string(pid_) + " (" + state + ")\n--- stdout:\n" + tail(out(), 3000) +
           "\n--- stderr:\n" + tail(log(), 6000);
}

void PorticoProcess::send_signal(int signal) {
    if (pid_ <= 0 || status_) return;
    if (signal == SIGTERM) terminate_sent_ = true;
    ::kill(pid_, signal);
}

bool PorticoProcess::try_reap() {
    if (status_) return true;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r != pid_) return false;
    ExitStatus exit;
    exit.exited = WIFEXITED(status);
    exit.code = exit.exited ? WEXITSTATUS(status) : -1;
    exit.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    status_ = exit;
    changed_.notify_all();
    return true;
}

bool PorticoProcess::running() { return !try_reap(); }

std::optional<ExitStatus> PorticoProcess::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!try_reap()) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
}

// ---- reload ----

ReloadOutcome reload(PorticoProcess& host, std::chrono::milliseconds timeout) {
    // The host logs "reload: SUMMARY" at level info, or "reload refused, ...".
    const std::string done = " info reload: ";
    const std::string refused = "reload refused, nothing changed: ";
    const std::size_t done_before = host.count(done, true);
    const std::size_t refused_before = host.count(refused, true);
    host.send_signal(SIGHUP);
    ReloadOutcome outcome;
    outcome.finished = host.wait_log_until(
        [&](const std::string& log) {
            return occurrences(log, done) > done_before || occurrences(log, refused) > refused_before;
        },
        timeout);
    if (!outcome.finished) return outcome;
    const std::string log = host.log();
    outcome.refused = occurrences(log, refused) > refused_before;
    outcome.line = last_line_with(log, outcome.refused ? refused : done);
    return outcome;
}

}  // namespace portico::reload_tests
