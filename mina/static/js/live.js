// The live page: microphone (and optionally tab) audio -> 16 kHz PCM s16le frames
// -> WebSocket /ws/transcribe (DESIGN.md section 3) -> transcript on screen.
//
// Every byte captured stays in a client-side backlog until an `ack` covers it, so when the
// connection drops, capture carries on and the backlog is re-sent from exactly the offset
// the server reports in `resumed`: no gap, no duplicate.
//
// The parts, in the order audio takes: live/capture.js (microphone -> PCM frames),
// live/buffer.js (the unacknowledged bytes), live/client.js (protocol v1: start, resume, acks,
// reconnects); on screen: live/transcript.js, live/meter.js; this module wires them to the page.
// live.html's import map gives each module the page's cache-busting query.

import { BYTES_PER_SECOND, Capture, TARGET_RATE, describeMediaError } from "./live/capture.js";
import { TranscribeClient } from "./live/client.js";
import { LevelMeter } from "./live/meter.js";
import { formatClock, formatDuration } from "./live/text.js";
import { TranscriptView } from "./live/transcript.js";

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
    const el = {
      app: $("live-app"),
      status: $("live-status"),
      statusText: $("live-status-text"),
      timer: $("live-timer"),
      title: $("live-title"),
      speakers: $("live-speakers"),
      speakersError: $("live-speakers-error"),
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
      result: $("live-result"),
      resultHeading: $("live-result-heading"),
      resultTitle: $("live-result-title"),
      resultDuration: $("live-result-duration"),
      resultSegments: $("live-result-segments"),
      resultWords: $("live-result-words"),
      meetingLink: $("live-meeting-link"),
    };
    this.el = el;
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
    this.transcript = new TranscriptView({
      transcript: $("live-transcript"),
      finals: $("live-finals"),
      interim: $("live-interim"),
      interimTime: $("live-interim-time"),
      interimConfirmed: $("live-interim-confirmed"),
      interimProvisional: $("live-interim-provisional"),
      empty: $("live-empty"),
      counts: $("live-counts"),
      jump: $("live-jump"),
    });
    this.baseTitle = document.title;
    this.setState("idle");
    this.bind();
    this.meter = new LevelMeter({
      box: el.meter,
      canvas: el.canvas,
      isActive: () => this.phase === "recording",
    });
    this.setupDevices();
  }

  bind() {
    const { el } = this;
    el.start.addEventListener("click", () => this.start());
    el.speakers.addEventListener("input", () => {
      el.speakers.removeAttribute("aria-invalid");
      el.speakersError.hidden = true;
    });
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

  // How many people will speak, if the person recording said: a number, null, or undefined
  // when what they typed is not a whole number from 1 to 20 (then the field says so).
  speakerCount() {
    const { el } = this;
    const text = el.speakers.value.trim();
    const count = Number(text);
    const bad = el.speakers.validity.badInput || (text !== "" && (!Number.isInteger(count) || count < 1 || count > 20));
    el.speakersError.textContent = bad ? "Speakers: a whole number from 1 to 20, or leave it empty." : "";
    el.speakersError.hidden = !bad;
    if (bad) {
      el.speakers.setAttribute("aria-invalid", "true");
      return undefined;
    }
    el.speakers.removeAttribute("aria-invalid");
    return text ? count : null;
  }

  speakersText() {
    const count = Number(this.el.speakers.value);
    return Number.isInteger(count) && count >= 1 && count <= 20 ? `${count} ${count === 1 ? "speaker" : "speakers"}` : "";
  }

  start() {
    if (this.phase !== "idle" && this.phase !== "done") return;
    const { el } = this;
    const speakers = this.speakerCount();
    if (speakers === undefined) {
      el.speakers.focus();
      return;
    }
    this.client = null;
    this.capture = null;
    this.transcript.reset();
    this.el.timer.textContent = formatClock(0);
    this.startedAt = null;
    this.meter.reset();
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
    if (speakers) startMessage.speakers = speakers;
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
      onLevel: (rms) => {
        this.debug.level = this.meter.push(rms);
      },
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
    el.resultSegments.textContent = (msg.segments ?? this.transcript.segments.size).toLocaleString();
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
    this.transcript.settle();
    this.releaseWakeLock();
    this.debug.level = 0;
    this.meter.silence();
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
    el.speakers.disabled = busy;
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
          textContent: [el.tab.checked ? `${mic} + tab audio` : mic, this.speakersText()].filter(Boolean).join(" \u00B7 "),
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
        this.transcript.setInterim(msg);
        break;
      case "final":
        if (msg.segment) this.transcript.addFinal(msg.segment);
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
    const { interim } = this.transcript;
    d.finals = this.transcript.finals;
    d.interim = interim ? interim.text : "";
    d.interimConfirmed = interim ? interim.confirmed : "";
    if (this.client) d.reconnects = this.client.reconnects;
    this.onProgress();
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
