// Settings page, Webhooks (owners and admins): add a webhook (its secret shown once, with a copy
// button), turn each on or off, delete it, and read its recent delivery log, refreshed every
// few seconds. Everything goes through /api/webhooks; window.minaWebhooks mirrors the state for
// tests.
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const REFRESH_MS = 5000;
const LOG_ROWS = 10;

const form = $("webhook-form");
const urlInput = $("webhook-url");
const addButton = $("webhook-add");
const errorLine = $("webhook-error");
const list = $("webhook-list");
const empty = $("webhook-empty");
const secretBox = $("webhook-secret");
const secretValue = $("webhook-secret-value");
const copyStatus = $("webhook-copy-status");

const state = (window.minaWebhooks = { webhooks: [], logs: {}, loaded: false, error: null });

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch (_) { /* not JSON */ }
  return `The server answered HTTP ${response.status}.`;
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await errorOf(response));
  return response.status === 204 ? null : response.json();
}

function showError(message) {
  state.error = message || null;
  errorLine.textContent = message || "";
  errorLine.hidden = !message;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) : "";
}

const BADGES = { delivered: "badge-completed", failed: "badge-failed", queued: "badge-processing" };

function logTable(hook, deliveries) {
  if (!deliveries.length) return el("p", { class: "muted small", text: "No deliveries yet." });
  const head = el("tr", {}, ...["Event", "Status", "Attempts", "Last code", "Time"].map(
    (name) => el("th", { scope: "col", text: name })));
  const rows = deliveries.slice(0, LOG_ROWS).map((d) => {
    const status = el("span", { class: `badge ${BADGES[d.status] || ""}`, text: d.status });
    if (d.last_error) status.title = d.last_error;
    return el("tr", {},
      el("td", {}, el("code", { text: d.event })),
      el("td", {}, status),
      el("td", { class: "num", text: String(d.attempts) }),
      el("td", { class: "num", text: d.last_status_code == null ? "–" : String(d.last_status_code) }),
      el("td", {}, el("time", { datetime: d.delivered_at || d.created_at, text: when(d.delivered_at || d.created_at) })));
  });
  const table = el("table", { class: "table" },
    el("caption", {}, "Recent deliveries", el("span", { class: "sr-only", text: ` to ${hook.url}` })),
    el("thead", {}, head), el("tbody", {}, ...rows));
  // focusable, so a keyboard can scroll it sideways on a narrow screen
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `Delivery log of ${hook.url}` }, table);
}

function render() {
  list.replaceChildren();
  empty.hidden = state.webhooks.length > 0;
  for (const hook of state.webhooks) {
    const toggle = el("input", { type: "checkbox", id: `webhook-active-${hook.id}` });
    toggle.checked = hook.active;
    toggle.addEventListener("change", () => setActive(hook, toggle));
    const remove = el("button", { type: "button", class: "btn btn-danger btn-sm", "aria-label": `Delete the webhook to ${hook.url}`, text: "Delete" });
    remove.addEventListener("click", () => removeHook(hook, remove));
    const item = el("article", { class: "webhook-item", "data-webhook-id": String(hook.id), "aria-labelledby": `webhook-title-${hook.id}` },
      el("div", { class: "webhook-top" },
        el("h3", { id: `webhook-title-${hook.id}`, text: hook.url }),
        el("div", { class: "webhook-actions" },
          el("label", { for: toggle.id }, toggle, "Active"),
          remove)),
      el("p", { class: "webhook-meta muted", text: `${hook.events.join(", ")} · added ${when(hook.created_at)}` }),
      logTable(hook, state.logs[hook.id] || []));
    list.append(item);
  }
}

async function load() {
  try {
    const { items } = await api("GET", "/api/webhooks");
    const logs = {};
    await Promise.all(items.map(async (hook) => {
      logs[hook.id] = (await api("GET", `/api/webhooks/${hook.id}/deliveries?limit=${LOG_ROWS}`)).items;
    }));
    state.webhooks = items;
    state.logs = logs;
    state.loaded = true;
    render();
  } catch (error) {
    showError(error.message);
  }
}

async function setActive(hook, toggle) {
  toggle.disabled = true;
  try {
    const changed = await api("PATCH", `/api/webhooks/${hook.id}`, { active: toggle.checked });
    hook.active = changed.active;
    showError("");
  } catch (error) {
    toggle.checked = hook.active;
    showError(error.message);
  }
  toggle.disabled = false;
}

async function removeHook(hook, button) {
  if (!window.confirm(`Delete the webhook to ${hook.url}? Its delivery log goes with it.`)) return;
  button.disabled = true;
  try {
    await api("DELETE", `/api/webhooks/${hook.id}`);
    showError("");
    await load();
    urlInput.focus();
  } catch (error) {
    button.disabled = false;
    showError(error.message);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const events = [...form.querySelectorAll('input[name="events"]:checked')].map((box) => box.value);
  if (!urlInput.value.trim()) {
    showError("Enter the URL that receives the events.");
    urlInput.focus();
    return;
  }
  if (!events.length) {
    showError("Choose at least one event.");
    form.querySelector('input[name="events"]').focus();
    return;
  }
  addButton.disabled = true;
  showError("");
  try {
    const made = await api("POST", "/api/webhooks", { url: urlInput.value.trim(), events });
    secretValue.textContent = made.secret;
    secretBox.hidden = false;
    copyStatus.textContent = "";
    urlInput.value = "";
    await load();
    $("webhook-secret-copy").focus();
  } catch (error) {
    showError(error.message);
    urlInput.focus();
  }
  addButton.disabled = false;
});

$("webhook-secret-copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(secretValue.textContent);
    copyStatus.textContent = "Secret copied.";
  } catch (_) {
    const range = document.createRange();
    range.selectNodeContents(secretValue);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    copyStatus.textContent = "Press Ctrl+C to copy the selected secret.";
  }
});

load();
setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
