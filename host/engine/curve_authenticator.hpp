#pragma once
// The ZAP handler (zmq RFC 27) of a process whose endpoints speak Curve:
// libzmq asks it about every client that completes a Curve handshake, and it
// admits only the public keys listed in curve.allowed_clients (and this
// process's own, which its gateway and isolated engines use). A refusal is
// logged with the key and the peer's address. One per zmq context, bound
// before any Curve endpoint, on a thread of its own; stopped before the
// context is.
#include "core/logger.hpp"

#include <zmq.hpp>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace portico {

class CurveAuthenticator {
public:
    // `allowed`: Z85 public keys (checked by the config).
    CurveAuthenticator(zmq::context_t& context, const std::vector<std::string>& allowed, Logger& log);
    ~CurveAuthenticator();
    CurveAuthenticator(const CurveAuthenticator&) = delete;
    CurveAuthenticator& operator=(const CurveAuthenticator&) = delete;

private:
    void run();
    void answer(zmq::message_t* frames, std::size_t count);

    zmq::socket_t socket_;
    std::set<std::string> allowed_;  // Z85
    Logger& log_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace portico
