#include "host.hpp"

#include "thread_signals.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>

#include <unistd.h>
#include <ostream>

namespace portico {
Host::Host(Config config, Logger& log, std::ostream& announce)
    : config_(std::move(config)), log_(log), announce_(announce), signals_(control_) {}

Host::~Host() { stop(); }

Expected<bool> Host::start() {
    // Registered before anything can announce "ready": a signal that comes
    // early waits for run() instead of killing the process.
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.add(SIGHUP);
    const Role role = config_.role;
    // Also where plugin_loader puts private copies; made when first needed.
    work_dir_ = (std::filesystem::temp_directory_path() / ("portico-" + std::to_string(getpid()))).string();
    for (const auto& plugin_config : config_.plugins) {
        if (!plugin_config.served_here(role)) continue;
        if (plugin_config.isolate) {
            wanted_isolated_.push_back(plugin_config);
            auto started = start_supervisor(plugin_config);
            if (!started) {
                stop();
                return started.error();
            }
            continue;
        }
        auto plugin = load_plugin(plugin_config);
        if (!plugin) {
            stop();
            return plugin.error();
        }
        log_.info("loaded plugin " + plugin_config.name + " " + plugin.value()->version() + " from " +
                  plugin_config.library + ": " + plugin.value()->description());
        auto endpoint = std::make_unique<EngineEndpoint>(zmq_context_, plugin_config, plugin.value(), log_);
        auto started = endpoint->start();
        if (!started) {
            stop();
            return started.error();
        }
        announce_ << "portico: plugin " << endpoint->name() << " " << plugin.value()->version() << " serving on "
                  << endpoint->bound_endpoint() << " (" << plugin_config.workers << " workers; usage: "
                  << plugin.value()->usage() << ")\n";
        endpoints_.push_back(std::move(endpoint));
    }

    if (role != Role::engine) {
        gateway_ = std::make_unique<Gateway>(config_.gateway, zmq_context_, control_, log_);
        for (const auto& plugin_config : config_.plugins) {
            const auto route = engine_route(plugin_config);
            gateway_->set_plugin(plugin_config, route);
            if (!route.addresses.empty() && (role == Role::gateway || !plugin_config.connect.empty())) {
                std::string list;
                for (const auto& a : route.addresses) list += (list.empty() ? "" : ", ") + a;
                announce_ << "portico: plugin " << plugin_config.name << " routed to " << list << "\n";
            }
        }
        auto bound = gateway_->start();
        if (!bound) {
            stop();
            return bound.error();
        }
        // Engines that are up answer their first ping within moments; one
        // that is not up yet must not hold up start-up for long.
        if (!gateway_->wait_for_engines(std::chrono::milliseconds(1500)))
            log_.warn("some plugins have no engine answering yet: they answer \"unavailable\" until one does");
        gateway_port_ = bound.value().port();
        const auto address = bound.value().address();
        const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
        announce_ << "portico: gateway listening on ws://" << host << ":" << gateway_port_ << config_.gateway.path
                  << " (" << config_.gateway.threads << " thread" << (config_.gateway.threads == 1 ? "" : "s")
                  << ")\n";
    }
    announce_ << "portico: ready\n" << std::flush;
    running_ = true;
    return true;
}

Expected<bool> Host::start_supervisor(const PluginConfig& plugin) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(plugin.library, ec))
        return Error{"plugin_load_failed", "plugin \"" + plugin.name + "\" (" + plugin.library + "): no such file"};
    std::filesystem::create_directories(work_dir_, ec);
    if (ec) return Error{"isolate_failed", "cannot create " + work_dir_ + ": " + ec.message()};
    auto supervisor = std::make_unique<EngineSupervisor>(control_, plugin, config_.log_level, work_dir_, log_);
    // Called on the control thread, the thread that also sets and resets gateway_.
    supervisor->on_exit([this](const std::string& name, const std::string& endpoint) {
        if (gateway_) gateway_->engine_gone(name, endpoint, "exited");
    });
    auto started = supervisor->start();
    if (!started) return started;
    announce_ << "portico: plugin " << plugin.name << " isolated in process " << supervisor->pid()
              << ", serving on " << plugin.endpoint << "\n" << std::flush;
    supervisors_.push_back(std::move(supervisor));
    return true;
}

