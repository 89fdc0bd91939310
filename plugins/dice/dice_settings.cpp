#include "dice_settings.hpp"

#include <nlohmann/json.hpp>

namespace dice {

namespace {

SettingsResult refuse(const std::string& what) {
    return {std::nullopt, "dice settings: " + what};
}

// Reads a positive integer no larger than `cap` into `out`; an error message
// (without the "dice settings: " prefix) otherwise.
std::optional<std::string> read_limit(const std::string& key, const nlohmann::json& value, std::uint32_t cap,
                                      std::uint32_t& out) {
    const std::string quoted = "\"" + key + "\"";
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() == 0) {
        return quoted + " must be a positive integer";
    }
    const auto number = value.get<std::uint64_t>();
    if (number > cap) return quoted + " must be at most " + std::to_string(cap) + ", got " + std::to_string(number);
    out = static_cast<std::uint32_t>(number);
    return std::nullopt;
}

}  // namespace

SettingsResult parse_settings(std::string_view json_text) {
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::exception& e) {
        return refuse(std::string("invalid JSON: ") + e.what());
    }
    if (!document.is_object()) return refuse("expected a JSON object");

    DiceSettings settings;
    ExpressionLimits& limits = settings.limits;
    for (const auto& [key, value] : document.items()) {
        std::optional<std::string> error;
        if (key == "seed") {
            // nlohmann stores every non-negative integer literal as unsigned.
            if (!value.is_number_unsigned()) return refuse("\"seed\" must be an unsigned 64-bit integer");
            settings.seed = value.get<std::uint64_t>();
        } else if (key == "max_dice") {
            error = read_limit(key, value, max_dice_cap, limits.max_dice);
        } else if (key == "max_sides") {
            error = read_limit(key, value, max_sides_cap, limits.max_sides);
        } else if (key == "max_expression_length") {
            error = read_limit(key, value, max_expression_length_cap, limits.max_expression_length);
        } else if (key == "max_terms") {
            error = read_limit(key, value, max_terms_cap, limits.max_terms);
        } else {
            return refuse("unknown key " + nlohmann::json(key).dump());  // dump() quotes and escapes
        }
        if (error) return refuse(*error);
    }
    return {settings, {}};
}

}  // namespace dice
