// What an operator sees, against the real portico executable: GET /metrics
// parsed by a real Prometheus parser (Debian's python3-prometheus-client,
// through parse_metrics.py) with its values checked against the requests the
// test made, /healthz and /readyz, the ops listener (ops.listen), JSON log
// lines and the pid file.
#include "support/portico_process.hpp"
#include "support/test_host.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using portico::test::http_get;
using portico::test::PorticoProcess;
using portico::test::Subprocess;
using portico::test::TempDir;
using portico::test::WsClient;

// The config of make_config() with top-level keys merged in.
std::string write_config(const TempDir& dir, const json& top, const json& gateway = json::object(),
                         const json& plugins = {{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN)}}) {
    json config = json::parse(portico::test::make_config(plugins, gateway));
    config.merge_patch(top);
    return dir.write("portico.json", config.dump(2));
}

// The samples of one /metrics answer, as the Prometheus parser read them.
struct Scrape {
    json families;  // name -> [types] (the parser names a counter's family without _total)
    json samples;   // [[name, {labels}, value], ...]

    // The value of the sample `name` whose labels include `labels`; -1 when absent.
    double value(const std::string& name, const json& labels = json::object()) const {
        for (const auto& sample : samples) {
            if (sample[0] != name) continue;
            bool match = true;
            for (const auto& [key, wanted] : labels.items()) match = match && sample[1].value(key, "") == wanted;
            if (match) return sample[2].get<double>();
        }
        return -1;
    }
};

