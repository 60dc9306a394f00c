// Audio not yet acknowledged by the server, addressed by byte offset from the start of the
// session. Everything captured is pushed here and dropped only once an `ack` (or a `resumed`)
// covers it, so after a drop the client re-sends from exactly the offset the server reports.

export class AudioBacklog {
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
