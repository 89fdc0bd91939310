// The stream under a gateway connection (gateway/gateway_stream.hpp), over a
// layer that holds input back as a TLS layer does (BufferingStream, over
// Beast's in-memory test stream): no socket, no network.
#include "gateway/gateway_stream.hpp"
#include "gateway/shared_push.hpp"

#include <boost/beast/_experimental/test/stream.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>

namespace {

namespace net = portico::net;
namespace beast = portico::beast;
namespace http = portico::http;
namespace websocket = portico::websocket;

// Keeps bytes it has read from below in `held` and serves them first, as a
// TLS layer keeps decrypted records; counts the writes that reach it.
class BufferingStream {
public:
    using executor_type = beast::test::stream::executor_type;

    explicit BufferingStream(net::io_context& io) : inner_(io) {}
    executor_type get_executor() noexcept { return inner_.get_executor(); }
    beast::test::stream& inner() noexcept { return inner_; }

    std::string held;
    std::size_t writes = 0;

    template <class Buffers, class Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return net::async_initiate<Token, void(beast::error_code, std::size_t)>(
            [this](auto handler, const Buffers& into) {
                if (!held.empty()) {
                    const std::size_t n = net::buffer_copy(into, net::buffer(held));
                    held.erase(0, n);
                    net::post(get_executor(), beast::bind_front_handler(std::move(handler), beast::error_code{}, n));
                    return;
                }
                inner_.async_read_some(into, std::move(handler));
            },
            token, buffers);
    }

    template <class Buffers, class Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        ++writes;
        return inner_.async_write_some(buffers, std::forward<Token>(token));
    }

    // What Beast's websocket timeouts close: the connection below.
    friend void beast_close_socket(BufferingStream& stream) { stream.inner_.close(); }
    // Beast's synchronous close would call it; these tests close asynchronously.
    [[maybe_unused]] friend void teardown(beast::role_type role, BufferingStream& stream, beast::error_code& ec) {
        teardown(role, stream.inner_, ec);
    }
    template <class Handler>
    friend void async_teardown(beast::role_type role, BufferingStream& stream, Handler&& handler) {
        async_teardown(role, stream.inner_, std::forward<Handler>(handler));
    }

private:
    beast::test::stream inner_;
};

struct Gate final : portico::CloseGate {
    bool hold = true;
    int asked = 0;
    bool hold_close() override {
        ++asked;
        return hold;
    }
};

using Stream = portico::GatewayStream<BufferingStream>;

std::string masked_frame(std::uint8_t opcode, const std::string& payload) {
    std::string frame;
    frame += static_cast<char>(0x80 | opcode);
    frame += static_cast<char>(0x80 | payload.size());  // short payloads only
    const char key[4] = {1, 2, 3, 4};
    frame.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) frame += static_cast<char>(payload[i] ^ key[i % 4]);
    return frame;
}

// The io_context stops when it runs out of work: each step starts it again.
void poll(net::io_context& io) {
    io.restart();
    io.poll();
}
void run_for(net::io_context& io, std::chrono::milliseconds time) {
    io.restart();
    io.run_for(time);
}

}  // namespace

// What the stream asks of the layer below it, for this test layer.
template <>
struct portico::StreamTraits<BufferingStream> {
    static std::size_t buffered(const BufferingStream& stream) { return stream.held.size(); }
    static std::size_t available(BufferingStream& stream) { return stream.inner().buffer().size(); }
    template <class Handler>
    static void async_wait_readable(BufferingStream& stream, Handler&& handler) {
        // The test stream has no readiness to wait on: look every millisecond.
        auto timer = std::make_shared<net::steady_timer>(stream.get_executor());
        auto look = std::make_shared<std::function<void()>>();
        *look = [&stream, timer, look, h = std::forward<Handler>(handler)]() mutable {
            if (stream.inner().buffer().size() > 0) {
                auto done = std::move(h);
                *look = nullptr;  // ends the cycle
                done(beast::error_code{});
                return;
            }
            timer->expires_after(std::chrono::milliseconds(1));
            timer->async_wait([look](const beast::error_code&) { (*look)(); });
        };
        (*look)();
    }
};

TEST_CASE("bytes a layer below holds are input: the wait before the first frame ends at once",
          "[gateway_stream][read]") {
    net::io_context io;
    Stream stream(io);
    stream.next_layer().held = "held";  // nothing arrived at the connection itself
    bool woke = false;
    stream.async_wait_readable([&woke](const beast::error_code& ec) { woke = !ec; });
    poll(io);
    CHECK(woke);
    CHECK(stream.has_buffered_input());
    CHECK_FALSE(stream.nothing_to_read());
}

