// The counters behind /metrics (core/metrics.hpp) and the Prometheus text
// they are written in (core/prometheus_text.hpp), with no gateway running.
// The integration test parses a live gateway's /metrics with a real
// Prometheus parser; this one checks the format's details line by line.
#include "core/metrics.hpp"
#include "core/prometheus_text.hpp"
#include "gateway/http_routes.hpp"
#include "gateway/web_assets.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <thread>
#include <vector>

namespace {

using portico::LabelledCounter;
using portico::LoopHistogram;
using portico::PrometheusText;
using namespace std::chrono_literals;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::map<std::string, std::uint64_t> counts(const LabelledCounter& counter) {
    std::map<std::string, std::uint64_t> seen;
    counter.for_each([&](std::string_view label, std::uint64_t n) { seen[std::string(label)] = n; });
    return seen;
}

}  // namespace

TEST_CASE("a labelled counter keeps a count per label, and past its slots counts the rest as other",
          "[metrics]") {
    LabelledCounter counter;
    counter.add("ok");
    counter.add("ok", 2);
    counter.add("bad_expression");
    CHECK(counts(counter) == std::map<std::string, std::uint64_t>{{"ok", 3}, {"bad_expression", 1}});
    for (std::size_t i = 0; i < LabelledCounter::slots + 10; ++i) counter.add("code_" + std::to_string(i));
    const auto seen = counts(counter);
    // Two slots went to ok and bad_expression: 30 new codes fit, 12 do not.
    CHECK(seen.size() == LabelledCounter::slots + 1);
    CHECK(seen.at("other") == 12);
    CHECK(seen.at("ok") == 3);
}

TEST_CASE("a labelled counter is read whole while its one writer adds labels", "[metrics][threads]") {
    LabelledCounter counter;
    std::thread writer([&] {
        for (int round = 0; round < 2000; ++round) counter.add("code_" + std::to_string(round % 40));
    });
    std::uint64_t last_total = 0;
    for (int i = 0; i < 200; ++i) {
        std::uint64_t total = 0;
        counter.for_each([&](std::string_view label, std::uint64_t n) {
            CHECK((label.substr(0, 5) == "code_" || label == "other"));
            total += n;
        });
        CHECK(total >= last_total);  // counts only grow
        last_total = total;
    }
    writer.join();
    std::uint64_t total = 0;
    counter.for_each([&](std::string_view, std::uint64_t n) { total += n; });
    CHECK(total == 2000);
}

