#include "gateway/gateway.hpp"

#include "gateway/http_session.hpp"
#include "gateway/tls_stream.hpp"


namespace portico {

Gateway::Gateway(const GatewayConfig& config, const LinkFactory& links, net::io_context& control, Logger& log)
    : config_(config),
      control_(control),
      log_(log),
      routes_(config.path),
      origins_(AllowedOrigins::parse(config.allowed_origins).value()),  // validated with the config
      limits_(config.max_connections, config.max_connections_per_ip),
      services_{config_, routes_, origins_, limits_, tokens_, log_},
      drain_timer_(control) {
    std::vector<net::io_context*> ios;
    for (unsigned i = 0; i < config_.threads; ++i) {
        loops_.push_back(std::make_unique<GatewayLoop>(links, [this] {
            { std::lock_guard<std::mutex> lock(status_mutex_); }  // a waiter is waiting or not yet checking
            status_changed_.notify_all();
        }, log_));
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
