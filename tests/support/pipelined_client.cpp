#include "support/pipelined_client.hpp"

#include "support/ws_stream.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace portico::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t id_stride = 100'000'000;
constexpr std::size_t max_samples = 10;
constexpr std::size_t max_unexpected = 20;
constexpr unsigned max_connecting = 128;
constexpr std::size_t calls = 0;  // the stream index of calls

void sample(std::vector<std::string>& samples, std::string text) {
    if (samples.size() < max_samples) samples.push_back(std::move(text));
}

void add_buckets(std::vector<std::uint64_t>& into, const std::vector<std::uint64_t>& from) {
    if (into.size() < from.size()) into.resize(from.size(), 0);
    for (std::size_t i = 0; i < from.size(); ++i) into[i] += from[i];
}

}  // namespace

std::string error_code_of(const json& reply) {
    if (!reply.is_object() || (reply.contains("ok") && reply["ok"] == true)) return {};
    const auto error = reply.find("error");
    if (error == reply.end() || !error->is_object()) return {};
    const auto code = error->find("code");
    return code != error->end() && code->is_string() ? code->get<std::string>() : std::string();
}

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

bool LoadReport::clean() const {
    return sent > 0 && replies == sent && outstanding == 0 && duplicates == 0 && failed == 0;
}

std::string LoadReport::summary() const {
    std::ostringstream s;
    s << "sent " << sent << ", replies " << replies << ", ok " << ok << ", errors {";
    const char* sep = "";
    for (const auto& [code, count] : errors) {
        s << sep << code << ": " << count;
        sep = ", ";
    }
    s << "}, failed checks " << failed << ", duplicates " << duplicates << ", unknown ids " << unknown_ids
      << ", malformed " << malformed << ", outstanding " << outstanding << ", connections " << connected
      << " connected / " << open << " open, close codes {";
    sep = "";
    for (const auto& [code, count] : close_codes) {
        s << sep << code << ": " << count;
        sep = ", ";
    }
    s << "}\n  replies per 100 ms:";
    for (auto n : replies_per_100ms) s << ' ' << n;
    for (const auto& text : samples) s << "\n  " << text.substr(0, 200);
    return s.str();
}

// ---- the connections and their shared state ----

struct PipelinedClient::Impl {
    // A stream's state; index 0 holds the calls.
    struct Stream {
        std::string name;
        StreamOptions options;
        bool sending = true;
        Clock::time_point started = Clock::now();
        LoadReport counts;  // the stream's own counters only
    };
    // One request sent, by id.
    struct Request {
        std::size_t stream = calls;
        unsigned replies = 0;
        std::string outcome;  // "ok" or the error code, once answered
        json reply;           // for a call: its first reply
    };
    // A stream on one connection.
    struct Lane {
        explicit Lane(net::io_context& io) : pause_timer(io) {}
        std::uint64_t outstanding = 0;
        std::uint64_t sent = 0;
        net::steady_timer pause_timer;
        bool pause_pending = false;
    };
    struct Connection {
        Connection(net::io_context& io, unsigned i) : index(i), ws(io) {
            lanes.push_back(std::make_unique<Lane>(io));  // the calls'
        }
        unsigned index;
        WsStream ws;
        beast::flat_buffer buffer;
        std::deque<std::string> outbox;  // the front is being written
        bool writing = false;
        bool connected = false;
        bool open = false;
        bool closing = false;  // we started a close: send nothing more
        bool close_started = false;
        std::uint64_t next_n = 0;
        std::unordered_map<std::uint64_t, Request> requests;
        std::vector<std::unique_ptr<Lane>> lanes;  // by stream index
    };
    using ConnectionPtr = std::shared_ptr<Connection>;

    explicit Impl(PipelineOptions o) : options(std::move(o)), work(net::make_work_guard(io)) {
        streams.push_back(std::make_unique<Stream>());  // the calls
        streams.front()->options.in_flight = 0;
    }

