#include "gateway/gateway.hpp"

#include "gateway/http_session.hpp"
#include "gateway/tls_stream.hpp"
#include "gateway/web_assets.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <map>

namespace portico {

Gateway::Gateway(const GatewayConfig& config, const LinkFactory& links, net::io_context& control, Logger& log,
                 bool metrics)
    : config_(config),
      control_(control),
      log_(log),
      routes_(config.path),
      origins_(AllowedOrigins::parse(config.allowed_origins).value()),  // validated with the config
      limits_(config.max_connections, config.max_connections_per_ip),
      services_{config_, routes_, origins_, limits_, tokens_, log_},
      metrics_(metrics),
      drain_timer_(control) {
    if (config_.playground) add_playground_routes(routes_, config_.path);
    std::vector<net::io_context*> ios;
    for (unsigned i = 0; i < config_.threads; ++i) {
        loops_.push_back(std::make_unique<GatewayLoop>(links, [this] {
            { std::lock_guard<std::mutex> lock(status_mutex_); }  // a waiter is waiting or not yet checking
            status_changed_.notify_all();
        }, log_, metrics_, LivenessSweep::period_for(config_.ping_interval, config_.pong_timeout),
            config_.push_batch));
        ios.push_back(&loops_.back()->io());
    }
    listener_ = std::make_unique<Listener>(
        control, std::move(ios),
        [this](std::size_t loop, tcp::socket socket) { on_connection(loop, std::move(socket)); }, log_);
}

void Gateway::on_connection(std::size_t loop, tcp::socket socket) {
    Router& router = loops_[loop]->router();
    if (!config_.tls) {
        std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), nullptr, router,
                                                         services_)
            ->run();
        return;
    }
    auto context = tls_.current();
    std::make_shared<HttpSession<TlsStream>>(TlsStream(std::move(socket), *context), context, router, services_)
        ->run();
}

Expected<void> Gateway::reload_keys(const std::optional<TlsConfig>& tls, const std::optional<JwtConfig>& jwt) {
    std::shared_ptr<TlsContext> context;
    std::shared_ptr<const TokenVerifier> verifier;
    if (tls) {
        auto made = make_server_tls_context(*tls);
        if (!made) return made.error();
        context = std::move(made).value();
    }
    if (jwt) {
        auto loaded = TokenVerifier::load(*jwt);
        if (!loaded) return loaded.error();
        verifier = std::move(loaded).value();
    }
    if (context) tls_.set(std::move(context));
    if (verifier) tokens_.set(std::move(verifier));
    return {};
}

Gateway::~Gateway() { stop(); }

void Gateway::add_route(std::string path, HttpRouteTable::Handler handler) {
    routes_.add(std::move(path), std::move(handler));
}

namespace {

using Buckets = std::array<std::uint64_t, LoopHistogram::bounds.size() + 1>;

// One plugin's counters summed over the loops.
struct PluginTotals {
    std::map<std::string, std::uint64_t, std::less<>> outcomes;
    Buckets buckets{};
    std::uint64_t sum_ns = 0;
    std::uint64_t started = 0;
    std::uint64_t ended = 0;
    std::uint64_t events = 0;
    std::uint64_t events_dropped = 0;
    std::uint64_t pushes = 0;
    std::uint64_t pushes_dropped = 0;
};

void add_labelled(std::map<std::string, std::uint64_t, std::less<>>& totals, const LabelledCounter& counter) {
    counter.for_each([&](std::string_view label, std::uint64_t n) {
        auto it = totals.find(label);
        if (it == totals.end()) totals.emplace(std::string(label), n);
        else it->second += n;
    });
}

}  // namespace

