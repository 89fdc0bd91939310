// portico-fanout: N subscribers on one gateway to one channel of the table
// plugin, P publishers rolling dice there; reports deliveries per second,
// publish-to-delivery latency and whatever was lost.
//
//   portico-fanout --url ws://127.0.0.1:PORT/ws [--subscribers N] [--seconds S]
//                  [--publishers P] [--window K] [--rate R] [--room NAME] [--expr EXPR]
//
// Every subscriber sends "table watch ROOM"; once all follow it, each
// publisher (seated as "pI") sends "table roll ROOM EXPR" with K requests
// in flight for S seconds: as fast as the replies come (the most the
// gateway delivers), or with --rate, R rolls a second each, never more
// than K in flight (the latency of a load the gateway keeps up with).
// The table plugin must run with one worker, so a
// publisher's rolls are published in the order it sent them: the j-th timed
// roll a subscriber sees from "pI" is the j-th that pI sent, and its
// delivery latency is from the moment it was sent (the request's trip
// through the gateway and the engine included) to the moment a subscriber
// has read it. Lost: pushes that never arrived, from the gaps in each
// subscriber's offsets (one per message in the channel, whoever published
// it); the gateway's own "missed" counts are shown beside them.
#include "fanout_client.hpp"
#include "latency_histogram.hpp"
#include "ws_url.hpp"

#include <boost/asio/steady_timer.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace portico::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string url;
    std::size_t subscribers = 10000;
    double seconds = 5;
    int window = 4;
    std::size_t publishers = 1;
    double rate = 0;  // rolls a second per publisher; 0: as fast as the window allows
    std::string room = "fanout";
    std::string expr = "1d6";
};

std::optional<std::uint64_t> number_after(std::string_view text, std::string_view key)
{
    const auto at = text.find(key);
    if (at == std::string_view::npos)
        return std::nullopt;
    const char* begin = text.data() + at + key.size();
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
    if (ec != std::errc() || end == begin)
        return std::nullopt;
    return value;
}

class FanoutRun {
public:
    explicit FanoutRun(Options options)
        : options_(std::move(options)), timer_(ioc_), pacer_(ioc_), scratch_(256 * 1024) {}

