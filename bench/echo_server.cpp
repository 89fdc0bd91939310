// portico-echo-server: a bare Boost.Beast asynchronous WebSocket echo server.
//
// The reference point for portico-bench: what the same load costs when the
// server does nothing but WebSocket I/O. It stays ordinary, idiomatic Beast
// on purpose: one session per connection on its own strand, one read then
// one write, deflate off, text frames, TCP_NODELAY. Optimising it further
// would move the bar.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

// Errors that mean "the peer went away", not worth a line each.
bool is_disconnect(error_code ec)
{
    return ec == websocket::error::closed || ec == net::error::eof || ec == net::error::connection_reset ||
           ec == net::error::operation_aborted || ec == net::error::broken_pipe || ec == beast::error::timeout;
}

class EchoSession : public std::enable_shared_from_this<EchoSession> {
public:
    explicit EchoSession(tcp::socket&& socket) : ws_(std::move(socket)) {}

    void run()
    {
        // Small frames must not wait for Nagle: without this, a reply can sit
        // behind the peer's delayed ACK for 40 ms.
        error_code ec;
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            res.set(beast::http::field::server, "portico-echo-server");
        }));
        websocket::permessage_deflate deflate;
        deflate.server_enable = false;
        ws_.set_option(deflate);
        ws_.read_message_max(1024 * 1024);  // bench requests are small; refuse anything silly
        ws_.async_accept(beast::bind_front_handler(&EchoSession::on_accept, shared_from_this()));
    }

private:
    void on_accept(error_code ec)
    {
        if (ec)
            return report(ec, "accept");
        do_read();
    }

    void do_read()
    {
        ws_.async_read(buffer_, beast::bind_front_handler(&EchoSession::on_read, shared_from_this()));
    }

    void on_read(error_code ec, std::size_t)
    {
        if (ec)
            return report(ec, "read");
        ws_.text(ws_.got_text());
        ws_.async_write(buffer_.data(), beast::bind_front_handler(&EchoSession::on_write, shared_from_this()));
    }

    void on_write(error_code ec, std::size_t bytes)
    {
        if (ec)
            return report(ec, "write");
        buffer_.consume(bytes);
        do_read();
    }

    static void report(error_code ec, char const* what)
    {
        if (!is_disconnect(ec))
            std::cerr << "portico-echo-server: " << what << ": " << ec.message() << "\n";
    }

    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
};

// Accepts connections and hands each to its own session.
class Listener : public std::enable_shared_from_this<Listener> {
public:
    // A failed step leaves `ec` set and the listener unusable.
    Listener(net::io_context& ioc, tcp::endpoint endpoint, error_code& ec) : ioc_(ioc), acceptor_(ioc)
    {
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec)
            acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec)
            acceptor_.bind(endpoint, ec);
        if (!ec)
            acceptor_.listen(net::socket_base::max_listen_connections, ec);
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }

    void run() { do_accept(); }
    void stop()
    {
        error_code ignored;
        acceptor_.close(ignored);
    }

private:
    void do_accept()
    {
        acceptor_.async_accept(net::make_strand(ioc_),
                               beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
    }

    void on_accept(error_code ec, tcp::socket socket)
    {
        if (ec == net::error::operation_aborted)
            return;  // stopped
        if (ec)
            std::cerr << "portico-echo-server: accept: " << ec.message() << "\n";  // one failure never ends the loop
        else
            std::make_shared<EchoSession>(std::move(socket))->run();
        do_accept();
    }

    net::io_context& ioc_;
    tcp::acceptor acceptor_;
};

struct Options {
    std::string host = "127.0.0.1";
    unsigned short port = 0;
    int threads = 1;
};

bool parse_options(int argc, char** argv, Options& o, std::string& error)
{
    for (int i = 1; i < argc; ++i) {
        std::string const arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            error.clear();
            return false;
        }
        if (i + 1 >= argc) {
            error = arg == "--listen" || arg == "--threads" ? arg + " needs a value" : "unknown argument '" + arg + "'";
            return false;
        }
        std::string const value = argv[++i];
        if (arg == "--listen") {
            auto const colon = value.rfind(':');
            unsigned port = 0;
            char const* end = value.data() + value.size();
            auto const parsed = colon == std::string::npos
                                    ? std::from_chars_result{value.data(), std::errc::invalid_argument}
                                    : std::from_chars(value.data() + colon + 1, end, port);
            if (colon == std::string::npos || colon == 0 || parsed.ec != std::errc{} || parsed.ptr != end ||
                colon + 1 == value.size() || port > 65535) {
                error = "--listen wants HOST:PORT (port 0 picks a free one), got '" + value + "'";
                return false;
            }
            o.host = value.substr(0, colon);
            o.port = static_cast<unsigned short>(port);
        } else if (arg == "--threads") {
            int n = 0;
            auto const parsed = std::from_chars(value.data(), value.data() + value.size(), n);
            if (parsed.ec != std::errc{} || parsed.ptr != value.data() + value.size() || n < 1 || n > 256) {
                error = "--threads wants a number from 1 to 256, got '" + value + "'";
                return false;
            }
            o.threads = n;
        } else {
            error = "unknown argument '" + arg + "'";
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv)
{
    Options options;
    std::string error;
    if (!parse_options(argc, argv, options, error)) {
        if (!error.empty()) {
            std::cerr << "portico-echo-server: " << error << "\n";
            return 2;
        }
        std::cout << "usage: portico-echo-server [--listen HOST:PORT] [--threads N]\n"
                     "  WebSocket echo server; default --listen 127.0.0.1:0 (free port), --threads 1\n";
        return 0;
    }

    error_code ec;
    auto const address = net::ip::make_address(options.host, ec);
    if (ec) {
        std::cerr << "portico-echo-server: '" << options.host << "' is not an IP address\n";
        return 2;
    }

    net::io_context ioc{options.threads};
    auto listener = std::make_shared<Listener>(ioc, tcp::endpoint{address, options.port}, ec);
    if (ec) {
        std::cerr << "portico-echo-server: cannot listen on " << options.host << ":" << options.port << ": "
                  << ec.message() << "\n";
        return 1;
    }
    listener->run();

    std::string const shown_host = address.is_v6() ? "[" + options.host + "]" : options.host;
    std::cout << "listening on ws://" << shown_host << ":" << listener->port() << "/" << std::endl;

    // SIGINT/SIGTERM: stop accepting, then stop the loop (sessions are not
    // drained; this is a benchmark tool).
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](error_code, int) {
        listener->stop();
        ioc.stop();
    });

    std::vector<std::thread> threads;
    for (int i = 1; i < options.threads; ++i)
        threads.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : threads)
        t.join();
    return 0;
}
