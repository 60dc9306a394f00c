// Capture: microphone (+ optionally tab or screen audio) -> AudioContext -> AudioWorklet
// (pcm-worklet.js) -> 16 kHz mono PCM s16le frames of 100 ms, handed to `onFrame`.

export const TARGET_RATE = 16000;
export const BYTES_PER_SECOND = TARGET_RATE * 2;
const FRAME_SAMPLES = 1600; // 100 ms

// The worklet lives beside the page script; it carries this module's cache-busting query.
const WORKLET_URL = new URL(`../pcm-worklet.js${new URL(import.meta.url).search}`, import.meta.url);

export class Capture {
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

export function describeMediaError(err) {
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
