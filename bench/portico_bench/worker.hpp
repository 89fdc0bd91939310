#pragma once

#include "net.hpp"
#include "run_plan.hpp"
#include "worker_stats.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace portico::bench {

class BenchSession;

// One thread, one io_context, and the connections that live on it. Nothing
// is shared with other workers while the load runs: each has its own stats
// and histogram, merged by the caller after join().
//
// The public calls are made from the main thread and only post work to the
// worker's thread; the on_session_* calls come from sessions on that thread.
class Worker {
public:
    Worker(RunPlan const& plan, std::uint64_t seed);
    ~Worker();
    Worker(Worker const&) = delete;
    Worker& operator=(Worker const&) = delete;

    // Before start() only.
    void add_sessions(int loaded, int idle);

    void start();
    void connect(int max_parallel);
    void abandon_connecting();
    void start_load(RunWindow window);
    // Closes every connection; what is outstanding is counted lost. Sockets
    // still open after `close_timeout` are closed hard. The thread then ends.
    void finish(std::chrono::milliseconds close_timeout);
    void join();

    WorkerStats& stats() { return stats_; }

    void on_session_connected(BenchSession& session);
    void on_session_connect_failed(BenchSession& session);
    void on_session_closed(BenchSession& session);

private:
    void connect_next();
    void give_up_unstarted();
    template <class F>
    void for_each_session(F&& f);

    RunPlan const& plan_;
    std::uint64_t seed_;
    net::io_context ioc_{1};
    net::executor_work_guard<net::io_context::executor_type> work_;
    net::steady_timer close_timer_;
    WorkerStats stats_;
    std::vector<std::shared_ptr<BenchSession>> to_connect_;  // owned until their connect starts
    std::vector<std::weak_ptr<BenchSession>> sessions_;      // never keeps a session alive
    std::size_t next_connect_ = 0;
    int connecting_ = 0;
    int max_parallel_ = 1;
    int open_ = 0;
    bool finishing_ = false;
    std::thread thread_;
};

}  // namespace portico::bench
