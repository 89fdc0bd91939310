#pragma once
// gateway.max_connections and gateway.max_connections_per_ip, shared by every
// loop. A WebSocket connection holds a ConnectionSlot from its accepted
// upgrade to its end; a handshake that finds no slot is answered 503.
#include "core/net.hpp"

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace portico {

class ConnectionLimits;

// Held by one connection; gives its place back when destroyed.
class ConnectionSlot {
public:
    ConnectionSlot() = default;
    ConnectionSlot(ConnectionSlot&& other) noexcept;
    ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
    ~ConnectionSlot();

private:
    friend class ConnectionLimits;
    ConnectionSlot(ConnectionLimits* limits, const net::ip::address& address) : limits_(limits), address_(address) {}
    ConnectionLimits* limits_ = nullptr;
    net::ip::address address_;
};

class ConnectionLimits {
public:
    ConnectionLimits(std::size_t total, std::size_t per_address) : max_total_(total), max_per_address_(per_address) {}

    enum class Refusal { none, gateway_full, address_full };
    struct Admission {
        Refusal refusal = Refusal::none;
        ConnectionSlot slot;  // held when refusal is none
    };
    Admission admit(const net::ip::address& address);

    std::size_t total() const;

private:
    friend class ConnectionSlot;
    void release(const net::ip::address& address);

    const std::size_t max_total_;
    const std::size_t max_per_address_;
    mutable std::mutex mutex_;
    std::size_t total_ = 0;
    std::unordered_map<net::ip::address, std::size_t> per_address_;
};

}  // namespace portico
