#pragma once
// Which browser origins may open a WebSocket (gateway.allowed_origins), and
// the check of an Origin header against them. An origin is compared whole:
// scheme, host and port, with the scheme's default port filled in, so
// "https://app.example.com.evil.net" never passes for "https://app.example.com".
// "https://*.example.com" allows any subdomain (not example.com itself);
// "*" allows every origin.
#include "core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portico {

class AllowedOrigins {
public:
    // Each entry checked; the error names the first bad one by index.
    static Expected<AllowedOrigins> parse(const std::vector<std::string>& patterns);

    // `origin` is an Origin header's value. A malformed one, or "null" (a
    // sandboxed page, a file), passes only "*".
    bool allows(std::string_view origin) const;
    bool any() const noexcept { return any_; }

private:
    struct Pattern {
        std::string scheme;
        std::string host;         // without "*." for a wildcard
        bool subdomains = false;  // "*.host": any name below host
        std::uint16_t port = 0;
    };
    std::vector<Pattern> patterns_;
    bool any_ = false;
};

}  // namespace portico
