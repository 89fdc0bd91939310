#include "fault_harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace portico::faults {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::string tail(const std::string& text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    return "..." + text.substr(text.size() - max_bytes);
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
    return n;
}

std::uint16_t port_of(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return 0;
    return static_cast<std::uint16_t>(std::strtoul(address.c_str() + colon + 1, nullptr, 10));
}

}  // namespace

// ---- TempDir ----

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "portico-faults-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp");
    path_ = pattern;
}

TempDir::~TempDir() {
    if (std::getenv("PORTICO_FAULTS_KEEP") != nullptr) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
    const std::string file = path_ + "/" + name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + file);
    return file;
}

std::string describe(const ExitStatus& status) {
    if (status.exited) return "exited with code " + std::to_string(status.code);
    return "killed by signal " + std::to_string(status.signal);
}

// ---- PorticoProcess ----

PorticoProcess::PorticoProcess(const TempDir& dir, std::string name, std::string role,
                               const std::string& config_json)
    : name_(std::move(name)) {
    const std::string config_path = dir.write(name_ + ".json", config_json);
    // Everything the child needs is prepared before fork(): in a threaded
    // process the child may only make async-signal-safe calls until exec.
    std::vector<std::string> argv = {PORTICO_EXE, "--role", std::move(role), "--config", config_path};
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);

    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw_errno("pipe2");
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw_errno("pipe2");
    }
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();
    sigset_t no_signals;
    sigemptyset(&no_signals);

    pid_ = ::fork();
    if (pid_ == 0) {
        // If the test runner dies (e.g. a ctest timeout), so does the child.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(126);
        // exec resets handlers but not the mask the runner may have set.
        ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
        if (null_fd >= 0) ::dup2(null_fd, 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        // Asio opens sockets without CLOEXEC: a client connection of the test
        // inherited by an engine would outlive the test's close of it.
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
        errno = fork_errno;
        throw_errno("fork");
    }
    const std::string base = dir.path() + "/" + name_;
    out_reader_ = std::thread([this, fd = out_pipe[0], file = base + ".out"] { read_output(fd, &out_, file); });
    err_reader_ = std::thread([this, fd = err_pipe[0], file = base + ".err"] { read_output(fd, &err_, file); });
}

PorticoProcess::~PorticoProcess() {
    if (!try_reap()) {
        ::kill(pid_, SIGCONT);  // harmless if it runs; a stopped child is resumed first
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    child_gone_.store(true);
    // The pipes reach EOF once the child is gone (its descriptors were not
    // shared with anyone else: close_range in the child, CLOEXEC here).
    if (out_reader_.joinable()) out_reader_.join();
    if (err_reader_.joinable()) err_reader_.join();
}

void PorticoProcess::read_output(int fd, std::string* sink, const std::string& file) {
    std::ofstream copy(file, std::ios::binary | std::ios::trunc);
    char chunk[4096];
    while (true) {
        // Bounded waits: once the child is reaped, a pipe that stays quiet
        // (held open by something the child started) does not hold us.
        pollfd item{fd, POLLIN, 0};
        const int ready = ::poll(&item, 1, 100);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            if (child_gone_.load()) break;
            continue;
        }
        const ssize_t got = ::read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        copy.write(chunk, got);
        copy.flush();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            sink->append(chunk, static_cast<std::size_t>(got));
        }
        changed_.notify_all();
    }
    ::close(fd);
}

bool PorticoProcess::try_reap() {
    if (status_) return true;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r != pid_) return false;
    ExitStatus s;
    if (WIFEXITED(status)) {
        s.exited = true;
        s.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        s.signal = WTERMSIG(status);
    }
    status_ = s;
    return true;
}

bool PorticoProcess::running() { return !try_reap(); }

void PorticoProcess::send_signal(int signal) {
    if (try_reap()) return;
    if (signal == SIGSTOP) stopped_ = true;
    if (signal == SIGCONT) stopped_ = false;
    ::kill(pid_, signal);
}

