#pragma once

#include "bench_options.hpp"
#include "run_plan.hpp"
#include "run_summary.hpp"
#include "worker.hpp"

#include <memory>
#include <vector>

namespace portico::bench {

// One benchmark run from start to summary: connect every connection, load
// for the warm-up and the window, wait the grace period for stragglers,
// close, merge the workers' figures. The main thread only orchestrates and
// prints; the load runs on the workers.
class BenchRun {
public:
    explicit BenchRun(BenchOptions options);

    // Returns the process exit status: 0 done, 1 failed.
    int run();

private:
    bool prepare();
    bool connect_all();
    void load();
    void wait_for_stragglers();
    void close_all();
    RunSummary summarize() const;

    std::int64_t outstanding() const;
    std::uint64_t good_replies() const;
    std::uint64_t errors() const;
    void print_progress(Clock::time_point now, char const* phase, std::uint64_t& last_good,
                        Clock::time_point& last_time) const;

    BenchOptions options_;
    RunPlan plan_;
    std::vector<std::unique_ptr<Worker>> workers_;
    RunWindow window_{};
    double cpu_pct_ = 0;
    std::optional<double> server_cpu_pct_;
    std::optional<double> machine_cpu_pct_;
};

}  // namespace portico::bench