void Gateway::write_metrics(PrometheusText& out) const {
    using Type = PrometheusText::Type;
    if (!metrics_) return;  // nothing was counted
    std::uint64_t open = 0, opened = 0, bytes_in = 0, bytes_out = 0;
    std::map<std::string, std::uint64_t, std::less<>> closes, rejected;
    std::map<std::string, PluginTotals> plugins;
    for (const auto& loop : loops_) {
        open += loop->router().client_count();
        const LoopMetrics& metrics = loop->metrics();
        opened += metrics.connections_total.value();
        bytes_in += metrics.bytes_in.value();
        bytes_out += metrics.bytes_out.value();
        add_labelled(closes, metrics.closes);
        add_labelled(rejected, metrics.rejected);
        metrics.for_each_plugin([&](const std::string& name, const PluginCounters& counters) {
            PluginTotals& totals = plugins[name];
            add_labelled(totals.outcomes, counters.outcomes);
            for (std::size_t i = 0; i < totals.buckets.size(); ++i) totals.buckets[i] += counters.duration.bucket_count(i);
            totals.sum_ns += counters.duration.sum_ns();
            totals.started += counters.started.value();
            totals.ended += counters.ended.value();
            totals.events += counters.events.value();
            totals.events_dropped += counters.events_dropped.value();
            totals.pushes += counters.pushes.value();
            totals.pushes_dropped += counters.pushes_dropped.value();
        });
    }
    out.family("portico_connections", Type::gauge, "WebSocket connections open now.");
    out.sample("portico_connections", {}, open);
    out.family("portico_connections_total", Type::counter, "WebSocket connections upgraded since start.");
    out.sample("portico_connections_total", {}, opened);
    out.family("portico_connection_closes_total", Type::counter,
               "WebSocket connections ended, by close code (1006: without a close frame).");
    for (const auto& [code, n] : closes) out.sample("portico_connection_closes_total", {{"code", code}}, n);
    out.family("portico_bytes_total", Type::counter, "WebSocket message payload bytes, read from and queued for clients.");
    out.sample("portico_bytes_total", {{"direction", "in"}}, bytes_in);
    out.sample("portico_bytes_total", {{"direction", "out"}}, bytes_out);
    out.family("portico_rejected_messages_total", Type::counter,
               "Client messages answered with an error before any plugin saw them, by error code.");
    for (const auto& [code, n] : rejected) out.sample("portico_rejected_messages_total", {{"code", code}}, n);

    out.family("portico_requests_total", Type::counter, "Requests answered, by plugin and outcome (ok or the error code).");
    for (const auto& [name, totals] : plugins)
        for (const auto& [outcome, n] : totals.outcomes)
            out.sample("portico_requests_total", {{"plugin", name}, {"outcome", outcome}}, n);
    out.family("portico_request_duration_seconds", Type::histogram,
               "Time from a request's frame read to its reply queued, by plugin.");
    for (const auto& [name, totals] : plugins)
        out.histogram("portico_request_duration_seconds", {{"plugin", name}}, totals.buckets,
                      static_cast<double>(totals.sum_ns) / 1e9);
    out.family("portico_inflight", Type::gauge, "Requests sent to a plugin's engines and not yet answered.");
    for (const auto& [name, totals] : plugins)
        out.sample("portico_inflight", {{"plugin", name}}, totals.started - std::min(totals.started, totals.ended));
    out.family("portico_events_total", Type::counter,
               "Progress events of streaming requests, by plugin and fate (sent, or dropped for a slow client).");
    for (const auto& [name, totals] : plugins) {
        out.sample("portico_events_total", {{"plugin", name}, {"fate", "sent"}}, totals.events);
        out.sample("portico_events_total", {{"plugin", name}, {"fate", "dropped"}}, totals.events_dropped);
    }
    out.family("portico_pushes_total", Type::counter,
               "Channel messages for subscribed clients, by plugin and fate (sent, or dropped for a slow client).");
    for (const auto& [name, totals] : plugins) {
        out.sample("portico_pushes_total", {{"plugin", name}, {"fate", "sent"}}, totals.pushes);
        out.sample("portico_pushes_total", {{"plugin", name}, {"fate", "dropped"}}, totals.pushes_dropped);
    }

    // Every loop links to the same engines: the first loop's view stands for all.
    if (loops_.empty()) return;
    const auto statuses = loops_.front()->link_statuses();
    out.family("portico_engine_up", Type::gauge, "1 while an engine of the plugin is in rotation, else 0.");
    for (const auto& [name, status] : statuses)
        for (const auto& engine : status.engines)
            out.sample("portico_engine_up", {{"plugin", name}, {"engine", engine.name}},
                       std::uint64_t{engine.up ? 1u : 0u});
    out.family("portico_engine_queue_depth", Type::gauge,
               "Requests waiting for a worker of a plugin served in this process.");
    for (const auto& [name, status] : statuses)
        if (status.queued) out.sample("portico_engine_queue_depth", {{"plugin", name}}, std::uint64_t{*status.queued});
}

