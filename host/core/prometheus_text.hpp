#pragma once
// The Prometheus text exposition format, version 0.0.4: what GET /metrics
// answers. Each family is announced once (HELP and TYPE) before its samples;
// label values are escaped as the format asks (backslash, quote, newline).
#include "core/metrics.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace portico {

inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

struct MetricLabel {
    std::string_view name;
    std::string_view value;
};

class PrometheusText {
public:
    enum class Type { counter, gauge, histogram };

    // HELP and TYPE of the family `name`; the samples that follow belong to it.
    void family(std::string_view name, Type type, std::string_view help);
    void sample(std::string_view name, std::initializer_list<MetricLabel> labels, double value);
    void sample(std::string_view name, std::initializer_list<MetricLabel> labels, std::uint64_t value);
    // A histogram's _bucket (cumulative), _sum and _count lines, from
    // buckets summed over the loops (one count per bucket, see LoopHistogram).
    void histogram(std::string_view name, std::initializer_list<MetricLabel> labels,
                   const std::array<std::uint64_t, LoopHistogram::bounds.size() + 1>& buckets, double sum_seconds);

    const std::string& text() const noexcept { return text_; }
    std::string take() noexcept { return std::move(text_); }

private:
    void begin_sample(std::string_view name, std::initializer_list<MetricLabel> labels,
                      const MetricLabel* extra = nullptr);

    std::string text_;
};

}  // namespace portico
