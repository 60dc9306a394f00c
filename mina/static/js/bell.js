// The bell in the nav of every signed-in page: the unread count of your notifications in this
// workspace (GET /api/notifications), asked for again every 45 s and whenever the page comes
// back into view; its panel lists the latest, each a link to the meeting at its moment that is
// marked read when opened (POST /api/notifications/read); "Mark all read" clears the count.

import { api } from "/static/js/meeting-common.js";
import { timeAgo as ago } from "/static/js/time-ago.js";

const POLL_MS = 45_000;
const SHOWN = 20;
const $ = (id) => document.getElementById(id);
const root = $("bell");
const toggle = $("bell-button");
const panel = $("bell-panel");
const badge = $("bell-badge");
const list = $("bell-list");
const empty = $("bell-empty");
const readAll = $("bell-read-all");
let items = [];
let unread = 0;

function paintCount() {
  badge.hidden = unread === 0;
  badge.textContent = unread > 99 ? "99+" : String(unread);
  toggle.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
  readAll.disabled = unread === 0;
}

function itemNode(item) {
  const li = document.createElement("li");
  const link = document.createElement(item.url ? "a" : "span");
  link.className = `bell-item${item.read_at ? "" : " is-unread"}`;
  if (item.url) link.href = item.url;
  link.dataset.id = item.id;
  const text = document.createElement("span");
  text.className = "bell-text";
  text.textContent = item.text;
  const when = document.createElement("time");
  when.className = "bell-time";
  when.dateTime = item.created_at;
  when.textContent = ago(item.created_at);
  link.append(text, when);
  if (!item.read_at) {
    const state = document.createElement("span");
    state.className = "sr-only";
    state.textContent = " (unread)";
    link.append(state);
  }
  li.append(link);
  return li;
}

function draw() {
  list.replaceChildren(...items.map(itemNode));
  empty.hidden = items.length > 0;
  paintCount();
}

async function refresh() {
  try {
    const found = await api("GET", `/api/notifications?limit=${SHOWN}`);
    items = found.items;
    unread = found.unread;
    draw();
  } catch {
    // signed out or offline: the next poll tries again
  }
}

function open() {
  panel.hidden = false;
  toggle.setAttribute("aria-expanded", "true");
  refresh();
}

function close(focus = false) {
  if (panel.hidden) return;
  panel.hidden = true;
  toggle.setAttribute("aria-expanded", "false");
  if (focus) toggle.focus();
}

toggle.addEventListener("click", () => (panel.hidden ? open() : close()));
document.addEventListener("click", (event) => {
  if (!root.contains(event.target)) close();
});
root.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !panel.hidden) {
    event.preventDefault();
    close(true);
  }
});
readAll.addEventListener("click", async () => {
  try {
    ({ unread } = await api("POST", "/api/notifications/read", { all: true }));
    const now = new Date().toISOString();
    items = items.map((item) => ({ ...item, read_at: item.read_at || now }));
    draw();
    $("bell-heading").focus();
  } catch {
    // the count stays as it was
  }
});
list.addEventListener("click", async (event) => {
  const link = event.target.closest("a.bell-item");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  if (!link.classList.contains("is-unread")) return;
  event.preventDefault();
  try {
    ({ unread } = await api("POST", "/api/notifications/read", { ids: [Number(link.dataset.id)] }));
  } catch {
    // opened anyway
  }
  close();
  location.assign(link.href); // on this very page (another moment of it): only the hash moves
  refresh();
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});
window.addEventListener("focus", refresh);
setInterval(() => {
  if (!document.hidden) refresh();
}, POLL_MS);
refresh();
