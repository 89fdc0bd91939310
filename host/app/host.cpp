#include "app/host.hpp"

#include "app/reloader.hpp"
#include "core/thread_signals.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <ostream>

namespace portico {
namespace {

std::string work_dir_for_this_process() {
    // Also where plugin_loader puts private copies; made when first needed.
    return (std::filesystem::temp_directory_path() / ("portico-" + std::to_string(getpid()))).string();
}

}  // namespace

Host::Host(Config config, Logger& log, std::ostream& announce)
    : config_(std::move(config)),
      log_(log),
      announce_(announce),
      signals_(control_),
      work_dir_(work_dir_for_this_process()),
      isolated_(control_, work_dir_, config_.log_level, config_.gateway.drain_timeout + std::chrono::seconds(2),
                log_, announce_, config_.curve) {}

Host::~Host() { stop(); }

Expected<void> Host::start() {
    // Registered before anything can announce "ready": a signal that comes
    // early waits for run() instead of killing the process.
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.add(SIGHUP);
    if (config_.curve) {
        auto keys = load_curve_key_pair(config_.curve->key_file);
        if (!keys) return Error{keys.error().code, config_.source + ": " + keys.error().message};
        curve_keys_ = std::move(keys).value();
        // Its own key first: its gateway and its isolated engines use it.
        std::vector<std::string> allowed{curve_keys_->public_key};
        allowed.insert(allowed.end(), config_.curve->allowed_clients.begin(), config_.curve->allowed_clients.end());
        if (config_.role != Role::gateway)
            curve_authenticator_ = std::make_unique<CurveAuthenticator>(zmq_context_, allowed, log_);
        log_.info("curve: this process's public key is {}", curve_keys_->public_key);
    }
    auto started = start_engines();
    if (started && config_.role != Role::engine) started = start_gateway();
    if (started) started = start_ops();
    if (!started) {
        stop();
        return started;
    }
    announce_.line("portico: ready");
    announce_.event("ready", ready_fields());
    running_ = true;
    return {};
}

Expected<void> Host::start_engines() {
    std::vector<PluginConfig> isolated;
    for (const auto& plugin : config_.plugins) {
        if (!plugin.served_here(config_.role)) continue;
        if (plugin.serve.isolate) {
            isolated.push_back(plugin);
            continue;
        }
        auto endpoint = engines_.start(plugin);
        if (!endpoint) return endpoint.error();
        const LoadedPlugin& loaded = endpoint.value()->plugin();
        announce_.line("portico: plugin " + plugin.name + " " + loaded.version() + " serving on " +
                       endpoint.value()->bound_endpoint() + " (" + std::to_string(plugin.engine.workers) +
                       " workers; usage: " + loaded.usage() + ")");
        engines_.add(std::move(endpoint).value());
    }
    // Called on the control thread, the thread that also sets and resets gateway_.
    isolated_.on_exit([this](const std::string& name, const std::string& endpoint) {
        counters_.isolated_exits.add(name);
        if (gateway_) gateway_->engine_gone(name, endpoint);
    });
    auto started = isolated_.start(isolated);
    if (!started) return started.error();
    return {};
}

Expected<void> Host::start_gateway() {
    gateway_ = std::make_unique<Gateway>(config_.gateway, links_, control_, log_, config_.ops.metrics);
    if (!config_.ops.has_listener()) {
        add_ops_routes([this](std::string path, HttpRouteTable::Handler handler) {
            gateway_->add_route(std::move(path), std::move(handler));
        }, gateway_.get(), counters_, config_.ops.metrics);
        boost::system::error_code ec;
        const auto address = net::ip::make_address(config_.gateway.address, ec);
        if (!ec && !address.is_loopback() && config_.ops.metrics)
            log_.warn("/metrics is served on the gateway's listener {}, which is not a loopback address: set "
                      "ops.listen to serve it (with /healthz and /readyz) on an address of its own",
                      config_.gateway.address);
    }
    for (const auto& plugin : config_.plugins) {
        const LinkSpec spec = link_spec(plugin);
        gateway_->set_plugin(spec);
        if (!spec.local && (config_.role == Role::gateway || !plugin.route.connect.empty())) {
            std::string list;
            for (const auto& address : spec.addresses) list += (list.empty() ? "" : ", ") + address;
            announce_.line("portico: plugin " + plugin.name + " routed to " + list);
        }
    }
    auto bound = gateway_->start();
    if (!bound) return bound.error();
    // Engines that are up answer their first ping within moments; one that
    // is not up yet must not hold up start-up for long.
    if (!gateway_->wait_for_engines(std::chrono::milliseconds(1500)))
        log_.warn("some plugins have no engine answering yet: they answer \"unavailable\" until one does");
    gateway_port_ = bound.value().port();
    const auto address = bound.value().address();
    const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    announce_.line("portico: gateway listening on " + std::string(config_.gateway.tls ? "wss" : "ws") + "://" + host + ":" + std::to_string(gateway_port_) +
                   config_.gateway.path + " (" + std::to_string(config_.gateway.threads) + " thread" +
                   (config_.gateway.threads == 1 ? "" : "s") + ")");
    return {};
}

Expected<void> Host::start_ops() {
    if (!config_.ops.has_listener()) return {};
    HttpRouteTable routes("");
    add_ops_routes([&routes](std::string path, HttpRouteTable::Handler handler) {
        routes.add(std::move(path), std::move(handler));
    }, gateway_.get(), counters_, config_.ops.metrics);
    ops_ = std::make_unique<OpsServer>(control_, std::move(routes), log_);
    boost::system::error_code ec;
    const auto address = net::ip::make_address(config_.ops.address, ec);
    if (ec) return Error{"bad_address", config_.source + ": ops.listen: bad address " + config_.ops.address};
    auto bound = ops_->start(tcp::endpoint(address, config_.ops.port));
    if (!bound) return Error{bound.error().code, config_.source + ": " + bound.error().message};
    ops_port_ = bound.value().port();
    const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    announce_.line("portico: ops listening on http://" + host + ":" + std::to_string(ops_port_) +
                   (config_.ops.metrics ? " (/metrics, /healthz, /readyz)" : " (/healthz, /readyz)"));
    return {};
}

// The ready event, for programs (tests, supervisors, scripts): what runs
// where, so that nothing has to be read out of the prose above it.
nlohmann::json Host::ready_fields() const {
    using nlohmann::json;
    json plugins = json::array();
    for (const auto& plugin : config_.plugins) {
        json entry = {{"name", plugin.name}};
        if (const EngineEndpoint* endpoint = engines_.find(plugin.name)) {
            entry["endpoint"] = endpoint->bound_endpoint();
            entry["version"] = endpoint->plugin().version();
        } else if (plugin.served_here(config_.role) && plugin.serve.isolate) {
            entry["endpoint"] = plugin.serve.endpoint;
            entry["isolated"] = true;
        }
        if (!plugin.route.connect.empty()) entry["connect"] = plugin.route.connect;
        plugins.push_back(std::move(entry));
    }
    json ready = {{"pid", getpid()},
                  {"version", PORTICO_VERSION},
                  {"role", config_.role == Role::all      ? "all"
                           : config_.role == Role::engine ? "engine"
                                                          : "gateway"},
                  {"plugins", std::move(plugins)}};
    if (gateway_)
        ready["gateway"] = {{"address", config_.gateway.address},
                            {"port", gateway_port_},
                            {"path", config_.gateway.path},
                            {"tls", config_.gateway.tls.has_value()}};
    if (ops_) ready["ops"] = {{"address", config_.ops.address}, {"port", ops_port_}};
    return ready;
}

LinkSpec Host::link_spec(const PluginConfig& plugin) const {
    const auto local = engines_.local(plugin.name);
    const bool isolated = plugin.served_here(config_.role) && plugin.serve.isolate;
    return plan_link(plugin, local ? &*local : nullptr, isolated ? isolated_.endpoint_for(plugin.name) : "",
                     curve_keys_ ? curve_keys_->public_key : std::string());
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
        log_.info("received {}, shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
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
    if (ops_) ops_->stop();
    // Construction in reverse, each step once every handler of the one before
    // has run: the gateway drains its clients, isolated engines drain and
    // exit, then the engines of this process stop.
    auto after_gateway = [this] { isolated_.async_stop([this] { stop(); }); };
    if (gateway_) gateway_->async_stop(after_gateway);
    else net::post(control_, after_gateway);
}

void Host::reload_in_background() {
    std::lock_guard<std::mutex> lock(reload_state_mutex_);
    if (reload_running_) {
        // A SIGHUP during a reload (the file changed again): one more reload
        // follows this one, however many come meanwhile.
        reload_queued_ = true;
        log_.info("SIGHUP: a reload is running; another follows it");
        return;
    }
    reload_running_ = true;
    // The last reload thread has finished (it cleared reload_running_ under
    // this lock, and takes it no more).
    if (reload_thread_.joinable()) reload_thread_.join();
    log_.info("SIGHUP: reloading the config");
    reload_thread_ = std::thread([this] {
        block_control_signals_in_this_thread();
        for (;;) {
            auto result = reload();
            if (result) {
                log_.info("reload: {}", result.value());
            } else {
                log_.error("reload refused, nothing changed: {}", result.error().message);
                announce_.event("reload_refused", {{"code", result.error().code}, {"error", result.error().message}});
            }
            std::lock_guard<std::mutex> state(reload_state_mutex_);
            if (!reload_queued_) {
                reload_running_ = false;
                return;
            }
            reload_queued_ = false;
            log_.info("SIGHUP: reloading the config again");
        }
    });
}

Expected<std::string> Host::reload() {
    std::lock_guard<std::mutex> lock(reload_mutex_);
    if (!running_ || shutting_down_) return Error{"not_running", "the host is not running"};
    if (!config_source_) return Error{"no_config_source", "no config file to read again"};
    auto next = config_source_();
    if (!next) {
        ++counters_.reloads_refused;
        return next.error();
    }
    Reloader reloader(config_, engines_, isolated_, gateway_.get(), control_,
                      [this](const PluginConfig& plugin) { return link_spec(plugin); }, log_, announce_);
    auto applied = reloader.reload(std::move(next).value());
    ++(applied ? counters_.reloads_applied : counters_.reloads_refused);
    return applied;
}

void Host::request_stop() {
    net::post(control_, [this] { begin_shutdown(); });
}

void Host::stop() {
    if (reload_thread_.joinable()) reload_thread_.join();
    std::lock_guard<std::mutex> lock(reload_mutex_);
    // Construction in reverse: stop accepting and close clients, stop the
    // engines (their workers finish what they hold), then unload plugins.
    if (ops_) ops_->stop();
    ops_.reset();
    if (gateway_) gateway_->stop();
    gateway_.reset();
    isolated_.stop_now();
    engines_.stop_all();
    std::error_code ignored;
    std::filesystem::remove_all(work_dir_, ignored);
    if (running_) log_.info("stopped");
    running_ = false;
}

std::string Host::endpoint_of(const std::string& plugin) const {
    const EngineEndpoint* endpoint = engines_.find(plugin);
    return endpoint ? endpoint->bound_endpoint() : std::string();
}

}  // namespace portico
