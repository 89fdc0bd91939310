// The real portico executable as a child process: its arguments, its exit
// codes, its one-line errors, its start-up lines, and a clean exit on
// SIGTERM and SIGINT while serving.
#include "support/portico_process.hpp"
#include "support/ws_client.hpp"
#include "support/zmq_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using portico::test::ExitStatus;
using portico::test::PorticoProcess;
using portico::test::Subprocess;
using portico::test::TempDir;
using namespace std::chrono_literals;

namespace {

// Runs portico and returns its status with its output.
struct Run {
    ExitStatus status;
    std::string out;
    std::string err;
};

Run run_portico(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {PORTICO_EXECUTABLE};
    argv.insert(argv.end(), args.begin(), args.end());
    Subprocess child(argv);
    Run run;
    run.status = child.wait(20s);
    run.out = child.out();
    run.err = child.err();
    return run;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The single error line portico wrote to stderr ("portico: ..."). Any other
// line must be an ordinary log line ("2026-12-02T09:15:00.123Z info ...").
std::string the_error_line(const std::string& err) {
    static const std::regex log_line(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info) .*)");
    std::vector<std::string> errors;
    for (const auto& line : lines_of(err)) {
        if (std::regex_match(line, log_line)) continue;
        errors.push_back(line);
    }
    INFO("stderr:\n" << err);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], StartsWith("portico: "));
    return errors[0];
}

std::string plugin(const std::string& library, const std::string& endpoint = "tcp://127.0.0.1:0") {
    return json{{"library", library}, {"endpoint", endpoint}}.dump();
}

// A TCP listener on an ephemeral loopback port, to make that port busy.
class BusyPort {
public:
    BusyPort() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(fd_, 4) == 0);
        socklen_t size = sizeof address;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
        port_ = ntohs(address.sin_port);
    }
    ~BusyPort() { ::close(fd_); }
    BusyPort(const BusyPort&) = delete;
    BusyPort& operator=(const BusyPort&) = delete;
    std::uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

struct Served {
    std::uint16_t gateway_port = 0;
    std::string dice_endpoint;
};

// Where it serves, from its ready event; the start-up lines for people say the same.
Served served_from(const PorticoProcess& portico) {
    Served served;
    served.gateway_port = portico.gateway_port();
    served.dice_endpoint = portico.endpoint_of("dice");
    const std::string out = portico.out();
    std::smatch match;
    static const std::regex gateway(R"(portico: gateway listening on ws://127\.0\.0\.1:(\d+)/ws \()");
    static const std::regex dice(R"(portico: plugin dice \S+ serving on (tcp://127\.0\.0\.1:\d+) \()");
    INFO("stdout:\n" << out);
    REQUIRE(std::regex_search(out, match, gateway));
    CHECK(served.gateway_port == static_cast<std::uint16_t>(std::stoi(match[1])));
    REQUIRE(std::regex_search(out, match, dice));
    CHECK(served.dice_endpoint == match[1].str());
    return served;
}

}  // namespace

TEST_CASE("--help exits 0 and prints the usage", "[cli]") {
    const auto run = run_portico({"--help"});
    CHECK(run.status.exited);
    CHECK(run.status.code == 0);
    CHECK_THAT(run.out, StartsWith("usage: portico") && Contains("--config"));
    CHECK(run.err.empty());
}

TEST_CASE("--version prints the version of portico and of its plugin API", "[cli]") {
    const auto run = run_portico({"--version"});
    CHECK(run.status.exited);
    CHECK(run.status.code == 0);
    CHECK_THAT(run.out, StartsWith("portico ") && Contains("plugin API 1.3"));
}

TEST_CASE("bad arguments exit 2 and say what is wrong", "[cli]") {
    SECTION("an unknown argument") {
        const auto run = run_portico({"--bogus"});
        CHECK(run.status.exited);
        CHECK(run.status.code == 2);
        CHECK_THAT(run.err, StartsWith("portico: ") && Contains("--bogus") && Contains("usage:"));
    }
    SECTION("--config without a file") {
        const auto run = run_portico({"--config"});
        CHECK(run.status.code == 2);
        CHECK_THAT(run.err, Contains("--config"));
    }
}

