#pragma once
// CurveZMQ on the links between gateways and engines (config key "curve"):
// key pairs in Z85, as `portico keygen` makes them, and the socket options
// that make an endpoint a Curve server or a link a Curve client. Who may
// connect is decided by the ZAP handler on the engine side
// (engine/curve_authenticator.hpp).
#include "core/curve_key_pair.hpp"
#include "core/error.hpp"

#include <zmq.hpp>

#include <string>
#include <string_view>

namespace portico {

// A fresh key pair (libzmq with libsodium).
Expected<CurveKeyPair> generate_curve_key_pair();
// What `portico keygen` prints: {"public_key": "...", "secret_key": "..."}.
std::string curve_key_pair_json(const CurveKeyPair& keys);
// Reads a key file written by `portico keygen`; checks that both keys are
// Z85 and that the public key is the secret key's. Errors name the key
// ("curve.key_file: ...").
Expected<CurveKeyPair> load_curve_key_pair(const std::string& path);
// 40 Z85 characters that decode to a 32-byte key.
bool is_curve_key(std::string_view z85);

// An endpoint that accepts only Curve clients (the ZAP handler then decides
// which); set before bind.
void make_curve_server(zmq::socket_t& socket, const CurveKeyPair& own);
// A link that speaks Curve to the endpoint whose public key is `server_key`;
// set before connect.
void make_curve_client(zmq::socket_t& socket, const CurveKeyPair& own, const std::string& server_key);

}  // namespace portico