    // Every handler runs on the client's thread and holds `mutex` while it
    // touches state, so that the test's thread sees it whole.
    void connect_next(std::chrono::milliseconds timeout);
    void fill(Connection& c, std::size_t stream);
    void fill_all(const ConnectionPtr& c);
    void after_reply(const ConnectionPtr& c, std::size_t stream);
    void queue(const ConnectionPtr& c, std::string text);
    void do_write(const ConnectionPtr& c);
    void do_read(const ConnectionPtr& c);
    void on_message(const ConnectionPtr& c, const std::string& text);
    void start_close(const ConnectionPtr& c);
    void closed(Connection& c, const beast::error_code& ec);
    std::uint64_t next_id(Connection& c) { return options.id_base + c.index * id_stride + ++c.next_n; }
    Lane& lane(Connection& c, std::size_t stream);
    std::size_t stream_index(const std::string& name) const;
    std::string envelope(std::uint64_t id, const StreamOptions& o) const {
        return json{{"id", id}, {"plugin", o.plugin}, {"payload", o.payload}}.dump();
    }
    // With `mutex` held: one stream's report, or (npos) everything's.
    LoadReport report_of(std::size_t stream) const;
    Connection* owner_of(std::uint64_t id) const;

    PipelineOptions options;
    net::io_context io;
    net::executor_work_guard<net::io_context::executor_type> work;
    std::thread thread;

    mutable std::mutex mutex;
    std::condition_variable changed;
    std::vector<ConnectionPtr> connections;
    std::vector<std::unique_ptr<Stream>> streams;
    unsigned next_to_connect = 0;
    unsigned connects_done = 0;
    unsigned failed_connects = 0;
    bool ending = false;  // the destructor runs: start nothing new
    bool loop_done = false;
    std::uint64_t unknown_ids = 0;
    std::uint64_t malformed = 0;
    std::map<int, unsigned> close_codes;
    std::vector<std::string> unexpected;  // the first replies nobody asked for
    std::string first_error;
};

PipelinedClient::Impl::Lane& PipelinedClient::Impl::lane(Connection& c, std::size_t stream) {
    while (c.lanes.size() <= stream) c.lanes.push_back(std::make_unique<Lane>(io));
    return *c.lanes[stream];
}

std::size_t PipelinedClient::Impl::stream_index(const std::string& name) const {
    for (std::size_t i = 1; i < streams.size(); ++i)
        if (streams[i]->name == name) return i;
    throw std::invalid_argument("no stream named " + name);
}

PipelinedClient::Impl::Connection* PipelinedClient::Impl::owner_of(std::uint64_t id) const {
    if (id < options.id_base) return nullptr;
    const std::uint64_t index = (id - options.id_base) / id_stride;
    return index < connections.size() ? connections[index].get() : nullptr;
}

void PipelinedClient::Impl::connect_next(std::chrono::milliseconds timeout) {
    if (ending || next_to_connect >= connections.size()) return;
    ConnectionPtr c = connections[next_to_connect++];
    async_open(c->ws, options.port, options.target, timeout, [this, c, timeout](beast::error_code ec) {
        std::lock_guard<std::mutex> lock(mutex);
        ++connects_done;
        if (ec) {
            ++failed_connects;
        } else if (!ending) {
            c->connected = true;
            c->open = true;
            c->ws.text(true);
            do_read(c);
            fill_all(c);
        }
        connect_next(timeout);
        changed.notify_all();
    });
}

// Tops one stream up to `in_flight` outstanding requests on a connection.
void PipelinedClient::Impl::fill(Connection& c, std::size_t stream) {
    Stream& s = *streams[stream];
    Lane& l = lane(c, stream);
    while (s.sending && c.open && !c.closing && l.outstanding < s.options.in_flight &&
           (s.options.max_per_connection == 0 || l.sent < s.options.max_per_connection)) {
        const std::uint64_t id = next_id(c);
        c.requests[id].stream = stream;
        c.outbox.push_back(envelope(id, s.options));
        ++l.outstanding;
        ++l.sent;
        ++s.counts.sent;
    }
}

void PipelinedClient::Impl::fill_all(const ConnectionPtr& c) {
    for (std::size_t stream = 1; stream < streams.size(); ++stream) fill(*c, stream);
    do_write(c);
}

void PipelinedClient::Impl::after_reply(const ConnectionPtr& c, std::size_t stream) {
    const auto pause = streams[stream]->options.pause;
    if (pause.count() == 0) {
        fill(*c, stream);
        do_write(c);
        return;
    }
    Lane& l = lane(*c, stream);
    if (l.pause_pending) return;
    l.pause_pending = true;
    l.pause_timer.expires_after(pause);
    l.pause_timer.async_wait([this, c, stream](const beast::error_code& ec) {
        std::lock_guard<std::mutex> lock(mutex);
        lane(*c, stream).pause_pending = false;
        if (ec || ending) return;
        fill(*c, stream);
        do_write(c);
    });
}

void PipelinedClient::Impl::queue(const ConnectionPtr& c, std::string text) {
    if (!c->open || c->closing) return;
    c->outbox.push_back(std::move(text));
    do_write(c);
}

