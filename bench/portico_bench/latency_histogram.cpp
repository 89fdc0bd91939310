#include "latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace portico::bench {

std::size_t LatencyHistogram::bucket_of(std::uint64_t nanos)
{
    if (nanos < sub_buckets)
        return static_cast<std::size_t>(nanos);
    // Values in [2^k, 2^(k+1)) keep their top sub_bucket_bits + 1 bits.
    int const msb = 63 - __builtin_clzll(nanos);
    int const shift = msb - sub_bucket_bits;
    auto const sub = static_cast<std::size_t>(nanos >> shift) - sub_buckets;
    return static_cast<std::size_t>(shift + 1) * sub_buckets + sub;
}

std::uint64_t LatencyHistogram::bucket_high(std::size_t bucket)
{
    if (bucket < sub_buckets)
        return bucket;
    auto const shift = static_cast<int>(bucket / sub_buckets) - 1;
    auto const sub = bucket % sub_buckets;
    std::uint64_t const low = static_cast<std::uint64_t>(sub_buckets + sub) << shift;
    return low + ((std::uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(std::uint64_t nanos)
{
    ++counts_[bucket_of(nanos)];
    ++count_;
    min_ = std::min(min_, nanos);
    max_ = std::max(max_, nanos);
    sum_ += static_cast<long double>(nanos);
}

void LatencyHistogram::merge(LatencyHistogram const& other)
{
    for (std::size_t i = 0; i < bucket_count; ++i)
        counts_[i] += other.counts_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
}

double LatencyHistogram::mean() const
{
    return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t LatencyHistogram::value_at_percentile(double percent) const
{
    if (count_ == 0)
        return 0;
    percent = std::clamp(percent, 0.0, 100.0);
    auto rank = static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        seen += counts_[i];
        if (seen >= rank)
            return std::min(bucket_high(i), max_);
    }
    return max_;
}

}  // namespace portico::bench
