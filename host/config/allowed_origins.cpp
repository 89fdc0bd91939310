#include "config/allowed_origins.hpp"

#include <algorithm>
#include <optional>

namespace portico {
namespace {

struct Origin {
    std::string scheme;
    std::string host;
    std::uint16_t port = 0;
};

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
    return out;
}

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// RFC 6454's serialisation: scheme "://" host [":" port], nothing after it.
// A bracketed IPv6 host is kept with its brackets.
std::optional<Origin> parse_origin(std::string_view text, bool allow_wildcard) {
    const auto separator = text.find("://");
    if (separator == std::string_view::npos || separator == 0) return std::nullopt;
    Origin origin;
    origin.scheme = lower(text.substr(0, separator));
    if (origin.scheme != "http" && origin.scheme != "https") return std::nullopt;
    std::string_view rest = text.substr(separator + 3);
    std::string_view host = rest;
    std::string_view port;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = rest.substr(0, close + 1);
        std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            port = after.substr(1);
            if (port.empty()) return std::nullopt;
        }
        for (char c : host.substr(1, host.size() - 2))
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
                return std::nullopt;
    } else {
        const auto colon = rest.find(':');
        if (colon != std::string_view::npos) {
            host = rest.substr(0, colon);
            port = rest.substr(colon + 1);
            if (port.empty()) return std::nullopt;
        }
        std::string_view name = host;
        if (allow_wildcard && name.substr(0, 2) == "*.") name.remove_prefix(2);
        const std::string lowered = lower(name);
        if (lowered.empty() || lowered.front() == '.' || lowered.back() == '.' ||
            lowered.find("..") != std::string::npos || !std::all_of(lowered.begin(), lowered.end(), host_char))
            return std::nullopt;
    }
    origin.host = lower(host);
    if (port.empty()) {
        origin.port = origin.scheme == "https" ? 443 : 80;
    } else {
        if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
        const unsigned long number = std::stoul(std::string(port));
        if (number == 0 || number > 65535) return std::nullopt;
        origin.port = static_cast<std::uint16_t>(number);
    }
    return origin;
}

}  // namespace

Expected<AllowedOrigins> AllowedOrigins::parse(const std::vector<std::string>& patterns) {
    AllowedOrigins allowed;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        const std::string& text = patterns[i];
        if (text == "*") {
            allowed.any_ = true;
            continue;
        }
        auto origin = parse_origin(text, true);
        if (!origin)
            return Error{"invalid_origin", "[" + std::to_string(i) + "]: \"" + text +
                                               "\" is not an origin: write scheme://host[:port] (http or https, "
                                               "no path), \"https://*.example.com\" for subdomains, or \"*\""};
        Pattern pattern;
        pattern.scheme = origin->scheme;
        pattern.port = origin->port;
        pattern.subdomains = origin->host.substr(0, 2) == "*.";
        pattern.host = pattern.subdomains ? origin->host.substr(2) : origin->host;
        allowed.patterns_.push_back(std::move(pattern));
    }
    return allowed;
}

bool AllowedOrigins::allows(std::string_view text) const {
    if (any_) return true;
    const auto origin = parse_origin(text, false);
    if (!origin) return false;
    for (const auto& pattern : patterns_) {
        if (pattern.scheme != origin->scheme || pattern.port != origin->port) continue;
        if (!pattern.subdomains) {
            if (origin->host == pattern.host) return true;
            continue;
        }
        // A name below the pattern's: a non-empty label, then ".host", at the end.
        const std::string& host = origin->host;
        if (host.size() > pattern.host.size() + 1 &&
            host.compare(host.size() - pattern.host.size(), pattern.host.size(), pattern.host) == 0 &&
            host[host.size() - pattern.host.size() - 1] == '.')
            return true;
    }
    return false;
}

}  // namespace portico