TEST_CASE("config errors exit 1 with one clear line on stderr", "[cli]") {
    TempDir dir;
    auto write_config = [&](const std::string& text) { return dir.write("portico.json", text); };
    const std::string dice = plugin(PORTICO_DICE_PLUGIN);

    SECTION("a config file that does not exist") {
        const std::string path = dir.path() + "/absent.json";
        const auto run = run_portico({"--config", path});
        CHECK(run.status.code == 1);
        CHECK_THAT(the_error_line(run.err), Contains(path));
    }
    SECTION("invalid JSON") {
        const auto path = write_config(R"({"plugins": {"dice": )");
        const auto run = run_portico({"--config", path});
        CHECK(run.status.code == 1);
        CHECK_THAT(the_error_line(run.err), Contains(path) && Contains("invalid JSON"));
    }
    SECTION("a number too large for a double (used to abort with status 134)") {
        const auto path = write_config(R"({"gateway": {"threads": 1e400}, "plugins": {"dice": )" + dice + "}}");
        const auto run = run_portico({"--config", path});
        CHECK(run.status.exited);
        CHECK(run.status.code == 1);
        CHECK_THAT(the_error_line(run.err),
                   Contains(path + ": gateway.threads: invalid JSON: number overflow parsing '1e400'"));
    }
    SECTION("an unknown key") {
        const auto path = write_config(R"({"plugins": {"dice": )" + dice + R"(}, "gateway": {"listn": "x"}})");
        const auto run = run_portico({"--config", path});
        CHECK(run.status.code == 1);
        CHECK_THAT(the_error_line(run.err), Contains(path) && Contains("gateway.listn") && Contains("unknown key"));
    }
    SECTION("a plugin file that does not exist") {
        const std::string missing = dir.path() + "/missing.so";
        const auto path = write_config(R"({"plugins": {"dice": )" + plugin(missing) + "}}");
        const auto run = run_portico({"--config", path});
        CHECK(run.status.code == 1);
        CHECK_THAT(the_error_line(run.err),
                   Contains(path) && Contains("plugins.dice.library") && Contains(missing));
    }
    SECTION("a plugin of another API version") {
        const auto path = write_config(R"({"plugins": {"old": )" + plugin(PORTICO_FIXTURE_WRONG_VERSION) + "}}");
        const auto run = run_portico({"--config", path});
        // Exit 1, not a signal: the fixture aborts if its info or factory is called.
        CHECK(run.status.exited);
        CHECK(run.status.code == 1);
        CHECK_THAT(the_error_line(run.err), Contains("\"old\"") && Contains(PORTICO_FIXTURE_WRONG_VERSION) &&
                                                Contains("99.0") && Contains("1.3"));
    }
    SECTION("a plugin endpoint whose port is in use") {
        zmq::context_t context;
        zmq::socket_t holder(context, zmq::socket_type::router);
        holder.set(zmq::sockopt::linger, 0);
        holder.bind("tcp://127.0.0.1:*");
        const std::string busy = holder.get(zmq::sockopt::last_endpoint);
        const auto path = write_config(R"({"plugins": {"dice": )" + plugin(PORTICO_DICE_PLUGIN, busy) +
                                       R"(}, "gateway": {"listen": "127.0.0.1:0"}})");
        const auto run = run_portico({"--config", path});
        CHECK(run.status.code == 1);
        CHECK_THAT(the_error_line(run.err), Contains("plugins.dice.endpoint") && Contains(busy));
    }
    SECTION("a gateway port in use") {
        BusyPort busy;
        const std::string listen = "127.0.0.1:" + std::to_string(busy.port());
        const auto path =
            write_config(R"({"plugins": {"dice": )" + dice + R"(}, "gateway": {"listen": ")" + listen + R"("}})");
        const auto run = run_portico({"--config", path});
        CHECK(run.status.code == 1);
        CHECK_THAT(the_error_line(run.err), Contains("gateway.listen") && Contains(listen));
    }
}

TEST_CASE("a good config serves until SIGTERM or SIGINT, then exits 0", "[cli]") {
    const int signal = GENERATE(SIGTERM, SIGINT);
    INFO("signal " << signal);
    TempDir dir;
    const auto path = dir.write("portico.json", json{{"log_level", "warn"},
                                                     {"gateway", {{"listen", "127.0.0.1:0"}}},
                                                     {"plugins", {{"dice", json::parse(plugin(PORTICO_DICE_PLUGIN))}}}}
                                                    .dump());
    PorticoProcess child(path);
    if (!child.wait_ready(15s)) FAIL("no ready event; " << child.summary());
    const Served served = served_from(child);

    // A WebSocket roll (its reply also shows the control loop runs, so the
    // signal handlers are in place before the signal is sent).
    portico::test::WsClient client(served.gateway_port);
    client.send("dice 3d6");
    const json roll = json::parse(client.read_required());
    CHECK(roll.at("rolls").size() == 3);

    zmq::context_t context;
    {
        portico::test::ZmqReqClient req(context, served.dice_endpoint);
        const auto reply = req.request("2d6");
        REQUIRE(reply);
        CHECK(json::parse(*reply).at("rolls").size() == 2);
    }

    child.send_signal(signal);
    // The connected client is told the server is going away.
    CHECK_FALSE(client.read(5s).has_value());
    CHECK(client.close_code() == 1001);
    const ExitStatus status = child.wait(10s);
    INFO("stdout:\n" << child.out() << "\nstderr:\n" << child.err());
    CHECK_FALSE(status.timed_out);
    CHECK(status.exited);
    CHECK(status.code == 0);
}
