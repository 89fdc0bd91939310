#pragma once
// The Portico plugin API: the whole contract between the portico host and an
// engine plugin, in one header. A plugin includes this file, implements
// portico::Engine, and exports it with PORTICO_PLUGIN(...). Nothing here
// depends on the host.
//
// VERSIONING
//   api_version_major changes when a plugin built against the old header can
//   no longer work (a changed type layout or virtual table). The host refuses
//   a plugin of another major version before it touches any C++ type from it,
//   and says both versions. api_version_minor grows when something is added
//   in a compatible way; the host refuses a plugin built against a newer
//   minor than its own, and never calls anything a plugin's minor lacks.
//
//   1.1 added the caller's identity at the end of Request (caller_subject,
//   caller_claims_json). A plugin built against 1.0 still loads: it sees a
//   Request without those fields, and the host never asks it to read them.
//   A plugin built against 1.1 needs a host of 1.1 or later.
//
//   1.2 added engines that talk back: Request::stream (emit progress events
//   before the final reply, see whether the request was cancelled) and
//   Engine::client_gone() (free a client's state when its connection ends).
//   A 1.0 or 1.1 plugin still loads: the host never calls client_gone() on
//   it, and it never reads Request::stream.
//
//   1.3 added channels: RequestStream::subscribe()/unsubscribe() (at the end
//   of its table) and EngineContext::channels (at the end of the struct),
//   for pushing to subscribed clients. A 1.2 plugin still loads; a 1.3
//   plugin needs a host of 1.3, which the version check enforces (a 1.2 host
//   has neither the table slots nor the member).
//
// LIFETIME AND OWNERSHIP
//   The host keeps the shared library loaded for as long as anything made by
//   it lives: the Engine, every Reply it returned. A plugin must not hand out
//   objects that outlive its Engine (no detached threads, no callbacks left
//   registered, no thread_local objects with destructors: the library may be
//   unloaded while a host thread that called it still runs).
//
// THREADS
//   - The factory (your Engine's constructor) and the destructor run on the
//     host's control thread, never concurrently with handle().
//   - handle() runs on the engine endpoint's worker threads: concurrently for
//     different requests, from up to EngineContext::workers threads at once.
//     Request::worker (0 .. workers-1) names the calling worker; two calls
//     with the same worker index never overlap, so per-worker state (a random
//     generator, a scratch buffer) indexed by it needs no lock. State shared
//     across workers needs your own synchronisation.
//   - handle() should finish promptly: a worker busy in it serves nobody else.
//
// ERRORS
//   Report a bad request with Reply::error(code, message): the client sees the
//   code and the message. An exception escaping handle() or the constructor is
//   caught inside the plugin by PORTICO_PLUGIN's wrapper and becomes the error
//   code "engine_error" (for handle) or a refused load (for the constructor):
//   exceptions never cross into the host.
//
// BINARY COMPATIBILITY
//   Types cross the boundary as C++ (std::string, std::string_view,
//   std::unique_ptr): build plugins with the same compiler family and C++
//   standard library as the host (on Debian 12: g++ 12, libstdc++, C++17 or
//   later).

#include <boost/config.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace portico {

inline constexpr std::uint32_t api_version_major = 1;
inline constexpr std::uint32_t api_version_minor = 3;

// Packs a version for the C-level version symbol: major in the high 16 bits.
constexpr std::uint32_t pack_api_version(std::uint32_t major, std::uint32_t minor) {
    return (major << 16) | (minor & 0xffffu);
}

// Since 1.2: what handle() can do for its request besides returning the
// reply. The host gives one in Request::stream; it is valid only during that
// handle() call, and only on its thread.
class RequestStream {
public:
    // Sends the client one progress event for this request, ahead of the
    // final reply: exactly one JSON value, as text (the host checks it and
    // drops one that is not). An event for a client that does not read fast
    // enough is dropped rather than queued (the next one that goes says how
    // many were dropped), so emitting never blocks. Returns false once the
    // request is cancelled: stop and return any Reply (nobody receives it).
    virtual bool emit(std::string json_text) = 0;
    // True once the request is cancelled: by its client ("portico cancel"),
    // by its deadline, or because the client went away. Cheap: poll it in a
    // long computation.
    virtual bool cancelled() const noexcept = 0;
    // Since 1.3. Subscribes this request's client to `channel` of this plugin: from now
    // on it receives every message published there (Channels::publish), on
    // whichever gateway it is connected to. Clients never subscribe
    // themselves: only the plugin grants a channel. `last_seen`: the offset
    // of the last message the client saw (it says so in its request, after a
    // reconnect); it then first receives what it missed, in order, or is told
    // that those messages can no longer be recovered. 0: only what comes now.
    // A channel name is 1 to 64 characters of a-z, A-Z, 0-9, '_', '-', '.', ':'.
    virtual void subscribe(std::string_view channel, std::uint64_t last_seen = 0) = 0;
    // Since 1.3. Ends this request's client's subscription to `channel` (if it had one).
    virtual void unsubscribe(std::string_view channel) = 0;

protected:
    ~RequestStream() = default;
};

