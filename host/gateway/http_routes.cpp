#include "gateway/http_routes.hpp"

namespace portico {

HttpResponse make_http_response(http::status status, std::string body, std::string_view content_type) {
    HttpResponse response(status, 11);
    response.set(http::field::server, "portico");
    response.set(http::field::content_type, content_type);
    if (status == http::status::upgrade_required) response.set(http::field::upgrade, "websocket");
    response.keep_alive(false);
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

std::string_view target_path(std::string_view target) {
    return target.substr(0, target.find_first_of("?#"));
}

HttpRouteTable::HttpRouteTable(std::string websocket_path) : websocket_path_(std::move(websocket_path)) {}

void HttpRouteTable::add(std::string path, Handler handler) { routes_[std::move(path)] = std::move(handler); }

HttpRouteTable::Decision HttpRouteTable::route(const HttpRequest& request) const {
    Decision decision = decide(request);
    if (!decision.upgrade && request.method() == http::verb::head) {
        // The length of what GET would send, without the body (RFC 9110 9.3.2).
        const auto length = decision.response.body().size();
        decision.response.body().clear();
        decision.response.content_length(length);
    }
    return decision;
}

HttpRouteTable::Decision HttpRouteTable::decide(const HttpRequest& request) const {
    Decision decision;
    const std::string_view path = target_path(request.target());
    if (!websocket_path_.empty() && path == websocket_path_) {
        if (websocket::is_upgrade(request)) {
            decision.upgrade = true;
            return decision;
        }
        decision.response = make_http_response(
            http::status::upgrade_required,
            "portico WebSocket gateway: connect a WebSocket client to " + websocket_path_ + "\n");
        return decision;
    }
    const auto it = routes_.find(path);
    if (it == routes_.end()) {
        decision.response = make_http_response(
            http::status::not_found, websocket_path_.empty()
                                         ? std::string("not found\n")
                                         : "not found: the portico WebSocket gateway is at " + websocket_path_ + "\n");
        return decision;
    }
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
        decision.response = make_http_response(http::status::method_not_allowed, "only GET is served here\n");
        decision.response.set(http::field::allow, "GET, HEAD");
        return decision;
    }
    decision.response = it->second(request);
    return decision;
}

}  // namespace portico
