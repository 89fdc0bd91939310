#include "support/zmq_client.hpp"

namespace portico::test {

ZmqReqClient::ZmqReqClient(zmq::context_t& context, const std::string& endpoint,
                           std::chrono::milliseconds timeout)
    : socket_(context, zmq::socket_type::req) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
    socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(timeout.count()));
    socket_.connect(endpoint);
}

std::optional<std::string> ZmqReqClient::request(std::string_view payload) {
    if (!socket_.send(zmq::buffer(payload), zmq::send_flags::none)) return std::nullopt;
    zmq::message_t reply;
    if (!socket_.recv(reply, zmq::recv_flags::none)) return std::nullopt;
    return reply.to_string();
}

}  // namespace portico::test
