// The job queue between producers (broker, gateway loops) and engine workers
// (host/engine_job_queue.hpp), and a client's queue of unsent replies
// (host/outbound_queue.hpp). Threads only where the behaviour is about them.
#include "engine/engine_job_queue.hpp"
#include "gateway/outbound_queue.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

using portico::EngineJob;
using portico::EngineJobQueue;
using portico::OutboundQueue;
using namespace std::chrono_literals;

namespace {

EngineJob job(std::uint64_t id) {
    EngineJob j;
    j.request_id = id;
    j.client_id = "client";
    j.payload = "3d6";
    return j;
}

// One job through push_all(): what it says of that job.
EngineJobQueue::Push push_one(EngineJobQueue& queue, EngineJob one) {
    std::vector<EngineJob> jobs;
    jobs.push_back(std::move(one));
    const auto taken = queue.push_all(jobs);
    return taken.count == 1 ? EngineJobQueue::Push::queued : taken.rest;
}

}  // namespace

TEST_CASE("jobs come out oldest first, and the queue holds at most max_queued", "[job_queue]") {
    EngineJobQueue queue(3, "{}");
    for (std::uint64_t id = 1; id <= 3; ++id) REQUIRE(push_one(queue, job(id)) == EngineJobQueue::Push::queued);

    std::vector<EngineJob> refused;
    refused.push_back(job(4));
    const auto taken = queue.push_all(refused);
    CHECK(taken.count == 0);
    CHECK(taken.rest == EngineJobQueue::Push::full);
    CHECK(refused[0].payload == "3d6");  // a refused job is left as it was
    CHECK(queue.size() == 3);

    for (std::uint64_t id = 1; id <= 3; ++id) {
        auto taken = queue.pop(0);
        REQUIRE(taken);
        CHECK(taken->request_id == id);
        queue.done();
    }
    CHECK(queue.size() == 0);
}

TEST_CASE("push_all takes what fits, in order, and says why the rest was refused", "[job_queue]") {
    EngineJobQueue queue(2, "{}");
    std::vector<EngineJob> jobs;
    for (std::uint64_t id = 1; id <= 5; ++id) jobs.push_back(job(id));
    const auto taken = queue.push_all(jobs);
    CHECK(taken.count == 2);
    CHECK(taken.rest == EngineJobQueue::Push::full);
    CHECK(jobs[2].request_id == 3);  // left for the caller to answer
    CHECK(jobs[2].payload == "3d6");
    CHECK(queue.pop(0)->request_id == 1);
    queue.done();

    queue.close();
    std::vector<EngineJob> late;
    late.push_back(job(9));
    const auto after_close = queue.push_all(late);
    CHECK(after_close.count == 0);
    CHECK(after_close.rest == EngineJobQueue::Push::closed);

    // Whoever queued a refused job answers it alike.
    CHECK(queue.refusal(EngineJobQueue::Push::full, "dice").code() == "overloaded");
    CHECK(queue.refusal(EngineJobQueue::Push::closed, "dice").code() == "unavailable");
    CHECK(queue.refusal(EngineJobQueue::Push::closed, "dice").body() == "plugin \"dice\" is shutting down");
}

TEST_CASE("a closed queue takes nothing, lets workers finish what waits, then lets them go", "[job_queue]") {
    EngineJobQueue queue(10, "{}");
    REQUIRE(push_one(queue, job(1)) == EngineJobQueue::Push::queued);
    queue.close();
    CHECK_FALSE(queue.accepting());
    CHECK(push_one(queue, job(2)) == EngineJobQueue::Push::closed);
    CHECK_FALSE(queue.drained());  // job 1 still waits

    auto taken = queue.pop(0);
    REQUIRE(taken);
    CHECK_FALSE(queue.drained());  // in a worker's hands
    queue.done();
    CHECK(queue.drained());
    CHECK_FALSE(queue.pop(0));  // nothing left: the worker leaves
}

TEST_CASE("a waiting worker is woken by a push, and by close", "[job_queue]") {
    EngineJobQueue queue(10, "{}");
    auto worker = std::async(std::launch::async, [&queue] {
        auto taken = queue.pop(0);
        if (taken) queue.done();
        return taken ? taken->request_id : 0;
    });
    std::this_thread::sleep_for(100ms);  // past its spin: asleep on the condition
    REQUIRE(push_one(queue, job(7)) == EngineJobQueue::Push::queued);
    REQUIRE(worker.wait_for(5s) == std::future_status::ready);
    CHECK(worker.get() == 7);

    auto leaver = std::async(std::launch::async, [&queue] { return queue.pop(0).has_value(); });
    std::this_thread::sleep_for(100ms);
    queue.close();
    REQUIRE(leaver.wait_for(5s) == std::future_status::ready);
    CHECK_FALSE(leaver.get());
}

