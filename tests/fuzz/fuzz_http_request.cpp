// The gateway's HTTP side on any bytes: Beast's request parser with the
// limits host/gateway/http_session.cpp sets, then the route table
// (host/gateway/http_routes.hpp) on every request it parses.
//
// The route table is the gateway's: the WebSocket path "/ws", plus GET routes
// "/healthz" and "/metrics" as a host registers them.
// Checks: the bytes give the same request, or an error, whether they arrive
// at once or in two reads; a request is upgraded exactly when its path (the
// target up to '?' or '#') is "/ws" and it is a WebSocket upgrade; every other
// request gets 426 on "/ws", 404 on an unknown path, 405 (with Allow) for a
// method other than GET or HEAD on a route, or the route's own answer (for
// HEAD, with the length GET would send); no response to HEAD has a body;
// every response closes the connection, serialises, and reads back the same.
#include "fuzz_support.hpp"
#include "gateway/http_routes.hpp"
#include "core/net.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace {

namespace http = portico::http;
namespace net = portico::net;
namespace websocket = portico::websocket;
using portico::HttpRequest;
using portico::HttpResponse;

// As host/gateway/http_session.cpp sets them.
constexpr std::uint32_t max_header_bytes = 8 * 1024;

const std::string healthz_body = "ok\n";
const std::string metrics_body = "# TYPE portico_requests_total counter\nportico_requests_total 0\n";

const portico::HttpRouteTable& routes() {
    static const portico::HttpRouteTable table = [] {
        portico::HttpRouteTable t("/ws");
        t.add("/healthz", [](const HttpRequest&) { return portico::make_http_response(http::status::ok, healthz_body); });
        t.add("/metrics", [](const HttpRequest&) {
            return portico::make_http_response(http::status::ok, metrics_body, "text/plain; version=0.0.4");
        });
        return t;
    }();
    return table;
}

struct Parsed {
    boost::system::error_code error;  // set: the gateway answers 400 or closes
    std::optional<HttpRequest> request;
};

// Feeds the bytes as a socket would deliver them: a first read of `first`
// bytes, then the rest, each appended to what the parser has not consumed,
// then the end of the stream.
Parsed parse(std::string_view bytes, std::size_t first) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(max_header_bytes);
    parser.body_limit(0);
    parser.eager(true);
    Parsed result;
    std::size_t consumed = 0;
    std::size_t available = std::min(first, bytes.size());
    while (!parser.is_done()) {
        const std::size_t used =
            parser.put(net::buffer(bytes.data() + consumed, available - consumed), result.error);
        consumed += used;
        if (result.error && result.error != http::error::need_more) break;
        // need_more: as Beast's own read, put() again only with more bytes
        // (the parser asserts that it never sees the same short tail twice).
        const bool more_needed = result.error == http::error::need_more;
        result.error = {};
        if (parser.is_done()) break;
        if (!more_needed && consumed < available) continue;
        if (available < bytes.size()) {
            available = bytes.size();
            continue;
        }
        // The client sent all it had and closed. As Beast's own read does:
        // put_eof() is for a parser that has taken some of a message (it
        // asserts so); before that, the stream just ended.
        if (parser.got_some()) parser.put_eof(result.error);
        else result.error = http::error::end_of_stream;
        if (!result.error && !parser.is_done()) result.error = http::error::partial_message;
        break;
    }
    if (!result.error) result.request = parser.release();
    return result;
}

std::string serialised(const HttpRequest& request) {
    std::ostringstream out;
    out << request;
    return out.str();
}

std::string path_of(std::string_view target) {
    const std::size_t end = target.find_first_of("?#");
    return std::string(target.substr(0, end));
}

