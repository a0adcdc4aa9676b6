/**
 * tidal.js: the browser client for Tidal channels. An ES module, no build step.
 *
 *   import { connect } from "/_tidal/static/tidal/tidal.js";
 *
 *   const socket = connect();                         // this site's /_tidal/socket
 *   const board = socket.channel("board:7", { view: "compact" });  // join payload
 *   board.on("card:moved", (data, frame) => render(data));
 *   board.onPresence((state, diff) => showWhoIsHere(state));
 *   board.onGone(() => reloadBoard());                // history too old: reload state
 *   const welcome = await board.join();               // the join handler's return value
 *   const answer = await board.push("card:move", { card: 3, to: "done" });
 *   board.leave();
 *
 * One WebSocket carries every channel of the page. When it drops, it reconnects with
 * exponential backoff and jitter, rejoins each channel with the id of the last event it
 * received (`since`), and the server replays what was missed, so the page catches up
 * without reloading. When the missed events are no longer kept, `onGone` listeners run
 * (by default the page reloads). Heartbeats detect a dead connection.
 *
 * The wire protocol is documented in tidal/realtime/protocol.py.
 */

const FINAL_CODES = new Set([1000, 1008]); // closed on purpose or refused: do not retry

/** Compare two event ids ("<ms>-<seq>"): negative, zero or positive. */
export function compareIds(a, b) {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am === bm ? as - bs : am - bm;
}

/** Open a socket. Options: url (default: this site's path), path ("/_tidal/socket"),
 * heartbeat (ms between heartbeats, 25000), timeout (ms to wait for a reply, 10000),
 * backoff ({min: 500, max: 15000} ms between reconnection attempts), csrfToken (sent
 * first on every connection for session-authenticated sockets; default: the content of
 * <meta name="csrf-token">). */
export function connect(options = {}) {
  return new Socket(options);
}

