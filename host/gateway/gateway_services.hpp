#pragma once
// What every connection of a gateway shares, whatever its loop: the config,
// the route table and the origin list (read only once serving), the
// connection limits and the token verifier (thread-safe).
#include "config/allowed_origins.hpp"
#include "config/config.hpp"
#include "core/logger.hpp"
#include "gateway/connection_limits.hpp"
#include "gateway/http_routes.hpp"
#include "gateway/token_verifier.hpp"

namespace portico {

struct GatewayServices {
    const GatewayConfig& config;
    const HttpRouteTable& routes;
    const AllowedOrigins& origins;
    ConnectionLimits& limits;
    const TokenVerifierStore& tokens;  // used when config.jwt is set
    Logger& log;
};

}  // namespace portico