TEST_CASE("a histogram puts each duration in the first bucket whose bound holds it", "[metrics]") {
    LoopHistogram histogram;
    histogram.observe(50us);    // <= 0.0001
    histogram.observe(100us);   // == 0.0001: still the first ("le" is inclusive)
    histogram.observe(3ms);     // <= 0.005
    histogram.observe(20s);     // beyond 10: +Inf only
    CHECK(histogram.bucket_count(0) == 2);
    CHECK(histogram.bucket_count(5) == 1);
    CHECK(histogram.bucket_count(LoopHistogram::bounds.size()) == 1);
    CHECK(histogram.sum_ns() == 50'000 + 100'000 + 3'000'000 + 20'000'000'000ull);
}

TEST_CASE("the text format: HELP and TYPE once, escaped label values, cumulative buckets", "[metrics][prometheus]") {
    PrometheusText out;
    out.family("portico_requests_total", PrometheusText::Type::counter, "Requests, by plugin\nand outcome.");
    out.sample("portico_requests_total", {{"plugin", "dice"}, {"outcome", "ok"}}, std::uint64_t{7});
    out.sample("portico_requests_total", {{"plugin", "we\"ird\\name\n"}, {"outcome", "ok"}}, std::uint64_t{1});
    out.family("portico_connections", PrometheusText::Type::gauge, "Open now.");
    out.sample("portico_connections", {}, std::uint64_t{3});
    std::array<std::uint64_t, LoopHistogram::bounds.size() + 1> buckets{};
    buckets[0] = 2;
    buckets[5] = 1;
    buckets.back() = 1;
    out.family("portico_request_duration_seconds", PrometheusText::Type::histogram, "Durations.");
    out.histogram("portico_request_duration_seconds", {{"plugin", "dice"}}, buckets, 1.5);

    const auto lines = lines_of(out.text());
    REQUIRE(lines.size() >= 8);
    CHECK(lines[0] == "# HELP portico_requests_total Requests, by plugin\\nand outcome.");
    CHECK(lines[1] == "# TYPE portico_requests_total counter");
    CHECK(lines[2] == "portico_requests_total{plugin=\"dice\",outcome=\"ok\"} 7");
    CHECK(lines[3] == "portico_requests_total{plugin=\"we\\\"ird\\\\name\\n\",outcome=\"ok\"} 1");
    CHECK(lines[6] == "portico_connections 3");
    CHECK(out.text().back() == '\n');
    // Cumulative: 2 up to 0.0001, 3 from 0.005 on, 4 at +Inf and in _count.
    CHECK(out.text().find("portico_request_duration_seconds_bucket{plugin=\"dice\",le=\"0.0001\"} 2\n") !=
          std::string::npos);
    CHECK(out.text().find("portico_request_duration_seconds_bucket{plugin=\"dice\",le=\"0.0025\"} 2\n") !=
          std::string::npos);
    CHECK(out.text().find("portico_request_duration_seconds_bucket{plugin=\"dice\",le=\"0.005\"} 3\n") !=
          std::string::npos);
    CHECK(out.text().find("portico_request_duration_seconds_bucket{plugin=\"dice\",le=\"10\"} 3\n") !=
          std::string::npos);
    CHECK(out.text().find("portico_request_duration_seconds_bucket{plugin=\"dice\",le=\"+Inf\"} 4\n") !=
          std::string::npos);
    CHECK(out.text().find("portico_request_duration_seconds_sum{plugin=\"dice\"} 1.5\n") != std::string::npos);
    CHECK(out.text().find("portico_request_duration_seconds_count{plugin=\"dice\"} 4\n") != std::string::npos);
}

TEST_CASE("the playground and the client are served from the binary, the page aimed at the gateway's path",
          "[http][playground]") {
    portico::HttpRouteTable routes("/socket");
    portico::add_playground_routes(routes, "/socket");
    portico::HttpRequest get(portico::http::verb::get, "/", 11);
    const auto page = routes.route(get);
    CHECK(page.response.result() == portico::http::status::ok);
    CHECK(page.response[portico::http::field::content_type] == "text/html; charset=utf-8");
    CHECK(page.response.body().find("content=\"/socket\"") != std::string::npos);
    CHECK(page.response.body().find("__PORTICO_WS_PATH__") == std::string::npos);
    CHECK(page.response.body().find("import { Portico } from \"./portico.js\"") != std::string::npos);
    CHECK_FALSE(page.response["Content-Security-Policy"].empty());
    get.target("/portico.js");
    const auto script = routes.route(get);
    CHECK(script.response.result() == portico::http::status::ok);
    CHECK(script.response[portico::http::field::content_type] == "text/javascript; charset=utf-8");
    CHECK(script.response.body() == std::string(portico::portico_js()));
    CHECK(script.response.body().find("export class Portico") != std::string::npos);
}

TEST_CASE("a route table without a WebSocket path serves no upgrade (the ops listener)", "[http][routes]") {
    portico::HttpRouteTable routes("");
    routes.add("/healthz", [](const portico::HttpRequest&) {
        return portico::make_http_response(portico::http::status::ok, "ok\n");
    });
    portico::HttpRequest upgrade(portico::http::verb::get, "/ws", 11);
    upgrade.set(portico::http::field::connection, "Upgrade");
    upgrade.set(portico::http::field::upgrade, "websocket");
    const auto decision = routes.route(upgrade);
    CHECK_FALSE(decision.upgrade);
    CHECK(decision.response.result() == portico::http::status::not_found);
    CHECK(decision.response.body() == "not found\n");
}
