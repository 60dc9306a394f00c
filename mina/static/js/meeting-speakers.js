// The meeting page's speakers: the Speakers panel (each speaker's colour, talk time and share,
// drawn from the server's markup first, then from /api/meetings/{id}/speakers), renaming a
// speaker in place, the merge dialog (one speaker's segments given to another), and the filter
// that shows one speaker's segments. meeting.js calls initSpeakers once and uses what it returns:
// the colour of each name for its rows, the filter to apply after a change, the panel to reload.

import { paintSpeaker } from "/static/js/segment-row.js";
import { formatDuration } from "/static/js/live/text.js";
import { speakerColour, speakerColours } from "/static/js/speaker-colours.js";
import { api, plural, showError } from "/static/js/meeting-common.js";

const $ = (id) => document.getElementById(id);
const speakerList = $("speaker-list");
let speakers = []; // [{speaker, talk_ms, segments}], the most talkative first (the API's order)
// The colour slot of each of this meeting's speakers (paintRows fills it).
let colours = new Map();
const colourOf = (name) => (colours.has(name) ? colours.get(name) : speakerColour(name));
// What meeting.js gave initSpeakers: {rows, meetingId, reloadTranscript, onFilter}.
let page = null;

// Every row's speaker in the colour of this meeting's assignment (while live: of the rows so far).
function paintRows() {
  colours = speakerColours(speakers.length ? speakers.map((e) => e.speaker) : page.rows().map((row) => row.dataset.speaker));
  for (const row of page.rows()) paintSpeaker(row.querySelector(".speaker"), row.dataset.speaker, colourOf);
}

// What the server drew into the panel, read back so the first drawing needs no request.
function readSpeakers() {
  return [...speakerList.querySelectorAll(".speaker-item")].map((item) => ({
    speaker: item.dataset.speaker || null,
    talk_ms: Number(item.dataset.talkMs) || 0,
    segments: Number(item.dataset.segments) || 0,
  }));
}

async function loadSpeakers() {
  const data = await api("GET", `/api/meetings/${page.meetingId}/speakers`);
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
  await Promise.all([page.reloadTranscript(), loadSpeakers()]);
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
      await api("POST", `/api/meetings/${page.meetingId}/speakers`, { from: from || null, to: to || null });
      await reloadSpeakers(from, to);
      speakerItemOf(to)?.querySelector(".speaker-rename")?.focus();
    } catch (err) {
      showError(error, `Not renamed: ${err.message}`);
    }
  });
}

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
  const all = page.rows();
  for (const row of all) {
    const show = want === null || row.dataset.speaker === want;
    row.hidden = !show;
    if (show) shown += 1;
  }
  if (filter.count) filter.count.textContent = want === null ? "" : `${shown.toLocaleString()} of ${plural(all.length, "segment", "segments")}`;
}

// --- the interface meeting.js uses -----------------------------------------------------------

// rows(): the transcript's rows; reloadTranscript(): the stored transcript drawn again (it calls
// applyFilter); onFilter(): after the reader picks another speaker in the filter.
export function initSpeakers({ rows, meetingId, reloadTranscript, onFilter }) {
  page = { rows, meetingId, reloadTranscript, onFilter };
  speakerList?.addEventListener("click", (event) => {
    const item = event.target.closest(".speaker-item");
    if (event.target.closest(".speaker-rename")) startRename(item);
    else if (event.target.closest(".speaker-merge")) openMerge(item);
  });
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
  filter.select?.addEventListener("change", () => {
    filter.value = filter.select.value;
    applyFilter();
    onFilter();
  });
  if (speakerList) renderSpeakers(readSpeakers());
  else paintRows();
  return {
    hasPanel: Boolean(speakerList),
    colourOf,
    hasColour: (name) => colours.has(name),
    labelledCount: () => speakers.filter((e) => e.speaker).length,
    paintRows,
    loadSpeakers,
    applyFilter,
    // every speaker's segments shown again (a moment cited elsewhere is in a hidden one)
    showAll: () => {
      filter.value = "";
      if (filter.select) filter.select.value = "";
      applyFilter();
      onFilter();
    },
  };
}