    int run()
    {
        if (const std::string error = parse_ws_url(options_.url, url_); !error.empty()) {
            std::cerr << "portico-fanout: " << error << "\n";
            return 2;
        }
        tcp::resolver resolver(ioc_);
        error_code ec;
        const auto results = resolver.resolve(url_.host, url_.port, ec);
        if (ec || results.empty()) {
            std::cerr << "portico-fanout: cannot resolve " << url_.host << ": " << ec.message() << "\n";
            return 2;
        }
        endpoint_ = results.begin()->endpoint();
        expected_.assign(options_.subscribers, 0);
        publishers_.resize(options_.publishers);
        seen_from_.assign(options_.subscribers * options_.publishers, 0);
        connect_more();
        arm_deadline(std::chrono::seconds(120), "the subscribers did not all join within 120 s");
        ioc_.run();
        return report();
    }

private:
    // ---- subscribers ----
    void connect_more()
    {
        constexpr std::size_t parallel = 256;
        while (connecting_ < parallel && next_ < options_.subscribers) {
            auto client = std::make_shared<FanoutClient>(ioc_, scratch_, next_, 0x9E3779B97F4A7C15ULL * (next_ + 1));
            subscribers_.push_back(client);
            ++connecting_;
            ++next_;
            client->start(
                endpoint_, url_,
                [this](FanoutClient& c) {
                    // Watchers: a seat per subscriber would announce every arrival to all the others.
                    c.send_text(R"({"id":1,"plugin":"table","payload":"watch )" + options_.room + "\"}");
                },
                [this](FanoutClient& c, std::string_view text) { on_subscriber_text(c, text); },
                [this](FanoutClient&, std::string const& why) { abort("a subscriber failed: " + why); });
        }
    }

    void on_subscriber_text(FanoutClient& client, std::string_view text)
    {
        if (text.find("\"data\":") != std::string_view::npos) {
            if (const auto offset = number_after(text, "\"offset\":"))
                on_push(client.index(), *offset, number_after(text, "\"missed\":").value_or(0),
                        number_after(text, "\"who\":\"p"));
            return;
        }
        if (text.find("\"subscribed\":") != std::string_view::npos)
            return;
        if (text.find("\"ok\":true") == std::string_view::npos) {
            abort("a join was refused: " + std::string(text.substr(0, 200)));
            return;
        }
        --connecting_;
        ++joined_;
        if (joined_ == options_.subscribers)
            start_publishers();
        else
            connect_more();
    }

    void on_push(std::size_t subscriber, std::uint64_t offset, std::uint64_t missed, std::optional<std::uint64_t> who)
    {
        std::uint64_t& expected = expected_[subscriber];
        if (base_ == 0 || offset < base_) {
            if (offset == warmup_offset_ && warmup_offset_ != 0 && ++warm_ == options_.subscribers)
                start_timed();
            expected = offset + 1;
            return;
        }
        const auto now = Clock::now();
        if (expected != 0 && offset > expected)
            gaps_ += offset - expected;
        expected = offset + 1;
        announced_missed_ += missed;
        ++deliveries_;
        last_delivery_ = now;
        if (who && *who < publishers_.size()) {
            const auto& sent = publishers_[*who].send_times;
            const std::uint64_t j = seen_from_[subscriber * publishers_.size() + *who]++;
            if (j < sent.size())
                latency_.record(static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent[j]).count()));
        }
        if (publishing_done_ && deliveries_ + gaps_ >= publishes() * options_.subscribers)
            finish();
    }

    // ---- publishers ----
    struct Publisher {
        std::shared_ptr<FanoutClient> client;
        int in_flight = 0;
        std::vector<Clock::time_point> send_times;  // of its j-th timed roll
    };

    std::size_t publishes() const
    {
        std::size_t total = 0;
        for (const auto& publisher : publishers_)
            total += publisher.send_times.size();
        return total;
    }

    void start_publishers()
    {
        std::cerr << "portico-fanout: " << joined_ << " subscribers joined\n";
        for (std::size_t i = 0; i < publishers_.size(); ++i) {
            auto& client = publishers_[i].client;
            client = std::make_shared<FanoutClient>(ioc_, scratch_, options_.subscribers + i, 12345 + i);
            client->start(
                endpoint_, url_,
                [this, i](FanoutClient& c) {
                    c.send_text(R"({"id":"join","plugin":"table","payload":"join )" + options_.room + " p" +
                                std::to_string(i) + "\"}");
                },
                [this, i](FanoutClient&, std::string_view text) { on_publisher_text(i, text); },
                [this](FanoutClient&, std::string const& why) { abort("a publisher failed: " + why); });
        }
    }

    void send_roll(std::size_t publisher)
    {
        publishers_[publisher].client->send_text(R"({"id":)" + std::to_string(next_id_++) +
                                                 R"(,"plugin":"table","payload":"roll )" + options_.room + " " +
                                                 options_.expr + "\"}");
    }

    void on_publisher_text(std::size_t publisher, std::string_view text)
    {
        if (text.find("\"data\":") != std::string_view::npos || text.find("\"subscribed\":") != std::string_view::npos)
            return;  // its own copy of what was published
        if (text.find("\"ok\":true") == std::string_view::npos) {
            abort("a publisher was refused: " + std::string(text.substr(0, 200)));
            return;
        }
        if (text.find("\"id\":\"join\"") != std::string_view::npos) {
            // The warm-up roll, once all are seated: its offset tells where the timed ones start.
            if (++publishers_joined_ == publishers_.size())
                send_roll(0);
            return;
        }
        if (warmup_offset_ == 0) {
            const auto offset = number_after(text, "\"offset\":");
            if (!offset) {
                abort("the warm-up roll's reply has no offset");
                return;
            }
            warmup_offset_ = *offset;
            for (const auto seen : expected_)
                if (seen == warmup_offset_ + 1)
                    ++warm_;
            if (warm_ == options_.subscribers)
                start_timed();
            return;
        }
        --publishers_[publisher].in_flight;
        top_up(publisher);
    }

    void start_timed()
    {
        if (base_ != 0)
            return;
        base_ = warmup_offset_ + 1;
        started_ = Clock::now();
        stop_at_ = started_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.seconds));
        timer_.cancel();
        if (options_.rate > 0) {
            next_tick_ = started_;
            pace();
            return;
        }
        for (std::size_t i = 0; i < publishers_.size(); ++i)
            top_up(i);
    }

    // Past the timed seconds: no more rolls; done once every push is in.
    bool publishing_over()
    {
        if (Clock::now() < stop_at_)
            return false;
        if (!publishing_done_) {
            publishing_done_ = true;
            pacer_.cancel();
            arm_deadline(std::chrono::seconds(15), "deliveries still missing 15 s after the last publish");
        }
        if (deliveries_ + gaps_ >= publishes() * options_.subscribers)
            finish();
        return true;
    }

    void send_timed_roll(std::size_t publisher)
    {
        Publisher& p = publishers_[publisher];
        p.send_times.push_back(Clock::now());
        ++p.in_flight;
        send_roll(publisher);
    }

    void top_up(std::size_t publisher)
    {
        if (publishing_over() || options_.rate > 0)
            return;
        while (publishers_[publisher].in_flight < options_.window)
            send_timed_roll(publisher);
    }

    // --rate: each tick, every publisher with room in its window rolls once.
    // Ticks are due on a fixed schedule, so a late one does not slow the rate.
    void pace()
    {
        if (publishing_over())
            return;
        for (std::size_t i = 0; i < publishers_.size(); ++i)
            if (publishers_[i].in_flight < options_.window)
                send_timed_roll(i);
            else
                ++skipped_;
        next_tick_ += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / options_.rate));
        pacer_.expires_at(next_tick_);
        pacer_.async_wait([this](error_code ec) {
            if (!ec)
                pace();
        });
    }

    // ---- the end ----
    void arm_deadline(std::chrono::seconds after, std::string why)
    {
        timer_.expires_after(after);
        timer_.async_wait([this, why = std::move(why)](error_code ec) {
            if (!ec)
                abort(why);
        });
    }

    void abort(std::string const& why)
    {
        if (!error_.empty() || finished_)
            return;
        error_ = why;
        stop();
    }

    void finish()
    {
        if (finished_)
            return;
        finished_ = true;
        stop();
    }

    void stop()
    {
        timer_.cancel();
        pacer_.cancel();
        for (auto& client : subscribers_)
            client->close();
        for (auto& publisher : publishers_)
            if (publisher.client)
                publisher.client->close();
        ioc_.stop();
    }

    int report() const
    {
        if (!error_.empty() && base_ == 0) {
            std::cerr << "portico-fanout: " << error_ << "\n";
            return 1;
        }
        const double elapsed = std::chrono::duration<double>(last_delivery_ - started_).count();
        const std::uint64_t expected_total = publishes() * options_.subscribers;
        const std::uint64_t lost = expected_total > deliveries_ ? expected_total - deliveries_ : 0;
        std::printf("summary subscribers=%zu publishers=%zu publishes=%zu deliveries=%llu seconds=%.2f deliveries_per_s=%.0f "
                    "p50_us=%.1f p99_us=%.1f max_us=%.1f lost=%llu gaps=%llu missed=%llu skipped=%llu%s%s\n",
                    options_.subscribers, publishers_.size(), publishes(), static_cast<unsigned long long>(deliveries_),
                    elapsed,
                    elapsed > 0 ? static_cast<double>(deliveries_) / elapsed : 0.0,
                    static_cast<double>(latency_.value_at_percentile(50)) / 1e3,
                    static_cast<double>(latency_.value_at_percentile(99)) / 1e3,
                    static_cast<double>(latency_.max()) / 1e3, static_cast<unsigned long long>(lost),
                    static_cast<unsigned long long>(gaps_), static_cast<unsigned long long>(announced_missed_),
                    static_cast<unsigned long long>(skipped_), error_.empty() ? "" : " error=", error_.empty() ? "" : error_.c_str());
        return error_.empty() ? 0 : 1;
    }

    Options options_;
    net::io_context ioc_{1};
    net::steady_timer timer_;
    net::steady_timer pacer_;  // --rate's ticks
    Clock::time_point next_tick_;
    std::uint64_t skipped_ = 0;  // --rate: ticks on which a publisher's window was full
    std::vector<char> scratch_;
    WsUrl url_;
    tcp::endpoint endpoint_;
    std::vector<std::shared_ptr<FanoutClient>> subscribers_;
    std::vector<Publisher> publishers_;
    std::size_t publishers_joined_ = 0;
    std::vector<std::uint32_t> seen_from_;  // per subscriber and publisher: timed rolls seen
    std::vector<std::uint64_t> expected_;  // per subscriber: the offset it should see next
    std::size_t next_ = 0, connecting_ = 0, joined_ = 0, warm_ = 0;
    std::uint64_t warmup_offset_ = 0, base_ = 0, next_id_ = 1;
    Clock::time_point started_, stop_at_, last_delivery_;
    bool publishing_done_ = false, finished_ = false;
    std::uint64_t deliveries_ = 0, gaps_ = 0, announced_missed_ = 0;
    LatencyHistogram latency_;
    std::string error_;
};

