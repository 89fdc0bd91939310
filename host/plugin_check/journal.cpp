#include "journal.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace portico::plugin_check {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string escape_field(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (char c : field) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\\') out += "\\\\";
        else if (c == '\t') out += "\\t";
        else if (c == '\n') out += "\\n";
        else if (byte < 0x20 || byte == 0x7f) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", byte);
            out += hex;
        } else {
            out += c;
        }
    }
    return out;
}

std::string unescape_field(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '\\' || i + 1 == field.size()) {
            out += field[i];
            continue;
        }
        const char kind = field[++i];
        if (kind == 't') out += '\t';
        else if (kind == 'n') out += '\n';
        else if (kind == 'x' && i + 2 < field.size() && hex_digit(field[i + 1]) >= 0 && hex_digit(field[i + 2]) >= 0) {
            out += static_cast<char>(hex_digit(field[i + 1]) * 16 + hex_digit(field[i + 2]));
            i += 2;
        } else {
            out += kind;  // "\\" and anything unknown
        }
    }
    return out;
}

void JournalWriter::record(std::initializer_list<std::string_view> fields) {
    std::string line;
    for (std::string_view field : fields) {
        if (!line.empty()) line += '\t';
        line += escape_field(field);
    }
    line += '\n';
    std::size_t written = 0;
    while (written < line.size()) {
        const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        written += static_cast<std::size_t>(n);
    }
}

std::optional<std::vector<std::string>> JournalReader::next() {
    const auto end = buffer_.find('\n', start_);
    if (end == std::string::npos) {
        // Keep only the incomplete tail.
        buffer_.erase(0, start_);
        start_ = 0;
        return std::nullopt;
    }
    std::vector<std::string> fields;
    std::size_t from = start_;
    while (true) {
        const auto tab = buffer_.find('\t', from);
        if (tab == std::string::npos || tab > end) {
            fields.push_back(unescape_field(std::string_view(buffer_).substr(from, end - from)));
            break;
        }
        fields.push_back(unescape_field(std::string_view(buffer_).substr(from, tab - from)));
        from = tab + 1;
    }
    start_ = end + 1;
    return fields;
}

}  // namespace portico::plugin_check
