#pragma once
#include <string>

namespace portico {

// A new unguessable client id: 128 bits from the operating system's CSPRNG,
// as 32 lowercase hex characters.
std::string make_client_id();

}  // namespace portico
