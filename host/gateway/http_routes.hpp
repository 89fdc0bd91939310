#pragma once
// What the gateway does with one HTTP request, decided without a socket (the
// Asio HTTP server's request_handler idea), so it is unit-tested and fuzzed
// alone: a WebSocket upgrade on the gateway's path is handed to a WebSocket
// session; every other request is answered from a table of GET routes
// (/metrics, /healthz or a page register here), or refused with the status
// that says why.
#include "core/net.hpp"

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace portico {

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// A short plain-text answer that closes the connection.
HttpResponse make_http_response(http::status status, std::string body,
                                std::string_view content_type = "text/plain; charset=utf-8");

class HttpRouteTable {
public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    // `websocket_path` empty: no upgrade is served here (the ops listener).
    explicit HttpRouteTable(std::string websocket_path);

    // Serves GET (and HEAD) on `path`, the target without its query string.
    void add(std::string path, Handler handler);

    struct Decision {
        bool upgrade = false;  // hand the connection to a WebSocket session
        HttpResponse response;  // otherwise: this answer
    };
    Decision route(const HttpRequest& request) const;

    const std::string& websocket_path() const noexcept { return websocket_path_; }

private:
    Decision decide(const HttpRequest& request) const;

    std::string websocket_path_;
    std::map<std::string, Handler, std::less<>> routes_;
};

// The target's path: up to the first '?' or '#'.
std::string_view target_path(std::string_view target);

}  // namespace portico
