// The meeting page. Playback synced with the transcript (click a segment to play from it; the
// playing segment is highlighted and followed; ?t=MS opens the page at that moment), search
// within the transcript, inline edits of a segment's text and speaker, the title edited in
// place, delete with a confirmation, and, while the meeting is being recorded, the live
// transcript over /ws/meetings/{id}/live until it ends (then the finished view loads).
//
// Speakers: each has a colour (speaker-colours.js) on its segments and in the Speakers panel,
// which shows their talk time and share and renames or merges them; the transcript can be
// filtered to one speaker. While Mina is identifying the speakers (the diarize job) the page
// says so and polls the meeting; once they are labelled, transcript and panel are drawn again
// without a reload. "Re-identify speakers" starts the job again, with a count if you know it.

import { createSegmentRow, fillSegmentRow, paintSpeaker } from "/static/js/segment-row.js";
import { formatDuration } from "/static/js/live/text.js";
import { speakerColour, speakerColours } from "/static/js/speaker-colours.js";

const $ = (id) => document.getElementById(id);
const app = $("meeting-app");
const meetingId = app.dataset.meetingId;
const live = app.dataset.live === "true";
const list = $("transcript");
const audio = $("meeting-audio");
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
// The colour slot of each of this meeting's speakers (renderSpeakers fills it).
let colours = new Map();
const colourOf = (name) => (colours.has(name) ? colours.get(name) : speakerColour(name));
const rowOptions = { seekable: Boolean(audio), editable: !live, colourOf };

const rows = () => [...list.querySelectorAll("li.segment")];

// Cookie-authenticated writes carry the page's CSRF token in a header.
async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error?.message || `The server answered ${response.status}.`);
  return data;
}

function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

function showError(el, message) {
  el.textContent = message || "";
  el.hidden = !message;
}

function scrollToRow(row, smooth) {
  row.scrollIntoView({ block: "center", behavior: smooth && !reducedMotion ? "smooth" : "auto" });
}

// --- playback --------------------------------------------------------------------------------

let playing = null;
let userScrolledAt = 0;

// The segment being said at `ms`: the last one that starts at or before it.
function rowAt(ms) {
  let found = null;
  for (const row of rows()) {
    if (Number(row.dataset.startMs) <= ms) found = row;
    else break;
  }
  return found;
}

function markPlaying(row, follow) {
  if (row === playing) return;
  if (playing) {
    playing.classList.remove("is-playing");
    playing.removeAttribute("aria-current");
  }
  playing = row;
  if (!row) return;
  row.classList.add("is-playing");
  row.setAttribute("aria-current", "true");
  // follow the audio, unless the reader just scrolled away to read something else
  if (follow && Date.now() - userScrolledAt > 4000) scrollToRow(row, true);
}

function seek(ms, play) {
  if (!audio) return;
  const go = () => {
    audio.currentTime = ms / 1000;
    if (play) audio.play().catch(() => {});
  };
  if (audio.readyState >= 1) go();
  else audio.addEventListener("loadedmetadata", go, { once: true });
}

if (audio) {
  const sync = () => markPlaying(rowAt(audio.currentTime * 1000), !audio.paused);
  audio.addEventListener("timeupdate", sync);
  audio.addEventListener("seeked", sync);
  for (const kind of ["wheel", "touchmove"]) {
    window.addEventListener(kind, () => { userScrolledAt = Date.now(); }, { passive: true });
  }
}

list.addEventListener("click", (event) => {
  const row = event.target.closest("li.segment");
  if (!row || row.classList.contains("is-editing")) return;
  if (event.target.closest(".seg-edit")) {
    startEdit(row);
    return;
  }
  if (!audio) return;
  // a reader selecting words to copy is not asking to play
  if (!event.target.closest(".ts") && String(window.getSelection() || "").trim()) return;
  markPlaying(row, false);
  seek(Number(row.dataset.startMs), true);
});

