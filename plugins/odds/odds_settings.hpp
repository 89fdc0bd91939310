#pragma once
// The odds plugin's settings, from EngineContext::settings_json.
//
//   key           type                default     range
//   max_samples   positive integer    1000000     1 .. 100000000    rolls per request at most
//   batch         positive integer    20000       1 .. 1000000      rolls between two progress events
//   precision     positive number     0.005       > 0               stop once the mean's standard error is below this
//   max_seconds   positive number     10          0.01 .. 3600      time one request may take
//   seed          unsigned integer    random                        fixed seed (tests)
// plus the dice grammar's limits: max_dice, max_sides, max_expression_length,
// max_terms (as for the dice plugin). Unknown keys are refused.
#include "dice_expression.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace odds {

struct Settings {
    std::uint64_t max_samples = 1'000'000;
    std::uint64_t batch = 20'000;
    double precision = 0.005;
    std::chrono::duration<double> max_time{10.0};
    std::optional<std::uint64_t> seed;
    dice::ExpressionLimits limits;
};

// The settings, or throws std::invalid_argument naming the key.
Settings parse_settings(std::string_view json_text);

}  // namespace odds
