#pragma once
// The table plugin: a shared dice table (plugin API 1.3 channels). Each room
// is a channel of the plugin; "table join" seats the caller, subscribes it to
// the room's channel and announces it there; "table roll" rolls with the dice
// grammar and limits and publishes the roll to everyone at the room, the
// roller included. "table watch" follows a room without a seat. A client that
// disconnects leaves its rooms.
//
// Published messages (each with the channel's offset, added by the host):
//   {"type":"joined","room":"r1","who":"ann"}
//   {"type":"roll","room":"r1","who":"ann","expr":"4d6kh3","rolls":[..],"kept":[..],"total":N[,"terms":[..]]}
//   {"type":"left","room":"r1","who":"ann"[,"reason":"disconnected"]}
#include "dice_roller.hpp"
#include "table_command.hpp"
#include "table_seating.hpp"
#include "table_settings.hpp"

#include <portico/plugin.hpp>

#include <nlohmann/json.hpp>

#include <mutex>
#include <string>
#include <vector>

namespace table {

class TableEngine final : public portico::Engine {
public:
    static constexpr std::size_t max_listed = 100;  // players named in one reply

    explicit TableEngine(const portico::EngineContext& context);

    portico::Reply handle(const portico::Request& request) override;
    void client_gone(std::string_view client_id) noexcept override;

private:
    portico::Reply join(const portico::Request& request, const Join& command);
    portico::Reply watch(const portico::Request& request, const Watch& command);
    portico::Reply roll(const portico::Request& request, const Roll& command);
    portico::Reply leave(const portico::Request& request, const Leave& command);
    portico::Reply who(const Who& command) const;
    nlohmann::json who_json(const std::string& room) const;

    Settings settings_;
    portico::Channels& channels_;
    Seating seating_;
    std::vector<dice::Generator> generators_;  // one per worker: no locks
};

}  // namespace table
