#pragma once
// What the test clients share under their public headers (ws_client.hpp is
// the synchronous client, pipelined_client.hpp the asynchronous one): the
// Asio and Beast aliases, the stream type, and the one way a connection is
// opened. Included by the support's own .cpp files only.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace portico::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

using WsStream = websocket::stream<beast::tcp_stream>;

// Connects `ws` to 127.0.0.1:PORT and, unless `target` is empty, completes
// the WebSocket upgrade for it; `timeout` bounds both steps. `done(ec)` runs
// on `ws`'s executor once it is open or has failed.
void async_open(WsStream& ws, std::uint16_t port, const std::string& target, std::chrono::milliseconds timeout,
                std::function<void(beast::error_code)> done);

}  // namespace portico::test