// Since 1.3: the plugin's channels, in EngineContext::channels: valid for the
// whole life of the engine, from any of its threads (handle(), client_gone()).
class Channels {
public:
    // Publishes one JSON value (as text, at most 64 KiB) to `channel`: every
    // client subscribed to it, on every gateway, receives it with the
    // channel's next offset, which is returned (offsets grow by one per
    // message in a channel). 0: refused (not JSON, too large, a bad name, or
    // more channels than the host keeps). The last messages of each channel
    // are kept for clients that reconnect (plugins.NAME.channel_history).
    virtual std::uint64_t publish(std::string_view channel, std::string json_text) = 0;

protected:
    ~Channels() = default;
};

// One request for an engine. The views are valid only during handle().
struct Request {
    // Opaque id of the connection that sent the request: stable for the life
    // of one WebSocket connection, unguessable, at most 64 printable ASCII
    // characters. Key per-client state by it.
    std::string_view client_id;
    // The bytes the client sent after the plugin prefix. Untrusted: validate.
    std::string_view payload;
    // Index of the calling worker thread, 0 .. EngineContext::workers - 1.
    unsigned worker = 0;

    // Since 1.1 (fields are only ever added here, at the end).
    // Who sent the request, when the gateway checks tokens (gateway.auth):
    // the token's "sub" claim, and all of its claims as one JSON object in
    // text. The gateway has verified the token's signature, expiry, issuer
    // and audience. Both are empty when the gateway has no auth (the subject
    // is also empty for a token without "sub"). Key per-user state by the
    // subject: it stays the same across a user's connections and gateways,
    // while client_id changes with every connection.
    std::string_view caller_subject{};
    std::string_view caller_claims_json{};

    // Since 1.2: progress events and cancellation for this request (never
    // null from a host of 1.2 or later).
    RequestStream* stream = nullptr;
};

// What handle() returns: a result (JSON or plain text) or an error.
class Reply {
public:
    enum class Kind : std::uint8_t { json, text, error };

    // A result that is exactly one valid JSON value, as text. The gateway
    // embeds it unchanged as "result" in JSON replies; the host checks it is
    // valid JSON and turns it into an error reply if it is not.
    static Reply json(std::string json_text) { return Reply(Kind::json, std::move(json_text), {}); }
    // A result that is plain text (the gateway sends it as a JSON string in
    // JSON replies).
    static Reply text(std::string text) { return Reply(Kind::text, std::move(text), {}); }
    // An error. `code` is a short machine-readable word (snake_case, e.g.
    // "bad_expression", at most 64 characters; the host sends "engine_error"
    // for anything else); `message` says what is wrong, and where, for a
    // human (never empty).
    static Reply error(std::string code, std::string message) {
        return Reply(Kind::error, std::move(message), std::move(code));
    }

    Kind kind() const noexcept { return kind_; }
    bool ok() const noexcept { return kind_ != Kind::error; }
    // The result text (json/text) or the error message (error).
    const std::string& body() const noexcept { return body_; }
    // The error code; empty for results.
    const std::string& code() const noexcept { return code_; }

private:
    Reply(Kind kind, std::string body, std::string code)
        : kind_(kind), body_(std::move(body)), code_(std::move(code)) {}

    Kind kind_;
    std::string body_;
    std::string code_;
};

// What a plugin is given when the host creates its engine.
struct EngineContext {
    // The name the plugin is served under (its routing prefix in the config).
    std::string_view plugin_name;
    // The plugin's "settings" object from the host config, as JSON text
    // ("{}" when the config has none). Validate it; refuse unknown keys.
    std::string_view settings_json;
    // How many worker threads may call handle() at once.
    unsigned workers = 1;
    // Since 1.3: publishing to this plugin's channels; never null from a host
    // of 1.3 or later, and valid for as long as the engine lives.
    Channels* channels = nullptr;
};

