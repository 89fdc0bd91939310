#include "worker.hpp"

#include "bench_session.hpp"

#include <boost/asio/post.hpp>

namespace portico::bench {

Worker::Worker(RunPlan const& plan, std::uint64_t seed)
    : plan_(plan), seed_(seed), work_(ioc_.get_executor()), close_timer_(ioc_)
{
}

Worker::~Worker()
{
    if (thread_.joinable()) {
        ioc_.stop();
        thread_.join();
    }
}

void Worker::add_sessions(int loaded, int idle)
{
    int const total = loaded + idle;
    to_connect_.reserve(to_connect_.size() + static_cast<std::size_t>(total));
    for (int i = 0; i < total; ++i) {
        // splitmix64 steps give each connection its own mask sequence.
        seed_ += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = seed_;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        to_connect_.push_back(std::make_shared<BenchSession>(ioc_, plan_, *this, stats_, i >= loaded, z));
    }
}

void Worker::start()
{
    thread_ = std::thread([this] { ioc_.run(); });
}

void Worker::connect(int max_parallel)
{
    net::post(ioc_, [this, max_parallel] {
        max_parallel_ = max_parallel;
        connect_next();
    });
}

void Worker::connect_next()
{
    while (!finishing_ && connecting_ < max_parallel_ && next_connect_ < to_connect_.size()) {
        auto session = std::move(to_connect_[next_connect_++]);
        sessions_.push_back(session);
        ++connecting_;
        session->start_connect();
    }
    if (next_connect_ == to_connect_.size()) {
        to_connect_.clear();
        to_connect_.shrink_to_fit();
        next_connect_ = 0;
    }
}

void Worker::give_up_unstarted()
{
    std::size_t const left = to_connect_.size() - next_connect_;
    if (left == 0)
        return;
    stats_.connect_failures += left;
    stats_.note_error(std::to_string(left) + " connection(s) not attempted within the connect timeout");
    bump(stats_.connect_done, static_cast<int>(left));
    to_connect_.clear();
    next_connect_ = 0;
}

template <class F>
void Worker::for_each_session(F&& f)
{
    for (auto const& weak : sessions_)
        if (auto session = weak.lock())
            f(*session);
}

void Worker::abandon_connecting()
{
    net::post(ioc_, [this] {
        give_up_unstarted();
        for_each_session([](BenchSession& s) { s.abandon_connect(); });
    });
}

void Worker::start_load(RunWindow window)
{
    net::post(ioc_, [this, window] { for_each_session([&](BenchSession& s) { s.start_load(window); }); });
}

void Worker::finish(std::chrono::milliseconds close_timeout)
{
    net::post(ioc_, [this, close_timeout] {
        finishing_ = true;
        give_up_unstarted();
        for_each_session([](BenchSession& s) { s.finish(); });
        work_.reset();
        if (open_ == 0)
            return;
        close_timer_.expires_after(close_timeout);
        close_timer_.async_wait([this](error_code ec) {
            if (ec)
                return;  // every connection closed in time
            for_each_session([](BenchSession& s) { s.force_close(); });
        });
    });
}

void Worker::join()
{
    if (thread_.joinable())
        thread_.join();
}

void Worker::on_session_connected(BenchSession&)
{
    --connecting_;
    ++open_;
    connect_next();
}

void Worker::on_session_connect_failed(BenchSession&)
{
    --connecting_;
    connect_next();
}

void Worker::on_session_closed(BenchSession&)
{
    if (--open_ == 0 && finishing_)
        close_timer_.cancel();
}

}  // namespace portico::bench
