#include "flight_recorder.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

namespace portico::plugin_check {

struct FlightRecorder::Slot {
    std::atomic<std::uint64_t> started_ns{0};  // 0: idle
    std::atomic<std::uint32_t> operation{0};
    std::atomic<std::uint32_t> truncated{0};
    std::atomic<std::uint64_t> size{0};
    alignas(64) char input[max_recorded_input];
};

namespace {

static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the recorder needs address-free atomics");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "the recorder needs address-free atomics");

// CLOCK_MONOTONIC (steady_clock) is one clock for every process on the machine.
std::uint64_t now_ns() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

Error system_error(const std::string& what) {
    return Error{"recorder_failed", what + ": " + std::strerror(errno)};
}

}  // namespace

std::string_view operation_name(Operation operation) {
    switch (operation) {
        case Operation::idle: return "nothing";
        case Operation::load: return "loading the library";
        case Operation::info: return "reading the plugin's version and info";
        case Operation::factory: return "the factory (the engine's constructor)";
        case Operation::create: return "loading and creating the engine as portico does";
        case Operation::handle: return "handle()";
        case Operation::destroy: return "destroying the engine";
    }
    return "an unknown operation";
}

FlightRecorder::FlightRecorder(UniqueFd fd, void* base, std::size_t size, unsigned slots) noexcept
    : fd_(std::move(fd)), base_(base), size_(size), slots_(slots) {}

FlightRecorder::FlightRecorder(FlightRecorder&& other) noexcept
    : fd_(std::move(other.fd_)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      slots_(std::exchange(other.slots_, 0)) {}

FlightRecorder::~FlightRecorder() {
    if (base_ != nullptr) ::munmap(base_, size_);
}

Expected<FlightRecorder> FlightRecorder::create(unsigned slots) {
    UniqueFd fd(::memfd_create("portico-plugin-check", MFD_CLOEXEC));
    if (!fd.valid()) return system_error("memfd_create");
    const std::size_t size = sizeof(Slot) * slots;
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return system_error("ftruncate");
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (base == MAP_FAILED) return system_error("mmap");
    // The pages are zero; constructing the atomics makes them objects here.
    for (unsigned i = 0; i < slots; ++i) new (static_cast<char*>(base) + i * sizeof(Slot)) Slot;
    return FlightRecorder(std::move(fd), base, size, slots);
}

Expected<FlightRecorder> FlightRecorder::attach(int fd, unsigned slots) {
    UniqueFd owned(fd);
    const std::size_t size = sizeof(Slot) * slots;
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, owned.get(), 0);
    if (base == MAP_FAILED) return system_error("mmap");
    return FlightRecorder(std::move(owned), base, size, slots);
}

FlightRecorder::Slot& FlightRecorder::slot(unsigned index) const noexcept {
    // The checker constructed the slots in the shared pages.
    return *std::launder(reinterpret_cast<Slot*>(static_cast<char*>(base_) + index * sizeof(Slot)));
}

void FlightRecorder::begin(unsigned index, Operation operation, std::string_view input) noexcept {
    if (index >= slots_) return;
    Slot& s = slot(index);
    const std::size_t kept = input.size() < max_recorded_input ? input.size() : max_recorded_input;
    if (kept > 0) std::memcpy(s.input, input.data(), kept);
    s.size.store(kept, std::memory_order_relaxed);
    s.truncated.store(kept < input.size() ? 1 : 0, std::memory_order_relaxed);
    s.operation.store(static_cast<std::uint32_t>(operation), std::memory_order_relaxed);
    s.started_ns.store(now_ns(), std::memory_order_release);
}

void FlightRecorder::end(unsigned index) noexcept {
    if (index < slots_) slot(index).started_ns.store(0, std::memory_order_release);
}

std::optional<FlightRecorder::Busy> FlightRecorder::longest_busy() const noexcept {
    std::optional<Busy> longest;
    const std::uint64_t now = now_ns();
    for (unsigned i = 0; i < slots_; ++i) {
        const std::uint64_t started = slot(i).started_ns.load(std::memory_order_acquire);
        if (started == 0 || started > now) continue;
        const std::chrono::nanoseconds running(now - started);
        if (!longest || running > longest->running)
            longest = Busy{i, static_cast<Operation>(slot(i).operation.load(std::memory_order_relaxed)), running};
    }
    return longest;
}

std::vector<InFlight> FlightRecorder::in_flight() const {
    std::vector<InFlight> busy;
    const std::uint64_t now = now_ns();
    for (unsigned i = 0; i < slots_; ++i) {
        const Slot& s = slot(i);
        const std::uint64_t started = s.started_ns.load(std::memory_order_acquire);
        if (started == 0) continue;
        InFlight entry;
        entry.slot = i;
        entry.operation = static_cast<Operation>(s.operation.load(std::memory_order_relaxed));
        const std::uint64_t size = s.size.load(std::memory_order_relaxed);
        entry.input.assign(s.input, size < max_recorded_input ? size : max_recorded_input);
        entry.truncated = s.truncated.load(std::memory_order_relaxed) != 0;
        entry.running = std::chrono::nanoseconds(now > started ? now - started : 0);
        busy.push_back(std::move(entry));
    }
    return busy;
}

}  // namespace portico::plugin_check