// A response as the client gets it: written by Beast, read back by Beast.
void check_serialises(const HttpResponse& response, bool head, const std::string& what) {
    std::ostringstream out;
    out << response;
    const std::string bytes = out.str();
    const std::string status_line = "HTTP/1.1 " + std::to_string(response.result_int()) + " ";
    FUZZ_REQUIRE(bytes.rfind(status_line, 0) == 0, what + ": " + bytes);

    http::response_parser<http::string_body> parser;
    parser.skip(head);  // a response to HEAD has no body, whatever its length says
    parser.eager(true);
    boost::system::error_code ec;
    parser.put(net::buffer(bytes), ec);
    if (!ec && !parser.is_done()) parser.put_eof(ec);
    FUZZ_REQUIRE(!ec && parser.is_done(), what + ": the response does not read back: " + ec.message() + "\n" + bytes);
    const HttpResponse& back = parser.get();
    FUZZ_REQUIRE(back.result() == response.result() && back.body() == (head ? std::string() : response.body()) &&
                     back[http::field::content_length] == response[http::field::content_length] &&
                     !back.keep_alive(),
                 what + ": the response reads back differently\n" + bytes);
}

void check_route(const HttpRequest& request) {
    const portico::HttpRouteTable::Decision decision = routes().route(request);
    const std::string path = path_of(request.target());
    const std::string what = std::string(request.method_string()) + " " + std::string(request.target());
    const bool upgrade = websocket::is_upgrade(request);

    if (path == "/ws") {
        FUZZ_REQUIRE(decision.upgrade == upgrade, what + ": upgrade " + (upgrade ? "refused" : "granted"));
        if (upgrade) return;
        FUZZ_REQUIRE(decision.response.result() == http::status::upgrade_required &&
                         decision.response[http::field::upgrade] == "websocket",
                     what + ": not 426");
    } else {
        FUZZ_REQUIRE(!decision.upgrade, what + ": upgraded off the WebSocket path");
        const bool routed = path == "/healthz" || path == "/metrics";
        const bool get = request.method() == http::verb::get;
        const bool head = request.method() == http::verb::head;
        if (!routed) {
            FUZZ_REQUIRE(decision.response.result() == http::status::not_found, what + ": not 404");
        } else if (!get && !head) {
            FUZZ_REQUIRE(decision.response.result() == http::status::method_not_allowed &&
                             decision.response[http::field::allow] == "GET, HEAD",
                         what + ": not 405");
        } else {
            const std::string& body = path == "/healthz" ? healthz_body : metrics_body;
            FUZZ_REQUIRE(decision.response.result() == http::status::ok, what + ": not 200");
            FUZZ_REQUIRE(decision.response.body() == (head ? std::string() : body), what + ": wrong body");
            FUZZ_REQUIRE(decision.response[http::field::content_length] == std::to_string(body.size()),
                         what + ": wrong Content-Length");
        }
    }
    FUZZ_REQUIRE(decision.response.version() == 11 && !decision.response.keep_alive() &&
                     decision.response[http::field::server] == "portico",
                 what + ": response head");
    // RFC 9110 9.3.2: no content in a response to HEAD, whatever its status.
    const bool head = request.method() == http::verb::head;
    FUZZ_REQUIRE(!head || decision.response.body().empty(),
                 what + ": " + std::to_string(decision.response.result_int()) + " to HEAD has a body of " +
                     std::to_string(decision.response.body().size()) + " bytes");
    check_serialises(decision.response, head, what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes = portico::fuzz::as_text(data, size);
    const Parsed whole = parse(bytes, bytes.size());

    // The split point comes from the input, so a failure replays exactly.
    const std::size_t first = size == 0 ? 0 : std::hash<std::string_view>{}(bytes) % size;
    const Parsed split = parse(bytes, first);
    // Which error depends on the reads (Beast checks the start line early only
    // in a first read), but never whether there is one.
    FUZZ_REQUIRE(whole.request.has_value() == split.request.has_value(),
                 "split at " + std::to_string(first) + ": \"" + whole.error.message() + "\" / \"" +
                     split.error.message() + "\"");
    if (!whole.request) return 0;
    FUZZ_REQUIRE(serialised(*whole.request) == serialised(*split.request), "split at " + std::to_string(first));

    check_route(*whole.request);
    return 0;
}