Scrape scrape(const TempDir& dir, std::uint16_t port) {
    const auto answer = http_get(port, "/metrics");
    REQUIRE(answer.status == 200);
    CHECK(answer.headers.at("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    const std::string path = dir.write("metrics.txt", answer.body);
    Subprocess parser({"/usr/bin/python3", PORTICO_PARSE_METRICS, path});
    const auto status = parser.wait(30s);
    INFO("parser: " << parser.err() << "\nmetrics:\n" << answer.body);
    REQUIRE(status.exited);
    REQUIRE(status.code == 0);
    const auto parsed = json::parse(parser.out());
    return {parsed.at("families"), parsed.at("samples")};
}

json roll(WsClient& client, const std::string& payload, int id) {
    client.send(json{{"id", id}, {"plugin", "dice"}, {"payload", payload}}.dump());
    return json::parse(client.read_required());
}

}  // namespace

TEST_CASE("/metrics counts what the gateway did, in the Prometheus text format", "[ops][metrics]") {
    TempDir dir;
    PorticoProcess portico(write_config(dir, json::object()));
    REQUIRE(portico.wait_ready());
    const auto port = portico.gateway_port();

    {
        WsClient client(port);
        for (int i = 0; i < 5; ++i) CHECK(roll(client, "3d6", i)["ok"] == true);
        CHECK(roll(client, "3x6", 10)["error"]["code"] == "bad_expression");
        client.send(R"({"id":11,"plugin":"nope","payload":""})");
        CHECK(json::parse(client.read_required())["error"]["code"] == "unknown_plugin");
        client.send("not json at all {");
        client.read_required();
        client.close();
    }
    WsClient open_one(port);
    CHECK(roll(open_one, "d20", 1)["ok"] == true);

    // The closed client's close is counted once its session has ended.
    Scrape metrics;
    for (int attempt = 0; attempt < 50; ++attempt) {
        metrics = scrape(dir, port);
        if (metrics.value("portico_connection_closes_total", {{"code", "1000"}}) >= 1) break;
        std::this_thread::sleep_for(100ms);
    }
    CHECK(metrics.families.at("portico_requests") == json::array({"counter"}));
    CHECK(metrics.families.at("portico_request_duration_seconds") == json::array({"histogram"}));
    CHECK(metrics.families.at("portico_connections") == json::array({"gauge", "counter"}));
    CHECK(metrics.value("portico_requests_total", {{"plugin", "dice"}, {"outcome", "ok"}}) == 6);
    CHECK(metrics.value("portico_requests_total", {{"plugin", "dice"}, {"outcome", "bad_expression"}}) == 1);
    // "nope", and the shorthand "not json at all {", which names plugin "not".
    CHECK(metrics.value("portico_rejected_messages_total", {{"code", "unknown_plugin"}}) == 2);
    CHECK(metrics.value("portico_request_duration_seconds_count", {{"plugin", "dice"}}) == 7);
    CHECK(metrics.value("portico_request_duration_seconds_bucket", {{"plugin", "dice"}, {"le", "+Inf"}}) == 7);
    CHECK(metrics.value("portico_request_duration_seconds_sum", {{"plugin", "dice"}}) > 0);
    CHECK(metrics.value("portico_inflight", {{"plugin", "dice"}}) == 0);
    CHECK(metrics.value("portico_connections") == 1);
    CHECK(metrics.value("portico_connections_total") == 2);
    CHECK(metrics.value("portico_connection_closes_total", {{"code", "1000"}}) == 1);
    CHECK(metrics.value("portico_bytes_total", {{"direction", "in"}}) > 0);
    CHECK(metrics.value("portico_bytes_total", {{"direction", "out"}}) > 0);
    CHECK(metrics.value("portico_engine_up", {{"plugin", "dice"}}) == 1);
    CHECK(metrics.value("portico_engine_queue_depth", {{"plugin", "dice"}}) == 0);
    CHECK(metrics.value("portico_reloads_total", {{"outcome", "applied"}}) == 0);
    CHECK(metrics.value("portico_build_info") == 1);
    // Labels stay bounded: no client id is ever one.
    for (const auto& sample : metrics.samples)
        for (const auto& [label, value] : sample[1].items()) CHECK(label != "client");

    SECTION("a reload is counted by its outcome") {
        dir.write("portico.json", "{ not json");
        portico.send_signal(SIGHUP);
        REQUIRE(portico.next_event("reload_refused", 10s));
        CHECK(scrape(dir, port).value("portico_reloads_total", {{"outcome", "refused"}}) == 1);
    }
}

TEST_CASE("/healthz answers while serving; /readyz names the plugins without an engine", "[ops][health]") {
    TempDir dir;
    // "remote" is routed to an engine address where nothing listens.
    const json plugins = {{"dice", portico::test::plugin_entry(PORTICO_DICE_PLUGIN)},
                          {"remote", {{"connect", json::array({"tcp://127.0.0.1:9"})}, {"timeout_ms", 500}}}};
    PorticoProcess portico(write_config(dir, json::object(), json::object(), plugins));
    REQUIRE(portico.wait_ready());
    const auto port = portico.gateway_port();

    const auto health = http_get(port, "/healthz");
    CHECK(health.status == 200);
    CHECK(json::parse(health.body) == json{{"status", "ok"}});
    CHECK(http_get(port, "/healthz", 5s, "HEAD").status == 200);

    const auto ready = http_get(port, "/readyz");
    CHECK(ready.status == 503);
    CHECK(ready.headers.at("content-type") == "application/json");
    const auto body = json::parse(ready.body);
    CHECK(body["ready"] == false);
    CHECK(body["not_ready"] == json::array({"remote"}));
    CHECK(body["plugins"]["dice"]["engines_alive"] == 1);
    CHECK(body["plugins"]["remote"]["engines_alive"] == 0);
    const auto metrics = scrape(dir, port);
    CHECK(metrics.value("portico_engine_up", {{"plugin", "remote"}, {"engine", "tcp://127.0.0.1:9"}}) == 0);

    // A name no plugin can have reads like one that is not served.
    WsClient client(port);
    client.send("DICE 3d6");
    const auto upper = client.read_required();
    client.send("dic 3d6");
    const auto typo = client.read_required();
    CHECK(upper == "error: no plugin named \"DICE\"; plugins here: dice, portico, remote");
    CHECK(typo == "error: no plugin named \"dic\"; plugins here: dice, portico, remote");
}

TEST_CASE("ops.listen: the ops routes on their own address, and only there", "[ops][listener]") {
    TempDir dir;
    PorticoProcess portico(write_config(dir, {{"ops", {{"listen", "127.0.0.1:0"}}}}));
    REQUIRE(portico.wait_ready());
    REQUIRE(portico.ready().contains("ops"));
    const auto ops_port = portico.ready()["ops"]["port"].get<std::uint16_t>();
    REQUIRE(ops_port != 0);
    CHECK(portico.out().find("ops listening on http://127.0.0.1:" + std::to_string(ops_port)) != std::string::npos);

    CHECK(http_get(ops_port, "/healthz").status == 200);
    CHECK(http_get(ops_port, "/readyz").status == 200);
    WsClient client(portico.gateway_port());
    CHECK(roll(client, "2d8", 1)["ok"] == true);
    CHECK(scrape(dir, ops_port).value("portico_requests_total", {{"plugin", "dice"}, {"outcome", "ok"}}) == 1);
    // Not on the gateway's listener, and no WebSocket on the ops one.
    CHECK(http_get(portico.gateway_port(), "/metrics").status == 404);
    CHECK(http_get(portico.gateway_port(), "/healthz").status == 404);
    CHECK(http_get(ops_port, "/ws").status == 404);
    CHECK(http_get(ops_port, "/nothing").status == 404);

    SECTION("ops.metrics false: nothing is counted and /metrics is not served") {
        TempDir other;
        PorticoProcess quiet(write_config(other, {{"ops", {{"metrics", false}}}}));
        REQUIRE(quiet.wait_ready());
        CHECK(http_get(quiet.gateway_port(), "/metrics").status == 404);
        CHECK(http_get(quiet.gateway_port(), "/healthz").status == 200);
        WsClient quiet_client(quiet.gateway_port());
        CHECK(roll(quiet_client, "d6", 1)["ok"] == true);
    }
}

TEST_CASE("log_format json: every log line is one JSON object with time, level and message", "[ops][logs]") {
    TempDir dir;
    PorticoProcess portico(write_config(dir, {{"log_format", "json"}, {"log_level", "debug"}}));
    REQUIRE(portico.wait_ready());
    {
        WsClient client(portico.gateway_port());
        CHECK(roll(client, "d6", 1)["ok"] == true);
        client.close();
    }
    REQUIRE(portico.wait_for_err("\"connection closed\"", 10s));
    portico.terminate();
    REQUIRE(portico.wait(20s).exited);

    std::istringstream lines(portico.err());
    int count = 0;
    bool saw_close = false;
    for (std::string line; std::getline(lines, line);) {
        INFO("line: " << line);
        const auto entry = json::parse(line, nullptr, false);
        REQUIRE(entry.is_object());
        CHECK(entry["time"].get<std::string>().size() == 24);  // 2026-12-02T09:15:00.123Z
        CHECK(entry["time"].get<std::string>().back() == 'Z');
        CHECK(entry["level"].is_string());
        CHECK(entry["message"].is_string());
        if (entry["message"] == "connection closed") {
            saw_close = true;
            CHECK(entry["code"] == "1000");
            CHECK(entry["client"].is_string());
        }
        ++count;
    }
    CHECK(count > 3);
    CHECK(saw_close);
}

TEST_CASE("--pid-file: written once serving, removed at exit", "[ops][pidfile]") {
    TempDir dir;
    const std::string pid_path = dir.path() + "/portico.pid";
    PorticoProcess portico(write_config(dir, json::object()), {"--pid-file", pid_path});
    REQUIRE(portico.wait_ready());
    std::string text;
    for (int attempt = 0; attempt < 50 && text.empty(); ++attempt) {
        std::ifstream in(pid_path);
        std::getline(in, text);
        if (text.empty()) std::this_thread::sleep_for(50ms);
    }
    CHECK(text == std::to_string(portico.pid()));
    portico.terminate();
    REQUIRE(portico.wait(20s).exited);
    CHECK_FALSE(std::ifstream(pid_path).good());
}
