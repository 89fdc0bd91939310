// portico-bench-selftest: checks the parts of portico-bench that need no
// network (handshake key, framing, reply scanning, histogram, arguments).
// Exits 0 when every check passes.
#include "bench_options.hpp"
#include "latency_histogram.hpp"
#include "reply_scanner.hpp"
#include "wire_format.hpp"
#include "ws_frame.hpp"
#include "ws_handshake_key.hpp"
#include "ws_url.hpp"

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace portico::bench;

int failures = 0;

void check(bool ok, char const* what, int line)
{
    if (!ok) {
        std::cerr << "FAIL (line " << line << "): " << what << "\n";
        ++failures;
    }
}
#define CHECK(x) check((x), #x, __LINE__)

std::string hex(std::array<std::uint8_t, 20> const& digest)
{
    std::string out;
    char two[3];
    for (auto b : digest) {
        std::snprintf(two, sizeof two, "%02x", b);
        out += two;
    }
    return out;
}

void handshake_key()
{
    // The example of RFC 6455, section 1.3.
    CHECK(websocket_accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(hex(sha1("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(hex(sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(hex(sha1(std::string(1000, 'a'))) == "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    CHECK(hex(sha1(std::string(56, 'x'))).size() == 40);  // padding spills into a second block
    std::uint8_t const bytes[] = {'f', 'o', 'o', 'b', 'a', 'r'};
    CHECK(base64_encode(bytes, 1) == "Zg==");
    CHECK(base64_encode(bytes, 2) == "Zm8=");
    CHECK(base64_encode(bytes, 6) == "Zm9vYmFy");
    CHECK(make_websocket_key({}).size() == 24);
}

// Turns a masked client frame into the unmasked form a server would send.
std::string unmask(std::string const& frame, std::size_t header)
{
    std::string out = frame.substr(0, header);
    out[1] = static_cast<char>(out[1] & 0x7F);
    auto const* key = reinterpret_cast<unsigned char const*>(frame.data() + header);
    for (std::size_t i = header + 4; i < frame.size(); ++i)
        out += static_cast<char>(frame[i] ^ key[(i - header - 4) & 3]);
    return out;
}

void framing()
{
    for (std::size_t size : {0u, 5u, 125u, 126u, 65535u, 65536u, 70000u}) {
        std::string payload(size, '\0');
        for (std::size_t i = 0; i < size; ++i)
            payload[i] = static_cast<char>(i * 7);
        std::string frame;
        append_client_frame(frame, Opcode::text, payload, 0x11223344u);
        std::size_t const header = size < 126 ? 2 : size <= 65535 ? 4 : 10;
        CHECK(frame.size() == header + 4 + size);

        ServerFrame parsed;
        std::string_view problem;
        CHECK(parse_server_frame(frame.data(), frame.size(), 1 << 20, parsed, problem) == FrameStatus::error);

        std::string const server = unmask(frame, header);
        CHECK(parse_server_frame(server.data(), server.size(), 1 << 20, parsed, problem) == FrameStatus::complete);
        CHECK(parsed.payload == payload);
        CHECK(parsed.wire_size == server.size());
        CHECK(parsed.fin && parsed.opcode == Opcode::text);
        CHECK(parse_server_frame(server.data(), server.size() - 1, 1 << 20, parsed, problem) ==
              FrameStatus::need_more);
        if (size > 10)
            CHECK(parse_server_frame(server.data(), server.size(), 10, parsed, problem) == FrameStatus::error);
    }
    std::string_view problem;
    ServerFrame parsed;
    char const rsv[] = {static_cast<char>(0xC1), 0x00};
    CHECK(parse_server_frame(rsv, 2, 100, parsed, problem) == FrameStatus::error);
    char const long_ping[] = {static_cast<char>(0x89), 126, 0, 126};
    CHECK(parse_server_frame(long_ping, 4, 1000, parsed, problem) == FrameStatus::error);
    char const bad_op[] = {static_cast<char>(0x83), 0};
    CHECK(parse_server_frame(bad_op, 2, 100, parsed, problem) == FrameStatus::error);
}

void reply_scanning()
{
    ReplyFields r;
    CHECK(scan_reply_fields(R"({"id":42,"plugin":"dice","ok":true,"result":{"total":7}})", true, r) &&
          r.has_id && r.id == 42 && r.has_ok && r.ok);
    // Order does not matter, and nested "id"/"ok" are not the top-level ones.
    CHECK(scan_reply_fields(R"({"result":{"id":5,"ok":false},"ok":true , "id" : 43})", true, r) && r.id == 43 &&
          r.ok);
    CHECK(scan_reply_fields(R"({"x":[1,{"a":"]}\""}],"id":3,"ok":true})", true, r) && r.id == 3 && r.ok);
    CHECK(scan_reply_fields(R"({"id":44,"ok":false,"error":{"code":"x","message":"y"}})", true, r) && !r.ok);
    CHECK(scan_reply_fields(R"({"plugin":"dice"})", true, r) && !r.has_id);
    CHECK(scan_reply_fields(R"({"id":9,"plugin":"dice","payload":"3d6"})", false, r) && r.id == 9);
    // Unsure cases go to the full parser.
    CHECK(!scan_reply_fields(R"({"id":4.5,"ok":true})", true, r));
    CHECK(read_reply_fields(R"({"id":4.5,"ok":true})", true, r) && !r.has_id);
    CHECK(!scan_reply_fields(R"({"i\u0064":7,"ok":true})", true, r));
    CHECK(read_reply_fields(R"({"i\u0064":7,"ok":true})", true, r) && r.has_id && r.id == 7 && r.ok);
    CHECK(read_reply_fields(R"({"ok":1,"id":3})", true, r) && r.has_ok && !r.ok);
    CHECK(!read_reply_fields("not json", true, r));
    CHECK(!read_reply_fields("[1,2]", true, r));
}

