// Comments on the meeting page: each transcript row's comment button shows its count and opens
// the segment's thread beside it (below it on narrow screens): the comments, oldest first, with
// their author, when, the body rendered safely (comment-text.js), Edit and Delete for their
// author (Delete for owners and admins too), and a box to comment with "@" autocomplete of the
// workspace's members (mention-box.js). Every thread is loaded at once
// (GET /api/meetings/{id}/comments) and again when the page comes back into view; a link to
// #segment-{id} (a notification's) opens that segment's thread.

import { api, showError } from "/static/js/meeting-common.js";
import { renderCommentBody } from "/static/js/comment-text.js";
import { attachMentions } from "/static/js/mention-box.js";
import { paintCommentButton } from "/static/js/segment-row.js";
import { timeAgo as ago } from "/static/js/time-ago.js";

const MODERATORS = new Set(["owner", "admin"]);
const threads = new Map(); // segment id (string) -> comments, oldest first
let page = null; // what meeting.js gave initComments
let membersLoad = null;
let memberNames = new Map(); // user id -> the names a mention of them may use

export function commentCount(segmentId) {
  return threads.get(String(segmentId))?.length || 0;
}

function clockOf(row) {
  return row.querySelector(".ts").textContent.trim();
}

function paintRow(row) {
  const button = row.querySelector(".seg-comment");
  if (button) paintCommentButton(button, commentCount(row.dataset.segmentId), clockOf(row));
}

export function paintCounts() {
  page?.rows().forEach(paintRow);
}

function loadMembers() {
  membersLoad ??= api("GET", "/api/workspace/members").then(({ items }) => {
    memberNames = new Map(items.map((m) => [m.user_id, [m.name, m.email.split("@")[0]]]));
    return items;
  });
  return membersLoad;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function button(text, className, label) {
  const node = el("button", `btn btn-ghost btn-sm ${className}`, text);
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  return node;
}

function commentItem(comment) {
  const li = el("li", "comment");
  li.dataset.commentId = comment.id;
  const head = el("div", "comment-head");
  const who = comment.author?.name || "Deleted user";
  head.append(el("strong", comment.author ? "comment-author" : "comment-author is-deleted", who));
  const when = el("time", "comment-time", ago(comment.created_at));
  when.dateTime = comment.created_at;
  when.title = new Date(comment.created_at).toLocaleString();
  head.append(when);
  if (comment.edited_at) head.append(el("span", "comment-edited", "edited"));
  const body = el("div", "comment-body");
  const names = comment.mentions.flatMap((id) => memberNames.get(id) || []);
  body.append(...renderCommentBody(comment.body, names));
  li.append(head, body);
  const mine = comment.author?.id === page.userId;
  if (mine || MODERATORS.has(page.role)) {
    const actions = el("div", "comment-actions");
    if (mine) actions.append(button("Edit", "comment-edit", `Edit your comment from ${ago(comment.created_at)}`));
    actions.append(button("Delete", "comment-delete", `Delete the comment by ${who} from ${ago(comment.created_at)}`));
    li.append(actions);
  }
  return li;
}

function commentForm({ id, label, submit, value = "" }) {
  const form = el("form", "comment-form");
  form.noValidate = true;
  const field = el("label", "comment-label", label);
  field.htmlFor = id;
  const wrap = el("div", "mention-field");
  const textarea = el("textarea");
  textarea.id = id;
  textarea.rows = 3;
  textarea.maxLength = 4000;
  textarea.value = value;
  textarea.setAttribute("aria-describedby", `${id}-hint`);
  wrap.append(textarea);
  const hint = el("p", "muted small comment-hint", "Type @ to mention someone. **bold**, *italic*, `code`, links. Ctrl+Enter sends.");
  hint.id = `${id}-hint`;
  const error = el("p", "inline-error");
  error.setAttribute("role", "alert");
  error.hidden = true;
  const actions = el("div", "seg-form-actions");
  const send = el("button", "btn btn-primary btn-sm", submit);
  send.type = "submit";
  const cancel = el("button", "btn btn-sm", "Cancel");
  cancel.type = "button";
  cancel.dataset.cancel = "";
  actions.append(send, cancel);
  form.append(field, wrap, hint, error, actions);
  attachMentions(textarea, loadMembers);
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  return { form, textarea, error };
}

function threadOf(row) {
  return row.querySelector(":scope > .thread");
}

function drawThread(row) {
  const thread = threadOf(row);
  if (!thread) return;
  const comments = threads.get(row.dataset.segmentId) || [];
  thread.querySelector(".thread-list").replaceChildren(...comments.map(commentItem));
  thread.querySelector(".thread-empty").hidden = comments.length > 0;
}

function announce(row, text) {
  const status = threadOf(row)?.querySelector(".thread-status");
  if (status) status.textContent = text;
}

export function closeThread(row, focus = true) {
  const thread = threadOf(row);
  if (!thread) return;
  thread.remove();
  row.classList.remove("has-thread");
  const toggle = row.querySelector(".seg-comment");
  toggle?.setAttribute("aria-expanded", "false");
  if (focus) toggle?.focus();
}

export function openThread(row, { focus = true } = {}) {
  for (const other of page.list.querySelectorAll("li.segment.has-thread")) {
    if (other !== row) closeThread(other, false);
  }
  if (threadOf(row)) {
    if (focus) threadOf(row).querySelector("textarea").focus();
    return;
  }
  const segmentId = row.dataset.segmentId;
  const thread = el("section", "thread");
  thread.id = `thread-${segmentId}`;
  thread.setAttribute("aria-label", `Comments on the segment at ${clockOf(row)}`);
  const list = el("ol", "thread-list");
  const empty = el("p", "thread-empty muted small", "No comments yet.");
  const { form, textarea, error } = commentForm({ id: `comment-new-${segmentId}`, label: "Add a comment", submit: "Comment" });
  const status = el("p", "sr-only thread-status");
  status.setAttribute("role", "status");
  thread.append(list, empty, form, status);
  row.append(thread);
  row.classList.add("has-thread");
  const toggle = row.querySelector(".seg-comment");
  toggle?.setAttribute("aria-expanded", "true");
  toggle?.setAttribute("aria-controls", thread.id);
  drawThread(row);

  form.querySelector("[data-cancel]").addEventListener("click", () => closeThread(row));
  thread.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) {
      event.preventDefault();
      const editing = event.target.closest("li.comment.is-editing");
      if (editing) stopEditing(row, editing);
      else closeThread(row);
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = textarea.value.trim();
    if (!body) {
      showError(error, "Write something first.");
      textarea.focus();
      return;
    }
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      const made = await api("POST", `/api/segments/${segmentId}/comments`, { body });
      threads.set(segmentId, [...(threads.get(segmentId) || []), made]);
      textarea.value = "";
      showError(error, "");
      drawThread(row);
      paintRow(row);
      announce(row, "Comment added.");
    } catch (err) {
      showError(error, `Not sent: ${err.message}`);
    } finally {
      form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      textarea.focus();
    }
  });
  list.addEventListener("click", (event) => {
    const item = event.target.closest("li.comment");
    if (!item) return;
    if (event.target.closest(".comment-edit")) startEditing(row, item);
    else if (event.target.closest(".comment-delete")) removeComment(row, item);
  });
  if (focus) textarea.focus();
}

