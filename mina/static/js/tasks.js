// The tasks page: add a task, tick it off (or reopen it), edit its title, assignee and due date
// in place (Enter saves, Escape cancels), delete it after a confirmation. The server renders the
// first page; each change goes through the tasks API and redraws its row with taskRow, the same
// markup as templates/_task_row.html.

import { api, showError } from "/static/js/meeting-common.js";

const $ = (id) => document.getElementById(id);
const page = JSON.parse($("tasks-data").textContent);
const list = $("task-list");
const statusLine = $("task-status");
const tasks = new Map(page.tasks.map((t) => [t.id, t]));
const counts = {
  open: Number(document.querySelector('[data-count="open"]').textContent),
  done: Number(document.querySelector('[data-count="done"]').textContent),
  overdue: Number($("task-counts").dataset.overdue),
};

// Due dates are calendar days: "today" is the reader's, where the server's (UTC) differs.
const pad = (n) => String(n).padStart(2, "0");
const now = new Date();
const today = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const asDay = (iso) => new Date(`${iso.slice(0, 10)}T00:00:00Z`);
const daysBetween = (from, to) => Math.round((asDay(to) - asDay(from)) / 86_400_000);

function dayText(iso) {
  const day = asDay(iso);
  const text = `${day.getUTCDate()} ${MONTHS[day.getUTCMonth()]}`;
  return iso.slice(0, 4) === today.slice(0, 4) ? text : `${text} ${day.getUTCFullYear()}`;
}

// The wording of tasks_page.describe_due and describe_done.
function describeDue(iso) {
  const days = daysBetween(today, iso);
  if (days < 0) return { text: days === -1 ? "was due yesterday" : `was due ${dayText(iso)}`, state: "overdue" };
  if (days === 0) return { text: "Due today", state: "today" };
  if (days === 1) return { text: "Due tomorrow", state: "tomorrow" };
  if (days < 7) return { text: `Due ${WEEKDAYS[asDay(iso).getUTCDay()]}`, state: "soon" };
  return { text: `Due ${dayText(iso)}`, state: "later" };
}

