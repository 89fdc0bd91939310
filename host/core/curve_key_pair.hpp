#pragma once
// A CurveZMQ key pair in Z85 text (config key "curve"): plain data, so that
// the parts that only carry it (the link factory the gateway holds) need no
// zmq; wire/curve.hpp makes and applies it.
#include <string>

namespace portico {

struct CurveKeyPair {
    std::string public_key;  // Z85, 40 characters
    std::string secret_key;  // Z85, 40 characters
};

}  // namespace portico
