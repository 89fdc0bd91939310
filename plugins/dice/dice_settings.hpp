#pragma once
// The dice plugin's settings, parsed from EngineContext::settings_json.
//
//   key                    type                   default    allowed
//   seed                   unsigned 64-bit int    (none)     any; makes rolls reproducible
//   max_dice               positive integer       1000       1 .. 100000
//   max_sides              positive integer       1000000    1 .. 1000000000
//   max_expression_length  positive integer       256        1 .. 4096
//   max_terms              positive integer       32         1 .. 1000
//
// Any other key, a wrong type or an out-of-range value is refused with a
// message that names the key, e.g. `dice settings: unknown key "maxdice"`.

#include "dice_expression.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dice {

inline constexpr std::uint32_t max_dice_cap = 100'000;
inline constexpr std::uint32_t max_sides_cap = 1'000'000'000;
inline constexpr std::uint32_t max_expression_length_cap = 4096;
inline constexpr std::uint32_t max_terms_cap = 1000;

struct DiceSettings {
    std::optional<std::uint64_t> seed;
    ExpressionLimits limits;
};

struct SettingsResult {
    std::optional<DiceSettings> settings;  // set on success
    std::string error;                     // "dice settings: ..." otherwise
};

SettingsResult parse_settings(std::string_view json_text);

}  // namespace dice
