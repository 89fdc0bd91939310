#pragma once
// Every client's notes, keyed by client id, bounded in three ways.
//
// handle() runs on several worker threads at once and any of them may serve
// any client, so the store is shared: one mutex guards it. Every operation is
// a hash lookup and a list splice (list() also copies the notes), so the lock
// is held briefly; a plugin with heavier per-client work would shard the map
// by a hash of the client id, one mutex per shard.
//
// WHY EVICTION: the plugin API has no "client gone" notification (a client id
// simply stops appearing when its WebSocket closes), so the store cannot know
// which notepads are dead. It keeps at most max_clients of them; when a new
// client adds its first note to a full store, the least recently used client
// (by any operation: add, list, count) loses its notes. A client that clears
// its notepad frees its slot at once.

#include "notepad_settings.hpp"

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace notepad {

class NotepadStore {
public:
    explicit NotepadStore(const NotepadLimits& limits);

    NotepadStore(const NotepadStore&) = delete;
    NotepadStore& operator=(const NotepadStore&) = delete;

    struct AddResult {
        bool added = false;     // false: the client already has max_notes_per_client notes
        std::size_t notes = 0;  // the client's notes after the call
    };

    // Appends `note` to the client's notepad, creating it (and evicting the
    // least recently used notepad if max_clients are held) if need be. Checks
    // only the number of notes; the caller checks the note itself.
    AddResult add(std::string_view client_id, std::string note);
    // The client's notes, oldest first (empty for an unknown client).
    std::vector<std::string> list(std::string_view client_id);
    // How many notes the client has (0 for an unknown client).
    std::size_t count(std::string_view client_id);
    // Forgets the client's notepad.
    void clear(std::string_view client_id);

    // How many clients have a notepad, and how many notepads were evicted.
    std::size_t clients() const;
    std::size_t evictions() const;

private:
    struct Notepad {
        std::vector<std::string> notes;
        std::list<std::string>::iterator recency;  // this client's place in recency_
    };
    using Map = std::unordered_map<std::string_view, Notepad>;

    // Marks the notepad most recently used. Requires mutex_.
    void touch(Map::iterator it);
    // Drops the least recently used notepad. Requires mutex_.
    void evict_oldest();

    const NotepadLimits limits_;
    mutable std::mutex mutex_;
    // Client ids, most recently used first. The map's keys view these strings:
    // list nodes never move, so the views stay valid until the node is erased.
    std::list<std::string> recency_;
    Map notepads_;
    std::size_t evictions_ = 0;
};

}  // namespace notepad
