#include "load_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace portico::faults {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t id_stride = 100'000'000;
constexpr std::size_t max_samples = 8;

}  // namespace

// ---- LoadReport ----

std::uint64_t LoadReport::error_count() const {
    std::uint64_t n = 0;
    for (const auto& [code, count] : errors) n += count;
    return n;
}

std::uint64_t LoadReport::errors_other_than(std::initializer_list<const char*> codes) const {
    std::uint64_t n = 0;
    for (const auto& [code, count] : errors) {
        bool listed = false;
        for (const char* c : codes) listed = listed || code == c;
        if (!listed) n += count;
    }
    return n;
}

std::string LoadReport::summary() const {
    std::ostringstream s;
    s << "sent " << sent << ", replies " << replies << ", ok " << ok << ", errors {";
    const char* sep = "";
    for (const auto& [code, count] : errors) {
        s << sep << code << ": " << count;
        sep = ", ";
    }
    s << "}, duplicates " << duplicates << ", unknown ids " << unknown_ids << ", malformed " << malformed
      << ", outstanding " << outstanding << ", connections " << connected << " connected / " << open
      << " open, close codes {";
    sep = "";
    for (const auto& [code, count] : close_codes) {
        s << sep << code << ": " << count;
        sep = ", ";
    }
    s << "}\n  replies per 100 ms:";
    for (auto n : replies_per_100ms) s << ' ' << n;
    for (const auto& sample : samples) s << "\n  " << sample.substr(0, 200);
    return s.str();
}

// ---- the connections and their shared state ----

struct LoadClient::Impl {
    struct Connection : std::enable_shared_from_this<Connection> {
        Connection(Impl& owner, unsigned index) : impl(owner), index(index), ws(owner.io), pause_timer(owner.io) {}

        Impl& impl;
        unsigned index;
        websocket::stream<beast::tcp_stream> ws;
        beast::flat_buffer buffer;
        std::deque<std::string> outbox;
        bool writing = false;
        bool connected = false;
        bool open = false;
        bool closing = false;      // we started a close: send nothing more
        bool close_started = false;
        std::uint64_t next_n = 0;
        std::uint64_t sent = 0;
        std::unordered_set<std::uint64_t> outstanding;
        std::unordered_map<std::uint64_t, std::string> answered;  // id -> "ok" or error code
        net::steady_timer pause_timer;
        bool pause_pending = false;
    };

    explicit Impl(LoadOptions o) : options(std::move(o)), work(net::make_work_guard(io)) {}

    // Every handler runs on the one io thread and holds `mutex` while it
    // touches state, so that report() on the test thread sees it whole.
    void do_connect(const std::shared_ptr<Connection>& c, std::chrono::milliseconds timeout);
    void fill(Connection& c);
    void after_reply(const std::shared_ptr<Connection>& c);
    void do_write(const std::shared_ptr<Connection>& c);
    void do_read(const std::shared_ptr<Connection>& c);
    void on_message(Connection& c, const std::string& text);
    void start_close(const std::shared_ptr<Connection>& c);
    void closed(Connection& c, int code);
    void count_reply(bool ok);

    LoadOptions options;
    net::io_context io;
    net::executor_work_guard<net::io_context::executor_type> work;
    std::thread thread;

    mutable std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::shared_ptr<Connection>> connections;
    bool sending = false;
    Clock::time_point started = Clock::now();
    unsigned failed_connects = 0;
    LoadReport stats;  // counters only; the rest is computed in report()
    std::vector<std::string> samples;  // the first odd messages, for failure output
};

void LoadClient::Impl::do_connect(const std::shared_ptr<Connection>& c, std::chrono::milliseconds timeout) {
    beast::get_lowest_layer(c->ws).expires_after(timeout);
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), options.port);
    beast::get_lowest_layer(c->ws).async_connect(endpoint, [this, c](const beast::error_code& ec) {
        if (ec) {
            std::lock_guard<std::mutex> lock(mutex);
            ++failed_connects;
            changed.notify_all();
            return;
        }
        c->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
        c->ws.text(true);
        c->ws.async_handshake("127.0.0.1:" + std::to_string(options.port), options.target,
                              [this, c](const beast::error_code& ec2) {
                                  std::lock_guard<std::mutex> lock(mutex);
                                  if (ec2) {
                                      ++failed_connects;
                                      changed.notify_all();
                                      return;
                                  }
                                  beast::get_lowest_layer(c->ws).expires_never();
                                  c->connected = true;
                                  c->open = true;
                                  changed.notify_all();
                                  do_read(c);
                                  fill(*c);
                                  do_write(c);
                              });
    });
}

