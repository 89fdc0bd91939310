#include "ws_url.hpp"

#include <charconv>

namespace portico::bench {

std::string parse_ws_url(std::string_view text, WsUrl& out)
{
    bool const tls = text.substr(0, 6) == "wss://";
    if (!tls && text.substr(0, 5) != "ws://")
        return "the URL must start with ws:// or wss://";
    text.remove_prefix(tls ? 6 : 5);

    auto const slash = text.find_first_of("/?");
    std::string_view authority = text.substr(0, slash);
    std::string_view target = slash == std::string_view::npos ? std::string_view{} : text.substr(slash);
    if (authority.find('@') != std::string_view::npos)
        return "user information in the URL is not supported";

    std::string_view host;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        auto const close = authority.find(']');
        if (close == std::string_view::npos)
            return "unterminated IPv6 address in the URL";
        host = authority.substr(1, close - 1);
        auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return "unexpected text after the IPv6 address in the URL";
            port = rest.substr(1);
        }
    } else {
        auto const colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos)
            port = authority.substr(colon + 1);
    }
    if (host.empty())
        return "the URL has no host";

    if (port.empty() && authority.find(':') != std::string_view::npos && authority.back() == ':')
        return "the URL has an empty port";
    if (!port.empty()) {
        unsigned value = 0;
        auto const [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
            return "the URL port must be a number from 1 to 65535";
    }

    out.host = std::string(host);
    out.tls = tls;
    out.port = port.empty() ? (tls ? "443" : "80") : std::string(port);
    out.target = target.empty() ? "/" : std::string(target);
    if (out.target.front() == '?')
        out.target.insert(out.target.begin(), '/');
    return {};
}

std::string host_header(WsUrl const& url)
{
    bool const ipv6 = url.host.find(':') != std::string::npos;
    std::string host = ipv6 ? "[" + url.host + "]" : url.host;
    if (url.port != (url.tls ? "443" : "80"))
        host += ":" + url.port;
    return host;
}

}  // namespace portico::bench