// ?t=MS (links from search results): open at that moment.
const params = new URLSearchParams(location.search);
if (params.has("t") && !live) {
  const ms = Number(params.get("t"));
  if (Number.isFinite(ms) && ms >= 0) {
    const row = rowAt(ms) || rows()[0];
    if (row) {
      row.classList.add("is-target");
      markPlaying(row, false);
      scrollToRow(row, false);
    }
    seek(ms, false);
  }
}

// --- search within the transcript ------------------------------------------------------------

const find = { input: $("find-input"), count: $("find-count"), prev: $("find-prev"), next: $("find-next"), hits: [], at: -1, timer: 0 };

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function highlight(row, pattern) {
  const p = row.querySelector(".segment-text");
  if (!p) return;
  const text = p.textContent;
  if (!pattern) {
    p.textContent = text;
    return;
  }
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parts.push(document.createTextNode(text.slice(last, match.index)));
    const mark = document.createElement("mark");
    mark.className = "find-hit";
    mark.textContent = match[0];
    parts.push(mark);
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
  p.replaceChildren(...parts);
}

function runSearch(keepPosition = false) {
  if (!find.input) return;
  const query = find.input.value.trim();
  const pattern = query ? new RegExp(escapeRegExp(query), "giu") : null;
  rows().forEach((row) => highlight(row, pattern));
  find.hits = [...list.querySelectorAll("li.segment:not([hidden]) mark.find-hit")];
  const previous = find.at;
  find.at = -1;
  find.prev.disabled = find.next.disabled = find.hits.length === 0;
  if (!query) {
    find.count.textContent = "";
  } else if (!find.hits.length) {
    find.count.textContent = "No matches";
  } else {
    goTo(keepPosition ? Math.min(Math.max(previous, 0), find.hits.length - 1) : 0, !keepPosition);
  }
}

function goTo(index, scroll = true) {
  if (!find.hits.length) return;
  find.hits[find.at]?.classList.remove("is-current");
  find.at = (index + find.hits.length) % find.hits.length;
  const hit = find.hits[find.at];
  hit.classList.add("is-current");
  find.count.textContent = `${find.at + 1} of ${find.hits.length}`;
  if (scroll) hit.scrollIntoView({ block: "center", behavior: reducedMotion ? "auto" : "smooth" });
}

if (find.input) {
  $("find").addEventListener("submit", (event) => event.preventDefault());
  find.input.addEventListener("input", () => {
    clearTimeout(find.timer);
    find.timer = setTimeout(() => runSearch(), 120);
  });
  find.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      clearTimeout(find.timer);
      if (find.at < 0) runSearch();
      else goTo(find.at + (event.shiftKey ? -1 : 1));
    } else if (event.key === "Escape" && find.input.value) {
      event.preventDefault();
      find.input.value = "";
      runSearch();
    }
  });
  find.prev.addEventListener("click", () => goTo(find.at - 1));
  find.next.addEventListener("click", () => goTo(find.at + 1));
}

// --- edits -----------------------------------------------------------------------------------

function segmentOf(row) {
  const tag = row.querySelector(".edited-tag");
  return {
    id: Number(row.dataset.segmentId),
    seq: Number(row.dataset.seq),
    start_ms: Number(row.dataset.startMs),
    end_ms: Number(row.dataset.endMs),
    speaker: row.dataset.speaker || null,
    text: row.querySelector(".segment-text").textContent,
    edited: Boolean(tag),
    original_text: tag ? tag.title.replace(/^Heard as: /, "") : null,
  };
}

// What the page shows beside the transcript follows every change: words, filter, search.
function refresh() {
  let words = 0;
  for (const row of rows()) words += row.querySelector(".segment-text").textContent.split(/\s+/).filter(Boolean).length;
  $("meeting-words").textContent = words.toLocaleString();
  applyFilter();
  if (find.input?.value.trim()) runSearch(true);
}

function cancelEdit(row) {
  row.querySelector(".seg-form")?.remove();
  row.classList.remove("is-editing");
  row.querySelector(".segment-body").hidden = false;
  const button = row.querySelector(".seg-edit");
  button.hidden = false;
  button.focus();
}

