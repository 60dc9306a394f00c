// The protocol v1 client of /ws/transcribe (DESIGN.md section 3): the start and resume
// handshakes, sending audio from the backlog as fast as the socket takes it, acks, keep-alive,
// and reconnecting with back-off when the connection drops. `done` settles once: with the
// `stopped` message, or with a LiveError when the recording cannot go on.

import { AudioBacklog } from "./buffer.js";

const PIECE_BYTES = 32 * 1024; // backlog re-sends go out in pieces at most this big
const HIGH_WATER_BYTES = 256 * 1024; // pause sending while the socket holds this much
const PING_EVERY_MS = 15000;
const SILENCE_LIMIT_MS = 45000; // nothing heard from the server for this long: the link is dead
const HANDSHAKE_LIMIT_MS = 10000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10000;
const START_ATTEMPTS = 5; // connections tried before the server has accepted `start`
const STOP_RECONNECT_LIMIT_MS = 30000; // on Stop, how long to wait for a lost connection
const STOP_REPLY_LIMIT_MS = 120000; // on Stop, how long the server may take to finalise
// Close codes that say the request itself is wrong, or (4409) that another connection resumed
// this recording: retrying cannot help, or would take it back from that connection.
const FATAL_CLOSE_CODES = new Set([4400, 4401, 4403, 4404, 4409, 4413]);
// Error codes that say the session no longer exists: resuming cannot help.
const SESSION_GONE_CODES = new Set([
  "session_not_found", "session_ended", "session_expired", "session_gone", "session_closed",
  "session_completed",
]);

export class LiveError extends Error {
  constructor(kind, code, message) {
    super(message);
    this.kind = kind; // "fatal" | "gone" | "unreachable"
    this.code = code;
  }
}