TEST_CASE("without input anywhere the wait waits, and ends when bytes arrive", "[gateway_stream][read]") {
    net::io_context io;
    Stream stream(io);
    bool woke = false;
    stream.async_wait_readable([&woke](const beast::error_code& ec) { woke = !ec; });
    run_for(io, std::chrono::milliseconds(20));
    CHECK_FALSE(woke);
    CHECK(stream.nothing_to_read());
    stream.next_layer().inner().append("x");
    run_for(io, std::chrono::milliseconds(50));
    CHECK(woke);
}

TEST_CASE("primed bytes are read first, then what the layer below holds, then the connection",
          "[gateway_stream][read]") {
    net::io_context io;
    Stream stream(io);
    stream.prime("first ");
    stream.next_layer().held = "second ";
    stream.next_layer().inner().append("third");
    std::string got;
    std::function<void()> read_more;
    char buffer[4];
    read_more = [&] {
        stream.async_read_some(net::buffer(buffer), [&](const beast::error_code& ec, std::size_t n) {
            if (ec) return;
            got.append(buffer, n);
            if (got.size() < std::string("first second third").size()) read_more();
        });
    };
    read_more();
    run_for(io, std::chrono::milliseconds(1000));
    CHECK(got == "first second third");
}

TEST_CASE("a batch reaches the layer below in one write", "[gateway_stream][write]") {
    net::io_context io;
    Stream stream(io);
    beast::test::stream remote(io);
    stream.next_layer().inner().connect(remote);
    stream.open_batch();
    int completed = 0;
    for (const char* part : {"one ", "two ", "three"})
        stream.async_write_some(net::buffer(std::string_view(part)),
                                [&completed](const beast::error_code& ec, std::size_t) { completed += !ec; });
    poll(io);
    CHECK(completed == 3);                    // reported written at once
    CHECK(stream.next_layer().writes == 0);   // but held back
    bool flushed = false;
    stream.flush([&flushed](const beast::error_code& ec, std::size_t) { flushed = !ec; });
    poll(io);
    CHECK(flushed);
    CHECK(stream.next_layer().writes == 1);
    CHECK(remote.buffer().size() == std::string("one two three").size());
}

TEST_CASE("one writer: what is written outside a batch waits for the batch in flight", "[gateway_stream][write]") {
    net::io_context io;
    Stream stream(io);
    beast::test::stream remote(io);
    stream.next_layer().inner().connect(remote);
    stream.open_batch();
    stream.async_write_some(net::buffer(std::string_view("batch")), [](const beast::error_code&, std::size_t) {});
    stream.flush([](const beast::error_code&, std::size_t) {});
    bool pong_written = false;
    stream.async_write_some(net::buffer(std::string_view("+pong")),
                            [&pong_written](const beast::error_code& ec, std::size_t) { pong_written = !ec; });
    poll(io);
    CHECK(pong_written);
    const auto data = remote.buffer().data();
    CHECK(std::string(static_cast<const char*>(data.data()), data.size()) == "batch+pong");
}

TEST_CASE("the close Beast answers with is held while the gate says so; replies written meanwhile go first",
          "[gateway_stream][close]") {
    net::io_context io;
    websocket::stream<Stream> ws(io);
    beast::test::stream client(io);
    ws.next_layer().next_layer().inner().connect(client);
    Gate gate;

    // The client's upgrade, a message and its close, all at once.
    const std::string upgrade =
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    ws.next_layer().next_layer().inner().append(upgrade + masked_frame(0x1, "hello") +
                                                masked_frame(0x8, std::string("\x03\xe8", 2)));

    beast::error_code accepted = net::error::would_block;
    ws.async_accept([&accepted](const beast::error_code& ec) { accepted = ec; });
    run_for(io, std::chrono::milliseconds(200));
    REQUIRE_FALSE(accepted);
    ws.next_layer().set_close_gate(&gate);  // frames from here on
    beast::flat_buffer buffer;
    std::string message;
    ws.async_read(buffer, [&](const beast::error_code& ec, std::size_t) {
        if (!ec) message = beast::buffers_to_string(buffer.data());
    });
    run_for(io, std::chrono::milliseconds(200));
    CHECK(message == "hello");

    beast::error_code read_end;
    bool read_done = false;
    buffer.clear();
    ws.async_read(buffer, [&](const beast::error_code& ec, std::size_t) {
        read_done = true;
        read_end = ec;
    });
    run_for(io, std::chrono::milliseconds(200));
    CHECK(gate.asked == 1);
    REQUIRE(ws.next_layer().holding_close());
    CHECK_FALSE(read_done);  // Beast waits for its close to be written

    // The reply owed goes out before the held close.
    const auto before = client.buffer().size();
    ws.next_layer().write_text_frame("reply");
    ws.next_layer().release_close();
    ws.next_layer().flush([](const beast::error_code&, std::size_t) {});
    run_for(io, std::chrono::milliseconds(200));
    CHECK(read_done);
    CHECK(read_end == websocket::error::closed);
    const auto data = client.buffer().data();
    const std::string sent(static_cast<const char*>(data.data()) + before, data.size() - before);
    REQUIRE(sent.size() >= 7 + 4);
    CHECK(sent.substr(0, 7) == std::string("\x81\x05reply", 7));
    CHECK(static_cast<unsigned char>(sent[7]) == 0x88);  // then the close
}

