// The meeting page's Overview: what Mina made of the meeting (GET /api/meetings/{id}/insights).
// Topics as chips; the Summary, Decisions and Open questions, each point a button that plays its
// moment and highlights its segment; Action items with the checkbox of their task (drawn by
// meeting-tasks.js's checkItem), owner and due date; who made them and when. While the insights
// job is pending or running the panel says "Making the summary…" and polls the meeting
// (analysis.insights, as meeting-analysis.js does for speakers), then draws what was made
// without a reload; a failed job shows its error and "Try again". When the transcript changed
// since they were made, a notice offers "Regenerate" (also in the panel's menu).

import { api } from "/static/js/meeting-common.js";
import { checkItem, clock, setActionTasks, taskStatus } from "/static/js/meeting-tasks.js";

const $ = (id) => document.getElementById(id);
const BUSY = new Set(["pending", "running"]);
const POLL_MS = 2000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

let page = null; // what meeting.js gave initInsights
let data = null; // the latest GET .../insights answer
let timer = 0;

function hasItems(d) {
  return Boolean(d.summary.length || d.action_items.length || d.decisions.length || d.questions.length);
}

function when(iso) {
  const at = new Date(iso);
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const year = at.getFullYear() === new Date().getFullYear() ? "" : ` ${at.getFullYear()}`;
  return `${at.getDate()} ${MONTHS[at.getMonth()]}${year}, ${time}`;
}

// A summary point, a decision or a question: the whole line plays its moment.
function point(item, what) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "point";
  button.dataset.segmentId = item.segment_id;
  button.dataset.startMs = item.start_ms;
  button.title = `Play ${what} at ${clock(item.start_ms)}`;
  const time = document.createElement("span");
  time.className = "point-time";
  time.textContent = clock(item.start_ms);
  const text = document.createElement("span");
  text.className = "point-text";
  text.textContent = item.text;
  button.append(text, time);
  li.append(button);
  return li;
}

function fill(partId, listId, items, make) {
  $(listId).replaceChildren(...items.map(make));
  $(partId).hidden = items.length === 0;
}

function setNote(state, text) {
  const note = $("insights-state");
  note.dataset.state = state;
  note.textContent = text;
}

function draw() {
  const d = data;
  const busy = BUSY.has(d.status);
  const made = Boolean(d.provider);
  const any = hasItems(d);
  $("overview").dataset.state = d.status;

  if (busy) setNote(d.status, made ? "Making the summary again\u2026" : "Making the summary\u2026");
  else if (d.status === "failed") setNote("failed", `The summary could not be made${d.error ? `: ${d.error}` : "."}`);
  else setNote(d.status, "");

  $("insights-byline").textContent = made
    ? `Made by ${d.provider}${d.model ? ` \u00B7 ${d.model}` : ""}${d.generated_at ? ` \u00B7 ${when(d.generated_at)}` : ""}`
    : "";
  $("insights-menu").hidden = !made;
  $("insights-stale").hidden = !(made && d.stale) || busy;
  for (const button of document.querySelectorAll("[data-regenerate]")) button.disabled = busy;

  const empty = $("insights-empty");
  empty.hidden = any || busy;
  if (!any && !busy) {
    const [text, action] =
      d.status === "failed"
        ? ["Mina can try again with the transcript as it is now.", "Try again"]
        : made
          ? [d.note || "Mina found no summary, action items or decisions in this meeting.", "Make them again"]
          : ["No summary yet. Mina makes one when a meeting ends; make one for this meeting now.", "Make a summary"];
    $("insights-empty-text").textContent = text;
    $("insights-make").textContent = action;
  }

  const topics = $("insights-topics");
  topics.replaceChildren(
    ...d.topics.map((t) => {
      const li = document.createElement("li");
      li.className = "topic";
      li.textContent = t.label;
      return li;
    }),
  );
  topics.hidden = d.topics.length === 0;

  fill("summary-part", "summary-list", d.summary, (p) => point(p, "this point"));
  fill("decisions-part", "decision-list", d.decisions, (p) => point(p, "this decision"));
  fill("questions-part", "question-list", d.questions, (p) => point(p, "this question"));
  fill("actions-part", "action-list", d.action_items, (a) =>
    checkItem({
      taskId: a.task_id,
      // the task list may know better (a task completed since the insights were read)
      status: (a.task_id != null && taskStatus(a.task_id)) || a.task_status,
      text: a.text,
      owner: a.owner,
      due: a.due_date,
      segmentId: a.segment_id,
      startMs: a.start_ms,
    }),
  );
  $("overview-grid").classList.toggle("no-points", !(d.summary.length || d.decisions.length || d.questions.length));
  setActionTasks(d.action_items.map((a) => a.task_id));

  clearTimeout(timer);
  if (busy) timer = setTimeout(poll, POLL_MS);
}

async function load() {
  data = await api("GET", `/api/meetings/${page.meetingId}/insights`);
  draw();
}

async function poll() {
  if (document.hidden) {
    timer = setTimeout(poll, POLL_MS);
    return;
  }
  let state;
  try {
    state = (await api("GET", `/api/meetings/${page.meetingId}`)).analysis?.insights || "off";
  } catch {
    state = data.status; // a missed answer: ask again
  }
  if (BUSY.has(state)) {
    data = { ...data, status: state };
    draw();
    return;
  }
  try {
    await load();
    await page.changed(); // segments' sentiment, new tasks
  } catch {
    timer = setTimeout(poll, POLL_MS);
  }
}

async function regenerate(button) {
  button.disabled = true;
  try {
    await api("POST", `/api/meetings/${page.meetingId}/insights`);
    $("insights-menu").open = false;
    data = { ...data, status: "pending", error: null };
    draw();
    $("overview-heading").focus();
  } catch (err) {
    button.disabled = false;
    setNote("failed", `Not started: ${err.message}`);
  }
}

// The insights asked for again (after an edit made them stale, or a speaker's rename).
export async function refreshInsights() {
  if (!data?.provider || BUSY.has(data.status)) return;
  await load();
}

// meetingId; initial: the insights the page was drawn with; changed(): what the page redraws
// once new insights are made; jumpTo(segmentId, ms): play a moment and highlight its segment.
export function initInsights({ meetingId, initial, changed, jumpTo }) {
  page = { meetingId, changed };
  const overview = $("overview");
  if (!overview || !initial) return;
  overview.addEventListener("click", (event) => {
    const moment = event.target.closest("[data-start-ms]");
    if (moment) {
      jumpTo(moment.dataset.segmentId, Number(moment.dataset.startMs));
      return;
    }
    const button = event.target.closest("[data-regenerate]");
    if (button) regenerate(button);
  });
  // the menu closes on Escape and on a click elsewhere
  const menu = $("insights-menu");
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
  data = initial;
  draw();
}