export class TranscribeClient {
  constructor({ url, startMessage, onState, onEvent, onProgress }) {
    this.url = url;
    this.startMessage = startMessage;
    this.onState = onState;
    this.onEvent = onEvent;
    this.onProgress = onProgress;
    this.state = "idle";
    this.backlog = new AudioBacklog();
    this.sent = 0;
    this.acked = 0;
    this.session = null;
    this.ws = null;
    this.ready = false;
    this.attempts = 0;
    this.failedStarts = 0;
    this.reconnects = 0;
    this.stopping = false;
    this.stopSentOn = null;
    this.finished = false;
    this.lastError = null;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.onOnline = () => this.retryNow();
    window.addEventListener("online", this.onOnline);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  connect() {
    this.setState("connecting");
    this.openSocket();
  }

  openSocket() {
    this.retryTimer = null;
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.ready = false;
    this.lastError = null;
    this.handshakeTimer = setTimeout(() => this.dropSocket(ws, "handshake timeout"), HANDSHAKE_LIMIT_MS);
    ws.onopen = () => {
      const hello = this.session
        ? { type: "resume", session_id: this.session.sessionId, resume_token: this.session.resumeToken }
        : this.startMessage;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (event) => this.onSocketMessage(ws, event);
    ws.onclose = (event) => this.onSocketClose(ws, event.code, event.reason);
    ws.onerror = () => {}; // a close event always follows
  }

  // Give up on a socket that went quiet without closing (a dead network path).
  dropSocket(ws, reason) {
    if (ws !== this.ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    try {
      ws.close(4000, reason);
    } catch {
      // already closing
    }
    this.onSocketClose(ws, 1006, reason);
  }

  onSocketMessage(ws, event) {
    if (ws !== this.ws || typeof event.data !== "string") return;
    this.lastHeard = performance.now();
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      console.warn("mina live: ignoring a message that is not JSON");
      return;
    }
    switch (msg.type) {
      case "started":
        this.session = {
          meetingId: msg.meeting_id,
          sessionId: msg.session_id,
          resumeToken: msg.resume_token,
          engine: msg.engine,
          sampleRate: msg.sample_rate,
        };
        if (msg.sample_rate && msg.sample_rate !== this.startMessage.sample_rate) {
          console.warn(`mina live: server expects ${msg.sample_rate} Hz, sending ${this.startMessage.sample_rate} Hz`);
        }
        this.onReady(ws);
        this.onEvent(msg);
        break;
      case "resumed": {
        const received = Math.max(0, Number(msg.received_bytes) || 0);
        if (received < this.backlog.start) {
          console.warn(`mina live: server resumed at ${received}, oldest kept byte is ${this.backlog.start}`);
        }
        this.backlog.dropBefore(received);
        this.sent = Math.min(Math.max(received, this.backlog.start), this.backlog.end);
        this.acked = Math.max(this.acked, this.sent);
        this.reconnects += 1;
        this.onReady(ws);
        this.onEvent(msg);
        break;
      }
      case "ack": {
        const received = Number(msg.received_bytes) || 0;
        if (received > this.acked) {
          this.acked = Math.min(received, this.sent);
          this.backlog.dropBefore(this.acked);
          this.onProgress();
        }
        break;
      }
      case "error":
        this.lastError = { code: String(msg.code || "error"), message: String(msg.message || "") };
        this.onEvent(msg);
        break;
      case "stopped":
        this.finish("stopped");
        this.onEvent(msg);
        this.resolveDone(msg);
        break;
      case "pong":
        break;
      default:
        this.onEvent(msg); // interim, final, and anything newer
    }
  }

  onReady(ws) {
    clearTimeout(this.handshakeTimer);
    this.ready = true;
    this.attempts = 0;
    this.disconnectedSince = null;
    this.stopSentOn = null;
    this.lastPing = performance.now();
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.keepAlive(ws), 5000);
    this.setState("live");
    this.pump();
  }

  keepAlive(ws) {
    if (ws !== this.ws) return;
    const now = performance.now();
    if (now - this.lastHeard > SILENCE_LIMIT_MS) {
      this.dropSocket(ws, "server silent");
    } else if (now - this.lastPing >= PING_EVERY_MS && ws.readyState === WebSocket.OPEN) {
      this.lastPing = now;
      ws.send(JSON.stringify({ type: "ping" }));
    }
  }

  onSocketClose(ws, code, reason) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.ready = false;
    clearTimeout(this.handshakeTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.pumpTimer);
    if (this.finished) return;
    this.disconnectedSince ??= performance.now();
    const err = this.lastError;
    if (this.session && (code === 4404 || (err && SESSION_GONE_CODES.has(err.code)))) {
      this.fail("gone", err?.code || "session_not_found",
        err?.message || "The server no longer has this recording session.");
      return;
    }
    if (FATAL_CLOSE_CODES.has(code) || (err && SESSION_GONE_CODES.has(err.code))) {
      this.fail("fatal", err?.code || `close_${code}`, err?.message || reason || closeMessage(code));
      return;
    }
    if (!this.session) {
      this.failedStarts += 1;
      if (this.failedStarts >= START_ATTEMPTS) {
        this.fail("unreachable", err?.code || `close_${code}`,
          err?.message || "Could not connect to the transcription server.");
        return;
      }
    }
    this.setState("reconnecting");
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempts);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempts += 1;
    this.retryTimer = setTimeout(() => this.openSocket(), delay);
  }

  retryNow() {
    if (this.retryTimer && !this.finished) {
      clearTimeout(this.retryTimer);
      this.openSocket();
    }
  }

  push(bytes) {
    this.backlog.push(bytes);
    this.pump();
  }

  // Send what the server has not got yet, minding the socket's own buffer; then `stop`.
  pump() {
    clearTimeout(this.pumpTimer);
    const ws = this.ws;
    if (!ws || !this.ready || this.finished || ws.readyState !== WebSocket.OPEN) {
      this.onProgress();
      return;
    }
    while (this.sent < this.backlog.end) {
      if (ws.bufferedAmount > HIGH_WATER_BYTES) {
        this.pumpTimer = setTimeout(() => this.pump(), 40);
        this.onProgress();
        return;
      }
      const piece = this.backlog.read(this.sent, PIECE_BYTES);
      if (!piece) break;
      ws.send(piece);
      this.sent += piece.byteLength;
    }
    this.onProgress();
    if (this.stopping && this.stopSentOn !== ws && this.sent === this.backlog.end) {
      ws.send(JSON.stringify({ type: "stop" }));
      this.stopSentOn = ws;
    }
  }

  // Capture has ended and its last frame is in the backlog: finish the session.
  stop() {
    if (this.finished || this.stopping) return;
    this.stopping = true;
    const stopAskedAt = performance.now();
    this.stopWatch = setInterval(() => {
      const now = performance.now();
      if (!this.ready && this.disconnectedSince != null && now - this.disconnectedSince > STOP_RECONNECT_LIMIT_MS) {
        this.fail("unreachable", "stop_timeout", "The connection to the server could not be restored to finish the recording.");
      } else if (now - stopAskedAt > STOP_RECONNECT_LIMIT_MS + STOP_REPLY_LIMIT_MS) {
        this.fail("unreachable", "stop_timeout", "The server did not confirm the end of the recording in time.");
      }
    }, 1000);
    if (this.state === "reconnecting") this.retryNow();
    this.pump();
  }

  finish(state) {
    this.finished = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.pumpTimer);
    clearInterval(this.pingTimer);
    clearInterval(this.stopWatch);
    window.removeEventListener("online", this.onOnline);
    this.setState(state);
  }

  fail(kind, code, message) {
    if (this.finished) return;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
    this.finish("error");
    this.rejectDone(new LiveError(kind, code, message));
  }
}

function closeMessage(code) {
  return {
    4400: "The server did not accept the recording request.",
    4401: "You are signed out. Log in again to record.",
    4403: "You are not allowed to record in this workspace.",
    4404: "The meeting or recording session was not found.",
    4409: "This recording continues in another window or on another device.",
    4413: "An audio frame was too large for the server.",
  }[code] || `The connection closed unexpectedly (code ${code}).`;
}
