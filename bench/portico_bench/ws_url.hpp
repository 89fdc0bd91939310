#pragma once

#include <string>
#include <string_view>

namespace portico::bench {

// The parts of a ws:// URL that a client needs to connect and upgrade.
struct WsUrl {
    std::string host;    // name or address, without brackets
    std::string port;    // decimal, "80" when the URL has none
    std::string target;  // path and query, "/" when the URL has none
    bool tls = false;    // wss://
};

// Parses "ws://host[:port][/path]" or "wss://...". Returns an empty string on
// success, otherwise a message saying what is wrong.
std::string parse_ws_url(std::string_view text, WsUrl& out);

// The value of the Host header: host, plus ":port" when it is not 80.
std::string host_header(WsUrl const& url);

}  // namespace portico::bench
