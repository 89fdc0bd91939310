#include "core/client_id.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <random>

namespace portico {

std::string make_client_id() {
    unsigned char bytes[16];
    std::size_t filled = 0;
    while (filled < sizeof bytes) {
        const ssize_t n = getrandom(bytes + filled, sizeof bytes - filled, 0);
        if (n > 0) filled += static_cast<std::size_t>(n);
        else if (errno != EINTR) break;
    }
    if (filled < sizeof bytes) {  // no getrandom: fall back to the C++ library's device
        std::random_device device;
        for (auto& b : bytes) b = static_cast<unsigned char>(device());
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(32, '0');
    for (std::size_t i = 0; i < sizeof bytes; ++i) {
        id[2 * i] = hex[bytes[i] >> 4];
        id[2 * i + 1] = hex[bytes[i] & 0x0f];
    }
    return id;
}

}  // namespace portico