export class Socket {
  constructor({
    url,
    path = "/_tidal/socket",
    heartbeat = 25000,
    timeout = 10000,
    backoff = {},
    csrfToken,
  } = {}) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = url || `${scheme}//${location.host}${path}`;
    this.heartbeatInterval = heartbeat;
    this.timeout = timeout;
    this.backoff = { min: backoff.min ?? 500, max: backoff.max ?? 15000 };
    this.csrfToken =
      csrfToken ?? document.querySelector('meta[name="csrf-token"]')?.getAttribute("content");
    this.channels = new Map();
    this.pending = new Map();
    this.statusListeners = new Set();
    this.errorListeners = new Set();
    this.status = "connecting";
    this.attempts = 0;
    this.nextRef = 1;
    this.ws = null;
    this.stopped = false;
    this.heartbeatTimer = null;
    this.reconnectTimer = null;
    this.awaitingHeartbeat = null;
    this.open();
  }

  /** The channel for `topic` (created once per topic); call `join()` on it. */
  channel(topic, payload = {}) {
    let channel = this.channels.get(topic);
    if (!channel) {
      channel = new Channel(this, topic, payload);
      this.channels.set(topic, channel);
    } else {
      channel.payload = payload;
    }
    return channel;
  }

  /** `fn(status)` on "connecting", "open", "closed" (given up: refused, or disconnect()). */
  onStatus(fn) {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  /** `fn(frame)` for error frames that answer no request. */
  onError(fn) {
    this.errorListeners.add(fn);
    return () => this.errorListeners.delete(fn);
  }

  /** Close for good (no reconnection). */
  disconnect() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    if (this.ws) this.ws.close(1000);
    this.setStatus("closed");
  }

  // -- internals ---------------------------------------------------------------------

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    for (const fn of this.statusListeners) fn(status);
  }

  open() {
    if (this.stopped) return;
    this.setStatus("connecting");
    const ws = new WebSocket(this.url, ["tidal.v1"]);
    this.ws = ws;
    ws.onopen = () => {
      if (this.csrfToken) this.send({ type: "auth", csrf_token: this.csrfToken });
      this.attempts = 0;
      this.setStatus("open");
      this.startHeartbeat();
      for (const channel of this.channels.values()) {
        if (channel.wanted) channel.sendJoin();
      }
    };
    ws.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      this.dispatch(frame);
    };
    ws.onclose = (event) => this.closed(ws, event.code);
  }

  closed(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.heartbeatTimer);
    this.awaitingHeartbeat = null;
    for (const [ref, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new TidalError("disconnected", "The connection closed before a reply."));
      this.pending.delete(ref);
    }
    for (const channel of this.channels.values()) channel.joined = false;
    if (this.stopped || FINAL_CODES.has(code)) {
      this.stopped = true;
      this.setStatus("closed");
      return;
    }
    this.setStatus("connecting");
    // 1012: the server restarts, come back quickly (possibly to another worker).
    const base = code === 1012 ? this.backoff.min : this.backoff.min * 2 ** this.attempts;
    const delay = Math.min(this.backoff.max, base) * (0.5 + Math.random() / 2);
    this.attempts += 1;
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  startHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (this.awaitingHeartbeat !== null) {
        // No answer to the last heartbeat: the connection is dead; start over.
        this.awaitingHeartbeat = null;
        if (this.ws) this.ws.close(4000, "heartbeat timeout");
        return;
      }
      const ref = this.makeRef();
      this.awaitingHeartbeat = ref;
      this.send({ type: "heartbeat", ref });
    }, this.heartbeatInterval);
  }

  makeRef() {
    const ref = this.nextRef;
    this.nextRef += 1;
    return ref;
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  request(frame) {
    const ref = this.makeRef();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new TidalError("timeout", `No reply to ${frame.type} within ${this.timeout} ms.`));
      }, this.timeout);
      this.pending.set(ref, { resolve, reject, timer });
      if (!this.send({ ...frame, ref })) {
        clearTimeout(timer);
        this.pending.delete(ref);
        reject(new TidalError("disconnected", "Not connected."));
      }
    });
  }

  dispatch(frame) {
    const waiter = frame.ref != null ? this.pending.get(frame.ref) : undefined;
    switch (frame.type) {
      case "heartbeat":
        if (frame.ref === this.awaitingHeartbeat) this.awaitingHeartbeat = null;
        return;
      case "reply":
        if (waiter) {
          this.pending.delete(frame.ref);
          clearTimeout(waiter.timer);
          waiter.resolve(frame);
        }
        return;
      case "error":
        if (waiter) {
          this.pending.delete(frame.ref);
          clearTimeout(waiter.timer);
          waiter.reject(new TidalError(frame.code, frame.message));
        } else {
          for (const fn of this.errorListeners) fn(frame);
          if (!this.errorListeners.size) console.warn("tidal:", frame.code, frame.message);
        }
        return;
      default: {
        const channel = this.channels.get(frame.topic);
        if (channel) channel.receive(frame);
      }
    }
  }
}

export class Channel {
  constructor(socket, topic, payload) {
    this.socket = socket;
    this.topic = topic;
    this.payload = payload;
    this.lastId = null;
    this.wanted = false;
    this.joined = false;
    this.listeners = new Map();
    this.presenceListeners = new Set();
    this.goneListeners = new Set();
    this.joinListeners = new Set();
    this.leftListeners = new Set();
    this.state = new Map(); // presence: key -> Map(ref -> meta)
    this.waiting = []; // pushes made before the join completed
  }

  /** Join (and rejoin after every reconnection); resolves with the join reply payload
   * of the first join, rejects when the server refuses. */
  join() {
    this.wanted = true;
    return new Promise((resolve, reject) => {
      const once = (ok, value) => {
        this.joinListeners.delete(once);
        (ok ? resolve : reject)(value);
      };
      this.joinListeners.add(once);
      if (this.socket.status === "open") this.sendJoin();
    });
  }

  leave() {
    this.wanted = false;
    this.joined = false;
    this.socket.channels.delete(this.topic);
    return this.socket.request({ type: "leave", topic: this.topic }).catch(() => undefined);
  }