int usage(int code)
{
    std::cerr << "usage: portico-fanout --url ws://HOST:PORT/PATH [--subscribers N] [--seconds S]\n"
                 "                      [--publishers P] [--window K] [--rate R] [--room NAME] [--expr EXPR]\n"
                 "N subscribers (default 10000) join one table room; P publishers (default 1) roll EXPR\n"
                 "(default 1d6) there, each with K (default 4) requests in flight, for S seconds (default 5);\n"
                 "with --rate, each rolls R times a second (at most K in flight; 'skipped' counts the ticks\n"
                 "its window was full).\n"
                 "The table plugin must run with one worker. Prints one summary line.\n";
    return code;
}

}  // namespace
}  // namespace portico::bench

int main(int argc, char** argv)
{
    using namespace portico::bench;
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "-h" || arg == "--help")
            return usage(0);
        if (i + 1 >= argc)
            return usage(2);
        const std::string value = argv[++i];
        try {
            if (arg == "--url") options.url = value;
            else if (arg == "--subscribers") options.subscribers = std::stoul(value);
            else if (arg == "--seconds") options.seconds = std::stod(value);
            else if (arg == "--window") options.window = std::stoi(value);
            else if (arg == "--publishers") options.publishers = std::stoul(value);
            else if (arg == "--rate") options.rate = std::stod(value);
            else if (arg == "--room") options.room = value;
            else if (arg == "--expr") options.expr = value;
            else return usage(2);
        } catch (const std::exception&) {
            std::cerr << "portico-fanout: bad value for " << arg << ": " << value << "\n";
            return 2;
        }
    }
    if (options.url.empty() || options.subscribers == 0 || options.window < 1 || options.publishers == 0 ||
        options.publishers > 1000 || !(options.seconds > 0) || !(options.rate >= 0) || options.rate > 1e6)
        return usage(2);
    FanoutRun run(options);
    return run.run();
}
