#pragma once
// The messages waiting to be framed for one client, oldest first, with their
// total size (which the session bounds: max_outbound_bytes). A vector used as
// a FIFO: an idle connection holds no memory for it (std::deque allocates
// over half a kilobyte up-front), and a busy one reuses its capacity.
#include <cstddef>
#include <string>
#include <vector>

namespace portico {

class OutboundQueue {
public:
    bool empty() const noexcept { return head_ == messages_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }

    void push(std::string message) {
        bytes_ += message.size();
        messages_.push_back(std::move(message));
    }

    // The oldest message, taken out of the queue.
    std::string pop() {
        std::string message = std::move(messages_[head_]);
        bytes_ -= message.size();
        if (++head_ == messages_.size()) clear();
        return message;
    }

    void clear() noexcept {
        messages_.clear();
        head_ = 0;
        bytes_ = 0;
        // A burst may have grown it; an idle connection should not keep that.
        if (messages_.capacity() > 64) messages_.shrink_to_fit();
    }

private:
    std::vector<std::string> messages_;
    std::size_t head_ = 0;
    std::size_t bytes_ = 0;
};

}  // namespace portico