function describeDone(isoDateTime) {
  const day = new Date(isoDateTime);
  const local = `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
  const days = daysBetween(local, today);
  return days <= 0 ? "Done today" : days === 1 ? "Done yesterday" : `Done ${dayText(local)}`;
}

const isOverdue = (t) => t.status === "open" && t.due_date !== null && daysBetween(today, t.due_date) < 0;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const PERSON = '<svg aria-hidden="true" width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"><circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/></svg>';
const MIC = '<svg aria-hidden="true" width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"><rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/></svg>';

function icon(svg) {
  const holder = document.createElement("span");
  holder.innerHTML = svg; // a constant, never data
  return holder.firstChild;
}

function clock(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const [h, m, s] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60];
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

function taskRow(t) {
  const done = t.status === "done";
  const due = t.due_date ? describeDue(t.due_date) : null;
  const overdue = isOverdue(t);
  const titleId = `task-${t.id}-title`;
  let from = null;
  if (t.meeting_id) {
    const moment = t.start_ms === null ? "" : `?t=${t.start_ms}`;
    from = el("a", { className: "task-from", href: `/dashboard/meeting/${t.meeting_id}${moment}` },
      icon(MIC), el("span", { className: "sr-only" }, "From "), t.meeting_title || "A meeting",
      t.start_ms === null ? null : el("span", { className: "task-at" }, ` at ${clock(t.start_ms)}`));
  }
  let when = null;
  if (done && t.done_at) when = el("span", { className: "task-when" }, describeDone(t.done_at));
  else if (due) when = el("span", { className: `task-when due-${due.state}` }, due.text);
  return el("li", { className: `task${done ? " is-done" : ""}${overdue ? " is-overdue" : ""}`, "data-task-id": t.id },
    el("input", { type: "checkbox", className: "task-check", "aria-labelledby": titleId, checked: done }),
    el("div", { className: "task-main" },
      el("p", { className: "task-title", id: titleId }, t.title),
      el("p", { className: "task-meta" },
        overdue ? el("span", { className: "badge badge-overdue" }, "Overdue") : null,
        when,
        el("span", { className: `task-who${t.assignee ? "" : " is-none"}` }, icon(PERSON), t.assignee || "Unassigned"),
        from)),
    el("div", { className: "task-actions" },
      el("button", { type: "button", className: "btn btn-ghost btn-sm task-edit" }, "Edit", el("span", { className: "sr-only" }, ` ${t.title}`)),
      el("button", { type: "button", className: "btn btn-ghost btn-sm task-delete" }, "Delete", el("span", { className: "sr-only" }, ` ${t.title}`))));
}

function announce(message) {
  statusLine.textContent = "";
  setTimeout(() => { statusLine.textContent = message; }, 50);
}

function showPageError(message) {
  showError($("task-error"), message);
}

function renderCounts() {
  document.querySelector('[data-count="open"]').textContent = counts.open;
  document.querySelector('[data-count="done"]').textContent = counts.done;
  document.querySelector('[data-count="all"]').textContent = counts.open + counts.done;
  const parts = page.tab === "done" ? [`${counts.done} done`] : [`${counts.open} open`];
  if (page.tab === "all") parts.push(`${counts.done} done`);
  const box = $("task-counts");
  box.textContent = parts.join(" · ");
  $("task-summary").hidden = false;
  if (page.tab !== "done" && counts.overdue > 0) {
    box.append(" · ", el("strong", { className: "overdue-count" }, `${counts.overdue} overdue`));
  }
}

// a task's change, in the counts: what it was, then what it is (null when deleted or new)
function recount(before, after) {
  for (const [t, sign] of [[before, -1], [after, 1]]) {
    if (!t) continue;
    counts[t.status] += sign;
    if (isOverdue(t)) counts.overdue += sign;
  }
  renderCounts();
}

function rowOf(id) {
  return list.querySelector(`[data-task-id="${id}"]`);
}

function replaceRow(task) {
  const fresh = taskRow(task);
  rowOf(task.id).replaceWith(fresh);
  return fresh;
}

function showListOrEmpty() {
  const empty = list.children.length === 0;
  list.hidden = empty;
  $("task-empty")?.toggleAttribute("hidden", !empty);
  $("task-none").hidden = !empty || Boolean($("task-empty"));
}

// The server's words for "today" are UTC: redraw the rows where the reader's day differs.
if (today !== page.today) for (const t of tasks.values()) replaceRow(t);

// ---- complete / reopen
list.addEventListener("change", async (event) => {
  const box = event.target.closest(".task-check");
  if (!box) return;
  const id = Number(box.closest(".task").dataset.taskId);
  const before = tasks.get(id);
  box.disabled = true;
  showPageError("");
  try {
    const after = await api("PATCH", `/api/tasks/${id}`, { status: box.checked ? "done" : "open" });
    tasks.set(id, after);
    recount(before, after);
    replaceRow(after).querySelector(".task-check").focus();
    announce(after.status === "done" ? `Done: ${after.title}` : `Reopened: ${after.title}`);
  } catch (error) {
    box.checked = before.status === "done";
    box.disabled = false;
    showPageError(`Could not change “${before.title}”: ${error.message}`);
  }
});

// ---- edit in place
function openEditor(row) {
  const task = tasks.get(Number(row.dataset.taskId));
  const field = (label, input) => el("label", {}, el("span", { className: "task-form-label" }, label), input);
  const title = el("input", { name: "title", required: true, maxlength: 500, value: task.title, autocomplete: "off" });
  const assignee = el("input", { name: "assignee", maxlength: 200, value: task.assignee || "", list: "task-assignees", autocomplete: "off", placeholder: "Unassigned" });
  const due = el("input", { name: "due_date", type: "date", value: task.due_date || "" });
  const error = el("p", { className: "inline-error", role: "alert", hidden: true });
  const form = el("form", { className: "task-form", "aria-label": `Edit ${task.title}` },
    field("Task", title),
    el("div", { className: "task-form-row" }, field("Assignee", assignee), field("Due", due)),
    el("div", { className: "task-form-actions" },
      el("button", { type: "submit", className: "btn btn-primary btn-sm" }, "Save"),
      el("button", { type: "button", className: "btn btn-sm task-cancel" }, "Cancel"),
      el("span", { className: "muted small task-form-hint" }, "Enter saves · Esc cancels")),
    error);
  row.classList.add("is-editing");
  row.querySelector(".task-main").hidden = true;
  row.querySelector(".task-actions").hidden = true;
  row.append(form);
  title.focus();
  title.select();

  const close = (fresh) => {
    const shown = replaceRow(fresh || task);
    shown.querySelector(".task-edit").focus();
  };
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); close(null); }
  });
  form.querySelector(".task-cancel").addEventListener("click", () => close(null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = {};
    const newTitle = title.value.trim();
    if (!newTitle) { showError(error, "A task needs a title."); title.focus(); return; }
    if (newTitle !== task.title) changes.title = newTitle;
    const newAssignee = assignee.value.trim() || null;
    if (newAssignee !== task.assignee) changes.assignee = newAssignee;
    const newDue = due.value || null;
    if (newDue !== task.due_date) changes.due_date = newDue;
    if (!Object.keys(changes).length) { close(null); return; }
    form.querySelectorAll("button, input").forEach((c) => { c.disabled = true; });
    try {
      const saved = await api("PATCH", `/api/tasks/${task.id}`, changes);
      tasks.set(saved.id, saved);
      recount(task, saved);
      close(saved);
      announce(`Saved: ${saved.title}`);
    } catch (failure) {
      form.querySelectorAll("button, input").forEach((c) => { c.disabled = false; });
      showError(error, failure.message);
    }
  });
}

// ---- delete, after a confirmation
const dialog = $("task-delete-dialog");
let deleting = null;

function askDelete(row) {
  deleting = tasks.get(Number(row.dataset.taskId));
  $("task-delete-title").textContent = deleting.title;
  $("task-delete-insights").hidden = deleting.source !== "insights";
  showError($("task-delete-error"), "");
  dialog.showModal();
}

$("task-delete-confirm").addEventListener("click", async () => {
  const task = deleting;
  const button = $("task-delete-confirm");
  button.disabled = true;
  try {
    await api("DELETE", `/api/tasks/${task.id}`);
    const row = rowOf(task.id);
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    tasks.delete(task.id);
    recount(task, null);
    dialog.close();
    showListOrEmpty();
    (next?.querySelector(".task-check") || $("add-title")).focus();
    announce(`Deleted: ${task.title}`);
  } catch (error) {
    showError($("task-delete-error"), error.message);
  } finally {
    button.disabled = false;
  }
});

list.addEventListener("click", (event) => {
  const row = event.target.closest(".task");
  if (!row) return;
  if (event.target.closest(".task-edit")) openEditor(row);
  else if (event.target.closest(".task-delete")) askDelete(row);
});

// ---- add
const addForm = $("task-add-form");
addForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(addForm);
  const title = String(data.get("title")).trim();
  const addError = $("add-error");
  if (!title) {
    showError(addError, "Write what needs doing first.");
    addForm.elements.title.setAttribute("aria-invalid", "true");
    addForm.elements.title.focus();
    return;
  }
  const body = { title };
  if (String(data.get("assignee")).trim()) body.assignee = String(data.get("assignee")).trim();
  if (data.get("due_date")) body.due_date = data.get("due_date");
  const button = addForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const task = await api("POST", "/api/tasks", body);
    tasks.set(task.id, task);
    recount(null, task);
    if (page.tab !== "done") {
      const row = taskRow(task);
      row.classList.add("is-new");
      list.prepend(row);
      showListOrEmpty();
    }
    addForm.elements.title.value = "";
    addForm.elements.title.removeAttribute("aria-invalid");
    showError(addError, "");
    addForm.elements.title.focus();
    announce(`Added: ${task.title}`);
  } catch (error) {
    showError(addError, error.message);
  } finally {
    button.disabled = false;
  }
});

// the assignee filter applies as soon as it is picked; empty fields stay out of the address
const filter = $("task-assignee").form;
$("task-assignee").addEventListener("change", () => filter.requestSubmit());
filter.addEventListener("submit", (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(filter)) if (String(value).trim()) params.append(key, String(value).trim());
  window.location.assign(`/tasks${params.size ? `?${params}` : ""}`);
});
