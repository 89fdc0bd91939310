#include "engine/engine_job_queue.hpp"

#include <thread>

namespace portico {

EngineJobQueue::EngineJobQueue(std::size_t max_queued, std::string info_json)
    : max_queued_(max_queued), info_json_(std::move(info_json)) {}

EngineJobQueue::Taken EngineJobQueue::push_all(std::vector<EngineJob>& jobs) {
    Taken taken{0, Push::queued};
    bool wake = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_) return {0, Push::closed};
        for (auto& job : jobs) {
            if (jobs_.size() >= max_queued_) {
                taken.rest = Push::full;
                break;
            }
            jobs_.push_back(std::move(job));
            ++taken.count;
        }
        queued_.store(jobs_.size(), std::memory_order_relaxed);
        wake = waiting_ > 0 && taken.count > 0;
    }
    if (wake) {
        if (taken.count > 1) work_.notify_all();
        else work_.notify_one();
    }
    return taken;
}

void EngineJobQueue::push_notice(EngineJob job) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_) return;
        jobs_.push_back(std::move(job));
        queued_.store(jobs_.size(), std::memory_order_relaxed);
        if (waiting_ == 0) return;
    }
    work_.notify_one();
}

Reply EngineJobQueue::refusal(Push why, std::string_view plugin) const {
    if (why == Push::closed) return Reply::error("unavailable", "plugin \"" + std::string(plugin) + "\" is shutting down");
    return Reply::error("overloaded", "plugin \"" + std::string(plugin) + "\" has " + std::to_string(size()) +
                                          " requests waiting; try again later");
}

std::optional<EngineJob> EngineJobQueue::pop(unsigned generation) {
    // Before sleeping, a worker that just finished a job keeps its thread
    // for a moment, giving the processor away at every turn: the next
    // request, often microseconds behind, then needs no wake-up (a futex
    // call and a context switch) on either side.
    if (queued_.load(std::memory_order_relaxed) == 0) {
        const auto until = std::chrono::steady_clock::now() + spin_before_sleep;
        while (queued_.load(std::memory_order_relaxed) == 0 && std::chrono::steady_clock::now() < until)
            std::this_thread::yield();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    work_.wait(lock, [&] { return generation < generation_ || !jobs_.empty() || closed_; });
    --waiting_;
    if (generation < generation_ || jobs_.empty()) return std::nullopt;
    EngineJob job = std::move(jobs_.front());
    jobs_.pop_front();
    queued_.store(jobs_.size(), std::memory_order_relaxed);
    ++in_hand_;
    return job;
}

void EngineJobQueue::done() {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_hand_;
}

void EngineJobQueue::renew(unsigned generation, std::size_t max_queued, std::string info_json) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        generation_ = generation;
        max_queued_ = max_queued;
        info_json_ = std::move(info_json);
    }
    work_.notify_all();
}

void EngineJobQueue::close() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_) return;
        closed_ = true;
    }
    work_.notify_all();
}

bool EngineJobQueue::accepting() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return !closed_;
}

bool EngineJobQueue::drained() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return closed_ && jobs_.empty() && in_hand_ == 0;
}

std::size_t EngineJobQueue::size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return jobs_.size();
}

std::string EngineJobQueue::info_json() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return info_json_;
}

}  // namespace portico
