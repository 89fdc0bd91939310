#include "core/prometheus_text.hpp"

#include <fmt/format.h>

#include <cmath>

namespace portico {
namespace {

void append_escaped(std::string& out, std::string_view value, bool quote_too) {
    for (const char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '"' && quote_too) out += "\\\"";
        else out += c;
    }
}

std::string_view type_name(PrometheusText::Type type) {
    switch (type) {
        case PrometheusText::Type::counter: return "counter";
        case PrometheusText::Type::gauge: return "gauge";
        case PrometheusText::Type::histogram: return "histogram";
    }
    return "untyped";
}

// Shortest text that reads back as the same double; the format's own words
// for the values that are not numbers.
std::string format_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", value);
}

}  // namespace

void PrometheusText::family(std::string_view name, Type type, std::string_view help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    append_escaped(text_, help, false);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type_name(type);
    text_ += '\n';
}

void PrometheusText::begin_sample(std::string_view name, std::initializer_list<MetricLabel> labels,
                                  const MetricLabel* extra) {
    text_ += name;
    if (labels.size() == 0 && extra == nullptr) {
        text_ += ' ';
        return;
    }
    text_ += '{';
    bool first = true;
    auto append = [&](const MetricLabel& label) {
        if (!first) text_ += ',';
        first = false;
        text_ += label.name;
        text_ += "=\"";
        append_escaped(text_, label.value, true);
        text_ += '"';
    };
    for (const auto& label : labels) append(label);
    if (extra != nullptr) append(*extra);
    text_ += "} ";
}

void PrometheusText::sample(std::string_view name, std::initializer_list<MetricLabel> labels, double value) {
    begin_sample(name, labels);
    text_ += format_value(value);
    text_ += '\n';
}

void PrometheusText::sample(std::string_view name, std::initializer_list<MetricLabel> labels, std::uint64_t value) {
    begin_sample(name, labels);
    text_ += std::to_string(value);
    text_ += '\n';
}

void PrometheusText::histogram(std::string_view name, std::initializer_list<MetricLabel> labels,
                               const std::array<std::uint64_t, LoopHistogram::bounds.size() + 1>& buckets,
                               double sum_seconds) {
    const std::string bucket_name = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        cumulative += buckets[i];
        const std::string bound = i < LoopHistogram::bounds.size() ? format_value(LoopHistogram::bounds[i]) : "+Inf";
        const MetricLabel le{"le", bound};
        begin_sample(bucket_name, labels, &le);
        text_ += std::to_string(cumulative);
        text_ += '\n';
    }
    begin_sample(std::string(name) + "_sum", labels);
    text_ += format_value(sum_seconds);
    text_ += '\n';
    begin_sample(std::string(name) + "_count", labels);
    text_ += std::to_string(cumulative);
    text_ += '\n';
}

}  // namespace portico
