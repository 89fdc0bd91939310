#include "gateway_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>

#include <stdexcept>

namespace portico::reload_tests {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using nlohmann::json;

constexpr std::size_t max_problems = 10;

}  // namespace

std::string StreamReport::describe() const {
    std::string text = "sent " + std::to_string(sent) + ", answered " + std::to_string(answered) + ", lost " +
                       std::to_string(lost) + ", duplicates " + std::to_string(duplicates) + ", failed " +
                       std::to_string(failed);
    for (const auto& p : problems) text += "\n  " + p;
    return text;
}

GatewayClient::GatewayClient(std::uint16_t port, std::chrono::milliseconds timeout) : ws_(io_) {
    // Connect and handshake on this thread, bounded; then the loop thread
    // owns the socket.
    beast::error_code result = net::error::would_block;
    const net::ip::tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    beast::get_lowest_layer(ws_).expires_after(timeout);
    beast::get_lowest_layer(ws_).async_connect(endpoint, [this, port, &result](beast::error_code ec) {
        if (ec) {
            result = ec;
            return;
        }
        ws_.async_handshake("127.0.0.1:" + std::to_string(port), "/ws",
                            [&result](beast::error_code ec) { result = ec; });
    });
    io_.run_for(timeout + std::chrono::milliseconds(500));
    if (result) {
        throw std::runtime_error("cannot connect to ws://127.0.0.1:" + std::to_string(port) +
                                 "/ws: " + result.message());
    }
    io_.restart();
    beast::get_lowest_layer(ws_).expires_never();
    ws_.text(true);
    open_ = true;
    do_read();
    loop_ = std::thread([this] { io_.run(); });
}

GatewayClient::~GatewayClient() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closing_ = true;
        for (auto& [name, stream] : streams_) stream.active = false;
    }
    net::post(io_, [this] {
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(ws_).close();
    });
    if (loop_.joinable()) loop_.join();
}

std::string GatewayClient::envelope(const std::string& id, const std::string& plugin,
                                    const std::string& payload) const {
    return json{{"id", id}, {"plugin", plugin}, {"payload", payload}}.dump();
}

std::string GatewayClient::send(const std::string& plugin, const std::string& payload) {
    std::string id;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        id = "call-" + std::to_string(++next_call_);
        call_replies_[id];
    }
    net::post(io_, [this, text = envelope(id, plugin, payload)]() mutable { queue(std::move(text)); });
    return id;
}

std::optional<json> GatewayClient::wait_reply(const std::string& id, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool answered = changed_.wait_for(lock, timeout, [&] { return !call_replies_[id].empty() || !open_; });
    if (!answered || call_replies_[id].empty()) return std::nullopt;
    return call_replies_[id].front();
}

std::optional<json> GatewayClient::call(const std::string& plugin, const std::string& payload,
                                        std::chrono::milliseconds timeout) {
    return wait_reply(send(plugin, payload), timeout);
}

std::size_t GatewayClient::replies_for(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = call_replies_.find(id);
    return it == call_replies_.end() ? 0 : it->second.size();
}

std::vector<std::string> GatewayClient::call_anomalies() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> anomalies;
    for (const auto& [id, replies] : call_replies_)
        if (replies.size() != 1) anomalies.push_back(id + ": " + std::to_string(replies.size()) + " replies");
    return anomalies;
}

std::string GatewayClient::next_request(const std::string& name, Stream& stream) {
    const std::string id = name + "-" + std::to_string(++stream.next);
    stream.pending.insert(id);
    stream.replies[id] = 0;
    ++stream.report.sent;
    return envelope(id, stream.plugin, stream.payload);
}

void GatewayClient::start_stream(const std::string& name, const std::string& plugin, const std::string& payload,
                                 unsigned in_flight, ReplyCheck check) {
    std::vector<std::string> first;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Stream& stream = streams_[name];
        stream.plugin = plugin;
        stream.payload = payload;
        stream.in_flight = in_flight;
        stream.check = std::move(check);
        for (unsigned i = 0; i < in_flight; ++i) first.push_back(next_request(name, stream));
    }
    net::post(io_, [this, first = std::move(first)]() mutable {
        for (auto& text : first) queue(std::move(text));
    });
}

std::size_t GatewayClient::stream_answered(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = streams_.find(name);
    return it == streams_.end() ? 0 : it->second.report.answered;
}

bool GatewayClient::wait_stream_progress(const std::string& name, std::size_t more,
                                         std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    Stream& stream = streams_[name];
    const std::size_t target = stream.report.answered + more;
    return changed_.wait_for(lock, timeout, [&] { return stream.report.answered >= target || !open_; }) &&
           stream.report.answered >= target;
}

