#pragma once

#include "net.hpp"
#include "run_plan.hpp"
#include "worker_stats.hpp"
#include "ws_frame.hpp"

#include <boost/asio/ssl/stream.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portico::bench {

class Worker;

// One client WebSocket connection of the bench.
//
// The upgrade goes through Beast's HTTP layer; after it the session frames
// messages itself instead of using websocket::stream, because the stream
// writes one frame per async_write and so one system call per request. Here
// every reply found by one read is handled in one pass, the requests that
// replace them are framed into one buffer, and that buffer goes out in one
// non-blocking write. On loopback nearly all the bench's CPU is the kernel's
// per-packet TCP work, so system calls per message is the figure to keep low.
//
// All handlers run on the owning worker's single thread; a pending operation
// keeps the session alive (shared_from_this), the worker only holds weak
// references.
class BenchSession : public std::enable_shared_from_this<BenchSession> {
public:
    BenchSession(net::io_context& ioc, RunPlan const& plan, Worker& worker, WorkerStats& stats, bool idle,
                 std::uint64_t seed);
    ~BenchSession();

    bool idle() const { return idle_; }
    bool connecting() const { return state_ == State::connecting; }

    void start_connect();
    void start_load(RunWindow window);
    // Gives up on a connection whose handshake has not finished.
    void abandon_connect();
    // Ends the run for this connection: what is still outstanding is lost;
    // a close frame is sent and the server is left to close the TCP side.
    void finish();
    void force_close();

private:
    enum class State { created, connecting, open, closing, closed };

    struct Slot {
        std::uint64_t id = 0;
        Clock::time_point sent_at;
        bool busy = false;
    };
    struct Handshake;

    void on_connect(error_code ec);
    void on_handshake_written(error_code ec);
    void on_handshake_read(error_code ec);

    void make_input_room();
    void do_read();
    void on_read(error_code ec, std::size_t bytes);
    bool handle_frames(Clock::time_point now);
    void on_message(std::string_view text, Clock::time_point now);
    void top_up();
    void publish();

    void flush();
    void on_write(error_code ec);
    void send_control(Opcode opcode, std::string_view payload);

    void fail(std::string const& what);
    void close_socket();
    std::uint32_t next_mask();

    // Runs `f` on the stream the WebSocket bytes go through: the TLS stream
    // over the socket (wss://) or the socket itself.
    template <class F>
    void with_stream(F&& f)
    {
        if (tls_)
            f(*tls_);
        else
            f(socket_);
    }
    void send_upgrade();

    tcp::socket socket_;
    std::unique_ptr<net::ssl::stream<tcp::socket&>> tls_;  // wss:// only
    RunPlan const& plan_;
    Worker& worker_;
    WorkerStats& stats_;
    bool const idle_;
    State state_ = State::created;
    std::uint64_t rng_;
    std::unique_ptr<Handshake> handshake_;  // only during the upgrade

    // Input: raw bytes from the socket, parsed in place.
    std::unique_ptr<char[]> in_;
    std::size_t in_capacity_ = 0;
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    std::size_t in_needed_ = 0;  // wire size of a frame that does not fit yet
    std::string fragments_;      // a fragmented message being reassembled
    bool in_fragmented_ = false;

    // Output: frames appended to pending_, written from in_flight_.
    std::string out_pending_;
    std::string out_in_flight_;
    bool writing_ = false;
    bool close_sent_ = false;
    bool peer_closed_ = false;
    bool shutdown_sent_ = false;

    // Requests. With ids, request id lives in slot id % inflight; in
    // shorthand, replies cannot be matched, so send times queue in order.
    RunWindow window_{};
    bool load_started_ = false;
    bool loading_ = false;  // false again once the window has ended
    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_slots_;
    std::uint64_t next_round_ = 0;
    std::vector<Clock::time_point> sent_fifo_;
    std::size_t fifo_head_ = 0;
    std::int64_t outstanding_ = 0;
    std::int64_t published_outstanding_ = 0;
    std::uint64_t batch_good_ = 0;
    std::string request_text_;
};

}  // namespace portico::bench