  /** `fn(data, frame)` for each `event` on this topic; returns an unsubscribe function. */
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event).delete(fn);
  }

  /** `fn(state, diff)` when presence changes: state is `{key: [meta, ...]}`. */
  onPresence(fn) {
    this.presenceListeners.add(fn);
    return () => this.presenceListeners.delete(fn);
  }

  /** `fn()` when events were lost for good: reload this topic's state. Without any
   * listener the page reloads. */
  onGone(fn) {
    this.goneListeners.add(fn);
    return () => this.goneListeners.delete(fn);
  }

  /** `fn(reason)` when the server takes this socket out of the topic (its rights
   * changed), or refuses to let it rejoin after a reconnection; the channel is not
   * rejoined. */
  onLeft(fn) {
    this.leftListeners.add(fn);
    return () => this.leftListeners.delete(fn);
  }

  /** Send `event` with `payload`; resolves with the handler's return value, rejects with
   * a TidalError when refused. Waits for the join if it is not complete yet. */
  async push(event, payload = null) {
    if (!this.joined) {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new TidalError("timeout", `Not joined to ${this.topic}.`)),
          this.socket.timeout,
        );
        this.waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const reply = await this.socket.request({ type: "event", topic: this.topic, event, payload });
    if (reply.status !== "ok") throw new TidalError("refused", reply.payload?.reason ?? "refused");
    return reply.payload;
  }

  /** Everyone here now: `{key: [meta, ...]}`. */
  presence() {
    const state = {};
    for (const [key, metas] of this.state) state[key] = [...metas.values()];
    return state;
  }

  // -- internals ---------------------------------------------------------------------

  sendJoin() {
    const frame = { type: "join", topic: this.topic, payload: this.payload };
    if (this.lastId !== null) frame.since = this.lastId;
    this.socket.request(frame).then(
      (reply) => {
        if (reply.status !== "ok") {
          this.wanted = false;
          const reason = reply.payload?.reason ?? "refused";
          if (this.joinListeners.size) {
            this.settleJoin(false, new TidalError("refused", reason));
          } else {
            // A rejoin after reconnecting was refused (signed out meanwhile, or no longer
            // allowed): the page is out of the topic, as when the server removes it.
            this.socket.channels.delete(this.topic);
            for (const fn of this.leftListeners) fn(reason);
          }
          return;
        }
        this.joined = true;
        this.lastId = reply.id ?? this.lastId;
        if (reply.gone) this.gone();
        this.settleJoin(true, reply.payload);
        for (const wake of this.waiting.splice(0)) wake();
      },
      (error) => {
        if (error.code !== "disconnected") this.settleJoin(false, error);
      },
    );
  }

  settleJoin(ok, value) {
    for (const fn of [...this.joinListeners]) fn(ok, value);
  }

  gone() {
    if (!this.goneListeners.size) {
      location.reload();
      return;
    }
    for (const fn of this.goneListeners) fn();
  }

  receive(frame) {
    switch (frame.type) {
      case "event": {
        if (frame.id) {
          if (this.lastId !== null && compareIds(frame.id, this.lastId) <= 0) return;
          this.lastId = frame.id;
        }
        for (const fn of this.listeners.get(frame.event) ?? []) fn(frame.data, frame);
        return;
      }
      case "presence":
        this.applyPresence(frame);
        return;
      case "gone":
        this.lastId = frame.id;
        this.gone();
        return;
      case "left":
        this.wanted = false;
        this.joined = false;
        this.socket.channels.delete(this.topic);
        for (const fn of this.leftListeners) fn(frame.reason);
        return;
      default:
    }
  }

  applyPresence(frame) {
    if (frame.state) {
      this.state = new Map();
      this.merge(frame.state);
    } else {
      for (const [key, metas] of Object.entries(frame.leaves ?? {})) {
        const here = this.state.get(key);
        if (!here) continue;
        for (const meta of metas) here.delete(meta.ref);
        if (!here.size) this.state.delete(key);
      }
      this.merge(frame.joins ?? {});
    }
    const state = this.presence();
    for (const fn of this.presenceListeners) fn(state, frame);
  }

  merge(entries) {
    for (const [key, metas] of Object.entries(entries)) {
      if (!this.state.has(key)) this.state.set(key, new Map());
      for (const meta of metas) this.state.get(key).set(meta.ref, meta);
    }
  }
}

export class TidalError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "TidalError";
    this.code = code;
  }
}
