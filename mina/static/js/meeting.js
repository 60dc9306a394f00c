// The meeting page. Playback synced with the transcript (click a segment to play from it; the
// playing segment is highlighted and followed; ?t=MS opens the page at that moment), search
// within the transcript, inline edits of a segment's text and speaker, the title edited in
// place, delete with a confirmation, and, while the meeting is being recorded, the live
// transcript over /ws/meetings/{id}/live until it ends (then the finished view loads).
//
// Speakers: each has a colour (speaker-colours.js) on its segments and in the Speakers panel,
// which shows their talk time and share and renames or merges them; the transcript can be
// filtered to one speaker (all in meeting-speakers.js). While Mina is identifying the speakers
// (the diarize job) the page says so and polls the meeting; once they are labelled, transcript
// and panel are drawn again without a reload. "Re-identify speakers" starts the job again, with
// a count if you know it (meeting-analysis.js).
//
// Above the transcript, the Overview: the summary, action items, decisions, open questions and
// topics Mina made (meeting-insights.js), each point playing its moment; action items and the
// tasks added from a segment ("Add task" on each row) as checkboxes (meeting-tasks.js). A small
// dot beside a speaker marks a clearly positive or negative segment (segment-row.js).
//
// Share opens a dialog that makes, copies, lists and revokes read-only links (meeting-share.js).
//
// Each row's comment button (with its count) opens the segment's comment thread beside it,
// with @mentions of the workspace's members (meeting-comments.js); a finished meeting only.

import { createSegmentRow, fillSegmentRow } from "/static/js/segment-row.js";
import { api, showError } from "/static/js/meeting-common.js";
import { initAnalysis } from "/static/js/meeting-analysis.js";
import { initSpeakers } from "/static/js/meeting-speakers.js";
import { initInsights, refreshInsights } from "/static/js/meeting-insights.js";
import { closeTaskForm, initTasks, openTaskForm, reloadTasks } from "/static/js/meeting-tasks.js";
import { initShare } from "/static/js/meeting-share.js";
import { initAsk } from "/static/js/meeting-ask.js";
import { commentCount, initComments, toggleThread } from "/static/js/meeting-comments.js";

const $ = (id) => document.getElementById(id);
const app = $("meeting-app");
const meetingId = app.dataset.meetingId;
const live = app.dataset.live === "true";
const list = $("transcript");
const audio = $("meeting-audio");
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
// Each speaker's colour slot is this meeting's assignment (meeting-speakers.js keeps it).
const canEdit = document.getElementById("meeting-app").dataset.canEdit !== "false";
const rowOptions = {
  seekable: Boolean(audio),
  editable: !live && canEdit,
  colourOf: (name) => speakerPanel.colourOf(name),
  commentCount: live ? null : commentCount,
};

const rows = () => [...list.querySelectorAll("li.segment")];

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
  if (!row || row.classList.contains("is-editing") || event.target.closest(".task-form, .thread")) return;
  if (event.target.closest(".seg-comment")) {
    toggleThread(row);
    return;
  }
  if (event.target.closest(".seg-edit")) {
    startEdit(row);
    return;
  }
  if (event.target.closest(".seg-task")) {
    openTaskForm(row);
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
  speakerPanel.applyFilter();
  if (find.input?.value.trim()) runSearch(true);
}

function cancelEdit(row) {
  row.querySelector(".seg-form")?.remove();
  row.classList.remove("is-editing");
  row.querySelector(".segment-body").hidden = false;
  row.querySelector(".seg-actions").hidden = false;
  row.querySelector(".seg-edit").focus();
}

function startEdit(row) {
  for (const other of list.querySelectorAll("li.is-editing")) cancelEdit(other);
  closeTaskForm(row, false);
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
  row.querySelector(".seg-actions").hidden = true;
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
      if ("speaker" in patch) speakerPanel.loadSpeakers().catch(() => {});
      refreshInsights().catch(() => {}); // an edit makes them stale
    } catch (err) {
      form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      showError(error, `Not saved: ${err.message}`);
    }
  });
}


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

// --- speakers: the panel, the filter and identifying them ------------------------------------

const speakerPanel = initSpeakers({
  rows,
  meetingId,
  // after a rename or a merge: action items' owners and tasks' assignees follow the speaker
  reloadTranscript: async () => {
    await reloadTranscript();
    refreshInsights().catch(() => {});
    reloadTasks().catch(() => {});
  },
  onFilter: () => {
    if (find.input?.value.trim()) runSearch(true);
  },
});
initAnalysis({
  meetingId,
  state: app.dataset.speakersState,
  shown: speakerPanel.hasPanel,
  reload: () => Promise.all([reloadTranscript(), speakerPanel.loadSpeakers()]),
  labelledCount: speakerPanel.labelledCount,
});


// --- the Overview: insights and tasks --------------------------------------------------------

// A moment that a summary point, an action item or a task cites: its segment highlighted and
// scrolled to, the audio played from there (as a transcript timestamp does).
function jumpTo(segmentId, ms) {
  const row = list.querySelector(`li.segment[data-segment-id="${segmentId}"]`) || rowAt(ms);
  if (row) {
    if (row.hidden) speakerPanel.showAll();
    for (const old of list.querySelectorAll("li.is-target")) old.classList.remove("is-target");
    row.classList.add("is-target");
    markPlaying(row, false);
    scrollToRow(row, true);
  }
  seek(ms, true);
}

const overviewData = $("overview-data") ? JSON.parse($("overview-data").textContent) : null;
initTasks({ meetingId, initial: overviewData?.tasks });
initAsk({ meetingId, jumpTo });
initInsights({
  meetingId,
  initial: overviewData?.insights,
  jumpTo,
  changed: () => Promise.all([reloadTranscript(), reloadTasks(), speakerPanel.loadSpeakers()]),
});

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

// --- share -----------------------------------------------------------------------------------

initShare(meetingId);

// --- comments --------------------------------------------------------------------------------

if (!live) {
  initComments({
    meetingId,
    userId: Number(app.dataset.userId),
    role: app.dataset.role,
    list,
    rows,
    showRow: () => speakerPanel.showAll(),
  });
}

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
  if (segment.speaker && !speakerPanel.hasColour(segment.speaker)) speakerPanel.paintRows(); // colours as the finished page will have them
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