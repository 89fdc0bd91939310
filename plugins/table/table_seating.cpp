#include "table_seating.hpp"

#include <algorithm>

namespace table {

Seating::JoinResult Seating::join(const std::string& room, const std::string& client, const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) {
        if (rooms_.size() >= max_rooms_) return JoinResult::too_many_rooms;
        it = rooms_.emplace(room, Room{}).first;
    }
    auto& seats = it->second.seats;
    for (const auto& [who, seated_as] : seats) {
        if (who == client) return seated_as == name ? JoinResult::already_seated : JoinResult::name_taken;
        if (seated_as == name) return JoinResult::name_taken;
    }
    if (seats.size() >= max_seats_) {
        if (seats.empty()) rooms_.erase(it);
        return JoinResult::table_full;
    }
    seats.emplace_back(client, name);
    rooms_of_[client].push_back(room);
    return JoinResult::seated;
}

std::optional<std::string> Seating::leave_locked(const std::string& room, const std::string& client) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return std::nullopt;
    auto& seats = it->second.seats;
    auto seat = std::find_if(seats.begin(), seats.end(), [&](const auto& s) { return s.first == client; });
    if (seat == seats.end()) return std::nullopt;
    std::string name = std::move(seat->second);
    seats.erase(seat);
    if (seats.empty()) rooms_.erase(it);
    return name;
}

std::optional<std::string> Seating::leave(const std::string& room, const std::string& client) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto name = leave_locked(room, client);
    if (name) {
        auto& list = rooms_of_[client];
        list.erase(std::remove(list.begin(), list.end(), room), list.end());
        if (list.empty()) rooms_of_.erase(client);
    }
    return name;
}

std::vector<Seating::Seat> Seating::leave_all(const std::string& client) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Seat> left;
    auto it = rooms_of_.find(client);
    if (it == rooms_of_.end()) return left;
    for (const auto& room : it->second)
        if (auto name = leave_locked(room, client)) left.push_back(Seat{room, std::move(*name)});
    rooms_of_.erase(it);
    return left;
}

std::optional<std::string> Seating::name_at(const std::string& room, const std::string& client) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return std::nullopt;
    for (const auto& [who, name] : it->second.seats)
        if (who == client) return name;
    return std::nullopt;
}

std::vector<std::string> Seating::who(const std::string& room) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> names;
    auto it = rooms_.find(room);
    if (it != rooms_.end())
        for (const auto& seat : it->second.seats) names.push_back(seat.second);
    return names;
}

std::size_t Seating::rooms() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return rooms_.size();
}

}  // namespace table