TEST_CASE("renew retires older generations; newer workers take what waits", "[job_queue]") {
    EngineJobQueue queue(10, R"({"version":"1"})");
    auto old_worker = std::async(std::launch::async, [&queue] { return queue.pop(0).has_value(); });
    std::this_thread::sleep_for(100ms);
    queue.renew(1, 20, R"({"version":"2"})");
    REQUIRE(old_worker.wait_for(5s) == std::future_status::ready);
    CHECK_FALSE(old_worker.get());  // generation 0 was told to leave
    CHECK(queue.info_json() == R"({"version":"2"})");

    REQUIRE(push_one(queue, job(1)) == EngineJobQueue::Push::queued);
    CHECK_FALSE(queue.pop(0));  // a retired worker takes nothing
    auto taken = queue.pop(1);
    REQUIRE(taken);
    CHECK(taken->request_id == 1);
    queue.done();
    for (std::uint64_t id = 0; id < 20; ++id) REQUIRE(push_one(queue, job(id)) == EngineJobQueue::Push::queued);
    CHECK(push_one(queue, job(21)) == EngineJobQueue::Push::full);  // the new limit
}

TEST_CASE("many producers and workers: every job is taken exactly once", "[job_queue]") {
    EngineJobQueue queue(100000, "{}");
    constexpr int producers = 3, workers = 3, per_producer = 20000;
    std::vector<std::atomic<int>> seen(producers * per_producer);
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w)
        threads.emplace_back([&] {
            while (auto taken = queue.pop(0)) {
                seen[taken->request_id]++;
                queue.done();
            }
        });
    std::atomic<int> refused{0};  // counted here: Catch2's assertions are not thread-safe
    std::vector<std::thread> feeders;
    for (int p = 0; p < producers; ++p)
        feeders.emplace_back([&, p] {
            std::vector<EngineJob> batch;
            for (int i = 0; i < per_producer; ++i) {
                batch.push_back(job(static_cast<std::uint64_t>(p * per_producer + i)));
                if (batch.size() == 16 || i + 1 == per_producer) {
                    const auto taken = queue.push_all(batch);
                    refused += static_cast<int>(batch.size() - taken.count);
                    batch.clear();
                }
            }
        });
    for (auto& f : feeders) f.join();
    CHECK(refused == 0);
    queue.close();
    for (auto& t : threads) t.join();
    CHECK(queue.drained());
    int wrong = 0;
    for (auto& count : seen) wrong += count.load() != 1;
    CHECK(wrong == 0);
}

TEST_CASE("outbound queue: first in, first out, with a byte count", "[outbound_queue]") {
    OutboundQueue queue;
    CHECK(queue.empty());
    queue.push("one");
    queue.push("three");
    queue.push(std::string(100, 'x'));
    CHECK(queue.bytes() == 108);
    CHECK(queue.pop() == "one");
    CHECK(queue.bytes() == 105);
    queue.push("four");
    CHECK(queue.pop() == "three");
    CHECK(queue.pop().size() == 100);
    CHECK(queue.pop() == "four");
    CHECK(queue.empty());
    CHECK(queue.bytes() == 0);

    queue.push("left");
    queue.clear();
    CHECK(queue.empty());
    CHECK(queue.bytes() == 0);
}

TEST_CASE("cancel board: marks by client and request, forgotten when done or old", "[cancel_board]") {
    portico::CancelBoard board;
    CHECK_FALSE(board.cancelled("a", 1));  // nothing marked: no lock taken
    board.cancel("a", 1);
    CHECK(board.cancelled("a", 1));
    CHECK_FALSE(board.cancelled("a", 2));  // another request of the same client
    CHECK_FALSE(board.cancelled("b", 1));  // the same id from another client
    board.forget("a", 1);
    CHECK_FALSE(board.cancelled("a", 1));
    CHECK(board.size() == 0);

    // A mark that no job picks up goes once it is older than max_age.
    const auto then = portico::CancelBoard::Clock::now();
    board.cancel("late", 7, then);
    CHECK(board.cancelled("late", 7));
    board.cancel("new", 8, then + portico::CancelBoard::max_age + std::chrono::seconds(1));
    CHECK_FALSE(board.cancelled("late", 7));
    CHECK(board.cancelled("new", 8));
    CHECK(board.size() == 1);
}

TEST_CASE("cancel board: never more than max_marks", "[cancel_board]") {
    portico::CancelBoard board;
    const auto now = portico::CancelBoard::Clock::now();
    for (std::uint64_t i = 0; i < portico::CancelBoard::max_marks + 10; ++i) board.cancel("c", i, now);
    CHECK(board.size() == portico::CancelBoard::max_marks);
    CHECK_FALSE(board.cancelled("c", 0));  // the oldest went first
    CHECK(board.cancelled("c", portico::CancelBoard::max_marks + 9));
}

TEST_CASE("a client_gone notice is queued even when the queue is full", "[queue][notice]") {
    EngineJobQueue queue(1, "{}");
    std::vector<EngineJob> jobs;
    jobs.push_back(job(1));
    REQUIRE(queue.push_all(jobs).count == 1);
    EngineJob gone;
    gone.kind = portico::JobKind::client_gone;
    gone.client_id = "client";
    queue.push_notice(std::move(gone));
    CHECK(queue.size() == 2);
    auto first = queue.pop(0);
    REQUIRE(first);
    CHECK(first->kind == portico::JobKind::request);  // in order: the client's request first
    queue.done();
    auto second = queue.pop(0);
    REQUIRE(second);
    CHECK(second->kind == portico::JobKind::client_gone);
    queue.done();
}
