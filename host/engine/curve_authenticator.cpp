#include "engine/curve_authenticator.hpp"

#include "wire/wire.hpp"

#include <array>
#include <chrono>

namespace portico {
namespace {

// Where libzmq looks for the handler, by RFC 27.
constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";

std::string z85(std::string_view key) {
    if (key.size() != 32) return "(not a 32-byte key)";
    char text[41] = {};
    zmq_z85_encode(text, reinterpret_cast<const std::uint8_t*>(key.data()), key.size());
    return text;
}

}  // namespace

CurveAuthenticator::CurveAuthenticator(zmq::context_t& context, const std::vector<std::string>& allowed, Logger& log)
    : socket_(context, zmq::socket_type::rep), allowed_(allowed.begin(), allowed.end()), log_(log) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(zap_endpoint);
    thread_ = std::thread([this] { run(); });
}

CurveAuthenticator::~CurveAuthenticator() {
    stopping_ = true;
    thread_.join();
}

void CurveAuthenticator::run() {
    std::array<zmq::message_t, 8> frames;
    while (!stopping_) {
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        // Short, so that the destructor never waits long for the thread.
        if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) <= 0) continue;
        const std::size_t count = wire::receive_message(socket_, frames.data(), frames.size());
        answer(frames.data(), count);
    }
    socket_.close();
}

void CurveAuthenticator::answer(zmq::message_t* frames, std::size_t count) {
    // version, request id, domain, address, identity, mechanism, credentials...
    const bool well_formed = count >= 6 && wire::frame_view(frames[0]) == "1.0";
    const std::string request_id = count >= 2 ? std::string(wire::frame_view(frames[1])) : std::string();
    const std::string address = count >= 4 ? std::string(wire::frame_view(frames[3])) : std::string();
    std::string status = "400";
    std::string text = "not allowed";
    std::string user;
    if (!well_formed) {
        text = "malformed ZAP request";
    } else if (wire::frame_view(frames[5]) != "CURVE" || count < 7) {
        text = "this endpoint speaks Curve only";
        log_.warn("curve: refused a client at {} without Curve (mechanism {})", address,
                  std::string(wire::frame_view(frames[5])));
    } else {
        const std::string key = z85(wire::frame_view(frames[6]));
        if (allowed_.count(key) != 0) {
            status = "200";
            text = "OK";
            user = key;
        } else {
            log_.warn("curve: refused the client key {} from {}: it is not in curve.allowed_clients", key, address);
        }
    }
    const auto more = zmq::send_flags::sndmore;
    socket_.send(zmq::buffer(std::string_view("1.0")), more);
    socket_.send(zmq::buffer(request_id), more);
    socket_.send(zmq::buffer(status), more);
    socket_.send(zmq::buffer(text), more);
    socket_.send(zmq::buffer(user), more);
    socket_.send(zmq::message_t(), zmq::send_flags::none);  // no metadata
}

}  // namespace portico