TEST_CASE("a close the gate does not hold goes out at once", "[gateway_stream][close]") {
    net::io_context io;
    Stream stream(io);
    beast::test::stream remote(io);
    stream.next_layer().inner().connect(remote);
    Gate gate;
    gate.hold = false;
    stream.set_close_gate(&gate);
    bool written = false;
    const std::string close_frame("\x88\x02\x03\xe8", 4);
    stream.async_write_some(net::buffer(close_frame), [&written](const beast::error_code& ec, std::size_t) {
        written = !ec;
    });
    poll(io);
    CHECK(gate.asked == 1);
    CHECK(written);
    CHECK_FALSE(stream.holding_close());
    CHECK(remote.buffer().size() == 4);
}

TEST_CASE("frames of our own go in order with Beast's, and none follows a close", "[gateway_stream][close]") {
    net::io_context io;
    Stream stream(io);
    beast::test::stream remote(io);
    stream.next_layer().inner().connect(remote);
    Gate gate;
    gate.hold = false;
    stream.set_close_gate(&gate);
    CHECK(stream.write_text_frame("one"));
    CHECK(stream.batched_bytes() == 5);
    const std::string close_frame("\x88\x02\x03\xe8", 4);
    stream.async_write_some(net::buffer(close_frame), [](const beast::error_code&, std::size_t) {});
    // The close is written: a reply or a push that comes after it is not.
    CHECK_FALSE(stream.write_text_frame("two"));
    CHECK_FALSE(stream.write_frame(std::string("\x81\x03two", 5)));
    poll(io);
    const auto data = remote.buffer().data();
    CHECK(std::string(static_cast<const char*>(data.data()), data.size()) == std::string("\x81\x03one", 5) + close_frame);
}

TEST_CASE("a text frame's header takes the length in 7, 16 or 64 bits", "[gateway_stream][frame]") {
    using portico::detail::text_frame_header;
    CHECK(text_frame_header(0).view() == std::string("\x81\x00", 2));
    CHECK(text_frame_header(125).view() == std::string("\x81\x7d", 2));
    CHECK(text_frame_header(126).view() == std::string("\x81\x7e\x00\x7e", 4));
    CHECK(text_frame_header(65535).view() == std::string("\x81\x7e\xff\xff", 4));
    CHECK(text_frame_header(65536).view() == std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
}

TEST_CASE("a push framed once reads, in each form, as the message formatted for one subscriber",
          "[gateway_stream][frame]") {
    portico::EngineReply reply{0, "", portico::Reply::json(R"({"total":9})"), portico::ReplyPart::push};
    reply.channel = "table/room1";
    reply.offset = 43;
    portico::SharedPush push(reply);
    const portico::ReplyContext envelope{portico::MessageForm::envelope, "7", "table"};
    const portico::ReplyContext shorthand{portico::MessageForm::shorthand, "", "table"};
    for (const auto* context : {&envelope, &shorthand, &envelope}) {
        const std::string text = portico::format_push(*context, "room1", 43, R"({"total":9})", 0);
        const auto frame = push.frame(*context, "room1");
        CHECK(frame.payload_bytes == text.size());
        CHECK(frame.bytes == std::string(portico::detail::text_frame_header(text.size()).view()) + text);
    }
}
