// portico.js: a client for the portico WebSocket gateway (docs/protocol.md).
// An ES module without dependencies; it works in browsers and in Node 20 or
// later (pass `WebSocket` from the "ws" package where there is no global one).
//
//   import { Portico } from "/portico.js";
//   const p = await Portico.connect("ws://127.0.0.1:8088/ws", { token });
//   const roll = await p.request("dice", "3d6");   // the result, or throws {code, message}
//
// Requests use the JSON envelope form with ids of their own, so any number
// may be in flight; each has a timeout. A dropped connection is reopened with
// exponential back-off; the requests that were in flight on it fail with
// code "disconnected" (they may or may not have run), new ones wait for the
// connection up to their timeout.
//
// Streaming requests and channels (docs/protocol.md):
//
//   const odds = await p.request("odds", "4d6kh3", { onEvent: (e) => console.log(e.samples, e.mean) });
//   p.on("push", ({ plugin, channel, offset, data, missed }) => ...);   // channel messages
//   p.on("subscribed", ({ plugin, channel, next, lost }) => ...);
//   p.on("unsubscribed", ({ plugin, channel, error }) => ...);
//   await p.request("table", `join room1 ann ${p.lastOffset("table", "room1") ?? ""}`);
//
// Frames are told apart by their shape, never by their id alone: an event
// (`event` member) goes to its request's onEvent, a subscribed/unsubscribed
// frame (`subscribed` member) and a channel message (`channel`, `offset`,
// `data`) to the listeners, and only a frame with `ok` settles a request.

export class PorticoError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.name = "PorticoError";
    this.code = code;
    Object.assign(this, extra);
  }
}

const defaults = {
  token: undefined,          // sent as ?access_token= (browsers cannot set headers on a WebSocket)
  timeoutMs: 10000,          // per request, unless request() is given its own
  reconnect: true,
  backoffInitialMs: 250,
  backoffMaxMs: 10000,
  connectTimeoutMs: 10000,   // for connect() itself
  WebSocket: undefined,      // a WebSocket class; default: the global one
};

export class Portico {
  // Opens the connection; resolves once it is open, rejects if the first
  // attempt fails (later drops are reconnected when `reconnect` is on).
  static async connect(url, options = {}) {
    const client = new Portico(url, options);
    await client.#openFirst();
    return client;
  }

  #url;
  #options;
  #socket = null;
  #nextId = 1;
  #pending = new Map();    // id -> {resolve, reject, timer, plugin, onEvent}
  #queued = [];            // frames waiting for an open connection
  #listeners = new Map();  // event -> Set(handler)
  #closedByUser = false;
  #attempt = 0;
  #retryTimer = null;
  #state = "connecting";
  #subscriptions = new Map();  // channelKey -> {plugin, channel, next}, on this connection
  #offsets = new Map();        // channelKey -> the last offset seen (kept across connections)

