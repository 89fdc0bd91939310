#include "table_settings.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace table {
namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument("table settings: " + what); }

std::uint64_t whole(const json& value, const std::string& key, std::uint64_t low, std::uint64_t high) {
    if (!value.is_number_unsigned()) refuse("\"" + key + "\" must be a whole number");
    const auto n = value.get<std::uint64_t>();
    if (n < low || n > high)
        refuse("\"" + key + "\" must be from " + std::to_string(low) + " to " + std::to_string(high) + ", got " +
               std::to_string(n));
    return n;
}

}  // namespace

Settings parse_settings(std::string_view json_text) {
    const json doc = json::parse(json_text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) refuse("must be a JSON object");
    Settings s;
    for (const auto& [key, value] : doc.items()) {
        if (key == "max_rooms") s.max_rooms = whole(value, key, 1, 100'000);
        else if (key == "max_seats") s.max_seats = whole(value, key, 1, 100'000);
        else if (key == "seed") s.seed = whole(value, key, 0, UINT64_MAX);
        else if (key == "max_dice") s.limits.max_dice = static_cast<std::uint32_t>(whole(value, key, 1, 100'000));
        else if (key == "max_sides") s.limits.max_sides = static_cast<std::uint32_t>(whole(value, key, 1, 1'000'000'000));
        else if (key == "max_expression_length")
            s.limits.max_expression_length = static_cast<std::uint32_t>(whole(value, key, 1, 4096));
        else if (key == "max_terms") s.limits.max_terms = static_cast<std::uint32_t>(whole(value, key, 1, 1000));
        else refuse("unknown key " + json(key).dump());
    }
    return s;
}

}  // namespace table
