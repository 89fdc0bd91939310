#include "process_census.hpp"

#include <malloc.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace portico::plugin_check {

std::optional<std::uint64_t> resident_bytes() {
    ::malloc_trim(0);
    std::ifstream in("/proc/self/statm");
    std::uint64_t size_pages = 0;
    std::uint64_t resident_pages = 0;
    std::uint64_t shared_pages = 0;
    if (!(in >> size_pages >> resident_pages >> shared_pages)) return std::nullopt;
    const long page = ::sysconf(_SC_PAGESIZE);
    const std::uint64_t own = resident_pages > shared_pages ? resident_pages - shared_pages : 0;
    return own * static_cast<std::uint64_t>(page > 0 ? page : 4096);
}

std::set<int> thread_ids() {
    std::set<int> ids;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/self/task", ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) ids.insert(std::stoi(name));
    }
    return ids;
}

std::string thread_name(int tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
    std::string name;
    std::getline(in, name);
    return name;
}

}  // namespace portico::plugin_check
