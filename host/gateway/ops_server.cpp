#include "gateway/ops_server.hpp"

#include "gateway/listener.hpp"

#include <chrono>
#include <optional>

namespace portico {
namespace {

constexpr std::size_t max_header_bytes = 8 * 1024;
constexpr std::chrono::seconds connection_deadline{10};

}  // namespace

class OpsServer::Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, std::shared_ptr<const HttpRouteTable> routes, std::shared_ptr<std::size_t> open)
        : stream_(std::move(socket)), routes_(std::move(routes)), open_(std::move(open)) {
        ++*open_;
    }
    ~Connection() { --*open_; }

    void close() {
        beast::error_code ignored;
        stream_.socket().close(ignored);
    }

    void run() {
        stream_.expires_after(connection_deadline);
        parser_.header_limit(max_header_bytes);
        parser_.body_limit(0);
        http::async_read(stream_, buffer_, parser_, [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
            self->on_read(ec);
        });
    }

private:
    void on_read(const beast::error_code& ec) {
        if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == beast::error::timeout)
            return;
        if (ec) {
            respond(make_http_response(http::status::bad_request, "bad request\n"));
            return;
        }
        auto decision = routes_->route(parser_.get());
        if (decision.upgrade) decision.response = make_http_response(http::status::not_found, "not found\n");
        respond(std::move(decision.response));
    }

    void respond(HttpResponse response) {
        response_ = std::move(response);
        http::async_write(stream_, response_, [self = shared_from_this()](const beast::error_code&, std::size_t) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        });
    }

    beast::tcp_stream stream_;
    std::shared_ptr<const HttpRouteTable> routes_;  // shared: a connection may outlive the server
    std::shared_ptr<std::size_t> open_;
    beast::flat_buffer buffer_;
    http::request_parser<http::string_body> parser_;
    HttpResponse response_;
};

OpsServer::OpsServer(net::io_context& io, HttpRouteTable routes, Logger& log)
    : io_(io),
      acceptor_(io),
      retry_timer_(io),
      routes_(std::make_shared<const HttpRouteTable>(std::move(routes))),
      log_(log),
      open_(std::make_shared<std::size_t>(0)) {}

OpsServer::~OpsServer() {
    beast::error_code ignored;
    acceptor_.close(ignored);
}

Expected<tcp::endpoint> OpsServer::start(const tcp::endpoint& endpoint) {
    auto bound = listen_on(acceptor_, endpoint, "ops.listen");
    if (bound) do_accept();
    return bound;
}

void OpsServer::stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
    for (auto& weak : connections_)
        if (auto connection = weak.lock()) connection->close();
    connections_.clear();
}

void OpsServer::do_accept() {
    acceptor_.async_accept(io_, [this](const beast::error_code& ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
            accept_again_later(retry_timer_, acceptor_, log_, "ops.listen", ec, [this] { do_accept(); });
            return;
        }
        if (*open_ >= max_connections) {
            log_.warn("ops.listen: {} connections open already; one more was closed", max_connections);
            beast::error_code ignored;
            socket.close(ignored);
        } else {
            std::erase_if(connections_, [](const std::weak_ptr<Connection>& weak) { return weak.expired(); });
            auto connection = std::make_shared<Connection>(std::move(socket), routes_, open_);
            connections_.push_back(connection);
            connection->run();
        }
        do_accept();
    });
}

}  // namespace portico
