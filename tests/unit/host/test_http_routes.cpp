// The HTTP route table (gateway/http_routes.hpp): what the gateway answers to
// each request, decided with no socket.
#include "gateway/http_routes.hpp"

#include <catch2/catch.hpp>

namespace {

namespace http = portico::http;
using portico::HttpRequest;
using portico::HttpRouteTable;

HttpRequest request(http::verb method, const std::string& target, bool upgrade = false) {
    HttpRequest r(method, target, 11);
    r.set(http::field::host, "127.0.0.1");
    if (upgrade) {
        r.set(http::field::connection, "Upgrade");
        r.set(http::field::upgrade, "websocket");
        r.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
        r.set(http::field::sec_websocket_version, "13");
    }
    return r;
}

HttpRouteTable table() {
    HttpRouteTable routes("/ws");
    routes.add("/healthz", [](const HttpRequest&) {
        return portico::make_http_response(http::status::ok, "ok\n");
    });
    return routes;
}

}  // namespace

TEST_CASE("an upgrade on the gateway's path is handed over, with or without a query", "[http][routes]") {
    const auto routes = table();
    CHECK(routes.route(request(http::verb::get, "/ws", true)).upgrade);
    CHECK(routes.route(request(http::verb::get, "/ws?access_token=x", true)).upgrade);
    CHECK_FALSE(routes.route(request(http::verb::get, "/ws/", true)).upgrade);
    CHECK_FALSE(routes.route(request(http::verb::get, "/wss", true)).upgrade);
}

TEST_CASE("the gateway's path without an upgrade: 426 with the Upgrade header", "[http][routes]") {
    const auto decision = table().route(request(http::verb::get, "/ws"));
    CHECK_FALSE(decision.upgrade);
    CHECK(decision.response.result() == http::status::upgrade_required);
    CHECK(decision.response[http::field::upgrade] == "websocket");
    CHECK_FALSE(decision.response.keep_alive());
}

TEST_CASE("a route answers GET, and HEAD without a body", "[http][routes]") {
    const auto routes = table();
    const auto get = routes.route(request(http::verb::get, "/healthz"));
    CHECK(get.response.result() == http::status::ok);
    CHECK(get.response.body() == "ok\n");
    const auto head = routes.route(request(http::verb::head, "/healthz?verbose"));
    CHECK(head.response.result() == http::status::ok);
    CHECK(head.response.body().empty());
    CHECK(head.response[http::field::content_length] == "3");
}

TEST_CASE("other methods on a route: 405 naming GET and HEAD", "[http][routes]") {
    const auto decision = table().route(request(http::verb::post, "/healthz"));
    CHECK(decision.response.result() == http::status::method_not_allowed);
    CHECK(decision.response[http::field::allow] == "GET, HEAD");
}

TEST_CASE("anything else: 404 that says where the gateway is; never a body for HEAD", "[http][routes]") {
    const auto routes = table();
    const auto missing = routes.route(request(http::verb::get, "/elsewhere"));
    CHECK(missing.response.result() == http::status::not_found);
    CHECK(missing.response.body().find("/ws") != std::string::npos);
    const auto head = routes.route(request(http::verb::head, "/elsewhere"));
    CHECK(head.response.result() == http::status::not_found);
    CHECK(head.response.body().empty());
    CHECK(routes.route(request(http::verb::head, "/ws")).response.body().empty());
}

TEST_CASE("the path of a target stops at the query or the fragment", "[http][routes]") {
    CHECK(portico::target_path("/ws?x=1") == "/ws");
    CHECK(portico::target_path("/ws#f") == "/ws");
    CHECK(portico::target_path("/a/b") == "/a/b");
    CHECK(portico::target_path("") == "");
}
