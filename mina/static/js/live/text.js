// Text helpers for the live page: clocks, durations, counts, and word-wise prefix matching
// (to tell the part of an interim hypothesis already confirmed from the part still changing).

export function formatClock(ms) {
  const total = Math.max(0, Math.floor((ms || 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${String(m).padStart(2, "0")}:${s}`;
}

export function formatDuration(ms) {
  // Like the server's `duration` filter: 4:05, 1:02:03.
  const total = Math.max(0, Math.floor((ms || 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

const normalWord = (w) => w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, "");

// `text` with the words of `prefix` removed from its front, or null when it does not start so.
export function dropLeadingWords(text, prefix) {
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