// Tops the connection up to `in_flight` outstanding requests (mutex held).
void LoadClient::Impl::fill(Connection& c) {
    while (sending && c.open && !c.closing && c.outstanding.size() < options.in_flight &&
           (options.max_per_connection == 0 || c.sent < options.max_per_connection)) {
        const std::uint64_t id = options.id_base + c.index * id_stride + ++c.next_n;
        nlohmann::json request = {{"id", id}, {"plugin", options.plugin}, {"payload", options.payload}};
        c.outbox.push_back(request.dump());
        c.outstanding.insert(id);
        ++c.sent;
        ++stats.sent;
    }
}

void LoadClient::Impl::after_reply(const std::shared_ptr<Connection>& c) {
    if (options.pause.count() == 0) {
        fill(*c);
        do_write(c);
        return;
    }
    if (c->pause_pending) return;
    c->pause_pending = true;
    c->pause_timer.expires_after(options.pause);
    c->pause_timer.async_wait([this, c](const beast::error_code&) {
        std::lock_guard<std::mutex> lock(mutex);
        c->pause_pending = false;
        fill(*c);
        do_write(c);
    });
}

void LoadClient::Impl::do_write(const std::shared_ptr<Connection>& c) {
    if (c->writing || !c->open) return;
    if (c->closing) {
        c->outbox.clear();
        start_close(c);
        return;
    }
    if (c->outbox.empty()) return;
    c->writing = true;
    c->ws.async_write(net::buffer(c->outbox.front()), [this, c](const beast::error_code& ec, std::size_t) {
        std::lock_guard<std::mutex> lock(mutex);
        c->writing = false;
        c->outbox.pop_front();
        if (ec) return;  // the read side sees the connection end and records it
        do_write(c);
    });
}

void LoadClient::Impl::do_read(const std::shared_ptr<Connection>& c) {
    c->ws.async_read(c->buffer, [this, c](const beast::error_code& ec, std::size_t) {
        std::lock_guard<std::mutex> lock(mutex);
        if (ec) {
            closed(*c, ec == websocket::error::closed ? static_cast<int>(c->ws.reason().code) : 0);
            return;
        }
        on_message(*c, beast::buffers_to_string(c->buffer.data()));
        c->buffer.consume(c->buffer.size());
        after_reply(c);
        do_read(c);
    });
}

void LoadClient::Impl::on_message(Connection& c, const std::string& text) {
    const auto reply = nlohmann::json::parse(text, nullptr, false);
    const bool usable = !reply.is_discarded() && reply.is_object() && reply.contains("id") &&
                        reply["id"].is_number_unsigned();
    if (!usable) {
        ++stats.malformed;
        if (samples.size() < max_samples) samples.push_back("malformed: " + text);
        return;
    }
    const auto id = reply["id"].get<std::uint64_t>();
    if (c.outstanding.erase(id) == 1) {
        const bool ok = reply.value("ok", false);
        count_reply(ok);
        std::string code = "ok";
        if (!ok) {
            code = "(no code)";
            if (auto e = reply.find("error"); e != reply.end() && e->is_object() && e->contains("code") &&
                                              (*e)["code"].is_string())
                code = (*e)["code"].get<std::string>();
            // The first few of each code, with their messages, for failure output.
            if (++stats.errors[code] <= 2 && samples.size() < max_samples) samples.push_back("error: " + text);
        }
        c.answered.emplace(id, std::move(code));
    } else if (c.answered.count(id) != 0) {
        ++stats.duplicates;
        if (samples.size() < max_samples) samples.push_back("duplicate: " + text);
    } else {
        ++stats.unknown_ids;
        if (samples.size() < max_samples) samples.push_back("unknown id: " + text);
    }
}

void LoadClient::Impl::count_reply(bool ok) {
    ++stats.replies;
    if (ok) ++stats.ok;
    const auto bucket = static_cast<std::size_t>((Clock::now() - started) / std::chrono::milliseconds(100));
    if (stats.replies_per_100ms.size() <= bucket) {
        stats.replies_per_100ms.resize(bucket + 1, 0);
        stats.ok_per_100ms.resize(bucket + 1, 0);
    }
    ++stats.replies_per_100ms[bucket];
    if (ok) ++stats.ok_per_100ms[bucket];
}

void LoadClient::Impl::start_close(const std::shared_ptr<Connection>& c) {
    if (c->close_started || !c->open) return;
    c->close_started = true;
    c->ws.async_close(websocket::close_code::normal, [](const beast::error_code&) {
        // The pending read ends with `closed` and records it.
    });
}

void LoadClient::Impl::closed(Connection& c, int code) {
    if (!c.open) return;
    c.open = false;
    ++stats.close_codes[code];
    c.pause_timer.cancel();
    changed.notify_all();
}

// ---- LoadClient ----

