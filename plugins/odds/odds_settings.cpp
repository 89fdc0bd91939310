#include "odds_settings.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace odds {
namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument("odds settings: " + what); }

std::uint64_t whole(const json& value, const char* key, std::uint64_t low, std::uint64_t high) {
    if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<std::int64_t>() >= 0))
        refuse(std::string(key) + " must be a whole number");
    const auto n = value.get<std::uint64_t>();
    if (n < low || n > high)
        refuse(std::string(key) + " must be from " + std::to_string(low) + " to " + std::to_string(high));
    return n;
}

double positive(const json& value, const char* key, double low, double high) {
    if (!value.is_number()) refuse(std::string(key) + " must be a number");
    const double x = value.get<double>();
    if (!(x >= low && x <= high)) refuse(std::string(key) + " is out of range");
    return x;
}

}  // namespace

Settings parse_settings(std::string_view json_text) {
    const json doc = json::parse(json_text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) refuse("must be a JSON object");
    Settings s;
    for (const auto& [key, value] : doc.items()) {
        if (key == "max_samples") s.max_samples = whole(value, "max_samples", 1, 100'000'000);
        else if (key == "batch") s.batch = whole(value, "batch", 1, 1'000'000);
        else if (key == "precision") s.precision = positive(value, "precision", 1e-12, 1e12);
        else if (key == "max_seconds") s.max_time = std::chrono::duration<double>(positive(value, "max_seconds", 0.01, 3600));
        else if (key == "seed") s.seed = whole(value, "seed", 0, UINT64_MAX);
        else if (key == "max_dice") s.limits.max_dice = static_cast<std::uint32_t>(whole(value, "max_dice", 1, 100'000));
        else if (key == "max_sides") s.limits.max_sides = static_cast<std::uint32_t>(whole(value, "max_sides", 1, 1'000'000'000));
        else if (key == "max_expression_length")
            s.limits.max_expression_length = static_cast<std::uint32_t>(whole(value, "max_expression_length", 1, 4096));
        else if (key == "max_terms") s.limits.max_terms = static_cast<std::uint32_t>(whole(value, "max_terms", 1, 1000));
        else refuse("unknown key \"" + key + "\"");
    }
    return s;
}

}  // namespace odds