void wire_forms()
{
    WireFormat envelope;
    CHECK(WireFormat::make(WireForm::envelope, "dice", "3\"d\n6", envelope).empty());
    std::string request;
    envelope.append_request(request, 123);
    CHECK(request == R"({"id":123,"plugin":"dice","payload":"3\"d\n6"})");
    CHECK(envelope.check_reply(R"({"id":123,"plugin":"dice","ok":true,"result":{}})").verdict == ReplyVerdict::good);
    CHECK(envelope.check_reply(R"({"id":123,"ok":false})").verdict == ReplyVerdict::failed);
    CHECK(envelope.check_reply(R"({"id":123})").verdict == ReplyVerdict::failed);
    CHECK(envelope.check_reply("garbage").verdict == ReplyVerdict::malformed);

    WireFormat echo;
    CHECK(WireFormat::make(WireForm::echo, "dice", "3d6", echo).empty());
    request.clear();
    echo.append_request(request, 7);
    auto const echoed = echo.check_reply(request);
    CHECK(echoed.verdict == ReplyVerdict::good && echoed.has_id && echoed.id == 7);

    WireFormat shorthand;
    CHECK(WireFormat::make(WireForm::shorthand, "dice", "3d6", shorthand).empty());
    request.clear();
    shorthand.append_request(request, 7);
    CHECK(request == "dice 3d6");
    CHECK(!shorthand.carries_ids());
    CHECK(shorthand.check_reply("error: bad dice").verdict == ReplyVerdict::failed);
    CHECK(shorthand.check_reply("11").verdict == ReplyVerdict::good);
}

void histogram()
{
    LatencyHistogram h;
    CHECK(h.value_at_percentile(50) == 0);
    for (std::uint64_t v = 1; v <= 100000; ++v)
        h.record(v * 1000);
    auto const near = [](std::uint64_t got, double want) { return got >= want * 0.99 && got <= want * 1.01; };
    CHECK(near(h.value_at_percentile(50), 50e6));
    CHECK(near(h.value_at_percentile(99), 99e6));
    CHECK(near(h.value_at_percentile(99.9), 99.9e6));
    CHECK(h.value_at_percentile(100) == 100000000);
    CHECK(h.min() == 1000 && h.max() == 100000000);

    for (std::uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 129ULL, 255ULL, 256ULL, 1000ULL, 123456789ULL, ~0ULL}) {
        auto const b = LatencyHistogram::bucket_of(v);
        CHECK(LatencyHistogram::bucket_high(b) >= v);
        CHECK(LatencyHistogram::bucket_high(b) - v <= v / 128 + 1);
        if (b > 0)
            CHECK(LatencyHistogram::bucket_high(b - 1) < v);
    }

    LatencyHistogram a, b;
    a.record(10);
    b.record(1000);
    a.merge(b);
    CHECK(a.count() == 2 && a.min() == 10 && a.max() == 1000);
}

void urls()
{
    WsUrl u;
    CHECK(parse_ws_url("ws://127.0.0.1:8088/ws", u).empty() && u.host == "127.0.0.1" && u.port == "8088" &&
          u.target == "/ws" && host_header(u) == "127.0.0.1:8088");
    CHECK(parse_ws_url("ws://localhost", u).empty() && u.port == "80" && u.target == "/" && host_header(u) == "localhost");
    CHECK(parse_ws_url("ws://[::1]:9/x?y", u).empty() && u.host == "::1" && u.target == "/x?y" &&
          host_header(u) == "[::1]:9");
    for (char const* bad : {"wsx://x", "http://x", "ws://x:0", "ws://x:99999", "ws://:80", "ws://x:", "ws://u@x"})
        CHECK(!parse_ws_url(bad, u).empty());
}

OptionsResult parse(std::vector<char const*> args)
{
    args.insert(args.begin(), "portico-bench");
    return parse_bench_options(static_cast<int>(args.size()), args.data());
}

void options()
{
    CHECK(parse({}).error.empty());
    auto const ok = parse({"--url", "ws://127.0.0.1:9/p", "--conns=4", "--inflight", "8", "--seconds", "2.5", "--json"});
    CHECK(ok.error.empty() && ok.options.conns == 4 && ok.options.inflight == 8 && ok.options.seconds == 2.5 &&
          ok.options.json && ok.options.endpoint.port == "9");
    CHECK(parse({"--shorthand"}).options.form == WireForm::shorthand);
    CHECK(parse({"--help"}).help);
    CHECK(parse({"--conns", "0", "--idle-conns", "5"}).error.empty());
    CHECK(parse({"--payload", "d\xc3\xa9"}).error.empty());
    for (auto const& bad : std::vector<std::vector<char const*>>{
             {"--conns", "-1"}, {"--conns", "x"}, {"--inflight", "0"}, {"--seconds", "0"}, {"--seconds", "nan"},
             {"--warmup", "-1"}, {"--threads", "0"}, {"--shorthand", "--echo"}, {"--conns", "0"},
             {"--payload", "\xff"}, {"--payload", "\xc3"}, {"--bogus"}, {"--json=1"}, {"--url"},
             {"--url", "http://x"}, {"--plugin", ""}})
        CHECK(!parse(bad).error.empty());
}

}  // namespace

int main()
{
    handshake_key();
    framing();
    reply_scanning();
    wire_forms();
    histogram();
    urls();
    options();
    if (failures != 0) {
        std::cerr << failures << " check(s) failed\n";
        return 1;
    }
    std::cout << "portico-bench-selftest: all checks passed\n";
    return 0;
}
