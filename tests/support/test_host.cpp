#include "support/test_host.hpp"

#include "app/host.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <sstream>
#include <thread>

namespace portico::test {

nlohmann::json plugin_entry(const std::string& library, nlohmann::json extra) {
    nlohmann::json entry = {{"library", library}, {"endpoint", "tcp://127.0.0.1:0"}};
    entry.update(extra);
    return entry;
}

std::string make_config(const nlohmann::json& plugins, const nlohmann::json& gateway) {
    nlohmann::json gateway_object = {{"listen", "127.0.0.1:0"}};
    gateway_object.update(gateway);
    return nlohmann::json{{"log_level", "warn"}, {"gateway", gateway_object}, {"plugins", plugins}}.dump(2);
}

struct TestHost::Impl {
    explicit Impl(LogLevel level) : log(level) {}
    Logger log;
    std::ostringstream announce;
    std::unique_ptr<Host> host;
    std::thread runner;
    std::future<void> finished;
};

TestHost::TestHost(const std::string& config_json) {
    auto config = parse_config(config_json, "test config", ".", ConfigDefaults{"."});
    if (!config) FAIL("config refused: " << config.error().message << "\n" << config_json);
    // PORTICO_TEST_LOG_LEVEL=debug shows what the host does, when a test needs explaining.
    auto level = config.value().log_level;
    if (const char* wanted = std::getenv("PORTICO_TEST_LOG_LEVEL"))
        if (auto parsed = parse_log_level(wanted)) level = *parsed;
    impl_ = std::make_unique<Impl>(level);
    impl_->host = std::make_unique<Host>(std::move(config).value(), impl_->log, impl_->announce);
    auto started = impl_->host->start();
    if (!started) FAIL("host did not start: " << started.error().message);
    std::packaged_task<void()> run([host = impl_->host.get()] { host->run(); });
    impl_->finished = run.get_future();
    impl_->runner = std::thread(std::move(run));
}

TestHost::~TestHost() {
    if (!impl_->runner.joinable()) return;
    if (!stop(std::chrono::seconds(30))) {
        std::fprintf(stderr, "portico test: the host did not stop within 30 s; aborting\n");
        std::abort();
    }
}

bool TestHost::stop(std::chrono::milliseconds limit) {
    if (!impl_->runner.joinable()) return true;
    impl_->host->request_stop();
    if (impl_->finished.wait_for(limit) != std::future_status::ready) return false;
    impl_->runner.join();
    impl_->host.reset();
    return true;
}

std::uint16_t TestHost::gateway_port() const { return impl_->host->gateway_port(); }

std::string TestHost::endpoint_of(const std::string& plugin) const { return impl_->host->endpoint_of(plugin); }

std::string TestHost::announcements() const { return impl_->announce.str(); }

}  // namespace portico::test
