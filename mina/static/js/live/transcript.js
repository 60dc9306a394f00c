// The transcript as it is being written: final segments in seq order with their time, then
// the interim line (confirmed words, then provisional ones in grey italics), kept scrolled to
// the end unless the reader has scrolled up (then a "Jump to latest" button shows).

import { fillSegmentRow } from "../segment-row.js";
import { dropLeadingWords, formatClock, plural } from "./text.js";

export class TranscriptView {
  constructor(el) {
    this.el = el; // {transcript, finals, interim, interimTime, interimConfirmed, interimProvisional, empty, counts, jump}
    this.segments = new Map(); // id -> segment
    this.interim = null; // {text, confirmed, start_ms, end_ms}
    this.stick = true;
    el.transcript.addEventListener("scroll", () => {
      const t = el.transcript;
      this.stick = t.scrollHeight - t.scrollTop - t.clientHeight < 48;
      if (this.stick) el.jump.hidden = true;
    }, { passive: true });
    el.jump.addEventListener("click", () => {
      this.stick = true;
      this.scrollToEnd();
    });
  }

  // The final segments in seq order.
  get finals() {
    return [...this.segments.values()].sort((a, b) => a.seq - b.seq);
  }

  reset() {
    this.segments.clear();
    this.el.finals.replaceChildren();
    this.setInterim(null);
    this.el.empty.hidden = false;
    this.updateCounts();
  }

  // The recording ended: no interim line; the empty state only if nothing was said.
  settle() {
    this.setInterim(null);
    this.el.empty.hidden = this.segments.size > 0;
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
    fillSegmentRow(item, seg);
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
}