function startEdit(row) {
  for (const other of list.querySelectorAll("li.is-editing")) cancelEdit(other);
  const seg = segmentOf(row);
  row.classList.add("is-editing");
  const form = document.createElement("form");
  form.className = "seg-form";
  form.noValidate = true;
  const textId = `seg-text-${seg.id}`;
  const speakerId = `seg-speaker-${seg.id}`;
  form.innerHTML = `
    <label for="${textId}">Text</label>
    <textarea id="${textId}" name="text" rows="3" maxlength="10000"></textarea>
    <label for="${speakerId}">Speaker</label>
    <input id="${speakerId}" name="speaker" type="text" maxlength="100" list="speaker-names" placeholder="No speaker label" autocomplete="off">
    <p class="inline-error" role="alert" hidden></p>
    <div class="seg-form-actions">
      <button type="submit" class="btn btn-primary btn-sm">Save</button>
      <button type="button" class="btn btn-sm" data-cancel>Cancel</button>
      <span class="muted small seg-form-hint">Ctrl+Enter saves · Esc cancels</span>
    </div>`;
  const textarea = form.querySelector("textarea");
  const speaker = form.querySelector("input");
  const error = form.querySelector(".inline-error");
  textarea.value = seg.text;
  speaker.value = seg.speaker || "";
  if (seg.edited) textarea.title = `Heard as: ${seg.original_text}`;
  row.querySelector(".segment-body").hidden = true;
  row.querySelector(".seg-edit").hidden = true;
  row.querySelector(".segment-body").after(form);
  textarea.focus();
  textarea.setSelectionRange(textarea.value.length, textarea.value.length);

  form.querySelector("[data-cancel]").addEventListener("click", () => cancelEdit(row));
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      cancelEdit(row);
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = textarea.value.trim();
    const label = speaker.value.trim();
    if (!text) {
      showError(error, "A segment needs some text.");
      textarea.focus();
      return;
    }
    const patch = {};
    if (text !== seg.text) patch.text = text;
    if (label !== (seg.speaker || "")) patch.speaker = label || null;
    if (!Object.keys(patch).length) {
      cancelEdit(row);
      return;
    }
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      const saved = await api("PATCH", `/api/segments/${seg.id}`, patch);
      row.classList.remove("is-editing");
      fillSegmentRow(row, saved, rowOptions);
      refresh();
      if (!row.hidden) row.querySelector(".seg-edit").focus();
      if ("speaker" in patch) loadSpeakers().catch(() => {});
    } catch (err) {
      form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      showError(error, `Not saved: ${err.message}`);
    }
  });
}

// --- speakers --------------------------------------------------------------------------------

// Every row's speaker in the colour of this meeting's assignment (while live: of the rows so far).
function paintRows() {
  colours = speakerColours(speakers.length ? speakers.map((e) => e.speaker) : rows().map((row) => row.dataset.speaker));
  for (const row of rows()) paintSpeaker(row.querySelector(".speaker"), row.dataset.speaker, colourOf);
}

const speakerList = $("speaker-list");
let speakers = []; // [{speaker, talk_ms, segments}], the most talkative first (the API's order)

// What the server drew into the panel, read back so the first drawing needs no request.
function readSpeakers() {
  return [...speakerList.querySelectorAll(".speaker-item")].map((item) => ({
    speaker: item.dataset.speaker || null,
    talk_ms: Number(item.dataset.talkMs) || 0,
    segments: Number(item.dataset.segments) || 0,
  }));
}

async function loadSpeakers() {
  const data = await api("GET", `/api/meetings/${meetingId}/speakers`);
  renderSpeakers(data.speakers);
}

function renderSpeakers(entries) {
  speakers = entries;
  paintRows();
  renderFilterOptions();
  applyFilter();
  if (!speakerList) return;
  const total = entries.reduce((sum, e) => sum + e.talk_ms, 0);
  const labelled = entries.filter((e) => e.speaker).length;
  speakerList.replaceChildren(...entries.map((e) => speakerItem(e, total, labelled)));
  let names = $("speaker-names");
  if (!names) {
    names = document.createElement("datalist");
    names.id = "speaker-names";
    document.body.append(names);
  }
  names.replaceChildren(...entries.filter((e) => e.speaker).map((e) => new Option(e.speaker)));
}

