#pragma once

#include <array>
#include <cstdint>

namespace portico::bench {

// Log-linear histogram of durations in nanoseconds, in the manner of HDR
// histograms: 128 linear sub-buckets per power of two, so a reported value is
// within 1% of the recorded one over the whole 64-bit range. Recording is a
// few instructions and allocates nothing; each thread owns its histogram and
// they are merged once at the end, so the hot path takes no lock.
class LatencyHistogram {
public:
    void record(std::uint64_t nanos);
    void merge(LatencyHistogram const& other);

    std::uint64_t count() const { return count_; }
    std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
    std::uint64_t max() const { return max_; }
    double mean() const;

    // The value at or below which `percent` of the samples fall (the upper
    // edge of its bucket, never above the largest sample). 0 when empty.
    std::uint64_t value_at_percentile(double percent) const;

    // Exposed for tests.
    static std::size_t bucket_of(std::uint64_t nanos);
    static std::uint64_t bucket_high(std::size_t bucket);

private:
    static constexpr int sub_bucket_bits = 7;
    static constexpr std::size_t sub_buckets = std::size_t{1} << sub_bucket_bits;
    static constexpr std::size_t bucket_count = (64 - sub_bucket_bits + 1) * sub_buckets;

    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
    long double sum_ = 0;
};

}  // namespace portico::bench
