#pragma once
// The files the gateway serves from the binary itself (no files to install):
// the playground page (GET /) and the JavaScript client (GET /portico.js).
// Their sources are host/gateway/web/; CMake compiles them in.
#include "gateway/http_routes.hpp"

#include <string_view>

namespace portico {

// "__PORTICO_WS_PATH__" in it stands for the gateway's WebSocket path.
std::string_view playground_html();
std::string_view portico_js();

// GET / and GET /portico.js on `routes`, the page connecting to `websocket_path`.
void add_playground_routes(HttpRouteTable& routes, const std::string& websocket_path);

}  // namespace portico
