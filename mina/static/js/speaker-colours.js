// Each speaker's colour: one of PALETTE_SIZE slots (mina.css: --speaker-0 .. --speaker-7, each
// readable as text on the page in light and dark). A colour is never the only cue: the name is
// always shown beside it.
//
// Stable: the same name gets the same slot on every page. "Speaker N" (the labels Mina gives)
// takes slot N-1, so Speaker 1 to Speaker 8 never share a colour, live or afterwards; any other
// name takes the slot its hash points to, moved on to the next free one when another speaker of
// the same meeting already holds it.

export const PALETTE_SIZE = 8;

const NUMBERED = /^Speaker (\d+)$/;

function hashName(name) {
  // FNV-1a over the UTF-16 code units: small, fast and the same in every browser
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i += 1) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

// The slot of one name on its own (the live transcript, where labels arrive one by one);
// null for no label.
export function speakerColour(name) {
  if (!name) return null;
  const numbered = NUMBERED.exec(name);
  if (numbered) return (Number(numbered[1]) - 1) % PALETTE_SIZE;
  return hashName(name) % PALETTE_SIZE;
}

// The slots of a meeting's speakers: a Map from each name to its slot, names that would share
// a slot spread over the free ones (as long as there are any).
export function speakerColours(names) {
  const slots = new Map();
  const taken = new Set();
  const unique = [...new Set(names.filter(Boolean))];
  for (const name of unique.filter((n) => NUMBERED.test(n))) {
    const slot = speakerColour(name);
    slots.set(name, slot);
    taken.add(slot);
  }
  const others = unique.filter((n) => !NUMBERED.test(n)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of others) {
    let slot = speakerColour(name);
    for (let step = 0; step < PALETTE_SIZE && taken.has(slot); step += 1) slot = (slot + 1) % PALETTE_SIZE;
    slots.set(name, slot);
    taken.add(slot);
  }
  return slots;
}