// One write in flight per connection; the next starts when it completes.
void PipelinedClient::Impl::do_write(const ConnectionPtr& c) {
    if (c->writing || !c->open || ending) return;
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

void PipelinedClient::Impl::do_read(const ConnectionPtr& c) {
    c->ws.async_read(c->buffer, [this, c](const beast::error_code& ec, std::size_t) {
        std::lock_guard<std::mutex> lock(mutex);
        if (ec) {
            closed(*c, ec);
            return;
        }
        on_message(c, beast::buffers_to_string(c->buffer.data()));
        c->buffer.consume(c->buffer.size());
        changed.notify_all();
        do_read(c);
    });
}

void PipelinedClient::Impl::on_message(const ConnectionPtr& c, const std::string& text) {
    const json reply = json::parse(text, nullptr, false);
    const bool usable = reply.is_object() && reply.contains("id") && reply["id"].is_number_unsigned();
    if (!usable) {
        ++malformed;
        if (unexpected.size() < max_unexpected) unexpected.push_back(text);
        return;
    }
    const auto id = reply["id"].get<std::uint64_t>();
    const auto found = c->requests.find(id);
    if (found == c->requests.end()) {
        ++unknown_ids;
        if (unexpected.size() < max_unexpected) unexpected.push_back(text);
        return;
    }
    Request& request = found->second;
    Stream& s = *streams[request.stream];
    LoadReport& counts = s.counts;
    if (++request.replies > 1) {
        ++counts.duplicates;
        sample(counts.samples, std::to_string(id) + ": second reply " + text);
        return;
    }
    --lane(*c, request.stream).outstanding;
    const bool ok = reply.contains("ok") && reply["ok"] == true;
    ++counts.replies;
    if (ok) ++counts.ok;
    const auto bucket = static_cast<std::size_t>((Clock::now() - s.started) / 100ms);
    if (counts.replies_per_100ms.size() <= bucket) {
        counts.replies_per_100ms.resize(bucket + 1, 0);
        counts.ok_per_100ms.resize(bucket + 1, 0);
    }
    ++counts.replies_per_100ms[bucket];
    if (ok) ++counts.ok_per_100ms[bucket];
    request.outcome = "ok";
    if (!ok) {
        request.outcome = error_code_of(reply);
        if (request.outcome.empty()) request.outcome = "(no code)";
        // The first few of each code, with their messages, for failure output.
        if (++counts.errors[request.outcome] <= 2) sample(counts.samples, "error: " + text);
    }
    if (s.options.check) {
        const std::string problem = s.options.check(reply);
        if (!problem.empty()) {
            ++counts.failed;
            sample(counts.samples, std::to_string(id) + ": " + problem);
        }
    }
    if (request.stream == calls) request.reply = reply;
    else after_reply(c, request.stream);
}

void PipelinedClient::Impl::start_close(const ConnectionPtr& c) {
    if (c->close_started || !c->open) return;
    c->close_started = true;
    c->ws.async_close(websocket::close_code::normal, [](const beast::error_code&) {
        // The pending read ends with `closed` and records it.
    });
}

void PipelinedClient::Impl::closed(Connection& c, const beast::error_code& ec) {
    if (!c.open) return;
    c.open = false;
    ++close_codes[ec == websocket::error::closed ? static_cast<int>(c.ws.reason().code) : 0];
    if (first_error.empty() && !c.closing && !ending)
        first_error = "connection " + std::to_string(c.index) + ": read: " + ec.message();
    for (auto& l : c.lanes) l->pause_timer.cancel();
    changed.notify_all();
}

LoadReport PipelinedClient::Impl::report_of(std::size_t stream) const {
    LoadReport r;
    for (std::size_t i = 0; i < streams.size(); ++i) {
        if (stream != std::string::npos && i != stream) continue;
        const LoadReport& s = streams[i]->counts;
        r.sent += s.sent;
        r.replies += s.replies;
        r.ok += s.ok;
        for (const auto& [code, count] : s.errors) r.errors[code] += count;
        r.failed += s.failed;
        r.duplicates += s.duplicates;
        add_buckets(r.replies_per_100ms, s.replies_per_100ms);
        add_buckets(r.ok_per_100ms, s.ok_per_100ms);
        for (const auto& text : s.samples) sample(r.samples, text);
    }
    for (const auto& c : connections) {
        for (std::size_t i = 0; i < c->lanes.size(); ++i)
            if (stream == std::string::npos || i == stream) r.outstanding += c->lanes[i]->outstanding;
        r.connected += c->connected ? 1 : 0;
        r.open += c->open ? 1 : 0;
    }
    r.unknown_ids = unknown_ids;
    r.malformed = malformed;
    r.close_codes = close_codes;
    for (const auto& text : unexpected) sample(r.samples, "unexpected: " + text);
    return r;
}

// ---- PipelinedClient ----

PipelinedClient::PipelinedClient(PipelineOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
    Impl& impl = *impl_;
    for (unsigned i = 0; i < impl.options.connections; ++i)
        impl.connections.push_back(std::make_shared<Impl::Connection>(impl.io, i));
    impl.thread = std::thread([&impl] {
        impl.io.run();
        std::lock_guard<std::mutex> lock(impl.mutex);
        impl.loop_done = true;
        impl.changed.notify_all();
    });
}

PipelinedClient::~PipelinedClient() {
    Impl& impl = *impl_;
    {
        std::lock_guard<std::mutex> lock(impl.mutex);
        impl.ending = true;
    }
    net::post(impl.io, [&impl] {
        std::lock_guard<std::mutex> lock(impl.mutex);
        for (auto& c : impl.connections) {
            beast::error_code ignored;
            beast::get_lowest_layer(c->ws).socket().close(ignored);
            for (auto& l : c->lanes) l->pause_timer.cancel();
        }
    });
    impl.work.reset();
    {
        // The loop ends once the operations the close aborted have completed.
        std::unique_lock<std::mutex> lock(impl.mutex);
        if (!impl.changed.wait_for(lock, 10s, [&impl] { return impl.loop_done; })) impl.io.stop();
    }
    impl.thread.join();
}

bool PipelinedClient::connect(std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    net::post(impl.io, [&impl, timeout] {
        std::lock_guard<std::mutex> lock(impl.mutex);
        for (unsigned i = 0; i < max_connecting; ++i) impl.connect_next(timeout);
    });
    std::unique_lock<std::mutex> lock(impl.mutex);
    impl.changed.wait_for(lock, timeout + 500ms, [&] {
        return impl.failed_connects > 0 || impl.connects_done == impl.connections.size();
    });
    return impl.failed_connects == 0 && impl.connects_done == impl.connections.size();
}

std::uint64_t PipelinedClient::send(const std::string& plugin, const std::string& payload) {
    Impl& impl = *impl_;
    std::lock_guard<std::mutex> lock(impl.mutex);
    if (impl.connections.empty()) throw std::logic_error("PipelinedClient: no connection to send on");
    const auto c = impl.connections.front();
    const std::uint64_t id = impl.next_id(*c);
    c->requests[id].stream = calls;
    ++impl.lane(*c, calls).outstanding;
    ++impl.streams[calls]->counts.sent;
    StreamOptions request;
    request.plugin = plugin;
    request.payload = payload;
    net::post(impl.io, [&impl, c, text = impl.envelope(id, request)]() mutable {
        std::lock_guard<std::mutex> lock(impl.mutex);
        impl.queue(c, std::move(text));
    });
    return id;
}

std::optional<json> PipelinedClient::wait_reply(std::uint64_t id, std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    std::unique_lock<std::mutex> lock(impl.mutex);
    Impl::Connection* c = impl.owner_of(id);
    if (c == nullptr || c->requests.count(id) == 0) return std::nullopt;
    impl.changed.wait_for(lock, timeout, [&] { return c->requests[id].replies > 0 || !c->open; });
    const Impl::Request& request = c->requests[id];
    if (request.replies == 0) return std::nullopt;
    return request.reply;
}

std::optional<json> PipelinedClient::call(const std::string& plugin, const std::string& payload,
                                          std::chrono::milliseconds timeout) {
    return wait_reply(send(plugin, payload), timeout);
}

std::size_t PipelinedClient::replies_for(std::uint64_t id) const {
    const Impl& impl = *impl_;
    std::lock_guard<std::mutex> lock(impl.mutex);
    const Impl::Connection* c = impl.owner_of(id);
    if (c == nullptr) return 0;
    const auto found = c->requests.find(id);
    return found == c->requests.end() ? 0 : found->second.replies;
}

std::vector<std::string> PipelinedClient::call_anomalies() const {
    const Impl& impl = *impl_;
    std::lock_guard<std::mutex> lock(impl.mutex);
    std::vector<std::string> anomalies;
    for (const auto& c : impl.connections)
        for (const auto& [id, request] : c->requests)
            if (request.stream == calls && request.replies != 1)
                anomalies.push_back(std::to_string(id) + ": " + std::to_string(request.replies) + " replies");
    return anomalies;
}

void PipelinedClient::start_stream(const std::string& name, StreamOptions options) {
    Impl& impl = *impl_;
    {
        std::lock_guard<std::mutex> lock(impl.mutex);
        for (std::size_t i = 1; i < impl.streams.size(); ++i)
            if (impl.streams[i]->name == name) throw std::invalid_argument("a stream named " + name + " exists");
        auto stream = std::make_unique<Impl::Stream>();
        stream->name = name;
        stream->options = std::move(options);
        impl.streams.push_back(std::move(stream));
    }
    net::post(impl.io, [&impl] {
        std::lock_guard<std::mutex> lock(impl.mutex);
        for (auto& c : impl.connections) impl.fill_all(c);
    });
}

bool PipelinedClient::wait_stream_progress(const std::string& name, std::size_t more,
                                           std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    std::unique_lock<std::mutex> lock(impl.mutex);
    const LoadReport& counts = impl.streams[impl.stream_index(name)]->counts;
    const std::uint64_t target = counts.replies + more;
    const auto any_open = [&impl] {
        for (const auto& c : impl.connections)
            if (c->open) return true;
        return false;
    };
    impl.changed.wait_for(lock, timeout, [&] { return counts.replies >= target || !any_open(); });
    return counts.replies >= target;
}

LoadReport PipelinedClient::stop_stream(const std::string& name, std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    std::unique_lock<std::mutex> lock(impl.mutex);
    const std::size_t stream = impl.stream_index(name);
    impl.streams[stream]->sending = false;
    impl.changed.wait_for(lock, timeout, [&] {
        for (const auto& c : impl.connections)
            if (c->open && c->lanes.size() > stream && c->lanes[stream]->outstanding > 0) return false;
        return true;
    });
    LoadReport report = impl.report_of(stream);
    for (const auto& c : impl.connections)
        for (const auto& [id, request] : c->requests)
            if (request.stream == stream && request.replies == 0)
                sample(report.samples, std::to_string(id) + ": no reply");
    return report;
}

void PipelinedClient::stop_sending() {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (auto& stream : impl_->streams) stream->sending = false;
}

bool PipelinedClient::wait_settled(std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    std::unique_lock<std::mutex> lock(impl.mutex);
    return impl.changed.wait_for(lock, timeout, [&] {
        for (const auto& c : impl.connections) {
            if (!c->open) continue;
            for (const auto& l : c->lanes)
                if (l->outstanding > 0) return false;
        }
        return true;
    });
}

bool PipelinedClient::wait_until(const std::function<bool(const LoadReport&)>& done,
                                 std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (done(report())) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
}

bool PipelinedClient::wait_closed(std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    std::unique_lock<std::mutex> lock(impl.mutex);
    return impl.changed.wait_for(lock, timeout, [&] {
        for (const auto& c : impl.connections)
            if (c->open) return false;
        return true;
    });
}

void PipelinedClient::close(std::chrono::milliseconds timeout) {
    Impl& impl = *impl_;
    net::post(impl.io, [&impl] {
        std::lock_guard<std::mutex> lock(impl.mutex);
        for (auto& stream : impl.streams) stream->sending = false;
        for (auto& c : impl.connections) {
            c->closing = true;
            impl.do_write(c);
        }
    });
    wait_closed(timeout);
}

LoadReport PipelinedClient::report() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->report_of(std::string::npos);
}

LoadReport PipelinedClient::report(const std::string& stream) const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->report_of(impl_->stream_index(stream));
}

std::vector<std::uint64_t> PipelinedClient::outstanding_ids() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    std::vector<std::uint64_t> ids;
    for (const auto& c : impl_->connections)
        for (const auto& [id, request] : c->requests)
            if (request.replies == 0) ids.push_back(id);
    return ids;
}

std::string PipelinedClient::outcome(std::uint64_t id) const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    const Impl::Connection* c = impl_->owner_of(id);
    if (c == nullptr) return {};
    const auto found = c->requests.find(id);
    return found == c->requests.end() ? std::string() : found->second.outcome;
}

bool PipelinedClient::connected() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (const auto& c : impl_->connections)
        if (!c->open) return false;
    return !impl_->connections.empty();
}

std::string PipelinedClient::connection_error() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->first_error;
}

std::vector<std::string> PipelinedClient::unexpected() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->unexpected;
}

}  // namespace portico::test
