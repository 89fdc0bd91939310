#include "odds_estimate.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace odds {

void Estimate::add(std::int64_t total) {
    if (n_ == 0 || total < min_) min_ = total;
    if (n_ == 0 || total > max_) max_ = total;
    ++n_;
    const auto x = static_cast<double>(total);
    sum_ += x;
    sum_sq_ += x * x;
    if (!counting_) return;
    ++counts_[total];
    if (counts_.size() > max_distinct) {
        counting_ = false;
        counts_.clear();
    }
}

double Estimate::stddev() const noexcept {
    if (n_ < 2) return 0.0;
    const double m = mean();
    const double variance = (sum_sq_ - static_cast<double>(n_) * m * m) / static_cast<double>(n_ - 1);
    return variance > 0 ? std::sqrt(variance) : 0.0;
}

double Estimate::standard_error() const noexcept {
    if (n_ < 2) return std::numeric_limits<double>::infinity();
    return stddev() / std::sqrt(static_cast<double>(n_));
}

std::int64_t Estimate::percentile(double p) const {
    const auto rank = static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(n_)));
    std::uint64_t seen = 0;
    for (const auto& [total, count] : counts_) {
        seen += count;
        if (seen >= rank) return total;
    }
    return max_;
}

std::string Estimate::progress_json() const {
    nlohmann::json out{{"samples", n_}, {"mean", mean()}};
    const double se = standard_error();
    if (std::isfinite(se)) out["stderr"] = se;
    return out.dump();
}

std::string Estimate::result_json(const std::string& expr, const char* stopped) const {
    nlohmann::json out{{"expr", expr},       {"samples", n_}, {"mean", mean()}, {"stddev", stddev()},
                       {"min", min_},        {"max", max_},   {"stopped", stopped}};
    if (counting_ && n_ > 0) {
        out["p5"] = percentile(0.05);
        out["p50"] = percentile(0.50);
        out["p95"] = percentile(0.95);
        if (counts_.size() <= max_listed) {
            nlohmann::json distribution = nlohmann::json::object();
            for (const auto& [total, count] : counts_)
                distribution[std::to_string(total)] = static_cast<double>(count) / static_cast<double>(n_);
            out["distribution"] = std::move(distribution);
        }
    }
    return out.dump();
}

}  // namespace odds
