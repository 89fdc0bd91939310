#pragma once
// What each thread of the engine process is doing right now, in memory that
// the checker shares with it (a memfd both map). A slot per thread: slot 0
// for the main thread (loading, the factory, the destructor), slot 1 + W for
// worker W. Before it calls into the plugin, a thread copies the input into
// its slot and stamps the start time; after, it clears the stamp. So when the
// engine process crashes or hangs, the checker still holds the exact inputs
// that were in flight, without a write per call to any pipe or file.
//
// The stamps and sizes are lock-free atomics (address-free, so they work
// across processes). The checker reads an input's bytes only once the engine
// process is dead: nothing writes them then.
#include "core/error.hpp"
#include "unique_fd.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::plugin_check {

// The largest input kept whole: the host's default max_request_bytes.
inline constexpr std::size_t max_recorded_input = 1024 * 1024;

enum class Operation : std::uint32_t {
    idle = 0,
    load,     // dlopen: the library's static initialisers
    info,     // the version and info functions
    factory,  // portico_create_engine: the engine's constructor
    create,   // load_plugin(): loading and creating the engine as portico does
    handle,   // Engine::handle
    destroy,  // the engine's destructor (and, at the end, unloading the library)
};

// "handle()", "the factory", ...: for report lines.
std::string_view operation_name(Operation operation);

struct InFlight {
    unsigned slot = 0;
    Operation operation = Operation::idle;
    std::string input;  // the first max_recorded_input bytes
    bool truncated = false;
    std::chrono::nanoseconds running{0};
};

class FlightRecorder {
public:
    // The checker's side: a fresh, zeroed region of `slots` slots.
    static Expected<FlightRecorder> create(unsigned slots);
    // The engine process's side: the region behind the inherited `fd`.
    static Expected<FlightRecorder> attach(int fd, unsigned slots);

    FlightRecorder(FlightRecorder&& other) noexcept;
    FlightRecorder& operator=(FlightRecorder&& other) = delete;
    FlightRecorder(const FlightRecorder&) = delete;
    FlightRecorder& operator=(const FlightRecorder&) = delete;
    ~FlightRecorder();

    int fd() const noexcept { return fd_.get(); }
    unsigned slots() const noexcept { return slots_; }

    // Engine process: `slot` starts `operation` on `input`; then it is done.
    void begin(unsigned slot, Operation operation, std::string_view input) noexcept;
    void end(unsigned slot) noexcept;

    // Checker, while the engine process runs: the slot busy for the longest
    // time (atomics only; the input is not read).
    struct Busy {
        unsigned slot = 0;
        Operation operation = Operation::idle;
        std::chrono::nanoseconds running{0};
    };
    std::optional<Busy> longest_busy() const noexcept;
    // Checker, once the engine process is dead: every slot still busy.
    std::vector<InFlight> in_flight() const;

private:
    FlightRecorder(UniqueFd fd, void* base, std::size_t size, unsigned slots) noexcept;
    struct Slot;
    Slot& slot(unsigned index) const noexcept;

    UniqueFd fd_;
    void* base_ = nullptr;
    std::size_t size_ = 0;
    unsigned slots_ = 0;
};

}  // namespace portico::plugin_check