StreamReport GatewayClient::stop_stream(const std::string& name, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    Stream& stream = streams_[name];
    stream.active = false;
    changed_.wait_for(lock, timeout, [&] { return stream.pending.empty() || !open_; });
    StreamReport report = stream.report;
    report.lost = stream.pending.size();
    for (const auto& id : stream.pending)
        if (report.problems.size() < max_problems) report.problems.push_back(id + ": no reply");
    return report;
}

bool GatewayClient::connected() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return open_;
}

std::string GatewayClient::connection_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
}

std::vector<std::string> GatewayClient::unexpected() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return unexpected_;
}

// ---- the loop thread ----

void GatewayClient::queue(std::string text) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!open_) return;
    }
    outbox_.push_back(std::move(text));
    if (outbox_.size() == 1) do_write();  // otherwise a write is in progress
}

void GatewayClient::do_write() {
    ws_.async_write(net::buffer(outbox_.front()), [this](beast::error_code ec, std::size_t) { on_write(ec); });
}

void GatewayClient::on_write(beast::error_code ec) {
    if (ec) {
        outbox_.clear();
        fail("write", ec);
        return;
    }
    outbox_.pop_front();
    if (!outbox_.empty()) do_write();
}

void GatewayClient::do_read() {
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) { on_read(ec); });
}

void GatewayClient::on_read(beast::error_code ec) {
    if (ec) {
        fail("read", ec);
        return;
    }
    const std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    on_message(text);
    do_read();
}

void GatewayClient::on_message(const std::string& text) {
    std::vector<std::string> to_send;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const json reply = json::parse(text, nullptr, false);
        const auto id_field = reply.is_object() ? reply.find("id") : reply.end();
        if (!reply.is_object() || id_field == reply.end() || !id_field->is_string()) {
            unexpected_.push_back(text);
        } else if (auto call = call_replies_.find(id_field->get<std::string>()); call != call_replies_.end()) {
            call->second.push_back(reply);
        } else {
            const std::string id = id_field->get<std::string>();
            const auto dash = id.rfind('-');
            auto stream_it = dash == std::string::npos ? streams_.end() : streams_.find(id.substr(0, dash));
            auto count = stream_it == streams_.end() ? nullptr : &stream_it->second.replies;
            if (!count || count->find(id) == count->end()) {
                unexpected_.push_back(text);
            } else {
                Stream& stream = stream_it->second;
                StreamReport& report = stream.report;
                if (++(*count)[id] > 1) {
                    ++report.duplicates;
                    if (report.problems.size() < max_problems) report.problems.push_back(id + ": second reply " + text);
                } else {
                    ++report.answered;
                    stream.pending.erase(id);
                    const std::string problem = stream.check ? stream.check(reply) : std::string();
                    if (!problem.empty()) {
                        ++report.failed;
                        if (report.problems.size() < max_problems) report.problems.push_back(id + ": " + problem);
                    }
                    if (stream.active && stream.pending.size() < stream.in_flight)
                        to_send.push_back(next_request(stream_it->first, stream));
                }
            }
        }
    }
    changed_.notify_all();
    for (auto& request : to_send) queue(std::move(request));
}

void GatewayClient::fail(const std::string& what, beast::error_code ec) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (open_ && !closing_) error_ = what + ": " + ec.message();
        if (open_ && closing_) error_ = "closed by the test";
        open_ = false;
    }
    changed_.notify_all();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
}

// ---- checks ----

ReplyCheck dice_roll_check(unsigned count, unsigned sides) {
    return [count, sides](const json& reply) -> std::string {
        if (reply.value("ok", false) != true || reply.value("plugin", "") != "dice") return "not a dice result: " + reply.dump();
        const auto& result = reply.contains("result") ? reply["result"] : json();
        if (!result.is_object() || !result.contains("rolls") || !result["rolls"].is_array() ||
            result["rolls"].size() != count || !result.contains("total") || !result["total"].is_number_integer())
            return "malformed roll: " + reply.dump();
        long sum = 0;
        for (const auto& roll : result["rolls"]) {
            if (!roll.is_number_integer() || roll.get<long>() < 1 || roll.get<long>() > static_cast<long>(sides))
                return "die out of range: " + reply.dump();
            sum += roll.get<long>();
        }
        if (sum != result["total"].get<long>()) return "total is not the sum of the rolls: " + reply.dump();
        return {};
    };
}

ReplyCheck text_check(const std::string& plugin, const std::string& text) {
    return [plugin, text](const json& reply) -> std::string {
        if (reply.value("ok", false) != true || reply.value("plugin", "") != plugin ||
            reply.value("result", json()) != json(text))
            return "expected ok " + plugin + " \"" + text + "\", got " + reply.dump();
        return {};
    };
}

}  // namespace portico::reload_tests
