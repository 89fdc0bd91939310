#include "table_engine.hpp"


#include <nlohmann/json.hpp>

#include <stdexcept>

namespace table {
namespace {

using nlohmann::json;

portico::Channels& channels_of(const portico::EngineContext& context) {
    if (context.channels == nullptr)
        throw std::invalid_argument("table: the host gives no channels (it needs plugin API 1.3 or later)");
    return *context.channels;
}

std::string announcement(const char* type, const std::string& room, const std::string& who) {
    return json{{"type", type}, {"room", room}, {"who", who}}.dump();
}

}  // namespace

TableEngine::TableEngine(const portico::EngineContext& context)
    : settings_(parse_settings(context.settings_json)),
      channels_(channels_of(context)),
      seating_(settings_.max_rooms, settings_.max_seats) {
    if (context.workers == 0) throw std::invalid_argument("table: the host asked for 0 workers");
    for (unsigned worker = 0; worker < context.workers; ++worker)
        generators_.push_back(dice::make_generator(settings_.seed, worker));
}

portico::Reply TableEngine::handle(const portico::Request& request) {
    if (request.worker >= generators_.size()) return portico::Reply::error("engine_error", "table: bad worker index");
    const Command command = parse_command(request.payload);
    if (const auto* bad = std::get_if<BadCommand>(&command)) return portico::Reply::error("bad_command", bad->message);
    if (const auto* asked = std::get_if<Who>(&command)) return who(*asked);
    // Seats belong to a connection: a plain zmq client has none.
    if (request.client_id.empty() || request.stream == nullptr)
        return portico::Reply::error("bad_command", "table: join, watch, roll and leave need a WebSocket client");
    if (const auto* asked = std::get_if<Join>(&command)) return join(request, *asked);
    if (const auto* asked = std::get_if<Watch>(&command)) return watch(request, *asked);
    if (const auto* asked = std::get_if<Roll>(&command)) return roll(request, *asked);
    return leave(request, std::get<Leave>(command));
}

portico::Reply TableEngine::join(const portico::Request& request, const Join& command) {
    const std::string client(request.client_id);
    const auto seated = seating_.join(command.room, client, command.name);
    switch (seated) {
        case Seating::JoinResult::name_taken:
            return portico::Reply::error("name_taken", "table: \"" + command.name + "\" is taken at " + command.room +
                                                           " (or you sit there under another name)");
        case Seating::JoinResult::table_full:
            return portico::Reply::error("table_full", "table: " + command.room + " has all " +
                                                           std::to_string(settings_.max_seats) + " seats taken");
        case Seating::JoinResult::too_many_rooms:
            return portico::Reply::error("too_many_rooms", "table: all " + std::to_string(settings_.max_rooms) +
                                                           " rooms are in use");
        case Seating::JoinResult::seated:
        case Seating::JoinResult::already_seated: break;
    }
    // A client that went while this ran may have had its client_gone() already
    // (on another worker): its request is cancelled then, and the seat goes.
    if (seated == Seating::JoinResult::seated && request.stream->cancelled()) {
        seating_.leave(command.room, client);
        return portico::Reply::error("cancelled", "table: the client went away");
    }
    // Subscribed first, so the joiner sees its own arrival after what it missed.
    request.stream->subscribe(command.room, command.last_seen);
    if (seated == Seating::JoinResult::seated) channels_.publish(command.room, announcement("joined", command.room, command.name));
    json reply = who_json(command.room);
    reply["you"] = command.name;
    return portico::Reply::json(reply.dump());
}

portico::Reply TableEngine::watch(const portico::Request& request, const Watch& command) {
    request.stream->subscribe(command.room, command.last_seen);
    json reply = who_json(command.room);
    reply["watching"] = true;
    return portico::Reply::json(reply.dump());
}

portico::Reply TableEngine::roll(const portico::Request& request, const Roll& command) {
    const auto name = seating_.name_at(command.room, std::string(request.client_id));
    if (!name) return portico::Reply::error("not_seated", "table: join " + command.room + " before you roll there");
    dice::ParseResult parsed = dice::parse_expression(command.expression, settings_.limits);
    if (!parsed.expression) return portico::Reply::error("bad_expression", std::move(parsed.error.message));
    const dice::RollOutcome outcome = dice::roll(*parsed.expression, generators_[request.worker]);
    json message = json::parse(dice::to_json(*parsed.expression, outcome));
    json kept = json::array();
    for (const auto& term : outcome.terms)
        for (const auto die : term.kept) kept.push_back(die);
    message["type"] = "roll";
    message["room"] = command.room;
    message["who"] = *name;
    message["kept"] = std::move(kept);
    const std::uint64_t offset = channels_.publish(command.room, message.dump());
    if (offset == 0) return portico::Reply::error("engine_error", "table: the roll could not be published");
    message["offset"] = offset;
    return portico::Reply::json(message.dump());
}

portico::Reply TableEngine::leave(const portico::Request& request, const Leave& command) {
    // A watcher has no seat: it only stops following. Leaving twice is no error.
    const auto name = seating_.leave(command.room, std::string(request.client_id));
    request.stream->unsubscribe(command.room);
    if (name) channels_.publish(command.room, announcement("left", command.room, *name));
    return portico::Reply::json(json{{"left", command.room}}.dump());
}

json TableEngine::who_json(const std::string& room) const {
    // A reply names at most max_listed players: a crowded room stays one small message.
    auto players = seating_.who(room);
    const std::size_t seated = players.size();
    if (players.size() > max_listed) players.resize(max_listed);
    return json{{"room", room}, {"seated", seated}, {"players", std::move(players)}};
}

portico::Reply TableEngine::who(const Who& command) const { return portico::Reply::json(who_json(command.room).dump()); }

void TableEngine::client_gone(std::string_view client_id) noexcept {
    try {
        for (const auto& seat : seating_.leave_all(std::string(client_id))) {
            json message = json::parse(announcement("left", seat.room, seat.name));
            message["reason"] = "disconnected";
            channels_.publish(seat.room, message.dump());
        }
    } catch (...) {
        // Out of memory: the others are not told; the seats are free anyway.
    }
}

}  // namespace table
