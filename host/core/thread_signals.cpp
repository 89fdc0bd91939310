#include "core/thread_signals.hpp"

#include <pthread.h>
#include <signal.h>

namespace portico {

void block_control_signals_in_this_thread() noexcept {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

}  // namespace portico
