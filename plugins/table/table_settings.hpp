#pragma once
// The table plugin's settings, from EngineContext::settings_json.
//
//   key        type              default  range
//   max_rooms  positive integer  1000     1 .. 100000   rooms with someone seated, at once
//   max_seats  positive integer  50       1 .. 100000   players at one room
//   seed       unsigned integer  random                 fixed seed (tests)
// plus the dice grammar's limits: max_dice, max_sides, max_expression_length,
// max_terms (as for the dice plugin). Unknown keys are refused.
#include "dice_expression.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace table {

struct Settings {
    std::size_t max_rooms = 1000;
    std::size_t max_seats = 50;
    std::optional<std::uint64_t> seed;
    dice::ExpressionLimits limits;
};

// The settings, or throws std::invalid_argument naming the key.
Settings parse_settings(std::string_view json_text);

}  // namespace table
