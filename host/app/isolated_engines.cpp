#include "app/isolated_engines.hpp"

#include "app/reload_plan.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace portico {

IsolatedEngines::IsolatedEngines(net::io_context& control, std::string work_dir, LogLevel level,
                                 std::chrono::milliseconds grace, Logger& log, Announcer& announce,
                                 std::optional<CurveConfig> curve)
    : control_(control),
      work_dir_(std::move(work_dir)),
      level_(level),
      curve_(std::move(curve)),
      grace_(grace),
      log_(log),
      announce_(announce) {}

IsolatedEngines::~IsolatedEngines() { stop_now(); }

std::string IsolatedEngines::endpoint_for(const std::string& plugin) const {
    return EngineSupervisor::private_endpoint_for(work_dir_, plugin);
}

Expected<bool> IsolatedEngines::start(const std::vector<PluginConfig>& plugins) {
    wanted_ = plugins;
    for (const auto& plugin : plugins) {
        auto started = start_one(plugin);
        if (!started) {
            stop_now();
            return started;
        }
    }
    return true;
}

Expected<bool> IsolatedEngines::start_one(const PluginConfig& plugin) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(plugin.engine.library, ec))
        return Error{"plugin_load_failed",
                     "plugin \"" + plugin.name + "\" (" + plugin.engine.library + "): no such file"};
    std::filesystem::create_directories(work_dir_, ec);
    if (ec) return Error{"isolate_failed", "cannot create " + work_dir_ + ": " + ec.message()};
    auto supervisor = std::make_unique<EngineSupervisor>(control_, plugin, level_, work_dir_, log_, curve_);
    supervisor->on_exit([this](const std::string& name, const std::string& endpoint, pid_t pid, int status) {
        announce_.event("isolated_exited", {{"plugin", name}, {"pid", pid}, {"status", status}});
        if (on_exit_) on_exit_(name, endpoint);
    });
    supervisor->on_spawn([this](const std::string& name, pid_t pid) {
        announce_.event("isolated_started", {{"plugin", name}, {"pid", pid}});
    });
    auto started = supervisor->start();
    if (!started) return started;
    announce_.line("portico: plugin " + plugin.name + " isolated in process " + std::to_string(supervisor->pid()) +
                   ", serving on " + plugin.serve.endpoint);
    supervisors_.push_back(std::move(supervisor));
    return true;
}

void IsolatedEngines::want(std::vector<PluginConfig> plugins) {
    if (stopping_) return;
    wanted_ = std::move(plugins);
    reconcile();
}

void IsolatedEngines::reconcile() {
    if (stopping_) return;
    for (auto& supervisor : supervisors_) {
        if (supervisor->stopping()) continue;
        const auto wanted = std::find_if(wanted_.begin(), wanted_.end(),
                                         [&](const auto& p) { return p.name == supervisor->config().name; });
        if (wanted != wanted_.end() && same_isolated_engine(supervisor->config(), *wanted)) continue;
        EngineSupervisor* leaving = supervisor.get();
        leaving->async_stop(grace_, [this, leaving] {
            // Posted after its cancelled handlers: nothing of it is pending.
            supervisors_.erase(std::remove_if(supervisors_.begin(), supervisors_.end(),
                                              [leaving](const auto& s) { return s.get() == leaving; }),
                               supervisors_.end());
            reconcile();
        });
    }
    for (const auto& plugin : wanted_) {
        const bool present = std::any_of(supervisors_.begin(), supervisors_.end(),
                                         [&](const auto& s) { return s->config().name == plugin.name; });
        if (present) continue;
        auto started = start_one(plugin);
        if (!started) log_.error("reload: {}", started.error().message);
    }
}

void IsolatedEngines::async_stop(std::function<void()> done) {
    stopping_ = true;
    if (supervisors_.empty()) {
        net::post(control_, std::move(done));
        return;
    }
    auto left = std::make_shared<std::size_t>(supervisors_.size());
    for (auto& supervisor : supervisors_)
        supervisor->async_stop(grace_, [left, done] {
            if (--*left == 0) done();
        });
}

void IsolatedEngines::stop_now() {
    stopping_ = true;
    for (auto& supervisor : supervisors_) supervisor->stop_now(grace_);
    supervisors_.clear();
}

}  // namespace portico
