#include "engine_exercise.hpp"

#include "process_census.hpp"
#include "random_inputs.hpp"

#include <atomic>
#include <exception>
#include <system_error>
#include <thread>

namespace portico::plugin_check {
namespace {

// Several clients, shared by the workers, so per-client state is used from
// several threads at once; now and then none (a plain zmq client).
constexpr unsigned client_count = 8;
constexpr std::size_t large_input_bytes = 64 * 1024;

// What a 1.2 host gives handle() (plugins of older minors never read it):
// events are taken and dropped (the host checks each is JSON), no request
// is ever cancelled, so a streaming plugin runs to its own end, and a
// subscription reaches nobody.
class DiscardingStream final : public RequestStream {
public:
    bool emit(std::string) override { return true; }
    bool cancelled() const noexcept override { return false; }
    void subscribe(std::string_view, std::uint64_t) override {}
    void unsubscribe(std::string_view) override {}
};

}  // namespace

EngineExercise::EngineExercise(Engine& engine, FlightRecorder& recorder, const InputCorpus& corpus, ExercisePlan plan)
    : engine_(engine), recorder_(recorder), corpus_(corpus), plan_(plan) {
    for (unsigned i = 0; i < client_count; ++i) client_ids_.push_back("plugin-check-client-" + std::to_string(i));
}

void EngineExercise::call(unsigned worker, std::string_view input, std::string_view client_id, CallStats& stats) {
    Request request;
    request.client_id = client_id;
    request.payload = input;
    request.worker = worker;
    DiscardingStream stream;
    request.stream = &stream;
    const unsigned slot = worker + 1;
    recorder_.begin(slot, Operation::handle, input);
    const auto start = std::chrono::steady_clock::now();
    try {
        const Reply reply = engine_.handle(request);
        const auto took = std::chrono::steady_clock::now() - start;
        recorder_.end(slot);
        stats.record(input, reply, took);
    } catch (const std::exception& e) {
        recorder_.end(slot);
        stats.record_escaped_exception(input, e.what());
    } catch (...) {
        recorder_.end(slot);
        stats.record_escaped_exception(input, "an exception of unknown type");
    }
}

template <class Body, class Meanwhile>
bool EngineExercise::on_workers(std::vector<CallStats>& stats, std::string& error, Body body, Meanwhile meanwhile) {
    std::vector<std::thread> threads;
    threads.reserve(plan_.threads);
    bool started = true;
    try {
        for (unsigned worker = 0; worker < plan_.threads; ++worker)
            threads.emplace_back([&body, &stats, worker] { body(worker, stats[worker]); });
    } catch (const std::system_error& e) {
        error = std::string("cannot start a worker thread: ") + e.what();
        started = false;
    }
    meanwhile(started);
    for (std::thread& thread : threads) thread.join();
    return started;
}

ExerciseResult EngineExercise::run(JournalWriter& journal) {
    ExerciseResult result;
    result.stats = CallStats(plan_.deadline);
    std::vector<const std::string*> fixed;
    for (const std::string& input : corpus_.examples) fixed.push_back(&input);
    for (const std::string& input : corpus_.generic) fixed.push_back(&input);
    std::vector<const std::string*> large;
    for (const std::string* input : fixed)
        if (input->size() >= large_input_bytes) large.push_back(input);

    journal.stage("fixed");
    std::vector<CallStats> fixed_stats(plan_.threads, CallStats(plan_.deadline));
    std::atomic<std::size_t> next{0};
    const bool fixed_ok = on_workers(fixed_stats, result.error, [&](unsigned worker, CallStats& stats) {
        for (std::size_t i = next.fetch_add(1); i < fixed.size(); i = next.fetch_add(1))
            call(worker, *fixed[i], client_ids_[worker % client_count], stats);
        // Then every worker gets the large inputs too, before memory is
        // measured: a per-worker buffer (or malloc arena) that grows to the
        // largest input once is not growth over many calls.
        for (const std::string* input : large)
            call(worker, *input, client_ids_[worker % client_count], stats);
    }, [](bool) {});
    for (const CallStats& stats : fixed_stats) result.stats.merge(stats);
    result.fixed_calls = result.stats.calls();
    if (!fixed_ok) return result;

    result.rss_before = resident_bytes();
    if (plan_.random_duration.count() <= 0) return result;
    journal.stage("random");
    std::vector<CallStats> random_stats(plan_.threads, CallStats(plan_.deadline));
    std::atomic<bool> stop{false};
    const auto start = std::chrono::steady_clock::now();
    const bool random_ok = on_workers(random_stats, result.error, [&](unsigned worker, CallStats& stats) {
        RandomInputs inputs(plan_.seed, worker, corpus_);
        for (std::uint64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
            const std::string_view client = n % 17 == 16 ? std::string_view() : client_ids_[(n + worker) % client_count];
            call(worker, inputs.next(), client, stats);
        }
    }, [&](bool started) {
        // This thread keeps time; a worker stuck in handle() is the checker's to see.
        if (started) std::this_thread::sleep_until(start + plan_.random_duration);
        stop.store(true, std::memory_order_relaxed);
    });
    result.random_elapsed = std::chrono::steady_clock::now() - start;
    for (const CallStats& stats : random_stats) result.stats.merge(stats);
    result.random_calls = result.stats.calls() - result.fixed_calls;
    if (random_ok) result.rss_after = resident_bytes();
    return result;
}

}  // namespace portico::plugin_check