// The same markup as the `speaker_item` macro in templates/_macros.html, plus colour and bar.
function speakerItem({ speaker, talk_ms: ms, segments }, total, labelled) {
  const name = speaker || "";
  const share = total ? Math.round((100 * ms) / total) : 0;
  const item = document.createElement("li");
  item.className = "speaker-item";
  item.dataset.speaker = name;
  item.dataset.talkMs = ms;
  item.dataset.segments = segments;
  const slot = name ? colourOf(name) : null;
  if (slot != null) item.dataset.colour = slot;
  const line = document.createElement("div");
  line.className = "speaker-line";
  const dot = document.createElement("span");
  dot.className = "speaker-dot";
  dot.setAttribute("aria-hidden", "true");
  const label = document.createElement("span");
  label.className = name ? "speaker-name" : "speaker-name speaker-none";
  label.textContent = name || "No speaker label";
  line.append(dot, label);
  const facts = document.createElement("p");
  facts.className = "speaker-facts muted small";
  facts.textContent = `${formatDuration(ms)} \u00B7 ${share}% \u00B7 ${plural(segments, "segment", "segments")}`;
  const bar = document.createElement("span");
  bar.className = "talk-bar";
  bar.setAttribute("aria-hidden", "true");
  const fill = document.createElement("span");
  fill.className = "talk-fill";
  fill.style.width = `${total ? (100 * ms) / total : 0}%`;
  bar.append(fill);
  const actions = document.createElement("div");
  actions.className = "speaker-actions";
  const rename = document.createElement("button");
  rename.type = "button";
  rename.className = "btn btn-sm speaker-rename";
  rename.textContent = name ? "Rename" : "Name";
  rename.setAttribute("aria-label", name ? `Rename ${name}` : "Name the unlabelled segments");
  actions.append(rename);
  if (name ? labelled > 1 : labelled > 0) {
    const merge = document.createElement("button");
    merge.type = "button";
    merge.className = "btn btn-sm speaker-merge";
    merge.textContent = "Merge\u2026";
    merge.setAttribute("aria-label", name ? `Merge ${name} into another speaker` : "Give the unlabelled segments to a speaker");
    actions.append(merge);
  }
  item.append(line, facts, bar, actions);
  return item;
}

const speakerItemOf = (name) => speakerList?.querySelector(`.speaker-item[data-speaker="${CSS.escape(name || "")}"]`);

// After a rename or a merge: the transcript and the panel as stored, the filter following the
// speaker it showed.
async function reloadSpeakers(from, to) {
  if (filter.value === `=${from || ""}`) filter.value = `=${to || ""}`;
  await Promise.all([reloadTranscript(), loadSpeakers()]);
}

function startRename(item) {
  if (item.querySelector("form")) return;
  const from = item.dataset.speaker;
  const form = document.createElement("form");
  form.className = "rename-form";
  const id = `rename-${Math.random().toString(36).slice(2)}`;
  form.innerHTML = `
    <label class="sr-only" for="${id}"></label>
    <input id="${id}" type="text" maxlength="100" autocomplete="off" placeholder="New name">
    <button type="submit" class="btn btn-primary btn-sm">Save</button>
    <button type="button" class="btn btn-sm" data-cancel>Cancel</button>
    <p class="inline-error" role="alert" hidden></p>`;
  form.querySelector("label").textContent = from ? `New name for ${from}` : "Name for the unlabelled segments";
  const input = form.querySelector("input");
  const error = form.querySelector(".inline-error");
  input.value = from;
  item.append(form);
  item.querySelector(".speaker-actions").hidden = true;
  input.focus();
  input.select();
  const close = () => {
    form.remove();
    item.querySelector(".speaker-actions").hidden = false;
    item.querySelector(".speaker-rename").focus();
  };
  form.querySelector("[data-cancel]").addEventListener("click", close);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const to = input.value.trim();
    if (to === from) {
      close();
      return;
    }
    try {
      await api("POST", `/api/meetings/${meetingId}/speakers`, { from: from || null, to: to || null });
      await reloadSpeakers(from, to);
      speakerItemOf(to)?.querySelector(".speaker-rename")?.focus();
    } catch (err) {
      showError(error, `Not renamed: ${err.message}`);
    }
  });
}

