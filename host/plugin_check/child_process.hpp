#pragma once
// One engine process, seen from the checker: the checker's own executable
// (/proc/self/exe) started again, with the journal pipe, the flight recorder
// and the input list on descriptors 3, 4 and 5, its stdout and stderr
// captured, in its own process group, and killed if the checker dies
// (PR_SET_PDEATHSIG). Every wait is bounded; the
// destructor kills and reaps the group's leader if it still runs, so no
// path leaves a process or a zombie behind.
#include "core/error.hpp"
#include "journal.hpp"
#include "unique_fd.hpp"

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace portico::plugin_check {

// Where the engine process finds what the checker hands it.
inline constexpr int child_journal_fd = 3;
inline constexpr int child_recorder_fd = 4;
inline constexpr int child_inputs_fd = 5;

class ChildProcess {
public:
    // `inputs_fd` may be -1 (no input list).
    static Expected<std::unique_ptr<ChildProcess>> start(const std::vector<std::string>& args, int recorder_fd,
                                                         int inputs_fd);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Reads what has arrived on the journal and the output, waiting at most
    // `timeout` for something to.
    void pump(std::chrono::milliseconds timeout);
    JournalReader& journal() noexcept { return journal_; }
    // The last bytes it wrote to stdout/stderr, and how many in all.
    const std::string& output_tail() const noexcept { return output_; }
    std::uint64_t output_bytes() const noexcept { return output_bytes_; }

    // Its wait status once it has ended (reaping it), without waiting.
    std::optional<int> poll_exit();
    // Kills its process group, then reaps it within `timeout`.
    std::optional<int> kill_and_reap(std::chrono::milliseconds timeout);
    // After it ended: reads what is left in the pipes (bounded by `timeout`).
    void drain(std::chrono::milliseconds timeout);

private:
    ChildProcess() = default;
    bool read_into(UniqueFd& fd, bool journal);

    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = 0;
    UniqueFd journal_fd_;
    UniqueFd output_fd_;
    JournalReader journal_;
    std::string output_;
    std::uint64_t output_bytes_ = 0;
};

// "was killed by signal 11 (SIGSEGV)", "exited with status 1".
std::string describe_wait_status(int status);

}  // namespace portico::plugin_check
