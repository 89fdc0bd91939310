#pragma once
// One request for an engine on its way to a worker thread, and its result on
// the way back. Whoever queues a job names the ReplySink its result goes to:
// a gateway loop in this process, or the endpoint's zmq broker (remote
// gateways and plain REQ clients). Workers never touch a socket.
#include <portico/plugin.hpp>

#include <zmq.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace portico {

class ReplySink;

struct EngineJob {
    std::uint64_t request_id = 0;
    std::string client_id;
    std::string payload;
    std::shared_ptr<ReplySink> sink;
    // Only for jobs from the broker: the zmq envelope (routing ids and the
    // empty delimiter) its reply is sent back with, and whether the peer is a
    // plain REQ client that wants one frame back.
    std::vector<zmq::message_t> route;
    bool plain = false;
};

struct EngineResult {
    std::uint64_t request_id = 0;
    std::string client_id;
    Reply reply = Reply::error("engine_error", "no reply");
    std::vector<zmq::message_t> route;
    bool plain = false;
};

// Takes results from worker threads. deliver() is called from any worker and
// must not block for long: it hands the result to its owner's thread.
class ReplySink {
public:
    virtual ~ReplySink() = default;
    virtual void deliver(EngineResult result) = 0;
};

}  // namespace portico