speakerList?.addEventListener("click", (event) => {
  const item = event.target.closest(".speaker-item");
  if (event.target.closest(".speaker-rename")) startRename(item);
  else if (event.target.closest(".speaker-merge")) openMerge(item);
});

// --- merge: one speaker's segments given to another (the rename endpoint, into a name in use)

const merge = { dialog: $("merge-dialog"), target: $("merge-target"), from: null };

function mergeSummary() {
  const from = merge.from;
  const to = merge.target.value;
  const entry = speakers.find((e) => (e.speaker || "") === from);
  const n = entry ? entry.segments : 0;
  $("merge-text").textContent = from
    ? `${n === 1 ? "The one segment" : `All ${n.toLocaleString()} segments`} of ${from} will be labelled ${to}, `
      + `and ${from} leaves the list of speakers. A merge cannot be undone in one step.`
    : `${n === 1 ? "The one unlabelled segment" : `The ${n.toLocaleString()} unlabelled segments`} will be labelled ${to}.`;
}

function openMerge(item) {
  const from = item.dataset.speaker;
  const targets = speakers.filter((e) => e.speaker && e.speaker !== from).map((e) => e.speaker);
  if (!targets.length) return;
  merge.from = from;
  $("merge-from").textContent = from || "the unlabelled segments";
  merge.target.replaceChildren(...targets.map((name) => new Option(name)));
  mergeSummary();
  showError($("merge-error"), "");
  $("merge-confirm").disabled = false;
  merge.dialog.showModal();
  merge.target.focus();
}

if (merge.dialog) {
  merge.target.addEventListener("change", mergeSummary);
  merge.dialog.addEventListener("close", () => {
    const item = speakerItemOf(merge.from);
    if (item && merge.from !== null) item.querySelector(".speaker-merge")?.focus();
    merge.from = null;
  });
  $("merge-confirm").addEventListener("click", async () => {
    const button = $("merge-confirm");
    const from = merge.from;
    const to = merge.target.value;
    button.disabled = true;
    try {
      await api("POST", `/api/meetings/${meetingId}/speakers`, { from: from || null, to });
      await reloadSpeakers(from, to);
      merge.from = null;
      merge.dialog.close();
      speakerItemOf(to)?.querySelector(".speaker-rename")?.focus();
    } catch (err) {
      button.disabled = false;
      showError($("merge-error"), `Not merged: ${err.message}`);
    }
  });
}

// --- filter: one speaker's segments --------------------------------------------------------

// Its values: "" for everyone, "=NAME" for one speaker ("=" alone: the unlabelled segments).
const filter = { select: $("speaker-filter"), box: $("speaker-filter-box"), count: $("filter-count"), value: "" };

function renderFilterOptions() {
  if (!filter.select) return;
  const options = [new Option("All speakers", "")];
  for (const e of speakers) options.push(new Option(e.speaker || "No speaker label", `=${e.speaker || ""}`));
  if (!options.some((o) => o.value === filter.value)) filter.value = "";
  filter.select.replaceChildren(...options);
  filter.select.value = filter.value;
  filter.box.hidden = speakers.length < 2 && !filter.value;
}

function applyFilter() {
  const want = filter.value ? filter.value.slice(1) : null;
  let shown = 0;
  const all = rows();
  for (const row of all) {
    const show = want === null || row.dataset.speaker === want;
    row.hidden = !show;
    if (show) shown += 1;
  }
  if (filter.count) filter.count.textContent = want === null ? "" : `${shown.toLocaleString()} of ${plural(all.length, "segment", "segments")}`;
}

