#pragma once
// What many rolls of one expression say about its totals: count, mean,
// spread, and (while the totals seen stay few) their distribution.
#include <cstdint>
#include <map>
#include <string>

namespace odds {

class Estimate {
public:
    // Distinct totals kept for the distribution and percentiles; past this
    // (a very wide expression) only the moments are reported.
    static constexpr std::size_t max_distinct = 10'000;
    // The final reply lists the whole distribution up to this many totals.
    static constexpr std::size_t max_listed = 64;

    void add(std::int64_t total);
    std::uint64_t samples() const noexcept { return n_; }
    double mean() const noexcept { return n_ ? sum_ / static_cast<double>(n_) : 0.0; }
    double stddev() const noexcept;
    // Standard error of the mean (infinite below two samples).
    double standard_error() const noexcept;

    // {"samples":N,"mean":M,"stderr":E}: what a progress event says.
    std::string progress_json() const;
    // The whole estimate; `expr` is the normalised expression, `stopped` why it ended.
    std::string result_json(const std::string& expr, const char* stopped) const;

private:
    std::int64_t percentile(double p) const;

    std::uint64_t n_ = 0;
    double sum_ = 0;
    double sum_sq_ = 0;
    std::int64_t min_ = 0;
    std::int64_t max_ = 0;
    std::map<std::int64_t, std::uint64_t> counts_;
    bool counting_ = true;  // false once counts_ would pass max_distinct
};

}  // namespace odds