// The interface an engine implements.
class Engine {
public:
    virtual ~Engine() = default;
    // Handles one request. See THREADS above for when and where it is called.
    virtual Reply handle(const Request& request) = 0;
    // Since 1.2: the connection `client_id` has ended; free what is kept for
    // it. Called on a worker thread like handle(), concurrently with requests
    // of other clients, and queued behind that client's own requests (those
    // not yet begun are skipped: they were cancelled); with several workers
    // one of them may still be running, so guard the state both touch.
    // Engines of several processes may each hear it. Must not throw.
    virtual void client_gone(std::string_view /*client_id*/) noexcept {}
};

// Static facts about a plugin, readable before any engine exists.
struct PluginInfo {
    const char* name;         // e.g. "dice"
    const char* version;      // the plugin's own version, e.g. "1.2.0"
    const char* description;  // one line
    const char* usage;        // one line, e.g. "dice NdM[kh|kl N][+|-K]..."
};

// What the factory returns: an engine, or the reason there is none.
struct CreateResult {
    std::unique_ptr<Engine> engine;
    std::string error;
};

using EngineFactory = CreateResult(const EngineContext&);

// Names of the exported symbols, shared by the host and PORTICO_PLUGIN.
inline constexpr const char* api_version_symbol = "portico_plugin_api_version";
inline constexpr const char* info_symbol = "portico_plugin_info";
inline constexpr const char* factory_symbol = "portico_create_engine";

namespace detail {

// Keeps exceptions on the plugin's side of the boundary: it is instantiated
// inside the plugin by PORTICO_PLUGIN, so the try/catch is plugin code.
template <class EngineType>
class ExceptionBarrier final : public Engine {
public:
    explicit ExceptionBarrier(const EngineContext& context) : inner_(context) {}

    Reply handle(const Request& request) noexcept override {
        try {
            return inner_.handle(request);
        } catch (const std::exception& e) {
            return reply_for_exception(e.what());
        } catch (...) {
            return reply_for_exception("unknown exception");
        }
    }
    void client_gone(std::string_view client_id) noexcept override {
        try {
            inner_.client_gone(client_id);
        } catch (...) {
            // Nothing to report it to: the client is gone.
        }
    }

private:
    static Reply reply_for_exception(const char* what) noexcept {
        try {
            return Reply::error("engine_error", std::string("engine failed: ") + what);
        } catch (...) {
            std::terminate();  // out of memory while reporting: nothing sane is left
        }
    }

    EngineType inner_;
};

template <class EngineType>
CreateResult create_guarded(const EngineContext& context) noexcept {
    CreateResult result;
    try {
        result.engine = std::make_unique<ExceptionBarrier<EngineType>>(context);
    } catch (const std::exception& e) {
        result.engine.reset();
        try { result.error = e.what(); } catch (...) {}
    } catch (...) {
        result.engine.reset();
        try { result.error = "unknown exception from the engine's constructor"; } catch (...) {}
    }
    return result;
}

}  // namespace detail
}  // namespace portico

// Exports EngineType (constructible from const portico::EngineContext&, throws
// to refuse its settings) as this library's engine. Use once per plugin, at
// namespace scope in one source file. The strings must be literals.
#define PORTICO_PLUGIN(EngineType, NAME, VERSION, DESCRIPTION, USAGE)                      \
    extern "C" BOOST_SYMBOL_EXPORT std::uint32_t portico_plugin_api_version() noexcept {   \
        return ::portico::pack_api_version(::portico::api_version_major,                   \
                                           ::portico::api_version_minor);                  \
    }                                                                                      \
    extern "C" BOOST_SYMBOL_EXPORT const ::portico::PluginInfo* portico_plugin_info() noexcept { \
        static const ::portico::PluginInfo info{NAME, VERSION, DESCRIPTION, USAGE};         \
        return &info;                                                                      \
    }                                                                                      \
    extern "C" BOOST_SYMBOL_EXPORT ::portico::CreateResult portico_create_engine(           \
        const ::portico::EngineContext& context) noexcept {                                \
        return ::portico::detail::create_guarded<EngineType>(context);                     \
    }
