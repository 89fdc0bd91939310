#pragma once
// Who sits at which room, keyed by the connection (Request::client_id): a
// client that disconnects leaves every room it sat at (client_gone). Safe
// from several workers at once. Bounded: rooms and seats per room.
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace table {

class Seating {
public:
    enum class JoinResult { seated, already_seated, name_taken, table_full, too_many_rooms };
    struct Seat {
        std::string room;
        std::string name;
    };

    Seating(std::size_t max_rooms, std::size_t max_seats) : max_rooms_(max_rooms), max_seats_(max_seats) {}

    // Sits `client` at `room` as `name` (a client sits once per room; joining
    // again under the same name is "already_seated").
    JoinResult join(const std::string& room, const std::string& client, const std::string& name);
    // Its name there, or nullopt when it was not seated.
    std::optional<std::string> leave(const std::string& room, const std::string& client);
    // Every seat the client had, now given up.
    std::vector<Seat> leave_all(const std::string& client);
    std::optional<std::string> name_at(const std::string& room, const std::string& client) const;
    // The names at `room`, in the order they sat down.
    std::vector<std::string> who(const std::string& room) const;
    std::size_t rooms() const;

private:
    struct Room {
        std::vector<std::pair<std::string, std::string>> seats;  // (client, name), in joining order
    };
    std::optional<std::string> leave_locked(const std::string& room, const std::string& client);

    const std::size_t max_rooms_;
    const std::size_t max_seats_;
    mutable std::mutex mutex_;
    std::map<std::string, Room> rooms_;
    std::unordered_map<std::string, std::vector<std::string>> rooms_of_;  // client -> rooms
};

}  // namespace table