EngineRoute Host::engine_route(const PluginConfig& plugin) const {
    // An engine in this process alone: its job queue, no zmq at all. Beside
    // other engines, it is one more zmq peer (over inproc) so that dispatch
    // weighs them all alike. Isolated engines go over their private ipc
    // socket, remote ones over their addresses. Decided from the config
    // alone: the reload thread asks too.
    EngineRoute route;
    auto* endpoint = endpoint_named(plugin.name);
    const bool isolated = plugin.served_here(config_.role) && plugin.isolate;
    if (endpoint && !isolated && plugin.connect.empty()) {
        route.local = endpoint->jobs();
        return route;
    }
    if (endpoint) route.addresses.push_back(endpoint->inproc_endpoint());
    if (isolated) route.addresses.push_back(EngineSupervisor::private_endpoint_for(work_dir_, plugin.name));
    route.addresses.insert(route.addresses.end(), plugin.connect.begin(), plugin.connect.end());
    if (route.addresses.empty()) route.addresses.push_back(plugin.endpoint);  // role gateway reading an engine's file
    return route;
}

EngineEndpoint* Host::endpoint_named(const std::string& name) const {
    for (const auto& endpoint : endpoints_)
        if (endpoint->name() == name) return endpoint.get();
    return nullptr;
}