Readiness Gateway::readiness() const {
    using nlohmann::json;
    json plugins = json::object();
    json not_ready = json::array();
    for (const auto& loop : loops_) {
        for (const auto& [name, status] : loop->link_statuses()) {
            auto& entry = plugins[name];
            // The loop that sees the fewest engines decides.
            if (entry.is_null() || entry["engines_alive"].get<std::size_t>() > status.engines_alive)
                entry = {{"engines_alive", status.engines_alive}, {"engines_total", status.engines_total}};
        }
    }
    for (const auto& [name, entry] : plugins.items())
        if (entry["engines_alive"].get<std::size_t>() == 0) not_ready.push_back(name);
    const bool stopping = !running_.load();
    Readiness readiness;
    readiness.ready = !stopping && not_ready.empty() && plugins_without_engine() == 0;
    json body = {{"ready", readiness.ready}, {"plugins", std::move(plugins)}, {"not_ready", std::move(not_ready)}};
    if (stopping) body["reason"] = "the gateway is not serving (starting or shutting down)";
    readiness.json = body.dump();
    return readiness;
}

void Gateway::set_plugin(const LinkSpec& spec) {
    for (auto& loop : loops_) loop->set_engine(spec);
}

void Gateway::remove_plugin(const std::string& plugin) {
    for (auto& loop : loops_) loop->remove_engine(plugin);
}

void Gateway::engine_gone(const std::string& plugin, const std::string& address) {
    for (auto& loop : loops_) loop->engine_gone(plugin, address);
}

Expected<tcp::endpoint> Gateway::start() {
    beast::error_code ec;
    const auto address = net::ip::make_address(config_.address, ec);
    if (ec) return Error{"bad_address", "gateway.listen: bad address " + config_.address};
    if (config_.tls) {
        auto loaded = tls_.load(*config_.tls);
        if (!loaded) return loaded.error();
    }
    if (config_.jwt) {
        auto loaded = tokens_.load(*config_.jwt);
        if (!loaded) return loaded.error();
    }
    if (origins_.any() && !address.is_loopback())
        log_.warn("gateway.allowed_origins is [\"*\"] on {}, which is not a loopback address: a page on any "
                  "site can open a WebSocket to this gateway; list the origins of your pages",
                  config_.address);
    auto bound = listener_->listen(tcp::endpoint(address, config_.port));
    if (!bound) return bound;
    for (auto& loop : loops_) loop->start();
    listener_->start();
    running_ = true;
    return bound;
}

std::size_t Gateway::plugins_without_engine() const {
    std::size_t missing = 0;
    for (const auto& loop : loops_) missing += loop->plugins_without_engine();
    return missing;
}

bool Gateway::wait_for_engines(std::chrono::milliseconds limit) const {
    std::unique_lock<std::mutex> lock(status_mutex_);
    return status_changed_.wait_for(lock, limit, [this] { return plugins_without_engine() == 0; });
}

void Gateway::async_stop(std::function<void()> done) {
    if (!running_) {
        net::post(control_, std::move(done));
        return;
    }
    running_ = false;
    listener_->stop();
    stop_done_ = std::move(done);
    loops_draining_ = loops_.size();
    // Sessions close once their requests are answered, at the latest after the
    // drain timeout, and cut their socket a few seconds after that.
    drain_timer_.expires_after(config_.drain_timeout + std::chrono::seconds(6));
    drain_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec != net::error::operation_aborted) finish_stop();
    });
    for (auto& loop : loops_)
        loop->shut_down_clients([this] { net::post(control_, [this] { on_loop_drained(); }); });
}

void Gateway::on_loop_drained() {
    if (loops_draining_ > 0 && --loops_draining_ == 0) finish_stop();
}

void Gateway::finish_stop() {
    if (!stop_done_) return;
    drain_timer_.cancel();
    // What a loop posted here before it stopped is queued ahead of `done`.
    for (auto& loop : loops_) loop->stop();
    net::post(control_, std::exchange(stop_done_, nullptr));
}

void Gateway::stop() {
    if (!running_) return;
    running_ = false;
    listener_->stop();
    for (auto& loop : loops_) loop->stop();
}

}  // namespace portico
