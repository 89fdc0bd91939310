#pragma once
// Counters that cost the hot path nothing but a plain add: each is written by
// one thread only (its gateway loop, or the thread that owns it) and read by
// the scrape from any other, so a relaxed load and store replace a locked
// read-modify-write. The scrape sums the loops' counters when it is asked.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico {

// Written by one thread; read by any.
class LoopCounter {
public:
    void add(std::uint64_t n = 1) noexcept {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

// A counter per label value (an outcome, a close code), written by one
// thread. The values are bounded: after `slots` distinct ones, the rest are
// counted under "other", so a plugin that invents error codes cannot grow
// the scrape without end.
class LabelledCounter {
public:
    static constexpr std::size_t slots = 32;
    static constexpr std::string_view overflow_label = "other";

    void add(std::string_view label, std::uint64_t n = 1) {
        const std::size_t used = used_.load(std::memory_order_relaxed);
        for (std::size_t i = 0; i < used; ++i) {
            if (entries_[i].label == label) {
                entries_[i].count.add(n);
                return;
            }
        }
        if (used == slots) {
            other_.add(n);
            return;
        }
        // The label is written before the slot is published: a reader that
        // sees `used` grow sees the label whole, and it never changes after.
        entries_[used].label.assign(label);
        entries_[used].count.add(n);
        used_.store(used + 1, std::memory_order_release);
    }

    // Any thread: visit(label, count) for each label seen so far.
    template <class Visit>
    void for_each(Visit&& visit) const {
        const std::size_t used = used_.load(std::memory_order_acquire);
        for (std::size_t i = 0; i < used; ++i) visit(std::string_view(entries_[i].label), entries_[i].count.value());
        if (const std::uint64_t other = other_.value()) visit(overflow_label, other);
    }

private:
    struct Entry {
        std::string label;
        LoopCounter count;
    };
    std::array<Entry, slots> entries_;
    std::atomic<std::size_t> used_{0};
    LoopCounter other_;
};

// Durations in fixed buckets (seconds, as Prometheus has them), written by one thread.
class LoopHistogram {
public:
    // Upper bounds: 100 µs to 10 s; above the last, only +Inf.
    static constexpr std::array<double, 14> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                   0.025,  0.05,    0.1,    0.25,  0.5,    1,     10};

    void observe(std::chrono::nanoseconds took) noexcept {
        const std::int64_t ns = took.count();
        std::size_t bucket = 0;
        while (bucket < bounds.size() && ns > bound_ns[bucket]) ++bucket;
        buckets_[bucket].add();  // bucket == bounds.size(): beyond the last bound
        sum_ns_.add(took.count() > 0 ? static_cast<std::uint64_t>(took.count()) : 0);
    }

    // The bounds in nanoseconds: the request path compares integers.
    static constexpr std::array<std::int64_t, bounds.size()> bound_ns = [] {
        std::array<std::int64_t, bounds.size()> ns{};
        for (std::size_t i = 0; i < bounds.size(); ++i) ns[i] = static_cast<std::int64_t>(bounds[i] * 1e9 + 0.5);
        return ns;
    }();

    // Any thread: not cumulative, one count per bucket (the last is +Inf only).
    std::uint64_t bucket_count(std::size_t bucket) const noexcept { return buckets_[bucket].value(); }
    std::uint64_t sum_ns() const noexcept { return sum_ns_.value(); }

private:
    std::array<LoopCounter, bounds.size() + 1> buckets_;
    LoopCounter sum_ns_;
};

}  // namespace portico
