#pragma once
// What a plugin returned, made safe before it reaches any client: a JSON
// result must be one valid JSON value, text becomes valid UTF-8 (WebSocket
// text frames must be), and an error gets a snake_case code (otherwise
// "engine_error") and a non-empty UTF-8 message.
#include <portico/plugin.hpp>

#include <cstddef>
#include <string>

namespace portico {

inline constexpr std::size_t max_error_code_bytes = 64;

Reply check_reply(Reply reply);
// A snake_case word: a-z first, then a-z, 0-9 and single '_' between them,
// at most max_error_code_bytes.
bool is_error_code(const std::string& code);

}  // namespace portico
