// A plain zmq REQ client for any portico engine endpoint: no gateway, no
// portico code, just libzmq. Each argument is sent as one request.
//
//   portico-zmq-client tcp://127.0.0.1:5556 3d6 4d6kh3 "2d20kl1 + 5"
//
// An endpoint whose host has "curve" in its config speaks only CurveZMQ: give
// the engine's public key and a key file of this client's own (made with
// `portico keygen > client.key`; its public key must be in the engine's
// curve.allowed_clients):
//
//   portico-zmq-client --curve SERVER_PUBLIC_KEY client.key tcp://10.0.0.5:5556 3d6
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <fstream>
#include <iostream>
#include <string>

namespace {

int usage() {
    std::cerr << "usage: portico-zmq-client [--curve SERVER_PUBLIC_KEY KEY_FILE] ENDPOINT PAYLOAD...\n"
                 "  e.g. portico-zmq-client tcp://127.0.0.1:5556 3d6\n";
    return 2;
}

// The key file `portico keygen` writes: {"public_key": Z85, "secret_key": Z85}.
bool read_key_file(const std::string& path, std::string& public_key, std::string& secret_key) {
    std::ifstream in(path);
    const auto keys = nlohmann::json::parse(in, nullptr, false);
    if (!keys.is_object() || !keys.contains("public_key") || !keys.contains("secret_key") ||
        !keys["public_key"].is_string() || !keys["secret_key"].is_string())
        return false;
    public_key = keys["public_key"].get<std::string>();
    secret_key = keys["secret_key"].get<std::string>();
    return public_key.size() == 40 && secret_key.size() == 40;
}

}  // namespace

int main(int argc, char** argv) {
    int first = 1;
    std::string server_key, public_key, secret_key;
    if (argc > 1 && std::string(argv[1]) == "--curve") {
        if (argc < 4) return usage();
        server_key = argv[2];
        if (server_key.size() != 40 || !read_key_file(argv[3], public_key, secret_key)) {
            std::cerr << "portico-zmq-client: --curve needs a 40-character server key and a key file written by "
                         "`portico keygen`\n";
            return 2;
        }
        first = 4;
    }
    if (argc < first + 2) return usage();
    const std::string endpoint = argv[first];
    zmq::context_t context;
    zmq::socket_t socket(context, zmq::socket_type::req);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::rcvtimeo, 5000);  // a REQ socket waits forever otherwise
    if (!server_key.empty()) {
        socket.set(zmq::sockopt::curve_serverkey, server_key);
        socket.set(zmq::sockopt::curve_publickey, public_key);
        socket.set(zmq::sockopt::curve_secretkey, secret_key);
    }
    socket.connect(endpoint);
    for (int i = first + 1; i < argc; ++i) {
        socket.send(zmq::buffer(std::string(argv[i])), zmq::send_flags::none);
        zmq::message_t reply;
        if (!socket.recv(reply, zmq::recv_flags::none)) {
            std::cerr << "no reply from " << endpoint << " within 5 s"
                      << (server_key.empty() ? "" : " (with Curve: is this client's key allowed, the server key right?)")
                      << "\n";
            return 1;
        }
        std::cout << reply.to_string() << "\n";
    }
    return 0;
}
