#include "input_list.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

namespace portico::plugin_check {
namespace {

// Each input: its size as 8 bytes (host order: both ends are this machine), then its bytes.
bool write_all(int fd, const void* data, std::size_t size) {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, bytes, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

bool read_all(int fd, void* data, std::size_t size, off_t& offset) {
    char* bytes = static_cast<char*>(data);
    while (size > 0) {
        const ssize_t n = ::pread(fd, bytes, size, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes += n;
        size -= static_cast<std::size_t>(n);
        offset += n;
    }
    return true;
}

}  // namespace

Expected<UniqueFd> write_input_list(const std::vector<std::string>& inputs) {
    UniqueFd fd(::memfd_create("portico-plugin-check-inputs", MFD_CLOEXEC));
    if (!fd.valid()) return Error{"inputs_failed", std::string("memfd_create: ") + std::strerror(errno)};
    for (const std::string& input : inputs) {
        const std::uint64_t size = input.size();
        if (!write_all(fd.get(), &size, sizeof size) || !write_all(fd.get(), input.data(), input.size()))
            return Error{"inputs_failed", std::string("writing the input list: ") + std::strerror(errno)};
    }
    return Expected<UniqueFd>(std::move(fd));
}

Expected<std::vector<std::string>> read_input_list(int fd) {
    UniqueFd owned(fd);
    std::vector<std::string> inputs;
    off_t offset = 0;
    while (true) {
        std::uint64_t size = 0;
        const ssize_t n = ::pread(owned.get(), &size, sizeof size, offset);
        if (n == 0) return inputs;
        if (n != static_cast<ssize_t>(sizeof size) || size > (std::uint64_t{1} << 31))
            return Error{"inputs_failed", "the input list is damaged"};
        offset += n;
        std::string input(static_cast<std::size_t>(size), '\0');
        if (!read_all(owned.get(), input.data(), input.size(), offset))
            return Error{"inputs_failed", "the input list is cut short"};
        inputs.push_back(std::move(input));
    }
}

}  // namespace portico::plugin_check
