#pragma once
// The WebSocket gateway: a listener and the event loops it deals connections
// to. Each loop routes its clients' messages to the plugins' engines through
// links the LinkFactory makes.
#include "config/config.hpp"
#include "core/error.hpp"
#include "config/allowed_origins.hpp"
#include "gateway/connection_limits.hpp"
#include "gateway/gateway_loop.hpp"
#include "gateway/gateway_services.hpp"
#include "gateway/http_routes.hpp"
#include "gateway/listener.hpp"
#include "gateway/tls_context.hpp"
#include "gateway/token_verifier.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"
#include "core/prometheus_text.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <memory>
#include <vector>

namespace portico {

// Whether every plugin has an engine in rotation on every loop (/readyz).
struct Readiness {
    bool ready = false;
    std::string json;  // {"ready": ..., "plugins": {NAME: {"engines_alive", "engines_total"}}, "not_ready": [...]}
};

class Gateway {
public:
    // `metrics`: whether the loops count for /metrics (ops.metrics).
    Gateway(const GatewayConfig& config, const LinkFactory& links, net::io_context& control, Logger& log,
            bool metrics = true);
    ~Gateway();

    // Serves GET `path` on the gateway's listener (the ops routes, the
    // playground). Before start() only: the table is read by every loop.
    void add_route(std::string path, HttpRouteTable::Handler handler);
    // Any thread: the gateway's families for /metrics, summed over the loops.
    void write_metrics(PrometheusText& out) const;
    // Any thread: for /readyz. Not ready while stopping.
    Readiness readiness() const;

    // Routes a plugin to its engines (adds or replaces; also while running).
    void set_plugin(const LinkSpec& spec);
    // Stops routing `plugin`; requests already sent are still answered.
    void remove_plugin(const std::string& plugin);
    // An engine of `plugin` is known to be gone: see EngineLink::engine_gone.
    void engine_gone(const std::string& plugin, const std::string& address);
    // Loads the TLS files (gateway.tls), listens and starts the loops;
    // returns the address actually bound.
    Expected<tcp::endpoint> start();
    // SIGHUP: reads the certificate and key (`tls`) and the token key
    // (`jwt`, for rotation) again, the files may be new ones; new connections
    // and token refreshes use them, open connections keep their TLS session.
    // If either fails nothing changes. Any thread.
    Expected<void> reload_keys(const std::optional<TlsConfig>& tls, const std::optional<JwtConfig>& jwt);
    bool uses_tls() const noexcept { return config_.tls.has_value(); }
    // Waits up to `limit` until every plugin has an engine in rotation (the
    // first pings answered), so that "ready" means ready; false if some has not.
    bool wait_for_engines(std::chrono::milliseconds limit) const;
    // Stops accepting, lets requests in flight finish for up to the config's
    // drain_timeout, closes every connection with 1001, then stops the loops;
    // `done` then runs on the control thread. Never blocks that thread: call
    // it there, while the control loop runs.
    void async_stop(std::function<void()> done);
    // The same at once, for when the control loop does not run (a failed
    // start): connections are cut, not drained.
    void stop();

private:
    void on_loop_drained();
    std::size_t plugins_without_engine() const;
    void finish_stop();

    const GatewayConfig& config_;
    net::io_context& control_;
    Logger& log_;
    void on_connection(std::size_t loop, tcp::socket socket);

    HttpRouteTable routes_;  // read by every loop, never changed once serving
    AllowedOrigins origins_;
    ConnectionLimits limits_;
    TokenVerifierStore tokens_;
    GatewayServices services_;
    TlsContextStore tls_;
    std::vector<std::unique_ptr<GatewayLoop>> loops_;
    std::unique_ptr<Listener> listener_;
    bool metrics_ = true;
    std::atomic<bool> running_{false};
    net::steady_timer drain_timer_;  // the bound on async_stop()
    std::size_t loops_draining_ = 0;
    std::function<void()> stop_done_;
    // wait_for_engines() sleeps on this; the loops wake it when it may be true.
    mutable std::mutex status_mutex_;
    mutable std::condition_variable status_changed_;
};

}  // namespace portico
