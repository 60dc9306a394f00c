// AudioWorklet processor for the live page: whatever comes in (mono or stereo, at the
// context's rate, often 48000 or 44100 Hz) goes out as 16 kHz mono PCM s16le frames of
// 100 ms (1600 samples, 3200 bytes), posted to the main thread as transferable buffers
// together with the RMS and peak level of the audio they cover.
//
// Resampling is a windowed-sinc low-pass evaluated at each output instant (a polyphase
// table), so 48 kHz -> 16 kHz does not fold 8-24 kHz content back into the speech band.
// The read position is kept as an exact integer fraction (inRate / outRate), so there is
// no drift however long the recording runs.

const ZERO_CROSSINGS = 32; // kernel half-width, in output samples (sets the transition band)
const PHASES = 256; // fractional positions tabulated between two input samples
const PASSBAND = 0.9; // cutoff as a fraction of the output Nyquist frequency (7.2 kHz at 16 kHz)

function bessel0(x) {
  // Modified Bessel function of the first kind, order 0 (for the Kaiser window).
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

class PcmEncoder extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.outRate = opts.targetRate || 16000;
    this.frameSamples = opts.frameSamples || 1600;
    this.inRate = Math.round(sampleRate); // global of AudioWorkletGlobalScope
    this.running = true;

    const ratio = this.inRate / this.outRate;
    this.half = Math.ceil(ZERO_CROSSINGS * Math.max(1, ratio));
    this.taps = 2 * this.half;
    this.kernel = this.buildKernel(ratio);

    // Input history. `ipos` + `rem / outRate` is the input index of the next output sample.
    // It starts `half` samples in, over zeros, so output 0 lines up with input 0.
    this.buf = new Float32Array(8192);
    this.len = this.half;
    this.ipos = this.half;
    this.rem = 0;

    this.newFrame();
    this.sumSquares = 0;
    this.levelCount = 0;
    this.peak = 0;

    this.port.onmessage = (event) => {
      const type = event.data && event.data.type;
      if (type === "flush") {
        this.postFrame(true);
        this.port.postMessage({ type: "flushed" });
      } else if (type === "close") {
        this.running = false;
      }
    };
  }

  buildKernel(ratio) {
    // Cutoff in cycles per input sample: below the lower of the two Nyquist frequencies.
    const fc = (0.5 / Math.max(1, ratio)) * PASSBAND;
    const beta = 8.6; // Kaiser window: about 85 dB stopband
    const norm = bessel0(beta);
    const table = new Float32Array(PHASES * this.taps);
    for (let p = 0; p < PHASES; p++) {
      const frac = p / PHASES;
      let sum = 0;
      for (let j = 0; j < this.taps; j++) {
        const x = j - this.half + 1 - frac; // distance from the output instant, in input samples
        const arg = 2 * fc * x;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
        const r = x / this.half;
        const w = Math.abs(r) >= 1 ? 0 : bessel0(beta * Math.sqrt(1 - r * r)) / norm;
        const h = 2 * fc * sinc * w;
        table[p * this.taps + j] = h;
        sum += h;
      }
      for (let j = 0; j < this.taps; j++) table[p * this.taps + j] /= sum; // unity gain at DC
    }
    return table;
  }

  newFrame() {
    this.frame = new ArrayBuffer(this.frameSamples * 2);
    this.view = new DataView(this.frame);
    this.filled = 0;
  }

  postFrame(partial) {
    if (this.filled === 0) return;
    if (!partial && this.filled < this.frameSamples) return;
    const rms = this.levelCount ? Math.sqrt(this.sumSquares / this.levelCount) : 0;
    const buffer = this.filled === this.frameSamples ? this.frame : this.frame.slice(0, this.filled * 2);
    this.port.postMessage({ type: "frame", buffer, rms, peak: this.peak }, [buffer]);
    this.sumSquares = 0;
    this.levelCount = 0;
    this.peak = 0;
    this.newFrame();
  }

  append(mono) {
    const need = this.len + mono.length;
    if (need > this.buf.length) {
      const bigger = new Float32Array(Math.max(need, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(mono, this.len);
    this.len += mono.length;
  }

  emit(value) {
    const s = value > 1 ? 1 : value < -1 ? -1 : value;
    this.view.setInt16(this.filled * 2, Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), true);
    this.filled += 1;
    if (this.filled === this.frameSamples) this.postFrame(false);
  }

  resample() {
    const { buf, kernel, taps, half, inRate, outRate } = this;
    // Output n needs input samples ipos-half+1 .. ipos+half (plus one more for the rounded phase).
    while (this.ipos + half + 1 < this.len) {
      let base = this.ipos;
      let phase = Math.round((this.rem / outRate) * PHASES);
      if (phase === PHASES) {
        phase = 0;
        base += 1;
      }
      const k = phase * taps;
      const start = base - half + 1;
      let acc = 0;
      for (let j = 0; j < taps; j++) acc += buf[start + j] * kernel[k + j];
      this.emit(acc);
      this.rem += inRate;
      while (this.rem >= outRate) {
        this.rem -= outRate;
        this.ipos += 1;
      }
    }
    // Drop history nobody will read again.
    const drop = this.ipos - half;
    if (drop > 0) {
      buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.ipos -= drop;
    }
  }

  process(inputs, outputs) {
    if (!this.running) return false;
    const input = inputs[0] || [];
    const size = input.length ? input[0].length : (outputs[0] && outputs[0][0] ? outputs[0][0].length : 128);
    if (!this.mono || this.mono.length !== size) this.mono = new Float32Array(size);
    const mono = this.mono;
    mono.fill(0);
    // Keep the timeline continuous: no input (a track ended) is silence, not a gap.
    if (input.length) {
      const gain = 1 / input.length;
      for (let c = 0; c < input.length; c++) {
        const ch = input[c];
        for (let i = 0; i < size; i++) mono[i] += ch[i] * gain;
      }
    }
    for (let i = 0; i < size; i++) {
      const v = mono[i];
      this.sumSquares += v * v;
      const a = v < 0 ? -v : v;
      if (a > this.peak) this.peak = a;
    }
    this.levelCount += size;

    if (this.inRate === this.outRate) {
      for (let i = 0; i < size; i++) this.emit(mono[i]);
    } else {
      this.append(mono);
      this.resample();
    }
    return true;
  }
}

registerProcessor("pcm-encoder", PcmEncoder);
