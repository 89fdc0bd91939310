#include "app/engine_supervisor.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

extern char** environ;

namespace portico {
namespace {

constexpr std::chrono::milliseconds max_backoff{5000};
constexpr std::chrono::seconds healthy_after{10};

std::string describe_exit(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
    return "stopped";
}

}  // namespace

EngineSupervisor::EngineSupervisor(net::io_context& control, PluginConfig plugin, LogLevel level,
                                   std::string work_dir, Logger& log, std::optional<CurveConfig> curve)
    : control_(control),
      plugin_(std::move(plugin)),
      level_(level),
      curve_(std::move(curve)),
      work_dir_(std::move(work_dir)),
      log_(log),
      timer_(control),
      exit_watch_(control) {
    config_path_ = work_dir_ + "/" + plugin_.name + ".json";
    private_endpoint_ = private_endpoint_for(work_dir_, plugin_.name);
}

EngineSupervisor::~EngineSupervisor() { stop_now(std::chrono::milliseconds(2000)); }

std::string EngineSupervisor::private_endpoint_for(const std::string& work_dir, const std::string& plugin) {
    return "ipc://" + work_dir + "/" + plugin + ".sock";
}

Expected<bool> EngineSupervisor::start() {
    // The child serves the plugin on its configured address and on a private
    // ipc socket for this host's gateway.
    nlohmann::json entry = {{"library", plugin_.engine.library},
                            {"endpoint", plugin_.serve.endpoint},
                            {"also_bind", nlohmann::json::array({private_endpoint_})},
                            {"workers", plugin_.engine.workers},
                            {"max_request_bytes", plugin_.engine.max_request_bytes},
                            {"max_queued", plugin_.engine.max_queued},
                            {"settings", nlohmann::json::parse(plugin_.engine.settings_json)}};
    nlohmann::json child = {{"log_level", std::string(to_string(level_))},
                            {"plugins", {{plugin_.name, entry}}}};
    if (curve_) child["curve"] = {{"key_file", curve_->key_file}, {"allowed_clients", curve_->allowed_clients}};
    std::ofstream out(config_path_, std::ios::trunc);
    out << child.dump(2) << "\n";
    if (!out) return Error{"isolate_failed", "plugin " + plugin_.name + ": cannot write " + config_path_};
    out.close();
    return spawn();
}

Expected<bool> EngineSupervisor::spawn() {
    std::error_code ec;
    const std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec) return Error{"isolate_failed", "cannot find the portico executable: " + ec.message()};
    std::vector<std::string> args = {exe, "--role", "engine", "--config", config_path_};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    // The child's announcements are not ours to print: stdout goes nowhere,
    // its log (stderr) joins ours.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return Error{"isolate_failed", "plugin " + plugin_.name + ": cannot start its engine process: " +
                                                    std::string(strerror(rc))};
    // The pidfd turns readable when the child exits: no polling, no SIGCHLD
    // handler to share with the rest of the process.
    // Through syscall(): glibc 2.36's <sys/pidfd.h> is not usable from C++.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        const int error = errno;
        ::kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return Error{"isolate_failed", "plugin " + plugin_.name + ": cannot watch its engine process: " +
                                           std::string(strerror(error))};
    }
    boost::system::error_code assign_ec;
    exit_watch_.assign(pidfd, assign_ec);
    if (assign_ec) {
        ::close(pidfd);
        ::kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return Error{"isolate_failed", "plugin " + plugin_.name + ": cannot watch its engine process: " +
                                           assign_ec.message()};
    }
    pid_ = pid;
    started_at_ = std::chrono::steady_clock::now();
    log_.info("plugin {}: isolated engine process {} started", plugin_.name, pid_);
    if (spawn_handler_) spawn_handler_(plugin_.name, pid_);
    watch();
    return true;
}

void EngineSupervisor::watch() {
    exit_watch_.async_wait(net::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled: whoever cancelled reaps the child
        const pid_t pid = pid_;
        child_exited(pid, reap());
    });
}

int EngineSupervisor::reap() {
    int status = 0;
    if (pid_ > 0) waitpid(pid_, &status, 0);  // it has exited: this does not block
    pid_ = -1;
    boost::system::error_code ignored;
    exit_watch_.close(ignored);
    return status;
}

void EngineSupervisor::child_exited(pid_t pid, int status) {
    if (stopping_) {
        finish_stop();
        return;
    }
    if (std::chrono::steady_clock::now() - started_at_ > healthy_after) backoff_ = std::chrono::milliseconds(100);
    log_.warn("plugin {}: isolated engine process {}; restarting in {} ms", plugin_.name, describe_exit(status),
              backoff_.count());
    if (exit_handler_) exit_handler_(plugin_.name, private_endpoint_, pid, status);
    timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, max_backoff);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        auto spawned = spawn();
        if (!spawned) log_.error("{}", spawned.error().message);
    });
}

void EngineSupervisor::async_stop(std::chrono::milliseconds grace, std::function<void()> done) {
    stopping_ = true;
    stop_done_ = std::move(done);
    timer_.cancel();  // no restart
    if (pid_ <= 0) {
        finish_stop();
        return;
    }
    ::kill(pid_, SIGTERM);
    timer_.expires_after(grace);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && pid_ > 0) ::kill(pid_, SIGKILL);  // the exit watch reaps it
    });
}

void EngineSupervisor::finish_stop() {
    timer_.cancel();
    std::error_code ignored;
    std::filesystem::remove(config_path_, ignored);
    if (stop_done_) net::post(control_, std::exchange(stop_done_, nullptr));
}

void EngineSupervisor::stop_now(std::chrono::milliseconds grace) {
    stopping_ = true;
    timer_.cancel();
    if (pid_ > 0) {
        boost::system::error_code ignored;
        exit_watch_.cancel(ignored);
        ::kill(pid_, SIGTERM);
        pollfd exited{exit_watch_.native_handle(), POLLIN, 0};
        int ready = -1;
        do {
            ready = ::poll(&exited, 1, static_cast<int>(grace.count()));
        } while (ready < 0 && errno == EINTR);
        if (ready <= 0) ::kill(pid_, SIGKILL);
        reap();
    }
    finish_stop();
}

}  // namespace portico
