#include "bench_run.hpp"

#include "process_info.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

namespace portico::bench {
namespace {

using namespace std::chrono_literals;

Clock::duration seconds_of(double s)
{
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

double seconds_between(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

char const* form_name(WireForm form)
{
    switch (form) {
    case WireForm::envelope:
        return "envelope";
    case WireForm::shorthand:
        return "shorthand";
    case WireForm::echo:
        return "echo";
    }
    return "?";
}

}  // namespace

BenchRun::BenchRun(BenchOptions options) : options_(std::move(options)) {}

int BenchRun::run()
{
    if (!prepare())
        return 1;
    for (auto& w : workers_)
        w->start();
    bool const connected = connect_all();
    if (connected) {
        load();
        wait_for_stragglers();
    }
    close_all();
    if (!connected)
        return 1;

    auto const summary = summarize();
    for (auto const& w : workers_)
        for (auto const& sample : w->stats().error_samples)
            std::cerr << "portico-bench: error: " << sample << "\n";
    std::cout << (options_.json ? summary_json(summary) : summary_line(summary)) << std::endl;
    return 0;
}

bool BenchRun::prepare()
{
    auto const total = static_cast<std::size_t>(options_.conns) + static_cast<std::size_t>(options_.idle_conns);
    if (auto const problem = raise_fd_limit(total + 64); !problem.empty()) {
        std::cerr << "portico-bench: " << problem << "\n";
        return false;
    }

    net::io_context ioc;
    tcp::resolver resolver(ioc);
    error_code ec;
    auto const results = resolver.resolve(options_.endpoint.host, options_.endpoint.port, ec);
    if (ec || results.empty()) {
        std::cerr << "portico-bench: cannot resolve " << options_.endpoint.host << ":" << options_.endpoint.port
                  << ": " << (ec ? ec.message() : "no address") << "\n";
        return false;
    }
    plan_.endpoint = results.begin()->endpoint();
    plan_.host_header = host_header(options_.endpoint);
    if (options_.endpoint.tls) {
        // The bench measures the server, not the trust chain: no verification
        // (it runs against a gateway on loopback with a certificate of its own).
        plan_.tls = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
        plan_.tls->set_verify_mode(net::ssl::verify_none);
        SSL_CTX_set_min_proto_version(plan_.tls->native_handle(), TLS1_2_VERSION);
        plan_.server_name = options_.endpoint.host;
    }
    plan_.target = options_.endpoint.target;
    plan_.inflight = options_.inflight;
    if (auto const problem = WireFormat::make(options_.form, options_.plugin, options_.payload, plan_.wire);
        !problem.empty()) {
        std::cerr << "portico-bench: " << problem << "\n";
        return false;
    }

    // Spread loaded and idle connections evenly over the threads.
    std::random_device entropy;
    int const threads = options_.threads;
    for (int t = 0; t < threads; ++t) {
        std::uint64_t const seed = (std::uint64_t{entropy()} << 32) | entropy();
        workers_.push_back(std::make_unique<Worker>(plan_, seed));
        int const loaded = options_.conns / threads + (t < options_.conns % threads ? 1 : 0);
        int const idle = options_.idle_conns / threads + (t < options_.idle_conns % threads ? 1 : 0);
        workers_.back()->add_sessions(loaded, idle);
    }
    return true;
}

bool BenchRun::connect_all()
{
    int const total = options_.conns + options_.idle_conns;
    auto const started = Clock::now();
    auto const deadline = started + seconds_of(options_.connect_timeout);
    // Enough handshakes at once to connect quickly, few enough not to
    // overflow the server's accept backlog.
    int const per_worker = std::max(1, 256 / options_.threads);
    for (auto& w : workers_)
        w->connect(per_worker);

    auto const done = [&] {
        int sum = 0;
        for (auto& w : workers_)
            sum += w->stats().connect_done.load(std::memory_order_relaxed);
        return sum;
    };
    bool abandoned = false;
    while (done() < total) {
        if (!abandoned && Clock::now() >= deadline) {
            for (auto& w : workers_)
                w->abandon_connecting();
            abandoned = true;
        }
        std::this_thread::sleep_for(10ms);
    }

    int loaded_up = 0;
    int idle_up = 0;
    for (auto& w : workers_) {
        loaded_up += w->stats().loaded_up.load(std::memory_order_relaxed);
        idle_up += w->stats().idle_up.load(std::memory_order_relaxed);
    }
    char line[200];
    std::snprintf(line, sizeof line, "portico-bench: connected %d/%d loaded + %d/%d idle connections in %.2f s",
                  loaded_up, options_.conns, idle_up, options_.idle_conns, seconds_between(started, Clock::now()));
    std::cerr << line << std::endl;

    if ((options_.conns > 0 && loaded_up == 0) || (options_.conns == 0 && idle_up == 0)) {
        for (auto& w : workers_)
            for (auto const& sample : w->stats().error_samples)
                std::cerr << "portico-bench: error: " << sample << "\n";
        std::cerr << "portico-bench: no connection to " << options_.url << " could be made\n";
        return false;
    }
    return true;
}

void BenchRun::load()
{
    auto const t0 = Clock::now();
    window_.warm_end = t0 + seconds_of(options_.warmup);
    window_.measure_end = window_.warm_end + seconds_of(options_.seconds);
    for (auto& w : workers_)
        w->start_load(window_);

    bool measuring = false;
    double cpu_start = 0;
    std::optional<double> server_start;
    std::optional<double> machine_start;
    Clock::time_point measure_start;
    auto next_tick = t0 + 1s;
    std::uint64_t last_good = 0;
    auto last_time = t0;

    for (;;) {
        auto const now = Clock::now();
        if (!measuring && now >= window_.warm_end) {
            measuring = true;
            measure_start = now;
            cpu_start = own_cpu_seconds();
            machine_start = machine_cpu_seconds();
            if (options_.server_pid != 0)
                server_start = process_cpu_seconds(options_.server_pid);
        }
        if (now >= window_.measure_end)
            break;
        if (now >= next_tick) {
            if (options_.progress)
                print_progress(now, measuring ? "measure" : "warmup", last_good, last_time);
            next_tick += 1s;
        }
        auto wake = std::min(next_tick, window_.measure_end);
        if (!measuring)
            wake = std::min(wake, window_.warm_end);
        std::this_thread::sleep_until(wake);
    }

    auto const measure_stop = Clock::now();
    double const wall = std::max(seconds_between(measure_start, measure_stop), 1e-9);
    cpu_pct_ = (own_cpu_seconds() - cpu_start) / wall * 100.0;
    if (auto const machine_end = machine_cpu_seconds(); machine_end && machine_start)
        machine_cpu_pct_ = (*machine_end - *machine_start) / wall * 100.0;
    if (server_start) {
        if (auto const server_end = process_cpu_seconds(options_.server_pid))
            server_cpu_pct_ = (*server_end - *server_start) / wall * 100.0;
    } else if (options_.server_pid != 0) {
        std::cerr << "portico-bench: cannot read /proc/" << options_.server_pid << "/stat\n";
    }
}

void BenchRun::wait_for_stragglers()
{
    auto const deadline = window_.measure_end + seconds_of(options_.grace);
    while (outstanding() > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
}

void BenchRun::close_all()
{
    for (auto& w : workers_)
        w->finish(2000ms);
    for (auto& w : workers_)
        w->join();
}

std::int64_t BenchRun::outstanding() const
{
    std::int64_t sum = 0;
    for (auto const& w : workers_)
        sum += w->stats().outstanding.load(std::memory_order_relaxed);
    return sum;
}

std::uint64_t BenchRun::good_replies() const
{
    std::uint64_t sum = 0;
    for (auto const& w : workers_)
        sum += w->stats().good_replies.load(std::memory_order_relaxed);
    return sum;
}

std::uint64_t BenchRun::errors() const
{
    std::uint64_t sum = 0;
    for (auto const& w : workers_)
        sum += w->stats().errors.load(std::memory_order_relaxed);
    return sum;
}

void BenchRun::print_progress(Clock::time_point now, char const* phase, std::uint64_t& last_good,
                              Clock::time_point& last_time) const
{
    auto const good = good_replies();
    double const rate = static_cast<double>(good - last_good) / std::max(seconds_between(last_time, now), 1e-9);
    last_good = good;
    last_time = now;
    double const elapsed = seconds_between(window_.warm_end - seconds_of(options_.warmup), now);
    char line[200];
    std::snprintf(line, sizeof line, "portico-bench: %5.1fs %-7s rtt/s=%.0f errors=%llu outstanding=%lld", elapsed,
                  phase, rate, static_cast<unsigned long long>(errors()), static_cast<long long>(outstanding()));
    std::cerr << line << std::endl;
}

RunSummary BenchRun::summarize() const
{
    RunSummary s;
    s.conns = options_.conns;
    s.inflight = options_.inflight;
    s.idle_conns = options_.idle_conns;
    s.threads = options_.threads;
    s.seconds = options_.seconds;
    s.warmup = options_.warmup;
    s.form = form_name(options_.form);

    LatencyHistogram merged;
    std::uint64_t window_good = 0;
    for (auto const& w : workers_) {
        auto const& st = w->stats();
        merged.merge(st.histogram);
        window_good += st.window_good;
        s.conns_up += st.loaded_up.load();
        s.idle_up += st.idle_up.load();
        s.sent += st.sent;
        s.failed_replies += st.failed_replies;
        s.malformed_replies += st.malformed_replies;
        s.unknown_ids += st.unknown_ids;
        s.connect_failures += st.connect_failures;
        s.dropped_connections += st.dropped_connections;
        s.lost += st.lost;
    }
    s.errors = s.failed_replies + s.malformed_replies + s.unknown_ids + s.connect_failures + s.dropped_connections;
    s.rtt_per_s = static_cast<double>(window_good) / options_.seconds;
    auto const us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
    s.samples = merged.count();
    s.p50_us = us(merged.value_at_percentile(50));
    s.p90_us = us(merged.value_at_percentile(90));
    s.p99_us = us(merged.value_at_percentile(99));
    s.p999_us = us(merged.value_at_percentile(99.9));
    s.max_us = us(merged.max());
    s.mean_us = merged.mean() / 1000.0;
    s.cpu_pct = cpu_pct_;
    s.server_cpu_pct = server_cpu_pct_;
    s.machine_cpu_pct = machine_cpu_pct_;
    return s;
}

}  // namespace portico::bench
