#include "gateway/gateway_metrics.hpp"

namespace portico {

PluginCounters& LoopMetrics::plugin(std::string_view name) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plugins_.find(name);
    if (it == plugins_.end()) it = plugins_.emplace(std::string(name), std::make_unique<PluginCounters>()).first;
    return *it->second;
}

}  // namespace portico