  constructor(url, options = {}) {
    this.#options = { ...defaults, ...options };
    const WS = this.#options.WebSocket ?? globalThis.WebSocket;
    if (typeof WS !== "function")
      throw new TypeError("portico.js: no WebSocket here; pass { WebSocket } (for example from the \"ws\" package)");
    this.#options.WebSocket = WS;
    const target = new URL(url, globalThis.location?.href);
    if (this.#options.token) target.searchParams.set("access_token", this.#options.token);
    this.#url = target.toString();
  }

  // "connecting", "open", "reconnecting" or "closed".
  get state() { return this.#state; }
  // Requests sent and not yet answered.
  get inFlight() { return this.#pending.size; }

  // Channels this connection is subscribed to now: [{plugin, channel, next}].
  get subscriptions() { return [...this.#subscriptions.values()].map((entry) => ({ ...entry })); }

  // The offset of the last message seen on the plugin's channel, on this or
  // an earlier connection of this client, to resume from (for table:
  // `join ROOM NAME OFFSET`); undefined when none was. A subscription that
  // starts live (a first one, or one whose `lost` says the history did not
  // reach back) counts what came before its `next` as seen.
  lastOffset(plugin, channel) { return this.#offsets.get(channelKey(plugin, channel)); }

  // Returns a function that removes the handler. Events:
  //   "state"        fn(state, detail): "open", "reconnecting" ({code, reason, attempt, delayMs}), "closed"
  //   "push"         fn({plugin, channel, offset, data, missed}): a message published to a channel
  //                  the connection is subscribed to; missed: how many before it were dropped
  //                  for this client (0: none)
  //   "subscribed"   fn({id, plugin, channel, next, lost}): a plugin subscribed us (before the
  //                  reply of request `id`); lost: "too_old" or "reset" when a resume could not
  //                  replay what was missed (undefined otherwise)
  //   "unsubscribed" fn({id, plugin, channel, error}): the subscription ended; error
  //                  {code, message} when portico ended it (engine_lost, channel_closed,
  //                  too_many_channels) or the connection dropped ("disconnected", from this
  //                  client: every subscription ends with its connection)
  //   "message"      fn(frame): any other frame that answers no request of ours
  on(event, handler) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(handler);
    return () => this.#listeners.get(event)?.delete(handler);
  }

  // Sends `payload` (a string, or any JSON value) to `plugin`. Resolves to
  // the result (parsed JSON, or a string for plain-text plugins); rejects
  // with a PorticoError {code, message} for an error reply, a timeout
  // ("timeout", from the client: the gateway may still answer late, and that
  // answer is dropped) or a dropped connection ("disconnected").
  // `onEvent(event, frame)` is called with each progress event of the
  // request (the frame's `event` member), in order, before it settles.
  request(plugin, payload = "", { timeoutMs, onEvent } = {}) {
    if (this.#closedByUser) return Promise.reject(new PorticoError("closed", "the client was closed"));
    // Dropped with reconnect off: nothing would ever send it.
    if (this.#state === "closed")
      return Promise.reject(new PorticoError("disconnected", "the connection is closed (reconnect is off)"));
    const id = this.#nextId++;
    const frame = JSON.stringify({ id, plugin, payload });
    const limit = timeoutMs ?? this.#options.timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#queued = this.#queued.filter((queued) => queued.id !== id);
        reject(new PorticoError("timeout", `no reply from plugin "${plugin}" within ${limit} ms`));
      }, limit);
      this.#pending.set(id, { resolve, reject, timer, plugin, onEvent: typeof onEvent === "function" ? onEvent : undefined });
      if (this.#state === "open") this.#socket.send(frame);
      else this.#queued.push({ id, frame });
    });
  }

  // Closes for good; what is in flight fails with "closed"; subscriptions end
  // without a word.
  close() {
    this.#closedByUser = true;
    clearTimeout(this.#retryTimer);
    this.#subscriptions.clear();
    this.#failAll("closed", "the client was closed");
    if (this.#socket && this.#socket.readyState <= 1) this.#socket.close(1000, "bye");
    this.#setState("closed");
  }

  #emit(event, ...args) {
    for (const handler of this.#listeners.get(event) ?? []) {
      try { handler(...args); } catch (error) { console.error("portico.js: a handler threw", error); }
    }
  }

  #setState(state, detail = {}) {
    if (this.#state === state && state !== "reconnecting") return;
    this.#state = state;
    this.#emit("state", state, detail);
  }

  #openFirst() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#closedByUser = true;
        this.#socket?.close();
        reject(new PorticoError("connect_timeout", `could not connect to ${this.#url} within ${this.#options.connectTimeoutMs} ms`));
      }, this.#options.connectTimeoutMs);
      this.#open(
        () => { clearTimeout(timer); resolve(); },
        (detail) => {
          clearTimeout(timer);
          this.#closedByUser = true;
          this.#setState("closed", detail);
          reject(new PorticoError("connect_failed", `could not connect to ${this.#url}` +
            (detail.code ? ` (close ${detail.code}${detail.reason ? ": " + detail.reason : ""})` : "")));
        });
    });
  }

