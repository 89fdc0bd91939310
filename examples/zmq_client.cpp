// A plain zmq REQ client for any portico engine endpoint: no gateway, no
// portico code, just libzmq. Each argument is sent as one request.
//
//   portico-zmq-client tcp://127.0.0.1:5556 3d6 4d6kh3 "2d20kl1 + 5"
#include <zmq.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: portico-zmq-client ENDPOINT PAYLOAD...\n"
                     "  e.g. portico-zmq-client tcp://127.0.0.1:5556 3d6\n";
        return 2;
    }
    zmq::context_t context;
    zmq::socket_t socket(context, zmq::socket_type::req);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::rcvtimeo, 5000);  // a REQ socket waits forever otherwise
    socket.connect(argv[1]);
    for (int i = 2; i < argc; ++i) {
        socket.send(zmq::buffer(std::string(argv[i])), zmq::send_flags::none);
        zmq::message_t reply;
        if (!socket.recv(reply, zmq::recv_flags::none)) {
            std::cerr << "no reply from " << argv[1] << " within 5 s\n";
            return 1;
        }
        std::cout << reply.to_string() << "\n";
    }
    return 0;
}
