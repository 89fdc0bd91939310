#include "process_info.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace portico::bench {

std::string raise_fd_limit(std::size_t needed)
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return "cannot read the open-file limit";
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed)
        return "the run needs about " + std::to_string(needed) + " file descriptors but the limit is " +
               std::to_string(limit.rlim_cur) + "; raise the hard limit (ulimit -Hn) or use fewer connections";
    return {};
}

double own_cpu_seconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto const seconds = [](timeval const& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::optional<double> machine_cpu_seconds()
{
    std::ifstream file("/proc/stat");
    std::string cpu;
    if (!(file >> cpu) || cpu != "cpu")
        return std::nullopt;
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    unsigned long long v[8] = {};
    for (auto& x : v)
        if (!(file >> x))
            return std::nullopt;
    unsigned long long const busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return static_cast<double>(busy) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::optional<double> process_cpu_seconds(int pid)
{
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!file || !std::getline(file, text))
        return std::nullopt;
    // The command name is in parentheses and may hold spaces: skip past it.
    auto const close = text.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    // Fields 3..13 precede utime (14) and stime (15).
    std::string skip;
    for (int i = 3; i <= 13; ++i)
        fields >> skip;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    if (!(fields >> utime >> stime))
        return std::nullopt;
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace portico::bench
