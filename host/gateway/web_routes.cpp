#include "gateway/web_assets.hpp"

#include <string>

namespace portico {
namespace {

HttpResponse asset(std::string body, std::string_view content_type) {
    auto response = make_http_response(http::status::ok, std::move(body), content_type);
    // The page and the client change only with the binary.
    response.set(http::field::cache_control, "no-cache");
    response.set("X-Content-Type-Options", "nosniff");
    return response;
}

}  // namespace

void add_playground_routes(HttpRouteTable& routes, const std::string& websocket_path) {
    std::string page(playground_html());
    constexpr std::string_view placeholder = "__PORTICO_WS_PATH__";
    if (const auto at = page.find(placeholder); at != std::string::npos) page.replace(at, placeholder.size(), websocket_path);
    routes.add("/", [page = std::move(page)](const HttpRequest&) {
        auto response = asset(page, "text/html; charset=utf-8");
        // The page runs only its own script and talks only to its own gateway.
        response.set("Content-Security-Policy",
                     "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; "
                     "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        return response;
    });
    routes.add("/portico.js", [](const HttpRequest&) {
        return asset(std::string(portico_js()), "text/javascript; charset=utf-8");
    });
}

}  // namespace portico
