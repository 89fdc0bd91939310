#pragma once
// One request for an engine on its way to a worker thread, and its result on
// the way back. Whoever queues a job names the ReplySink its result goes to:
// a gateway loop in this process, or the endpoint's zmq broker (remote
// gateways and plain REQ clients). Workers never touch a socket, and nothing
// here knows zmq: a broker's routing envelope travels as an opaque BrokerRoute.
#include "core/caller.hpp"
#include "core/engine_reply.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace portico {

class ReplySink;
// Defined by the endpoint's broker: the zmq envelope (routing ids and the
// empty delimiter) a reply goes back with, and whether the peer is a plain
// REQ client that wants one frame back. Null for jobs from this process.
struct BrokerRoute;

// A request for handle(), or the notice that a client has gone (client_gone()).
enum class JobKind : std::uint8_t { request, client_gone };

struct EngineJob {
    JobKind kind = JobKind::request;
    std::uint64_t request_id = 0;
    std::string client_id;
    std::string payload;
    CallerRef caller;  // null: no auth at the gateway
    std::shared_ptr<ReplySink> sink;
    std::shared_ptr<BrokerRoute> route;
};

struct EngineResult {
    EngineReply reply;
    std::shared_ptr<BrokerRoute> route;
};

// Takes results from worker threads. deliver() is called from any worker and
// must not block for long: it hands the result to its owner's thread.
class ReplySink {
public:
    virtual ~ReplySink() = default;
    virtual void deliver(EngineResult result) = 0;
};

}  // namespace portico
