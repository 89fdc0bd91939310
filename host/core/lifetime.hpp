#pragma once
// A handler already queued on an event loop still runs after cancel(), and
// may find the object that queued it destroyed (a link retired by a reload is
// destroyed while its loop runs on). Such an object owns a Lifetime, its
// handlers capture watch(), and a handler whose object has gone returns
// without touching it. One thread (the loop's) runs both, so no lock.
#include <memory>

namespace portico {

class Lifetime {
public:
    using Watch = std::weak_ptr<const void>;
    Watch watch() const noexcept { return token_; }

private:
    std::shared_ptr<const char> token_ = std::make_shared<const char>('\0');
};

}  // namespace portico
