#include "notepad_store.hpp"

#include <utility>

namespace notepad {

NotepadStore::NotepadStore(const NotepadLimits& limits) : limits_(limits) {}

void NotepadStore::touch(Map::iterator it) {
    recency_.splice(recency_.begin(), recency_, it->second.recency);
}

void NotepadStore::evict_oldest() {
    if (recency_.empty()) return;
    notepads_.erase(std::string_view(recency_.back()));  // the key views the node: erase the map entry first
    recency_.pop_back();
    ++evictions_;
}

NotepadStore::AddResult NotepadStore::add(std::string_view client_id, std::string note) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = notepads_.find(client_id);
    if (it == notepads_.end()) {
        while (!notepads_.empty() && notepads_.size() >= limits_.max_clients) evict_oldest();
        recency_.emplace_front(client_id);
        try {
            it = notepads_.emplace(std::string_view(recency_.front()), Notepad{{}, recency_.begin()}).first;
        } catch (...) {
            recency_.pop_front();  // out of memory: leave no id without a notepad
            throw;
        }
    } else {
        touch(it);
    }
    std::vector<std::string>& notes = it->second.notes;
    if (notes.size() >= limits_.max_notes_per_client) return {false, notes.size()};
    notes.push_back(std::move(note));
    return {true, notes.size()};
}

std::vector<std::string> NotepadStore::list(std::string_view client_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = notepads_.find(client_id);
    if (it == notepads_.end()) return {};
    touch(it);
    return it->second.notes;
}

std::size_t NotepadStore::count(std::string_view client_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = notepads_.find(client_id);
    if (it == notepads_.end()) return 0;
    touch(it);
    return it->second.notes.size();
}

void NotepadStore::clear(std::string_view client_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = notepads_.find(client_id);
    if (it == notepads_.end()) return;
    const auto node = it->second.recency;
    notepads_.erase(it);  // before the node its key views
    recency_.erase(node);
}

std::size_t NotepadStore::clients() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return notepads_.size();
}

std::size_t NotepadStore::evictions() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return evictions_;
}

}  // namespace notepad
