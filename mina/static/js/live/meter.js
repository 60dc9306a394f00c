// The microphone level meter: a strip of bars on a canvas, newest on the right, and the
// level (0..1) mirrored on the meter box for assistive technology and for tests.

const MAX_BARS = 400;

export class LevelMeter {
  // `isActive()` says whether a recording is running (bars use the "on" colour then).
  constructor({ box, canvas, isActive }) {
    this.box = box;
    this.canvas = canvas;
    this.isActive = isActive;
    this.levels = [];
    this.level = 0;
    this.queued = false;
    this.ctx2d = canvas.getContext("2d");
    const resize = () => {
      const ratio = window.devicePixelRatio || 1;
      const { width, height } = canvas.getBoundingClientRect();
      canvas.width = Math.max(1, Math.round(width * ratio));
      canvas.height = Math.max(1, Math.round(height * ratio));
      this.draw();
    };
    new ResizeObserver(resize).observe(canvas);
    window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener?.("change", resize);
    resize();
  }

  // Forget the history (a new recording).
  reset() {
    this.levels = [];
    this.draw();
  }

  // One frame's RMS; returns the level shown, rounded to hundredths.
  push(rms) {
    const db = 20 * Math.log10(Math.max(rms, 1e-6));
    const level = Math.min(1, Math.max(0, (db + 60) / 54));
    this.levels.push(level);
    if (this.levels.length > MAX_BARS) this.levels.splice(0, this.levels.length - MAX_BARS);
    this.level = Math.round(level * 100) / 100;
    this.box.setAttribute("aria-valuenow", String(Math.round(level * 100)));
    this.box.dataset.level = this.level;
    if (!this.queued) {
      this.queued = true;
      requestAnimationFrame(() => {
        this.queued = false;
        this.draw();
      });
    }
    return this.level;
  }

  // The recording ended: the meter drops to zero.
  silence() {
    this.level = 0;
    this.box.setAttribute("aria-valuenow", "0");
    this.box.dataset.level = "0";
    this.levels.push(0);
    this.draw();
  }

  draw() {
    const g = this.ctx2d;
    if (!g) return;
    const { width, height } = g.canvas;
    const ratio = window.devicePixelRatio || 1;
    const css = getComputedStyle(this.box);
    const active = this.isActive();
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
}