filter.select?.addEventListener("change", () => {
  filter.value = filter.select.value;
  applyFilter();
  if (find.input?.value.trim()) runSearch(true);
});

// --- the transcript, drawn again -------------------------------------------------------------

// The stored transcript into the list: rows kept where their segment still is (a rename touches
// many), new ones for segments that labelling split, in the stored order.
async function reloadTranscript() {
  const { segments } = await api("GET", `/api/meetings/${meetingId}/transcript`);
  const before = rows();
  const byId = new Map(before.map((row) => [row.dataset.segmentId, row]));
  const next = segments.map((seg) => {
    const row = byId.get(String(seg.id));
    if (!row) return createSegmentRow(seg, rowOptions);
    if (!row.classList.contains("is-editing")) fillSegmentRow(row, seg, rowOptions);
    return row;
  });
  if (next.length !== before.length || next.some((row, i) => row !== before[i])) {
    list.replaceChildren(...next);
    if (playing && !playing.isConnected) playing = null;
  }
  refresh();
}

// --- identifying the speakers (the diarize job) ----------------------------------------------

const BUSY = new Set(["pending", "running"]);
const POLL_MS = 2000;
const analysis = {
  note: $("speakers-state"),
  retry: $("speakers-retry"),
  state: app.dataset.speakersState || "off",
  timer: 0,
  clear: 0,
};
const reidentify = { box: $("reidentify"), form: $("reidentify-form"), count: $("reidentify-count"), error: $("reidentify-error"), start: $("reidentify-start") };

function setAnalysis(state, message) {
  analysis.state = state;
  const busy = BUSY.has(state);
  clearTimeout(analysis.clear);
  if (analysis.note) {
    analysis.note.dataset.state = state;
    analysis.note.textContent = message ?? (busy ? "Identifying speakers\u2026" : state === "failed" ? "Speakers could not be identified." : "");
  }
  if (analysis.retry) analysis.retry.hidden = state !== "failed" || !reidentify.form;
  if (reidentify.start) reidentify.start.disabled = busy;
  clearTimeout(analysis.timer);
  if (busy) analysis.timer = setTimeout(pollAnalysis, POLL_MS);
}

async function pollAnalysis() {
  if (document.hidden) {
    analysis.timer = setTimeout(pollAnalysis, POLL_MS);
    return;
  }
  let state;
  try {
    state = (await api("GET", `/api/meetings/${meetingId}`)).analysis?.speakers || "off";
  } catch {
    state = analysis.state; // a missed answer: ask again
  }
  if (state !== "done") {
    setAnalysis(state, state === analysis.state ? analysis.note?.textContent : undefined);
    return;
  }
  try {
    await Promise.all([reloadTranscript(), loadSpeakers()]);
    const n = speakers.filter((e) => e.speaker).length;
    setAnalysis("done", `Speakers identified: ${plural(n, "speaker", "speakers")}.`);
  } catch {
    setAnalysis("done", "Speakers identified: reload the page to see them.");
    return;
  }
  analysis.clear = setTimeout(() => {
    if (analysis.note && analysis.state === "done") analysis.note.textContent = "";
  }, 8000);
}

async function startDiarize(body) {
  await api("POST", `/api/meetings/${meetingId}/diarize`, body);
  setAnalysis("pending");
}

analysis.retry?.addEventListener("click", async () => {
  analysis.retry.disabled = true;
  try {
    await startDiarize({});
  } catch (err) {
    setAnalysis("failed", `Speakers could not be identified. Not started again: ${err.message}`);
  } finally {
    analysis.retry.disabled = false;
  }
});