LoadClient::LoadClient(LoadOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
    Impl& impl = *impl_;
    for (unsigned i = 0; i < impl.options.connections; ++i)
        impl.connections.push_back(std::make_shared<Impl::Connection>(impl, i));
    impl.thread = std::thread([&impl] { impl.io.run(); });
}

LoadClient::~LoadClient() {
    impl_->work.reset();
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    // The connections go with the io_context's remaining handlers.
    impl_->connections.clear();
}

bool LoadClient::connect(std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    for (auto& c : impl.connections)
        net::post(impl.io, [&impl, c, timeout] { impl.do_connect(c, timeout); });
    std::unique_lock<std::mutex> lock(impl.mutex);
    return impl.changed.wait_for(lock, timeout + std::chrono::milliseconds(500), [&] {
        unsigned connected = 0;
        for (auto& c : impl.connections) connected += c->connected ? 1 : 0;
        return impl.failed_connects > 0 || connected == impl.connections.size();
    }) && impl.failed_connects == 0;
}

void LoadClient::start() {
    Impl& impl = *impl_;
    net::post(impl.io, [&impl] {
        std::lock_guard<std::mutex> lock(impl.mutex);
        impl.sending = true;
        impl.started = Clock::now();
        for (auto& c : impl.connections) {
            impl.fill(*c);
            impl.do_write(c);
        }
    });
}

void LoadClient::stop_sending() {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->sending = false;
}

bool LoadClient::wait_until(const std::function<bool(const LoadReport&)>& done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (done(report())) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

bool LoadClient::wait_settled(std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    const auto deadline = Clock::now() + timeout;
    while (true) {
        {
            std::lock_guard<std::mutex> lock(impl.mutex);
            bool settled = true;
            for (auto& c : impl.connections) settled = settled && (!c->open || c->outstanding.empty());
            if (settled) return true;
        }
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

bool LoadClient::wait_closed(std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    std::unique_lock<std::mutex> lock(impl.mutex);
    return impl.changed.wait_for(lock, timeout, [&] {
        for (auto& c : impl.connections)
            if (c->open) return false;
        return true;
    });
}

void LoadClient::close(std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    net::post(impl.io, [&impl] {
        std::lock_guard<std::mutex> lock(impl.mutex);
        impl.sending = false;
        for (auto& c : impl.connections) {
            c->closing = true;
            impl.do_write(c);
        }
    });
    wait_closed(timeout);
}

LoadReport LoadClient::report() const {
    const Impl& impl = *impl_;
    std::lock_guard<std::mutex> lock(impl.mutex);
    LoadReport r = impl.stats;
    for (const auto& c : impl.connections) {
        r.outstanding += c->outstanding.size();
        r.connected += c->connected ? 1 : 0;
        r.open += c->open ? 1 : 0;
    }
    r.samples = impl.samples;
    return r;
}

std::vector<std::uint64_t> LoadClient::outstanding_ids() const {
    const Impl& impl = *impl_;
    std::lock_guard<std::mutex> lock(impl.mutex);
    std::vector<std::uint64_t> ids;
    for (const auto& c : impl.connections) ids.insert(ids.end(), c->outstanding.begin(), c->outstanding.end());
    return ids;
}

std::string LoadClient::outcome(std::uint64_t id) const {
    const Impl& impl = *impl_;
    std::lock_guard<std::mutex> lock(impl.mutex);
    const std::uint64_t index = (id - impl.options.id_base) / id_stride;
    if (id < impl.options.id_base || index >= impl.connections.size()) return {};
    const auto& answered = impl.connections[index]->answered;
    auto it = answered.find(id);
    return it == answered.end() ? std::string() : it->second;
}

std::optional<std::string> request_once(std::uint16_t port, const std::string& message,
                                        std::chrono::milliseconds timeout, const std::string& target) {
    net::io_context io;
    websocket::stream<beast::tcp_stream> ws(io);
    std::optional<std::string> answer;
    beast::flat_buffer buffer;
    beast::get_lowest_layer(ws).expires_after(timeout);  // bounds every step below
    beast::get_lowest_layer(ws).async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](const beast::error_code& ec) {
            if (ec) return;
            ws.async_handshake("127.0.0.1:" + std::to_string(port), target, [&](const beast::error_code& ec2) {
                if (ec2) return;
                ws.text(true);
                ws.async_write(net::buffer(message), [&](const beast::error_code& ec3, std::size_t) {
                    if (ec3) return;
                    ws.async_read(buffer, [&](const beast::error_code& ec4, std::size_t) {
                        if (ec4) return;
                        answer = beast::buffers_to_string(buffer.data());
                        beast::get_lowest_layer(ws).close();
                    });
                });
            });
        });
    io.run_for(timeout + std::chrono::milliseconds(100));
    return answer;
}

}  // namespace portico::faults
