#include "wire/curve.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

namespace portico {
namespace {

constexpr std::size_t z85_key_length = 40;
constexpr const char* zap_domain = "portico";

Error key_file_error(const std::string& problem) { return Error{"invalid_config", "curve.key_file: " + problem}; }

}  // namespace

Expected<CurveKeyPair> generate_curve_key_pair() {
    char public_key[z85_key_length + 1] = {};
    char secret_key[z85_key_length + 1] = {};
    if (zmq_curve_keypair(public_key, secret_key) != 0)
        return Error{"curve_unavailable", std::string("cannot make a Curve key pair: ") + zmq_strerror(zmq_errno()) +
                                              " (is libzmq built with libsodium?)"};
    return CurveKeyPair{public_key, secret_key};
}

std::string curve_key_pair_json(const CurveKeyPair& keys) {
    return nlohmann::json{{"public_key", keys.public_key}, {"secret_key", keys.secret_key}}.dump(2);
}

bool is_curve_key(std::string_view z85) {
    if (z85.size() != z85_key_length) return false;
    const std::string text(z85);
    std::uint8_t decoded[32];
    return zmq_z85_decode(decoded, text.c_str()) != nullptr;
}

Expected<CurveKeyPair> load_curve_key_pair(const std::string& path) {
    std::ifstream in(path);
    if (!in) return key_file_error("cannot read \"" + path + "\"");
    std::string text;
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (text.size() > 4096) return key_file_error("\"" + path + "\" is larger than 4 KiB: not a portico key file");
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("public_key") || !parsed.contains("secret_key") ||
        !parsed["public_key"].is_string() || !parsed["secret_key"].is_string())
        return key_file_error("\"" + path + "\" is not a key file: write one with `portico keygen > FILE`");
    CurveKeyPair keys{parsed["public_key"].get<std::string>(), parsed["secret_key"].get<std::string>()};
    if (!is_curve_key(keys.public_key) || !is_curve_key(keys.secret_key))
        return key_file_error("the keys in \"" + path + "\" are not 40-character Z85 Curve keys");
    char derived[z85_key_length + 1] = {};
    if (zmq_curve_public(derived, keys.secret_key.c_str()) != 0 || keys.public_key != derived)
        return key_file_error("in \"" + path + "\" the public key is not the secret key's");
    return keys;
}

void make_curve_server(zmq::socket_t& socket, const CurveKeyPair& own) {
    socket.set(zmq::sockopt::curve_server, 1);
    socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
    // A domain makes libzmq ask the ZAP handler about every client.
    socket.set(zmq::sockopt::zap_domain, zap_domain);
}

void make_curve_client(zmq::socket_t& socket, const CurveKeyPair& own, const std::string& server_key) {
    socket.set(zmq::sockopt::curve_serverkey, server_key);
    socket.set(zmq::sockopt::curve_publickey, own.public_key);
    socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
}

}  // namespace portico