void Host::run() {
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [this, &on_signal](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (signal == SIGHUP) {
            reload_in_background();
            signals_.async_wait(on_signal);
            return;
        }
        log_.info(std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
        begin_shutdown();
    };
    signals_.async_wait(on_signal);
    // Returns once the shutdown has run its course and nothing is left to do.
    control_.run();
    stop();
}

void Host::begin_shutdown() {
    if (shutting_down_.exchange(true)) return;
    signals_.cancel();
    // Construction in reverse, each step once every handler of the one before
    // has run: the gateway drains its clients, isolated engines drain and
    // exit, then the engines of this process stop.
    auto after_gateway = [this] { stop_supervisors([this] { stop(); }); };
    if (gateway_) gateway_->async_stop(after_gateway);
    else net::post(control_, after_gateway);
}

void Host::stop_supervisors(std::function<void()> done) {
    if (supervisors_.empty()) {
        net::post(control_, std::move(done));
        return;
    }
    auto left = std::make_shared<std::size_t>(supervisors_.size());
    for (auto& supervisor : supervisors_)
        supervisor->async_stop(config_.gateway.drain_timeout + std::chrono::seconds(2), [left, done] {
            if (--*left == 0) done();
        });
}

void Host::reload_in_background() {
    if (reloading_.exchange(true)) {
        log_.warn("SIGHUP: a reload is already running; ignored");
        return;
    }
    if (reload_thread_.joinable()) reload_thread_.join();
    log_.info("SIGHUP: reloading the config");
    reload_thread_ = std::thread([this] {
        block_control_signals_in_this_thread();
        auto result = reload();
        if (result) log_.info("reload: " + result.value());
        else log_.error("reload refused, nothing changed: " + result.error().message);
        reloading_ = false;
    });
}

void Host::request_stop() {
    net::post(control_, [this] { begin_shutdown(); });
}

void Host::stop() {
    if (reload_thread_.joinable()) reload_thread_.join();
    std::lock_guard<std::mutex> lock(reload_mutex_);
    // Construction in reverse: stop accepting and close clients, stop the
    // endpoints (their workers finish what they hold), then unload plugins.
    if (gateway_) gateway_->stop();
    gateway_.reset();
    for (auto& supervisor : supervisors_) supervisor->stop_now(config_.gateway.drain_timeout + std::chrono::seconds(2));
    supervisors_.clear();
    for (auto& endpoint : endpoints_) endpoint->stop();
    endpoints_.clear();
    if (!work_dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(work_dir_, ignored);
        work_dir_.clear();
    }
    if (running_) log_.info("stopped");
    running_ = false;
}

std::string Host::endpoint_of(const std::string& plugin) const {
    auto* endpoint = endpoint_named(plugin);
    return endpoint ? endpoint->bound_endpoint() : std::string();
}


namespace {

bool same_engine_side(const PluginConfig& a, const PluginConfig& b) {
    return a.library == b.library && a.workers == b.workers && a.max_request_bytes == b.max_request_bytes &&
           a.max_queued == b.max_queued && a.settings_json == b.settings_json;
}

// An isolated engine is restarted when any of this differs.
bool same_isolated_engine(const PluginConfig& a, const PluginConfig& b) {
    return same_engine_side(a, b) && a.endpoint == b.endpoint && a.also_bind == b.also_bind;
}

bool same_gateway_side(const PluginConfig& a, const PluginConfig& b) {
    return a.connect == b.connect && a.timeout == b.timeout && a.idempotent == b.idempotent &&
           a.max_attempts == b.max_attempts && a.heartbeat == b.heartbeat && a.dead_after == b.dead_after &&
           a.endpoint == b.endpoint;
}

bool same_gateway_config(const GatewayConfig& a, const GatewayConfig& b) {
    return a.address == b.address && a.port == b.port && a.path == b.path && a.threads == b.threads &&
           a.max_message_bytes == b.max_message_bytes && a.max_inflight_per_client == b.max_inflight_per_client &&
           a.max_outbound_bytes == b.max_outbound_bytes && a.drain_timeout == b.drain_timeout;
}

const PluginConfig* find_plugin(const std::vector<PluginConfig>& plugins, const std::string& name) {
    for (const auto& plugin : plugins)
        if (plugin.name == name) return &plugin;
    return nullptr;
}

}  // namespace

// The isolated engines a reload (re)starts: new ones, and those whose engine
// side changed. Decided from the two configs alone, on the reload thread.
std::vector<std::string> Host::isolated_starts(const Config& next) const {
    const Role role = config_.role;
    auto isolated_here = [role](const PluginConfig* plugin) {
        return plugin != nullptr && plugin->served_here(role) && plugin->isolate;
    };
    std::vector<std::string> starts;
    for (const auto& plugin : next.plugins) {
        if (!isolated_here(&plugin)) continue;
        const PluginConfig* old = find_plugin(config_.plugins, plugin.name);
        if (!isolated_here(old) || !same_isolated_engine(*old, plugin)) starts.push_back(plugin.name);
    }
    return starts;
}

// On the control thread, which alone touches the supervisors: the running
// engines are brought to what the latest config wants. A restarted engine
// starts once its predecessor has exited (they share the private socket), and
// reloads in quick succession simply move the goal.
void Host::reconcile_isolated() {
    if (shutting_down_) return;
    for (auto& supervisor : supervisors_) {
        if (supervisor->stopping()) continue;
        const PluginConfig* wanted = find_plugin(wanted_isolated_, supervisor->config().name);
        if (wanted && same_isolated_engine(supervisor->config(), *wanted)) continue;
        EngineSupervisor* leaving = supervisor.get();
        leaving->async_stop(config_.gateway.drain_timeout, [this, leaving] {
            // Posted after its cancelled handlers: nothing of it is pending.
            supervisors_.erase(std::remove_if(supervisors_.begin(), supervisors_.end(),
                                              [leaving](const auto& s) { return s.get() == leaving; }),
                               supervisors_.end());
            reconcile_isolated();
        });
    }
    for (const auto& plugin : wanted_isolated_) {
        const bool present = std::any_of(supervisors_.begin(), supervisors_.end(),
                                         [&plugin](const auto& s) { return s->config().name == plugin.name; });
        if (present) continue;
        auto started = start_supervisor(plugin);
        if (!started) log_.error("reload: " + started.error().message);
    }
}

Expected<std::string> Host::reload() {
    std::lock_guard<std::mutex> lock(reload_mutex_);
    if (!running_ || shutting_down_) return Error{"not_running", "the host is not running"};
    if (!config_source_) return Error{"no_config_source", "no config file to read again"};
    auto fresh = config_source_();
    if (!fresh) return fresh.error();
    Config next = std::move(fresh).value();
    if (!same_gateway_config(config_.gateway, next.gateway) || next.plugin_dir != config_.plugin_dir)
        log_.warn("reload: gateway settings and plugin_dir changed in " + next.source +
                  "; they take effect at the next restart");

    auto plan = prepare_reload(std::move(next));
    if (!plan) return plan.error();
    return commit_reload(std::move(plan).value());
}

Expected<Host::ReloadPlan> Host::prepare_reload(Config next) {
    const Role role = config_.role;
    ReloadPlan plan;
    plan.next = std::move(next);
    for (const auto& plugin : plan.next.plugins) {
        const PluginConfig* old = find_plugin(config_.plugins, plugin.name);
        EngineEndpoint* current = endpoint_named(plugin.name);
        if (!plugin.loaded_here(role)) {
            if (current) plan.to_stop.push_back(current);
            continue;
        }
        const auto stamp = stamp_file(plugin.library);
        const bool file_changed = current && (!stamp || *stamp != current->plugin().stamp());
        const bool same_address = current && old && old->endpoint == plugin.endpoint && old->also_bind == plugin.also_bind;
        if (current && same_address && !file_changed && same_engine_side(*old, plugin)) continue;
        // The loader would hand back the loaded library for a known path.
        bool path_loaded = false;
        for (const auto& endpoint : endpoints_) path_loaded = path_loaded || endpoint->plugin().path() == plugin.library;
        auto loaded = load_plugin(plugin, path_loaded && file_changed);
        if (!loaded) return loaded.error();
        if (current && same_address) {
            plan.swaps.push_back(ReloadPlan::Swap{current, loaded.value(), plugin});
            continue;
        }
        auto endpoint = std::make_unique<EngineEndpoint>(zmq_context_, plugin, loaded.value(), log_);
        auto bound = endpoint->start();
        if (!bound) {
            for (auto& e : plan.started) e->stop();
            return bound.error();
        }
        if (current) plan.to_stop.push_back(current);
        plan.started.push_back(std::move(endpoint));
    }
    for (const auto& endpoint : endpoints_)
        if (!find_plugin(plan.next.plugins, endpoint->name())) plan.to_stop.push_back(endpoint.get());
    return Expected<ReloadPlan>(std::move(plan));
}

// New endpoints join; gateways route to what is now served; replaced engines
// drain into their successors; removed ones drain.
std::string Host::commit_reload(ReloadPlan plan) {
    const Role role = config_.role;
    const Config& next = plan.next;
    std::vector<std::string> added, replaced, removed, rerouted;
    for (auto& endpoint : plan.started) {
        announce_ << "portico: plugin " << endpoint->name() << " " << endpoint->plugin().version()
                  << " serving on " << endpoint->bound_endpoint() << "\n" << std::flush;
        (find_plugin(config_.plugins, endpoint->name()) ? replaced : added).push_back(endpoint->name());
    }
    std::vector<std::unique_ptr<EngineEndpoint>> stopping;
    for (auto* endpoint : plan.to_stop) {
        for (auto it = endpoints_.begin(); it != endpoints_.end(); ++it)
            if (it->get() == endpoint) {
                stopping.push_back(std::move(*it));
                endpoints_.erase(it);
                break;
            }
    }
    for (auto& endpoint : plan.started) endpoints_.push_back(std::move(endpoint));
    if (gateway_) {
        for (const auto& plugin : next.plugins) {
            const PluginConfig* old = find_plugin(config_.plugins, plugin.name);
            const bool moved = std::find(added.begin(), added.end(), plugin.name) != added.end() ||
                               std::find(replaced.begin(), replaced.end(), plugin.name) != replaced.end();
            if (old && !moved && same_gateway_side(*old, plugin) &&
                old->served_here(role) == plugin.served_here(role))
                continue;
            gateway_->set_plugin(plugin, engine_route(plugin));
            if (old && !moved) rerouted.push_back(plugin.name);
        }
        for (const auto& old : config_.plugins)
            if (!find_plugin(next.plugins, old.name)) gateway_->remove_plugin(old.name);
    }
    for (const auto& old : config_.plugins)
        if (!find_plugin(next.plugins, old.name)) removed.push_back(old.name);
    for (const auto& name : isolated_starts(next)) (find_plugin(config_.plugins, name) ? replaced : added).push_back(name);
    std::vector<PluginConfig> wanted;
    for (const auto& plugin : next.plugins)
        if (plugin.served_here(role) && plugin.isolate) wanted.push_back(plugin);
    net::post(control_, [this, wanted = std::move(wanted)]() mutable {
        wanted_isolated_ = std::move(wanted);
        reconcile_isolated();
    });
    config_.plugins = next.plugins;
    for (auto& swap : plan.swaps) {
        swap.endpoint->replace(swap.plugin, swap.config);  // returns once the old workers are done
        replaced.push_back(swap.config.name);
    }
    // The old engines finish what they hold (gateways were told "bye"), then unload.
    for (auto& endpoint : stopping) endpoint->stop();
    stopping.clear();

    auto list = [](const std::vector<std::string>& names) {
        std::string text;
        for (const auto& n : names) text += (text.empty() ? "" : ",") + n;
        return text.empty() ? std::string("-") : text;
    };
    return "added " + list(added) + "; replaced " + list(replaced) + "; removed " + list(removed) +
           "; rerouted " + list(rerouted);
}

}  // namespace portico
