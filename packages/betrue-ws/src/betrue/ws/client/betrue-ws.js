/**
 * betrue-ws.js — the browser client of a betrue WebSocket endpoint (an ES module, no build step).
 *
 *   import { BetrueWs } from "/betrue-ws/betrue-ws.js";
 *   const ws = new BetrueWs("/ws");
 *   ws.on("chat.message", (data) => show(data));
 *   ws.onOpen(() => ws.call("chat/join", { room: "general" }));   // runs again after every reconnect
 *   const { rooms } = await ws.call("chat/rooms");
 *
 * Calls are matched to answers by id, so many can be in flight. A call made while disconnected waits
 * for the next connection (up to its timeout). The connection comes back by itself, with exponential
 * backoff and jitter, until close() is called. Given a list of URLs (several servers of one app), it
 * connects to the first and, whenever a connection drops or fails, to the next one in turn:
 *
 *   const ws = new BetrueWs(["wss://a.example.com/ws", "wss://b.example.com/ws"]);
 */

/** The error a call rejects with: the envelope's code, status, details and trace id. */
export class BetrueWsError extends Error {
  constructor(envelope) {
    const error = envelope.error || {};
    super(error.message || envelope.status || "Error");
    this.name = "BetrueWsError";
    this.code = envelope.code;
    this.status = envelope.status;
    this.details = error.details;
    this.traceId = envelope.traceId;
  }
}

function lostError(message, reason) {
  return new BetrueWsError({ code: 503, status: "ServiceUnavailable", error: { message, details: { reason } } });
}

function absoluteUrl(url) {
  if (/^wss?:\/\//.test(url)) return url;
  const resolved = new URL(url, globalThis.location ? globalThis.location.href : undefined);
  resolved.protocol = resolved.protocol === "https:" ? "wss:" : "ws:";
  return resolved.href;
}

export class BetrueWs {
  /**
   * @param {string | string[]} url  "/ws", "https://host/ws", "wss://host/ws", or a list of them (tried in turn)
   * @param {{minDelay?: number, maxDelay?: number, timeout?: number, meta?: object}} options
   *   minDelay/maxDelay bound the reconnection backoff (ms); timeout is a call's default (ms);
   *   meta is sent with every call (e.g. a token).
   */
  constructor(url = "/ws", options = {}) {
    /** Every server to connect to; ``url`` is the one in use. */
    this.urls = (Array.isArray(url) ? url : [url]).map(absoluteUrl);
    if (!this.urls.length) throw new Error("BetrueWs: no URL to connect to");
    this.url = this.urls[0];
    this.minDelay = options.minDelay ?? 250;
    this.maxDelay = options.maxDelay ?? 10000;
    this.timeout = options.timeout ?? 30000;
    this.meta = options.meta ?? null;
    /** "connecting" | "open" | "closed" */
    this.state = "connecting";
    this.socket = null;
    this._nextId = 1;
    this._pending = new Map(); // id -> { resolve, reject, timer, frame, sent }
    this._handlers = new Map(); // event name (or "*") -> Set of functions
    this._openHandlers = new Set();
    this._closeHandlers = new Set();
    this._attempt = 0;
    this._retryTimer = null;
    this._stopped = false;
    this._connect();
  }

  /** Call a command; resolves with its result, rejects with a BetrueWsError. */
  call(command, params = {}, { timeout = this.timeout, meta = null } = {}) {
    const id = this._nextId++;
    const frame = { id, command, params };
    const allMeta = meta || this.meta ? { ...(this.meta || {}), ...(meta || {}) } : null;
    if (allMeta) frame.meta = allMeta;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new BetrueWsError({ code: 504, status: "GatewayTimeout", error: { message: `no answer to ${command}` } }));
      }, timeout);
      const call = { resolve, reject, timer, frame: JSON.stringify(frame), sent: false };
      this._pending.set(id, call);
      if (this._stopped) {
        this._settle(id, null, lostError("the client was closed", "closed"));
      } else if (this.state === "open") {
        this._send(call);
      }
    });
  }

  /** Listen to a pushed event ("*" for all); fn(data, name). Returns a function that stops listening. */
  on(event, fn) {
    if (!this._handlers.has(event)) this._handlers.set(event, new Set());
    this._handlers.get(event).add(fn);
    return () => this.off(event, fn);
  }

  off(event, fn) {
    const handlers = this._handlers.get(event);
    if (handlers) handlers.delete(fn);
  }

  /** fn() runs on every (re)connection: the place to log in and join rooms again. */
  onOpen(fn) {
    this._openHandlers.add(fn);
    if (this.state === "open") this._run(fn);
    return () => this._openHandlers.delete(fn);
  }

  /** fn({code, reason, reconnecting, next}) runs whenever the connection drops; ``next`` is the URL tried next. */
  onClose(fn) {
    this._closeHandlers.add(fn);
    return () => this._closeHandlers.delete(fn);
  }

  /** Close for good: no reconnection; calls still waiting are rejected. */
  close() {
    this._stopped = true;
    clearTimeout(this._retryTimer);
    if (this.socket) this.socket.close(1000, "client closed");
    for (const id of [...this._pending.keys()]) this._settle(id, null, lostError("the client was closed", "closed"));
    this.state = "closed";
  }

  _connect() {
    this.state = "connecting";
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.state = "open";
      this._attempt = 0;
      for (const fn of this._openHandlers) this._run(fn);
      for (const call of this._pending.values()) if (!call.sent) this._send(call);
    };
    socket.onmessage = (message) => this._receive(message.data);
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.state = this._stopped ? "closed" : "connecting";
      // A call that was sent may or may not have run: it fails rather than being sent twice.
      for (const [id, call] of [...this._pending]) {
        if (call.sent) this._settle(id, null, lostError("connection lost before the answer", "connection_lost"));
      }
      this.url = this.urls[(this.urls.indexOf(this.url) + 1) % this.urls.length]; // the next server, in turn
      const info = { code: event.code, reason: event.reason, reconnecting: !this._stopped, next: this.url };
      for (const fn of this._closeHandlers) this._run(fn, info);
      if (!this._stopped) this._scheduleReconnect();
    };
  }

  _scheduleReconnect() {
    const ceiling = Math.min(this.maxDelay, this.minDelay * 2 ** this._attempt);
    this._attempt += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2); // jitter: clients do not come back in step
    this._retryTimer = setTimeout(() => this._connect(), delay);
  }

  _send(call) {
    call.sent = true;
    this.socket.send(call.frame);
  }

  _receive(text) {
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return;
    }
    if (body.event !== undefined && body.id === undefined) {
      for (const key of [body.event, "*"]) {
        const handlers = this._handlers.get(key);
        if (handlers) for (const fn of handlers) this._run(fn, body.data, body.event);
      }
      return;
    }
    if (body.error !== undefined) this._settle(body.id, null, new BetrueWsError(body));
    else this._settle(body.id, body.result, null);
  }

  _settle(id, result, error) {
    const call = this._pending.get(id);
    if (!call) return;
    this._pending.delete(id);
    clearTimeout(call.timer);
    if (error) call.reject(error);
    else call.resolve(result);
  }

  _run(fn, ...args) {
    try {
      const result = fn(...args);
      if (result && typeof result.catch === "function") result.catch((error) => console.error(error));
    } catch (error) {
      console.error(error);
    }
  }
}

globalThis.BetrueWs = BetrueWs;
export default BetrueWs;
