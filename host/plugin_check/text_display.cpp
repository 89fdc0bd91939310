#include "text_display.hpp"

#include <cstdio>

namespace portico::plugin_check {

bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        if (lead < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t code_point = 0;
        if (lead >= 0xc2 && lead <= 0xdf) {
            length = 2;
            code_point = lead & 0x1fu;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            length = 3;
            code_point = lead & 0x0fu;
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            length = 4;
            code_point = lead & 0x07u;
        } else {
            return false;  // a stray continuation byte, c0/c1 (always overlong) or f5..ff
        }
        if (text.size() - i < length) return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xc0u) != 0x80u) return false;
            code_point = (code_point << 6) | (next & 0x3fu);
        }
        if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000)) return false;
        if (code_point >= 0xd800 && code_point <= 0xdfff) return false;
        if (code_point > 0x10ffff) return false;
        i += length;
    }
    return true;
}

bool has_control_characters(std::string_view text) {
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) return true;
    }
    return false;
}

std::string quote_input(std::string_view input, std::size_t max_shown) {
    std::string out = "\"";
    const std::size_t shown = input.size() <= max_shown ? input.size() : max_shown;
    for (std::size_t i = 0; i < shown; ++i) {
        const auto byte = static_cast<unsigned char>(input[i]);
        switch (byte) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (byte < 0x20 || byte >= 0x7f) {
                    char hex[5];
                    std::snprintf(hex, sizeof hex, "\\x%02x", byte);
                    out += hex;
                } else {
                    out += static_cast<char>(byte);
                }
        }
    }
    if (shown < input.size()) return out + "...\" (" + format_count(input.size()) + " bytes)";
    return out + "\"";
}

std::string format_duration(std::chrono::nanoseconds duration) {
    const double ms = static_cast<double>(duration.count()) / 1e6;
    char text[32];
    if (ms >= 100) std::snprintf(text, sizeof text, "%.0f ms", ms);
    else if (ms >= 1) std::snprintf(text, sizeof text, "%.1f ms", ms);
    else std::snprintf(text, sizeof text, "%.3f ms", ms);
    return text;
}

std::string format_mebibytes(std::int64_t bytes, bool signed_form) {
    char text[32];
    std::snprintf(text, sizeof text, signed_form ? "%+.1f MiB" : "%.1f MiB",
                  static_cast<double>(bytes) / (1024.0 * 1024.0));
    return text;
}

std::string format_count(std::uint64_t count) {
    std::string digits = std::to_string(count);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

}  // namespace portico::plugin_check