  // One attempt; `onFirstOpen`/`onFirstFail` only for connect()'s own.
  #open(onFirstOpen, onFirstFail) {
    const socket = new this.#options.WebSocket(this.#url);
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.#attempt = 0;
      this.#setState("open");
      const queued = this.#queued;
      this.#queued = [];
      for (const { frame } of queued) socket.send(frame);
      onFirstOpen?.();
    };
    socket.onmessage = (event) => this.#onFrame(event.data);
    socket.onerror = () => {};  // onclose follows and says what happened
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      const detail = { code: event.code, reason: event.reason };
      if (!opened && onFirstFail) {
        onFirstFail(detail);
        return;
      }
      const why = `the connection closed (${event.code}${event.reason ? ": " + event.reason : ""}) before the reply came`;
      if (this.#closedByUser) return;
      this.#endSubscriptions(`the connection closed (${event.code}${event.reason ? ": " + event.reason : ""})`);
      if (!this.#options.reconnect) {
        this.#failAll("disconnected", why, { queuedToo: true });
        this.#setState("closed", detail);
        return;
      }
      this.#failAll("disconnected", why);
      this.#scheduleReconnect(detail);
    };
  }

  #scheduleReconnect(detail) {
    const base = Math.min(this.#options.backoffMaxMs, this.#options.backoffInitialMs * 2 ** this.#attempt);
    const delay = Math.round(base / 2 + Math.random() * base / 2);  // jitter: clients do not return in step
    this.#attempt += 1;
    this.#setState("reconnecting", { ...detail, attempt: this.#attempt, delayMs: delay });
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  // Fails what is in flight; requests not yet sent wait for the next
  // connection after a drop, unless there will be none (`queuedToo`).
  #failAll(code, message, { queuedToo = code !== "disconnected" } = {}) {
    for (const [id, entry] of this.#pending) {
      if (!queuedToo && this.#queued.some((queued) => queued.id === id)) continue;
      clearTimeout(entry.timer);
      entry.reject(new PorticoError(code, message));
      this.#pending.delete(id);
    }
    if (queuedToo) this.#queued = [];
  }

  // Every subscription ends with its connection: the listeners hear it, so
  // that an app knows to join again (with lastOffset) once it is open.
  #endSubscriptions(message) {
    const ended = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    for (const { plugin, channel } of ended)
      this.#emit("unsubscribed", { id: undefined, plugin, channel, error: { code: "disconnected", message } });
  }

  // A frame whose `subscribed` member says a subscription began or ended.
  #onSubscription(frame) {
    const { id, plugin, channel } = frame;
    const key = channelKey(plugin, channel);
    if (frame.subscribed === true) {
      const next = frame.next;
      this.#subscriptions.set(key, { plugin, channel, next });
      // Resumed in full: the replayed messages move the offset on. Otherwise
      // what came before `next` is seen or gone for good.
      if (Number.isSafeInteger(next) && (frame.lost !== undefined || !this.#offsets.has(key)))
        this.#offsets.set(key, next - 1);
      this.#emit("subscribed", { id, plugin, channel, next, lost: frame.lost });
      return;
    }
    this.#subscriptions.delete(key);
    this.#emit("unsubscribed", { id, plugin, channel, error: frame.error });
  }

  #onPush(frame) {
    const { plugin, channel, offset, data } = frame;
    if (Number.isSafeInteger(offset)) this.#offsets.set(channelKey(plugin, channel), offset);
    this.#emit("push", { plugin, channel, offset, data, missed: frame.missed ?? 0 });
  }

  #onFrame(data) {
    let reply;
    try { reply = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data)); } catch { reply = null; }
    if (!reply || typeof reply !== "object" || Array.isArray(reply)) {
      this.#emit("message", reply ?? data);
      return;
    }
    // By shape first: events and subscribed frames carry a request's id too.
    if ("event" in reply && !("ok" in reply)) {
      const entry = this.#pending.get(reply.id);
      if (entry?.onEvent) {
        try { entry.onEvent(reply.event, reply); } catch (error) { console.error("portico.js: an onEvent handler threw", error); }
      }
      return;  // an event for a request that timed out here, or without onEvent: nothing to do
    }
    if (typeof reply.subscribed === "boolean" && typeof reply.channel === "string") {
      this.#onSubscription(reply);
      return;
    }
    if (typeof reply.channel === "string" && "offset" in reply && "data" in reply && !("ok" in reply)) {
      this.#onPush(reply);
      return;
    }
    const entry = "ok" in reply ? this.#pending.get(reply.id) : undefined;
    if (!entry) {
      this.#emit("message", reply);
      return;
    }
    this.#pending.delete(reply.id);
    clearTimeout(entry.timer);
    if (reply.ok) {
      entry.resolve(reply.result);
      return;
    }
    const { code = "error", message = "the gateway answered with an error", ...extra } = reply.error ?? {};
    entry.reject(new PorticoError(code, message, extra));
  }
}

function channelKey(plugin, channel) { return `${plugin}\u0000${channel}`; }

export default Portico;
