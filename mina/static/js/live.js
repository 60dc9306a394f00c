// The live page: microphone (and optionally tab) audio -> 16 kHz PCM s16le frames
// -> WebSocket /ws/transcribe (DESIGN.md section 3) -> transcript on screen.
//
// Every byte captured stays in a client-side backlog until an `ack` covers it, so when the
// connection drops, capture carries on and the backlog is re-sent from exactly the offset
// the server reports in `resumed`: no gap, no duplicate.

const TARGET_RATE = 16000;
const FRAME_SAMPLES = 1600; // 100 ms
const BYTES_PER_SECOND = TARGET_RATE * 2;
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
// Close codes that say the request itself is wrong: retrying cannot help.
const FATAL_CLOSE_CODES = new Set([4400, 4401, 4403, 4404, 4413]);
// Error codes that say the session no longer exists: resuming cannot help.
const SESSION_GONE_CODES = new Set([
  "session_not_found", "session_ended", "session_expired", "session_gone", "session_closed",
  "session_completed",
]);

const WORKLET_URL = new URL(`./pcm-worklet.js${new URL(import.meta.url).search}`, import.meta.url);

// ---------------------------------------------------------------------------------------
// Formatting

function formatClock(ms) {
  const total = Math.max(0, Math.floor((ms || 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${String(m).padStart(2, "0")}:${s}`;
}

function formatDuration(ms) {
  // Like the server's `duration` filter: 4:05, 1:02:03.
  const total = Math.max(0, Math.floor((ms || 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

const normalWord = (w) => w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, "");

// `text` with the words of `prefix` removed from its front, or null when it does not start so.
function dropLeadingWords(text, prefix) {
  const want = prefix.split(/\s+/).map(normalWord).filter(Boolean);
  const re = /\S+/g;
  let i = 0;
  let cut = 0;
  let match;
  while (i < want.length && (match = re.exec(text))) {
    const w = normalWord(match[0]);
    if (!w) continue;
    if (w !== want[i]) return null;
    i += 1;
    cut = match.index + match[0].length;
  }
  return i === want.length ? text.slice(cut).trimStart() : null;
}

// ---------------------------------------------------------------------------------------
// Audio not yet acknowledged, addressed by byte offset from the start of the session.

class AudioBacklog {
  constructor() {
    this.items = []; // {offset, bytes: Uint8Array}, contiguous
    this.head = 0;
    this.end = 0; // offset just past the last captured byte
  }

  get start() {
    return this.head < this.items.length ? this.items[this.head].offset : this.end;
  }

  get size() {
    return this.end - this.start;
  }

  push(bytes) {
    if (!bytes.byteLength) return;
    this.items.push({ offset: this.end, bytes });
    this.end += bytes.byteLength;
  }

  dropBefore(offset) {
    const { items } = this;
    while (this.head < items.length) {
      const item = items[this.head];
      if (item.offset + item.bytes.byteLength <= offset) {
        items[this.head] = undefined;
        this.head += 1;
        continue;
      }
      if (item.offset < offset) {
        items[this.head] = { offset, bytes: item.bytes.subarray(offset - item.offset) };
      }
      break;
    }
    if (this.head > 256 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
  }

  // Up to `max` bytes starting at `offset` (a view when one chunk holds them, else a copy).
  read(offset, max) {
    const { items } = this;
    let lo = this.head;
    let hi = items.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const item = items[mid];
      if (item.offset + item.bytes.byteLength <= offset) lo = mid + 1;
      else if (item.offset > offset) hi = mid - 1;
      else {
        found = mid;
        break;
      }
    }
    if (found < 0) return null;
    const first = items[found];
    const skip = offset - first.offset;
    const inFirst = first.bytes.byteLength - skip;
    if (inFirst >= max || found === items.length - 1) {
      return first.bytes.subarray(skip, skip + Math.min(inFirst, max));
    }
    const out = new Uint8Array(Math.min(max, this.end - offset));
    let filled = 0;
    for (let i = found, from = skip; filled < out.length; i += 1, from = 0) {
      const bytes = items[i].bytes;
      const n = Math.min(bytes.byteLength - from, out.length - filled);
      out.set(bytes.subarray(from, from + n), filled);
      filled += n;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------
// Capture: microphone (+ tab audio) -> AudioWorklet -> 16 kHz PCM frames.

class Capture {
  constructor({ onFrame, onLevel, onNotice }) {
    this.onFrame = onFrame;
    this.onLevel = onLevel;
    this.onNotice = onNotice;
    this.streams = [];
    this.flushWaiters = [];
  }

  // Call straight from a click handler: the AudioContext and the screen-share prompt need
  // the user's gesture, so both happen before the first await.
  async start({ deviceId, withTab }) {
    const ctx = new AudioContext({ latencyHint: "interactive" });
    this.ctx = ctx;
    try {
      let tabStream = null;
      if (withTab) {
        try {
          tabStream = await navigator.mediaDevices.getDisplayMedia({ audio: true, video: true });
        } catch (err) {
          if (err.name !== "NotAllowedError" && err.name !== "AbortError") throw err;
          this.onNotice("Tab or screen sharing was cancelled, so only the microphone is recorded.");
        }
      }
      if (tabStream) {
        this.streams.push(tabStream);
        tabStream.getVideoTracks().forEach((t) => t.stop());
        if (!tabStream.getAudioTracks().length) {
          this.onNotice("No tab or screen audio was shared, so only the microphone is recorded. "
            + "To include it, share a tab with \u201cShare tab audio\u201d switched on.");
          tabStream = null;
        }
      }
      const mic = await this.openMicrophone(deviceId);
      this.streams.push(mic);
      this.mic = mic;

      await ctx.audioWorklet.addModule(WORKLET_URL);
      const node = new AudioWorkletNode(ctx, "pcm-encoder", {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        processorOptions: { targetRate: TARGET_RATE, frameSamples: FRAME_SAMPLES },
      });
      node.port.onmessage = (event) => this.onWorkletMessage(event.data);
      this.node = node;

      const micSource = ctx.createMediaStreamSource(mic);
      micSource.connect(node);
      mic.getAudioTracks()[0]?.addEventListener("ended", () => {
        this.onNotice("The microphone stopped delivering audio (was it unplugged?). "
          + "Recording continues; stop and start again to pick another microphone.");
      });
      if (tabStream) {
        const tabSource = ctx.createMediaStreamSource(tabStream);
        tabSource.connect(node);
        tabStream.getAudioTracks()[0].addEventListener("ended", () => {
          this.onNotice("Tab audio sharing ended; the microphone is still being recorded.");
        });
      }
      // The node must reach the destination to be pulled; its output is silence anyway.
      const sink = ctx.createGain();
      sink.gain.value = 0;
      node.connect(sink).connect(ctx.destination);
      await ctx.resume();
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  async openMicrophone(deviceId) {
    const audio = {
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
      channelCount: 1,
    };
    if (deviceId) {
      try {
        return await navigator.mediaDevices.getUserMedia({ audio: { ...audio, deviceId: { exact: deviceId } } });
      } catch (err) {
        if (err.name !== "OverconstrainedError" && err.name !== "NotFoundError") throw err;
        this.onNotice("The chosen microphone is not available; using the default one.");
      }
    }
    return navigator.mediaDevices.getUserMedia({ audio });
  }

  get deviceId() {
    return this.mic?.getAudioTracks()[0]?.getSettings().deviceId || "";
  }

  onWorkletMessage(data) {
    if (data.type === "frame") {
      this.onFrame(new Uint8Array(data.buffer));
      this.onLevel(data.rms, data.peak);
    } else if (data.type === "flushed") {
      this.flushWaiters.splice(0).forEach((resolve) => resolve());
    }
  }

  // Resolves once the worklet has posted its last, partial frame.
  flush() {
    if (!this.node) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushWaiters.push(resolve);
      this.node.port.postMessage({ type: "flush" });
      setTimeout(resolve, 1000);
    });
  }

  stop() {
    if (this.node) {
      this.node.port.postMessage({ type: "close" });
      this.node.port.onmessage = null;
      this.node.disconnect();
      this.node = null;
    }
    this.streams.forEach((s) => s.getTracks().forEach((t) => t.stop()));
    this.streams = [];
    if (this.ctx && this.ctx.state !== "closed") this.ctx.close().catch(() => {});
    this.flushWaiters.splice(0).forEach((resolve) => resolve());
  }
}

// ---------------------------------------------------------------------------------------
// The protocol client: start/resume handshakes, sending from the backlog, reconnects.

class LiveError extends Error {
  constructor(kind, code, message) {
    super(message);
    this.kind = kind; // "fatal" | "gone" | "unreachable"
    this.code = code;
  }
}

class TranscribeClient {
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
        if (msg.sample_rate && msg.sample_rate !== TARGET_RATE) {
          console.warn(`mina live: server expects ${msg.sample_rate} Hz, sending ${TARGET_RATE} Hz`);
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
    4413: "An audio frame was too large for the server.",
  }[code] || `The connection closed unexpectedly (code ${code}).`;
}

function describeMediaError(err) {
  switch (err && err.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Microphone access was blocked. Allow the microphone for this site in the browser's settings, then try again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found. Connect one and try again.";
    case "NotReadableError":
    case "AbortError":
      return "The microphone could not be opened; another application may be using it.";
    default:
      return `Could not start the recording: ${err && err.message ? err.message : err}`;
  }
}

// ---------------------------------------------------------------------------------------
// The page.

const STATE_TEXT = {
  idle: "Idle",
  connecting: "Connecting\u2026",
  live: "Live",
  reconnecting: "Reconnecting\u2026",
  stopped: "Stopped",
  error: "Error",
};

const $ = (id) => document.getElementById(id);

class LivePage {
  constructor() {
    this.el = {
      app: $("live-app"),
      status: $("live-status"),
      statusText: $("live-status-text"),
      timer: $("live-timer"),
      title: $("live-title"),
      mic: $("live-mic"),
      tab: $("live-tab"),
      tabHint: $("live-tab-hint"),
      summary: $("live-summary"),
      start: $("live-start"),
      stop: $("live-stop"),
      meter: $("live-meter"),
      canvas: $("live-meter-canvas"),
      phaseNote: $("live-phase-note"),
      backlog: $("live-backlog"),
      error: $("live-error"),
      errorText: $("live-error-text"),
      errorLink: $("live-error-link"),
      notice: $("live-notice"),
      transcript: $("live-transcript"),
      finals: $("live-finals"),
      interim: $("live-interim"),
      interimTime: $("live-interim-time"),
      interimConfirmed: $("live-interim-confirmed"),
      interimProvisional: $("live-interim-provisional"),
      empty: $("live-empty"),
      counts: $("live-counts"),
      jump: $("live-jump"),
      result: $("live-result"),
      resultHeading: $("live-result-heading"),
      resultTitle: $("live-result-title"),
      resultDuration: $("live-result-duration"),
      resultSegments: $("live-result-segments"),
      resultWords: $("live-result-words"),
      meetingLink: $("live-meeting-link"),
    };
    this.debug = {
      state: "idle",
      phase: "idle",
      meetingId: null,
      sessionId: null,
      engine: null,
      finals: [],
      interim: "",
      interimConfirmed: "",
      acked: 0,
      sent: 0,
      captured: 0,
      reconnects: 0,
      level: 0,
      error: null,
      stopped: null,
    };
    window.minaLive = this.debug;
    this.phase = "idle";
    this.segments = new Map();
    this.interim = null;
    this.stick = true;
    this.levels = [];
    this.baseTitle = document.title;
    this.setState("idle");
    this.bind();
    this.setupMeter();
    this.setupDevices();
  }

  bind() {
    const { el } = this;
    el.start.addEventListener("click", () => this.start());
    el.stop.addEventListener("click", () => this.stop());
    $("live-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
    el.mic.addEventListener("change", () => {
      try {
        localStorage.setItem("mina.live.mic", el.mic.value);
      } catch {
        // storage unavailable: the choice just isn't remembered
      }
    });
    el.transcript.addEventListener("scroll", () => {
      const t = el.transcript;
      this.stick = t.scrollHeight - t.scrollTop - t.clientHeight < 48;
      if (this.stick) el.jump.hidden = true;
    }, { passive: true });
    el.jump.addEventListener("click", () => {
      this.stick = true;
      this.scrollToEnd();
    });
    window.addEventListener("beforeunload", (event) => {
      if (this.phase === "starting" || this.phase === "recording" || this.phase === "stopping") {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.phase === "recording") {
        this.holdWakeLock();
        this.capture?.ctx?.resume().catch(() => {});
      }
    });
  }

  // -- devices --------------------------------------------------------------------------

  setupDevices() {
    const { el } = this;
    const media = navigator.mediaDevices;
    if (!media || !media.getUserMedia) {
      this.showError(window.isSecureContext
        ? "This browser cannot record audio."
        : "Recording needs a secure connection: open Mina over HTTPS (or on localhost).");
      el.start.disabled = true;
      el.mic.disabled = true;
      el.tab.disabled = true;
      return;
    }
    if (!media.getDisplayMedia) {
      el.tab.disabled = true;
      el.tabHint.textContent = "This browser cannot share tab or screen audio.";
    }
    let saved = "";
    try {
      saved = localStorage.getItem("mina.live.mic") || "";
    } catch {
      // no storage
    }
    this.refreshDevices(saved);
    media.addEventListener?.("devicechange", () => this.refreshDevices());
  }

  async refreshDevices(prefer) {
    const select = this.el.mic;
    let devices = [];
    try {
      devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audioinput");
    } catch {
      return;
    }
    const want = prefer ?? select.value;
    const options = [new Option("Default microphone", "")];
    let n = 0;
    for (const d of devices) {
      if (d.deviceId === "default") {
        if (d.label) options[0].text = d.label.startsWith("Default") ? d.label : `Default: ${d.label}`;
        continue;
      }
      if (d.deviceId === "communications" || !d.deviceId) continue;
      n += 1;
      options.push(new Option(d.label || `Microphone ${n}`, d.deviceId));
    }
    select.replaceChildren(...options);
    select.value = options.some((o) => o.value === want) ? want : "";
  }

  // -- recording --------------------------------------------------------------------------

  start() {
    if (this.phase !== "idle" && this.phase !== "done") return;
    const { el } = this;
    this.client = null;
    this.capture = null;
    this.resetTranscript();
    this.hideError();
    this.hideNotice();
    el.result.hidden = true;
    this.debug.stopped = null;
    this.debug.error = null;
    this.debug.meetingId = null;
    this.debug.sessionId = null;
    this.setPhase("starting");

    const title = el.title.value.trim();
    const startMessage = { type: "start", language: "en", sample_rate: TARGET_RATE, encoding: "pcm_s16le" };
    if (title) startMessage.title = title;
    const meetingId = Number(new URLSearchParams(location.search).get("meeting_id"));
    if (Number.isInteger(meetingId) && meetingId > 0) startMessage.meeting_id = meetingId;

    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const client = new TranscribeClient({
      url: `${scheme}://${location.host}/ws/transcribe`,
      startMessage,
      onState: (state) => this.setState(state),
      onEvent: (msg) => this.onEvent(msg),
      onProgress: () => this.onProgress(),
    });
    const capture = new Capture({
      onFrame: (bytes) => client.push(bytes),
      onLevel: (rms) => this.onLevel(rms),
      onNotice: (text) => this.showNotice(text),
    });
    this.client = client;
    this.capture = capture;
    // No await before this call: it needs the click's user activation.
    capture.start({ deviceId: el.mic.value, withTab: el.tab.checked && !el.tab.disabled }).then(
      () => {
        if (this.capture !== capture) return;
        // Labels appear once permission is granted; show the device really in use if one was picked.
        this.refreshDevices(el.mic.value ? capture.deviceId : "");
        client.connect();
        client.done.then((msg) => this.onStopped(msg), (err) => this.onFailed(err));
        this.startedAt = performance.now();
        this.tick = setInterval(() => this.updateTimer(), 250);
        this.updateTimer();
        this.setPhase("recording");
        this.holdWakeLock();
        el.stop.focus();
      },
      (err) => {
        if (this.capture !== capture) return;
        this.capture = null;
        this.client = null;
        this.showError(describeMediaError(err));
        this.setPhase("idle");
      },
    );
  }

  async stop() {
    if (this.phase !== "recording") return;
    this.setPhase("stopping");
    this.stopClock();
    const { capture, client } = this;
    await capture.flush();
    capture.stop();
    client.stop();
  }

  onStopped(msg) {
    this.debug.stopped = msg;
    this.endRecording();
    const { el } = this;
    const meetingId = msg.meeting_id ?? this.debug.meetingId;
    el.resultTitle.textContent = el.title.value.trim() || "Your recording";
    el.resultDuration.textContent = formatDuration(msg.duration_ms);
    el.resultSegments.textContent = (msg.segments ?? this.segments.size).toLocaleString();
    el.resultWords.textContent = (msg.words ?? 0).toLocaleString();
    el.meetingLink.href = `/dashboard/meeting/${meetingId}`;
    el.result.hidden = false;
    el.resultHeading.focus();
    this.sync();
  }

  onFailed(err) {
    this.capture?.stop();
    this.endRecording();
    this.debug.error = { kind: err.kind, code: err.code, message: err.message };
    const meetingId = this.debug.meetingId;
    let text = err.message;
    if (err.kind === "gone") {
      text = `The recording ended on the server and could not be resumed: ${err.message} `
        + "Everything the server received is saved in the meeting.";
    } else if (err.kind === "unreachable" && meetingId != null) {
      text = `${err.message} The audio the server confirmed is saved, and the meeting will be completed automatically.`;
    }
    this.showError(text, meetingId != null ? `/dashboard/meeting/${meetingId}` : null);
    this.sync();
  }

  endRecording() {
    this.stopClock();
    this.setPhase("done");
    this.setInterim(null);
    this.releaseWakeLock();
    this.el.empty.hidden = this.segments.size > 0;
    this.debug.level = 0;
    this.el.meter.setAttribute("aria-valuenow", "0");
    this.el.meter.dataset.level = "0";
    this.levels.push(0);
    this.drawMeter();
  }

  stopClock() {
    clearInterval(this.tick);
    this.tick = null;
  }

  updateTimer() {
    if (this.startedAt == null) return;
    this.el.timer.textContent = formatClock(performance.now() - this.startedAt);
  }

  setPhase(phase) {
    const { el } = this;
    this.phase = phase;
    this.debug.phase = phase;
    el.app.dataset.phase = phase;
    const busy = phase === "starting" || phase === "recording" || phase === "stopping";
    el.start.disabled = busy;
    el.stop.disabled = phase !== "recording";
    el.title.disabled = busy;
    el.mic.disabled = busy;
    el.tab.disabled = busy || !navigator.mediaDevices?.getDisplayMedia;
    el.phaseNote.textContent = {
      starting: "Waiting for the microphone\u2026",
      stopping: "Finishing the transcript\u2026",
    }[phase] || "";
    el.phaseNote.hidden = !el.phaseNote.textContent;
    if (busy) {
      const title = el.title.value.trim();
      const mic = el.mic.selectedOptions[0]?.text || "Default microphone";
      el.summary.replaceChildren(
        Object.assign(document.createElement("strong"), { textContent: title || "Untitled meeting" }),
        Object.assign(document.createElement("span"), {
          textContent: el.tab.checked ? `${mic} + tab audio` : mic,
          className: "muted",
        }),
      );
    }
    document.title = phase === "recording" ? `\u25CF Recording \u00B7 Mina` : this.baseTitle;
    this.sync();
  }

  setState(state) {
    const { el } = this;
    el.status.dataset.state = state;
    el.statusText.textContent = STATE_TEXT[state] || state;
    document.body.dataset.liveState = state;
    this.debug.state = state;
    this.onProgress();
  }

  async holdWakeLock() {
    if (!navigator.wakeLock || this.wakeLock) return;
    try {
      this.wakeLock = await navigator.wakeLock.request("screen");
      this.wakeLock.addEventListener("release", () => {
        this.wakeLock = null;
      });
    } catch {
      // not allowed (battery saver, hidden page): fine
    }
  }

  releaseWakeLock() {
    this.wakeLock?.release().catch(() => {});
    this.wakeLock = null;
  }

  // -- protocol events -----------------------------------------------------------------

  onEvent(msg) {
    switch (msg.type) {
      case "started":
        this.debug.meetingId = msg.meeting_id;
        this.debug.sessionId = msg.session_id;
        this.debug.engine = msg.engine ?? null;
        break;
      case "resumed":
        this.debug.reconnects = this.client.reconnects;
        this.hideError(); // whatever went wrong with the last connection is over
        break;
      case "interim":
        this.setInterim(msg);
        break;
      case "final":
        if (msg.segment) this.addFinal(msg.segment);
        break;
      case "error":
        this.debug.error = { code: msg.code, message: msg.message };
        this.showError(msg.message || `The server reported an error (${msg.code}).`);
        break;
      default:
        break;
    }
    this.sync();
  }

  onProgress() {
    const client = this.client;
    if (!client) return;
    const { backlog } = client;
    this.debug.sent = client.sent;
    this.debug.acked = client.acked;
    this.debug.captured = backlog.end;
    const waiting = (backlog.end - client.sent) / BYTES_PER_SECOND;
    const el = this.el.backlog;
    if (waiting >= 1.5 && this.phase !== "done") {
      el.hidden = false;
      el.textContent = `${waiting.toFixed(0)} s of audio waiting to upload, kept safe in this tab.`;
    } else if (!el.hidden) {
      el.hidden = true;
    }
  }

  sync() {
    const d = this.debug;
    d.finals = [...this.segments.values()].sort((a, b) => a.seq - b.seq);
    d.interim = this.interim ? this.interim.text : "";
    d.interimConfirmed = this.interim ? this.interim.confirmed : "";
    if (this.client) d.reconnects = this.client.reconnects;
    this.onProgress();
  }

  // -- transcript ------------------------------------------------------------------------

  resetTranscript() {
    this.segments.clear();
    this.el.finals.replaceChildren();
    this.setInterim(null);
    this.el.empty.hidden = false;
    this.el.timer.textContent = formatClock(0);
    this.startedAt = null;
    this.levels = [];
    this.drawMeter();
    this.updateCounts();
  }

  setInterim(msg) {
    const { el } = this;
    if (!msg || !msg.text || !msg.text.trim()) {
      this.interim = null;
      el.interim.hidden = true;
      el.interimConfirmed.textContent = "";
      el.interimProvisional.textContent = "";
      return;
    }
    const text = msg.text.trim();
    let confirmed = typeof msg.confirmed === "string" ? msg.confirmed.trim() : "";
    let provisional = text;
    if (confirmed) {
      const rest = text.startsWith(confirmed) ? text.slice(confirmed.length) : dropLeadingWords(text, confirmed);
      provisional = rest == null ? text : rest.trim();
      if (rest == null) confirmed = "";
    }
    this.interim = { text, confirmed, start_ms: msg.start_ms, end_ms: msg.end_ms };
    el.interimTime.textContent = Number.isFinite(msg.start_ms) ? formatClock(msg.start_ms) : "";
    el.interimConfirmed.textContent = confirmed;
    el.interimProvisional.textContent = provisional;
    el.interimConfirmed.hidden = !confirmed;
    el.interim.hidden = false;
    el.empty.hidden = true;
    this.afterRender();
  }

  addFinal(seg) {
    const { el } = this;
    const existing = this.segments.get(seg.id);
    this.segments.set(seg.id, seg);
    let item = existing ? el.finals.querySelector(`[data-segment-id="${CSS.escape(String(seg.id))}"]`) : null;
    if (item) {
      this.fillSegment(item, seg);
    } else {
      item = document.createElement("li");
      item.className = "live-seg";
      this.fillSegment(item, seg);
      // Keep seq order even if a segment arrives late.
      let before = null;
      for (let node = el.finals.lastElementChild; node; node = node.previousElementSibling) {
        if (Number(node.dataset.seq) > seg.seq) before = node;
        else break;
      }
      el.finals.insertBefore(item, before);
    }
    el.empty.hidden = true;
    this.coverInterim(seg);
    this.updateCounts();
    this.afterRender();
  }

  fillSegment(item, seg) {
    item.dataset.segmentId = seg.id;
    item.dataset.seq = seg.seq;
    item.dataset.startMs = seg.start_ms;
    const time = document.createElement("span");
    time.className = "live-seg-time";
    time.textContent = formatClock(seg.start_ms);
    const body = document.createElement("div");
    body.className = "live-seg-body";
    if (seg.speaker) {
      const speaker = document.createElement("span");
      speaker.className = "live-seg-speaker";
      speaker.textContent = seg.speaker;
      body.append(speaker);
    }
    const text = document.createElement("p");
    text.className = "live-seg-text";
    text.textContent = seg.text;
    body.append(text);
    item.replaceChildren(time, body);
  }

  // A final segment replaces the interim words it covers.
  coverInterim(seg) {
    const cur = this.interim;
    if (!cur) return;
    const num = (v) => typeof v === "number" && Number.isFinite(v);
    if (num(cur.start_ms) && num(seg.end_ms) && cur.start_ms >= seg.end_ms) return; // after it
    if (num(cur.end_ms) && num(seg.end_ms) && cur.end_ms <= seg.end_ms) {
      this.setInterim(null);
      return;
    }
    const rest = dropLeadingWords(cur.text, seg.text || "");
    if (!rest) {
      this.setInterim(null);
      return;
    }
    const confirmedRest = cur.confirmed ? dropLeadingWords(cur.confirmed, seg.text || "") : "";
    this.setInterim({ text: rest, confirmed: confirmedRest || "", start_ms: seg.end_ms, end_ms: cur.end_ms });
  }

  updateCounts() {
    const n = this.segments.size;
    let words = 0;
    for (const seg of this.segments.values()) words += (seg.text || "").split(/\s+/).filter(Boolean).length;
    this.el.counts.textContent = n ? `${plural(n, "segment", "segments")} \u00B7 ${plural(words, "word", "words")}` : "";
  }

  afterRender() {
    if (this.stick) this.scrollToEnd();
    else this.el.jump.hidden = false;
  }

  scrollToEnd() {
    const t = this.el.transcript;
    t.scrollTop = t.scrollHeight;
    this.el.jump.hidden = true;
  }

  // -- level meter ------------------------------------------------------------------------

  setupMeter() {
    const canvas = this.el.canvas;
    this.ctx2d = canvas.getContext("2d");
    const resize = () => {
      const ratio = window.devicePixelRatio || 1;
      const { width, height } = canvas.getBoundingClientRect();
      canvas.width = Math.max(1, Math.round(width * ratio));
      canvas.height = Math.max(1, Math.round(height * ratio));
      this.drawMeter();
    };
    new ResizeObserver(resize).observe(canvas);
    window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener?.("change", resize);
    resize();
  }

  onLevel(rms) {
    const db = 20 * Math.log10(Math.max(rms, 1e-6));
    const level = Math.min(1, Math.max(0, (db + 60) / 54));
    this.levels.push(level);
    if (this.levels.length > 400) this.levels.splice(0, this.levels.length - 400);
    this.debug.level = Math.round(level * 100) / 100;
    this.el.meter.setAttribute("aria-valuenow", String(Math.round(level * 100)));
    this.el.meter.dataset.level = this.debug.level;
    if (!this.meterQueued) {
      this.meterQueued = true;
      requestAnimationFrame(() => {
        this.meterQueued = false;
        this.drawMeter();
      });
    }
  }

  drawMeter() {
    const g = this.ctx2d;
    if (!g) return;
    const { width, height } = g.canvas;
    const ratio = window.devicePixelRatio || 1;
    const css = getComputedStyle(this.el.meter);
    const active = this.phase === "recording";
    const color = css.getPropertyValue(active ? "--meter-on" : "--meter-off").trim() || "#4f46e5";
    const quiet = css.getPropertyValue("--meter-off").trim() || "#c7cbd8";
    g.clearRect(0, 0, width, height);
    const bar = 3 * ratio;
    const gap = 2 * ratio;
    const count = Math.floor((width + gap) / (bar + gap));
    const mid = height / 2;
    const minH = 2 * ratio;
    const levels = this.levels;
    for (let i = 0; i < count; i++) {
      const level = levels[levels.length - count + i] ?? 0;
      const h = Math.max(minH, level * (height - 4 * ratio));
      g.fillStyle = level > 0.02 ? color : quiet;
      const x = i * (bar + gap);
      g.beginPath();
      if (g.roundRect) g.roundRect(x, mid - h / 2, bar, h, bar / 2);
      else g.rect(x, mid - h / 2, bar, h);
      g.fill();
    }
  }

  // -- messages --------------------------------------------------------------------------

  showError(text, meetingHref = null) {
    const { el } = this;
    el.errorText.textContent = text;
    el.errorLink.hidden = !meetingHref;
    if (meetingHref) el.errorLink.href = meetingHref;
    el.error.hidden = false;
  }

  hideError() {
    this.el.error.hidden = true;
  }

  showNotice(text) {
    this.el.notice.textContent = text;
    this.el.notice.hidden = false;
  }

  hideNotice() {
    this.el.notice.hidden = true;
  }
}

new LivePage();
