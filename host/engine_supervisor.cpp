#include "engine_supervisor.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

extern char** environ;

namespace portico {
namespace {

constexpr std::chrono::milliseconds poll_interval{50};
constexpr std::chrono::milliseconds max_backoff{5000};
constexpr std::chrono::seconds healthy_after{10};

std::string describe_exit(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
    return "stopped";
}

}  // namespace

EngineSupervisor::EngineSupervisor(net::io_context& control, PluginConfig plugin, LogLevel level,
                                   std::string work_dir, Logger& log)
    : control_(control),
      plugin_(std::move(plugin)),
      level_(level),
      work_dir_(std::move(work_dir)),
      log_(log),
      timer_(control) {
    config_path_ = work_dir_ + "/" + plugin_.name + ".json";
    private_endpoint_ = "ipc://" + work_dir_ + "/" + plugin_.name + ".sock";
}

EngineSupervisor::~EngineSupervisor() { stop(std::chrono::milliseconds(2000)); }

Expected<bool> EngineSupervisor::start() {
    // The child serves the plugin on its configured address and on a private
    // ipc socket for this host's gateway.
    nlohmann::json entry = {{"library", plugin_.library},
                            {"endpoint", plugin_.endpoint},
                            {"also_bind", nlohmann::json::array({private_endpoint_})},
                            {"workers", plugin_.workers},
                            {"max_request_bytes", plugin_.max_request_bytes},
                            {"max_queued", plugin_.max_queued},
                            {"settings", nlohmann::json::parse(plugin_.settings_json)}};
    nlohmann::json child = {{"log_level", std::string(to_string(level_))},
                            {"plugins", {{plugin_.name, entry}}}};
    std::ofstream out(config_path_, std::ios::trunc);
    out << child.dump(2) << "\n";
    if (!out) return Error{"isolate_failed", "plugin " + plugin_.name + ": cannot write " + config_path_};
    out.close();
    auto spawned = spawn();
    if (!spawned) return spawned;
    watch();
    return true;
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
    pid_ = pid;
    started_at_ = std::chrono::steady_clock::now();
    log_.info("plugin " + plugin_.name + ": isolated engine process " + std::to_string(pid_) + " started");
    return true;
}

void EngineSupervisor::watch() {
    // waitpid on a timer: no process-wide SIGCHLD handler to share.
    timer_.expires_after(poll_interval);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        int status = 0;
        if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
            child_exited(status);
            return;
        }
        watch();
    });
}

void EngineSupervisor::child_exited(int status) {
    pid_ = -1;
    if (std::chrono::steady_clock::now() - started_at_ > healthy_after) backoff_ = std::chrono::milliseconds(100);
    log_.warn("plugin " + plugin_.name + ": isolated engine process " + describe_exit(status) + "; restarting in " +
              std::to_string(backoff_.count()) + " ms");
    if (exit_handler_) exit_handler_(plugin_.name, private_endpoint_);
    timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, max_backoff);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        auto spawned = spawn();
        if (!spawned) log_.error(spawned.error().message);
        watch();
    });
}

void EngineSupervisor::stop(std::chrono::milliseconds grace) {
    stopping_ = true;
    timer_.cancel();
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    std::error_code ignored;
    std::filesystem::remove(config_path_, ignored);
}

}  // namespace portico
