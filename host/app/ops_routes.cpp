#include "app/ops_routes.hpp"

#include "core/prometheus_text.hpp"
#include "gateway/gateway.hpp"

namespace portico {
namespace {

std::string host_metrics(const Gateway* gateway, const HostCounters& counters) {
    using Type = PrometheusText::Type;
    PrometheusText out;
    out.family("portico_build_info", Type::gauge, "Always 1; the version of portico that serves.");
    out.sample("portico_build_info", {{"version", PORTICO_VERSION}}, std::uint64_t{1});
    out.family("portico_start_time_seconds", Type::gauge, "When the process started, in seconds since the Unix epoch.");
    out.sample("portico_start_time_seconds", {},
               std::chrono::duration<double>(counters.started.time_since_epoch()).count());
    out.family("portico_reloads_total", Type::counter, "Config reloads (SIGHUP), by outcome.");
    out.sample("portico_reloads_total", {{"outcome", "applied"}}, counters.reloads_applied.load());
    out.sample("portico_reloads_total", {{"outcome", "refused"}}, counters.reloads_refused.load());
    out.family("portico_isolated_engine_exits_total", Type::counter,
               "Isolated engine processes that exited and were restarted, by plugin.");
    counters.isolated_exits.for_each([&](std::string_view plugin, std::uint64_t n) {
        out.sample("portico_isolated_engine_exits_total", {{"plugin", plugin}}, n);
    });
    if (gateway != nullptr) gateway->write_metrics(out);
    return out.take();
}

}  // namespace

void add_ops_routes(const AddRoute& add, const Gateway* gateway, const HostCounters& counters, bool metrics) {
    add("/healthz", [](const HttpRequest&) {
        return make_http_response(http::status::ok, "{\"status\":\"ok\"}\n", "application/json");
    });
    add("/readyz", [gateway](const HttpRequest&) {
        if (gateway == nullptr)
            return make_http_response(http::status::ok, "{\"ready\":true}\n", "application/json");
        const Readiness readiness = gateway->readiness();
        return make_http_response(readiness.ready ? http::status::ok : http::status::service_unavailable,
                                  readiness.json + "\n", "application/json");
    });
    if (!metrics) return;
    add("/metrics", [gateway, &counters](const HttpRequest&) {
        return make_http_response(http::status::ok, host_metrics(gateway, counters), prometheus_content_type);
    });
}

}  // namespace portico