export function toggleThread(row) {
  if (threadOf(row)) closeThread(row);
  else openThread(row);
}

function findComment(row, item) {
  return (threads.get(row.dataset.segmentId) || []).find((c) => String(c.id) === item.dataset.commentId);
}

function stopEditing(row, item) {
  const comment = findComment(row, item);
  if (!comment) return;
  const fresh = commentItem(comment);
  item.replaceWith(fresh);
  fresh.querySelector(".comment-edit")?.focus();
}

function startEditing(row, item) {
  const comment = findComment(row, item);
  if (!comment) return;
  item.classList.add("is-editing");
  const { form, textarea, error } = commentForm({ id: `comment-edit-${comment.id}`, label: "Edit your comment", submit: "Save", value: comment.body });
  item.querySelector(".comment-body").replaceWith(form);
  item.querySelector(".comment-actions")?.remove();
  textarea.focus();
  textarea.setSelectionRange(textarea.value.length, textarea.value.length);
  form.querySelector("[data-cancel]").addEventListener("click", () => stopEditing(row, item));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = textarea.value.trim();
    if (!body) {
      showError(error, "A comment needs some text.");
      return;
    }
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      const saved = await api("PATCH", `/api/comments/${comment.id}`, { body });
      Object.assign(comment, saved);
      stopEditing(row, item);
      announce(row, "Comment saved.");
    } catch (err) {
      form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      showError(error, `Not saved: ${err.message}`);
    }
  });
}

async function removeComment(row, item) {
  const comment = findComment(row, item);
  if (!comment || !window.confirm("Delete this comment?")) return;
  try {
    await api("DELETE", `/api/comments/${comment.id}`);
    const segmentId = row.dataset.segmentId;
    threads.set(segmentId, (threads.get(segmentId) || []).filter((c) => c.id !== comment.id));
    drawThread(row);
    paintRow(row);
    announce(row, "Comment deleted.");
    threadOf(row)?.querySelector("textarea").focus();
  } catch (err) {
    announce(row, `Not deleted: ${err.message}`);
  }
}

export async function reloadComments() {
  const [{ items }] = await Promise.all([
    api("GET", `/api/meetings/${page.meetingId}/comments`),
    loadMembers().catch(() => []),
  ]);
  threads.clear();
  for (const comment of items) {
    const key = String(comment.segment_id);
    if (!threads.has(key)) threads.set(key, []);
    threads.get(key).push(comment);
  }
  paintCounts();
  for (const row of page.list.querySelectorAll("li.segment.has-thread")) {
    if (!row.querySelector("li.comment.is-editing")) drawThread(row);
  }
}

// #segment-{id}: open that segment's thread (a notification's link lands there).
function openFromHash() {
  const match = location.hash.match(/^#segment-(\d+)$/);
  const row = match && page.list.querySelector(`li.segment[data-segment-id="${match[1]}"]`);
  if (!row || !row.querySelector(".seg-comment")) return;
  if (row.hidden) page.showRow(row);
  openThread(row, { focus: false });
  row.classList.add("is-target");
  row.scrollIntoView({ block: "center" });
}

// meetingId, userId, role, list (the transcript), rows(), showRow(row): from meeting.js.
export function initComments(options) {
  page = options;
  reloadComments()
    .then(openFromHash)
    .catch(() => {});
  window.addEventListener("hashchange", openFromHash);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) reloadComments().catch(() => {});
  });
}
