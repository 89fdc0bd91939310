#pragma once
// A plain zmq REQ client, as any third party would write one: one frame out,
// one frame back, with a bound on both.
#include <zmq.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace portico::test {

class ZmqReqClient {
public:
    ZmqReqClient(zmq::context_t& context, const std::string& endpoint,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // The reply, or nullopt when none came in time (the socket is then
    // stuck, as REQ sockets are: use a new client).
    std::optional<std::string> request(std::string_view payload);

private:
    zmq::socket_t socket_;
};

}  // namespace portico::test
