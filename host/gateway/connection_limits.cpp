#include "gateway/connection_limits.hpp"

#include <utility>

namespace portico {

ConnectionSlot::ConnectionSlot(ConnectionSlot&& other) noexcept
    : limits_(std::exchange(other.limits_, nullptr)), address_(other.address_) {}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
    if (this != &other) {
        if (limits_) limits_->release(address_);
        limits_ = std::exchange(other.limits_, nullptr);
        address_ = other.address_;
    }
    return *this;
}

ConnectionSlot::~ConnectionSlot() {
    if (limits_) limits_->release(address_);
}

ConnectionLimits::Admission ConnectionLimits::admit(const net::ip::address& address) {
    // An IPv4 client that reaches a dual-stack listener counts as itself.
    const net::ip::address key =
        address.is_v6() && address.to_v6().is_v4_mapped()
            ? net::ip::address(net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()))
            : address;
    std::lock_guard<std::mutex> lock(mutex_);
    if (total_ >= max_total_) return {Refusal::gateway_full, {}};
    auto& count = per_address_[key];
    if (count >= max_per_address_) return {Refusal::address_full, {}};
    ++count;
    ++total_;
    return {Refusal::none, ConnectionSlot(this, key)};
}

void ConnectionLimits::release(const net::ip::address& address) {
    std::lock_guard<std::mutex> lock(mutex_);
    --total_;
    auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

std::size_t ConnectionLimits::total() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return total_;
}

}  // namespace portico
