#pragma once
// SIGINT, SIGTERM and SIGHUP belong to the control thread, which waits for
// them (Host::run). Every other thread portico starts blocks them first:
// otherwise the kernel may deliver one there, interrupting a zmq call in the
// middle of a message (EINTR, which cppzmq throws).
namespace portico {

void block_control_signals_in_this_thread() noexcept;

}  // namespace portico