std::optional<ExitStatus> PorticoProcess::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!try_reap()) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status_;
}

bool PorticoProcess::wait_ready(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string text;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        while (out_.find("portico: ready\n") == std::string::npos) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            lock.unlock();
            const bool ended = !running();
            lock.lock();
            if (ended && out_.find("portico: ready\n") == std::string::npos) {
                // What it wrote may still be on its way through the pipe.
                changed_.wait_for(lock, std::chrono::milliseconds(100));
                if (out_.find("portico: ready\n") == std::string::npos) return false;
                break;
            }
            changed_.wait_for(lock, std::chrono::milliseconds(20));
        }
        text = out_;
    }
    // portico: plugin dice 1.0.0 serving on tcp://127.0.0.1:PORT (2 workers; usage: ...)
    // portico: gateway listening on ws://127.0.0.1:PORT/ws (1 thread)
    static const std::regex plugin_line(R"(^portico: plugin (\S+) \S+ serving on (\S+) \()");
    static const std::regex gateway_line(R"(^portico: gateway listening on ws://(\S+):(\d+)/)");
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (std::regex_search(line, m, plugin_line)) engine_addresses_[m[1].str()] = m[2].str();
        else if (std::regex_search(line, m, gateway_line))
            gateway_port_ = static_cast<std::uint16_t>(std::stoul(m[2].str()));
    }
    return true;
}

std::uint16_t PorticoProcess::engine_port(const std::string& plugin) const {
    auto it = engine_addresses_.find(plugin);
    return it == engine_addresses_.end() ? 0 : port_of(it->second);
}

std::string PorticoProcess::engine_address(const std::string& plugin) const {
    auto it = engine_addresses_.find(plugin);
    return it == engine_addresses_.end() ? std::string() : it->second;
}

bool PorticoProcess::wait_for_log(const std::string& text, std::chrono::milliseconds timeout,
                                  std::size_t occurrences) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return count_of(err_, text) >= occurrences; });
}

std::size_t PorticoProcess::log_count(const std::string& text) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_of(err_, text);
}

std::string PorticoProcess::out() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return out_;
}

std::string PorticoProcess::err() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return err_;
}

std::string PorticoProcess::summary() const {
    std::ostringstream s;
    s << name_ << " (pid " << pid_ << ", "
      << (status_ ? describe(*status_) : stopped_ ? std::string("stopped") : std::string("running")) << ")";
    std::lock_guard<std::mutex> lock(mutex_);
    s << "\n  stdout: " << tail(out_, 600) << "\n  stderr: " << tail(err_, 1500);
    return s.str();
}

// ---- helpers ----

std::uint16_t pick_free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        throw_errno("bind/getsockname");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

std::string tcp_address(std::uint16_t port) { return "tcp://127.0.0.1:" + std::to_string(port); }

std::string engine_config(const EngineSettings& settings) {
    nlohmann::json config = {
        {"log_level", settings.log_level},
        {"plugins",
         {{"dice", {{"library", DICE_PLUGIN}, {"endpoint", settings.endpoint}, {"workers", settings.workers}}}}}};
    return config.dump(2);
}

std::string gateway_config(const GatewaySettings& settings) {
    nlohmann::json config = {
        {"log_level", settings.log_level},
        {"gateway", {{"listen", "127.0.0.1:0"}, {"drain_timeout_ms", settings.drain_timeout_ms}}},
        {"plugins",
         {{"dice",
           {{"connect", settings.connect},
            {"idempotent", settings.idempotent},
            {"max_attempts", settings.max_attempts},
            {"heartbeat_ms", settings.heartbeat_ms},
            {"dead_after_ms", settings.dead_after_ms},
            {"timeout_ms", settings.timeout_ms}}}}}};
    return config.dump(2);
}

}  // namespace portico::faults