reidentify.count?.addEventListener("input", () => reidentify.count.removeAttribute("aria-invalid"));
reidentify.form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = reidentify.count.value.trim();
  const count = Number(text);
  if (reidentify.count.validity.badInput || (text && (!Number.isInteger(count) || count < 1 || count > 20))) {
    showError(reidentify.error, "The number of speakers is a whole number from 1 to 20; leave it empty to let Mina count them.");
    reidentify.count.setAttribute("aria-invalid", "true");
    reidentify.count.focus();
    return;
  }
  reidentify.count.removeAttribute("aria-invalid");
  showError(reidentify.error, "");
  reidentify.start.disabled = true;
  try {
    await startDiarize(text ? { speakers: count } : {});
    reidentify.box.open = false;
    reidentify.box.querySelector("summary").focus();
  } catch (err) {
    reidentify.start.disabled = false;
    showError(reidentify.error, `Not started: ${err.message}`);
  }
});

if (speakerList) {
  renderSpeakers(readSpeakers());
  setAnalysis(analysis.state, analysis.note?.textContent || undefined);
} else {
  paintRows();
}

// --- title -----------------------------------------------------------------------------------

const titleView = $("title-view");
const titleForm = $("title-form");
const titleInput = $("title-input");
const titleError = $("title-error");

function closeTitle() {
  titleForm.hidden = true;
  titleView.hidden = false;
  showError(titleError, "");
  $("title-edit").focus();
}

$("title-edit").addEventListener("click", () => {
  titleInput.value = $("meeting-title").textContent;
  titleView.hidden = true;
  titleForm.hidden = false;
  titleInput.focus();
  titleInput.select();
});
$("title-cancel").addEventListener("click", closeTitle);
titleForm.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.preventDefault();
    closeTitle();
  }
});
titleForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const title = titleInput.value.trim();
  if (!title) {
    showError(titleError, "A meeting needs a title.");
    return;
  }
  try {
    const meeting = await api("PATCH", `/api/meetings/${meetingId}`, { title });
    $("meeting-title").textContent = meeting.title;
    const deleteTitle = $("delete-title");
    if (deleteTitle) deleteTitle.textContent = meeting.title;
    document.title = `${meeting.title} \u00B7 Mina`;
    closeTitle();
  } catch (err) {
    showError(titleError, `Not renamed: ${err.message}`);
  }
});

// --- delete ----------------------------------------------------------------------------------

const dialog = $("delete-dialog");
$("delete-open")?.addEventListener("click", () => {
  showError($("delete-error"), "");
  dialog.showModal();
});
$("delete-confirm").addEventListener("click", async () => {
  const button = $("delete-confirm");
  button.disabled = true;
  try {
    await api("DELETE", `/api/meetings/${meetingId}`);
    location.assign("/dashboard/meetings");
  } catch (err) {
    button.disabled = false;
    showError($("delete-error"), `Not deleted: ${err.message}`);
  }
});

// --- live ------------------------------------------------------------------------------------

function appendSegment(segment) {
  if (list.querySelector(`[data-segment-id="${segment.id}"]`)) return;
  $("transcript-empty")?.remove();
  list.append(createSegmentRow(segment, rowOptions));
  if (segment.speaker && !colours.has(segment.speaker)) paintRows(); // colours as the finished page will have them
  $("meeting-words").textContent = rows()
    .reduce((n, row) => n + row.querySelector(".segment-text").textContent.split(/\s+/).filter(Boolean).length, 0)
    .toLocaleString();
}

function follow() {
  const interim = $("interim");
  const state = $("follow-state");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/meetings/${meetingId}/live`);
  let ended = false;
  const finished = () => {
    ended = true;
    interim.hidden = true;
    if (state) state.textContent = "Recording ended: loading the finished meeting\u2026";
    setTimeout(() => location.reload(), 1200);
  };
  socket.addEventListener("open", () => { if (state) state.textContent = "Following live"; });
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "transcript") {
      event.segments.forEach(appendSegment);
      if (event.status !== "live") finished(); // it ended while we were connecting
    } else if (event.type === "final") {
      appendSegment(event.segment);
    } else if (event.type === "interim") {
      interim.hidden = !event.text;
      interim.textContent = event.text || "";
    } else if (event.type === "stopped") {
      finished();
    }
  });
  socket.addEventListener("close", () => {
    if (ended) return;
    if (state) state.textContent = "Reconnecting\u2026";
    setTimeout(follow, 2000);
  });
}

if (live) follow();
