// The page a share link opens (/s/{token}), for people without an account. Read only: speaker
// colours, a timestamp plays its moment when the link includes the audio, and while the meeting
// is still recorded it polls /s/{token}/transcript.json (every 2 s, backing off to 15 s while
// nothing new comes and to a minute after errors) and adds the new segments; when the
// recording ends the page reloads once to show the finished meeting.

import { createSegmentRow, paintSpeaker } from "/static/js/segment-row.js";
import { speakerColours } from "/static/js/speaker-colours.js";
import { formatDuration } from "/static/js/live/text.js";

const $ = (id) => document.getElementById(id);
const app = $("shared-app");
const list = $("transcript");
const audio = $("shared-audio");
const base = window.location.pathname.replace(/\/+$/, "");

const FIRST_WAIT_MS = 2000;
const QUIET_WAIT_MS = 15000;
const ERROR_WAIT_MS = 60000;

let colours = new Map();
function paintAll() {
  const rows = [...list.querySelectorAll("li.segment")];
  colours = speakerColours(rows.map((row) => row.dataset.speaker));
  for (const row of rows) {
    const span = row.querySelector(".speaker");
    if (span) paintSpeaker(span, row.dataset.speaker, (name) => colours.get(name) ?? null);
  }
}
paintAll();

if (audio) {
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button.ts");
    if (!button) return;
    audio.currentTime = Number(button.closest("li.segment").dataset.startMs) / 1000;
    audio.play().catch(() => {});
  });
}

function addSegments(segments) {
  const known = new Set([...list.querySelectorAll("li.segment")].map((row) => row.dataset.segmentId));
  let added = 0;
  for (const seg of segments) {
    if (known.has(String(seg.id))) continue;
    list.append(createSegmentRow(seg, { seekable: false, editable: false, colourOf: () => null }));
    added += 1;
  }
  if (added) {
    paintAll();
    $("transcript-empty").hidden = true;
  }
  return added;
}

function say(text) {
  const state = $("follow-state");
  if (state) state.textContent = text;
}

async function poll(wait) {
  let next = wait;
  try {
    const response = await fetch(`${base}/transcript.json`, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (response.status === 404) {
      say("This link no longer works.");
      return;
    }
    if (!response.ok) throw new Error(`The server answered ${response.status}.`);
    const data = await response.json();
    const added = addSegments(data.segments);
    if (data.duration_ms != null) $("shared-duration").textContent = formatDuration(data.duration_ms);
    if (data.status !== "live" && data.status !== "processing") {
      say("The recording has ended.");
      window.location.reload();
      return;
    }
    say("Following live");
    next = added ? FIRST_WAIT_MS : Math.min(QUIET_WAIT_MS, Math.round(wait * 1.5));
  } catch {
    say("Reconnecting\u2026");
    next = Math.min(ERROR_WAIT_MS, wait * 2);
  }
  window.setTimeout(() => poll(next), next);
}

if (app.dataset.following === "true") window.setTimeout(() => poll(FIRST_WAIT_MS), FIRST_WAIT_MS);
