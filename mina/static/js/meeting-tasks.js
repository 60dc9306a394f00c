// The meeting's tasks, as the meeting page shows them: a checkbox per task (checking it completes
// the task, unchecking reopens it: PATCH /api/tasks/{id}), under its action item in the Overview
// (meeting-insights.js draws those with checkItem) or in "Tasks from this meeting" (the others:
// added from a segment, or from an action item no longer in the insights). "Add task" on a
// transcript row opens a form under it: the title is the segment's words, the assignee its
// speaker, a due date if you want one (POST /api/tasks with the segment). The list is asked for
// again whenever the page comes back into view, so a task completed on /tasks shows here.

import { api, showError } from "/static/js/meeting-common.js";

const $ = (id) => document.getElementById(id);
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const TITLE_MAX = 500;

let page = null; // what meeting.js gave initTasks
const tasks = new Map(); // id -> task (GET /api/tasks shape)
let shownAsActions = new Set(); // task ids the Overview shows under their action item
let itemCount = 0;

// "YYYY-MM-DD" as a local date.
function parseDay(text) {
  const [y, m, d] = text.split("-").map(Number);
  return new Date(y, m - 1, d);
}

function today() {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

export function formatDay(text) {
  const day = parseDay(text);
  const year = day.getFullYear() === new Date().getFullYear() ? "" : ` ${day.getFullYear()}`;
  return `${day.getDate()} ${MONTHS[day.getMonth()]}${year}`;
}

export function isOverdue(due, status) {
  return Boolean(due) && status !== "done" && parseDay(due) < today();
}

export function clock(ms) {
  const s = Math.floor(Math.max(0, ms) / 1000);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

// A moment of the meeting: a small timestamp button that plays it (meeting.js jumpTo).
export function momentButton(segmentId, startMs, what) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "moment";
  button.dataset.segmentId = segmentId ?? "";
  button.dataset.startMs = startMs;
  button.textContent = clock(startMs);
  button.setAttribute("aria-label", `Play ${what} at ${clock(startMs)}`);
  return button;
}

// One checklist line: {taskId (null: no task, no checkbox), status, text, owner, due, segmentId,
// startMs}. The Overview's action items and the task list share it.
export function checkItem({ taskId, status, text, owner, due, segmentId, startMs }) {
  const li = document.createElement("li");
  li.className = "check-item";
  const done = status === "done";
  li.classList.toggle("is-done", done);
  const id = `check-${++itemCount}`;
  let label;
  if (taskId != null) {
    li.dataset.taskId = taskId;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = id;
    box.checked = done;
    label = document.createElement("label");
    label.htmlFor = id;
    li.append(box);
  } else {
    const bullet = document.createElement("span");
    bullet.className = "check-bullet";
    bullet.title = "Its task was deleted";
    bullet.setAttribute("aria-hidden", "true");
    label = document.createElement("span");
    li.append(bullet);
  }
  label.className = "check-text";
  label.textContent = text;
  const body = document.createElement("div");
  body.className = "check-body";
  body.append(label);
  const meta = document.createElement("p");
  meta.className = "check-meta";
  if (owner) {
    const who = document.createElement("span");
    who.className = "check-owner";
    who.textContent = owner;
    meta.append(who);
  }
  if (due) {
    const when = document.createElement("span");
    when.className = "check-due";
    when.dataset.due = due;
    meta.append(when);
  }
  if (startMs != null) meta.append(momentButton(segmentId, startMs, "the moment it was said"));
  if (meta.childNodes.length) body.append(meta);
  li.append(body);
  paintDue(li, status);
  return li;
}

function paintDue(li, status) {
  const when = li.querySelector(".check-due");
  if (!when) return;
  const overdue = isOverdue(when.dataset.due, status);
  when.classList.toggle("is-overdue", overdue);
  when.textContent = `${overdue ? "Overdue" : "Due"} ${formatDay(when.dataset.due)}`;
}

// Every checkbox of a task on the page shows its status.
function paintTask(taskId, status) {
  for (const li of document.querySelectorAll(`li.check-item[data-task-id="${taskId}"]`)) {
    li.classList.toggle("is-done", status === "done");
    const box = li.querySelector("input[type=checkbox]");
    if (box) box.checked = status === "done";
    paintDue(li, status);
  }
}

async function setStatus(taskId, status) {
  const task = tasks.get(taskId);
  const before = task?.status ?? (status === "done" ? "open" : "done");
  paintTask(taskId, status);
  try {
    const saved = await api("PATCH", `/api/tasks/${taskId}`, { status });
    tasks.set(taskId, saved);
    paintTask(taskId, saved.status);
    announce(saved.status === "done" ? `Done: ${saved.title}` : `Open again: ${saved.title}`);
  } catch (err) {
    paintTask(taskId, before);
    announce(`Not saved: ${err.message}`);
  }
}

function announce(text) {
  const live = $("tasks-live");
  if (live) live.textContent = text;
}

function drawList() {
  const list = $("task-list");
  if (!list) return;
  const shown = [...tasks.values()].filter((t) => !shownAsActions.has(t.id));
  list.replaceChildren(
    ...shown.map((t) =>
      checkItem({
        taskId: t.id,
        status: t.status,
        text: t.title,
        owner: t.assignee,
        due: t.due_date,
        segmentId: t.segment_id,
        startMs: t.start_ms,
      }),
    ),
  );
  $("task-empty").hidden = shown.length > 0;
}

// The task ids the Overview shows under action items (they leave the list below them).
export function setActionTasks(ids) {
  shownAsActions = new Set(ids.filter((id) => id != null));
  drawList();
}

export function taskStatus(taskId) {
  return tasks.get(taskId)?.status;
}

export async function reloadTasks() {
  const found = await api("GET", `/api/tasks?meeting_id=${page.meetingId}&per_page=200`);
  tasks.clear();
  for (const t of found.items) tasks.set(t.id, t);
  drawList();
  for (const t of tasks.values()) paintTask(t.id, t.status);
}

// --- "Add task" from a segment ---------------------------------------------------------------

export function closeTaskForm(row, focus = true) {
  const form = row.querySelector(".task-form");
  if (!form) return;
  form.remove();
  row.classList.remove("is-adding");
  if (focus) row.querySelector(".seg-task")?.focus();
}

export function openTaskForm(row) {
  for (const other of document.querySelectorAll("li.segment.is-adding")) closeTaskForm(other, false);
  const id = row.dataset.segmentId;
  const text = row.querySelector(".segment-text").textContent.trim();
  row.classList.add("is-adding");
  const form = document.createElement("form");
  form.className = "task-form";
  form.noValidate = true;
  form.setAttribute("aria-label", `New task from the segment at ${clock(Number(row.dataset.startMs))}`);
  form.innerHTML = `
    <div class="task-field task-title"><label for="task-title-${id}">Task</label>
      <input id="task-title-${id}" name="title" type="text" maxlength="${TITLE_MAX}" autocomplete="off" required></div>
    <div class="task-field"><label for="task-who-${id}">Assignee <span class="optional">optional</span></label>
      <input id="task-who-${id}" name="assignee" type="text" maxlength="200" list="speaker-names" autocomplete="off"></div>
    <div class="task-field"><label for="task-due-${id}">Due <span class="optional">optional</span></label>
      <input id="task-due-${id}" name="due" type="date"></div>
    <p class="inline-error" role="alert" hidden></p>
    <div class="seg-form-actions">
      <button type="submit" class="btn btn-primary btn-sm">Add task</button>
      <button type="button" class="btn btn-sm" data-cancel>Cancel</button>
    </div>`;
  const title = form.elements.title;
  title.value = text.slice(0, TITLE_MAX);
  form.elements.assignee.value = row.dataset.speaker || "";
  const error = form.querySelector(".inline-error");
  row.append(form); // under the row, its buttons left where they are
  title.focus();
  title.select();

  form.querySelector("[data-cancel]").addEventListener("click", () => closeTaskForm(row));
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closeTaskForm(row);
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { title: title.value.trim(), meeting_id: Number(page.meetingId), segment_id: Number(id) };
    if (!body.title) {
      showError(error, "A task needs a title.");
      title.focus();
      return;
    }
    const assignee = form.elements.assignee.value.trim();
    if (assignee) body.assignee = assignee;
    if (form.elements.due.value) body.due_date = form.elements.due.value;
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      const task = await api("POST", "/api/tasks", body);
      tasks.set(task.id, task);
      drawList();
      closeTaskForm(row);
      announce(`Task added: ${task.title}`);
    } catch (err) {
      form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      showError(error, `Not added: ${err.message}`);
    }
  });
}

// meetingId; initial: the tasks the page was drawn with.
export function initTasks({ meetingId, initial }) {
  page = { meetingId };
  for (const t of initial || []) tasks.set(t.id, t);
  // one listener for every checkbox of the Overview: action items and the list
  const overview = $("overview");
  overview?.addEventListener("change", (event) => {
    const box = event.target.closest("li.check-item[data-task-id] input[type=checkbox]");
    if (!box) return;
    setStatus(Number(box.closest("li").dataset.taskId), box.checked ? "done" : "open");
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) reloadTasks().catch(() => {});
  });
  drawList();
}
