// Settings page: "Download my data" (start the export job, follow its progress, then offer the
// zip) and "Delete my account" (a dialog that asks for the password). window.minaExport mirrors
// the export's state for tests.
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const POLL_MS = 700;

const card = $("data-export");
const startButton = $("export-start");
const progressBox = $("export-progress");
const bar = $("export-bar");
const label = $("export-label");
const percent = $("export-percent");
const ready = $("export-ready");
const link = $("export-link");
const exportError = $("export-error");
const statusLine = $("export-status");

const state = (window.minaExport = { phase: "idle", phases: [], jobId: null, progress: [], error: null });

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch (_) { /* not JSON */ }
  return `The server answered HTTP ${response.status}.`;
}

function showExportError(message) {
  state.error = message || null;
  exportError.textContent = message;
  exportError.hidden = !message;
}

function setPhase(phase) {
  state.phase = phase;
  state.phases.push(phase);
  card.dataset.phase = phase;
  const busy = phase === "starting" || phase === "running";
  startButton.disabled = busy;
  progressBox.hidden = !(busy || phase === "failed");
  ready.hidden = phase !== "ready";
}

function setProgress(fraction, text) {
  const value = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  bar.value = value;
  percent.textContent = `${value}%`;
  if (text) label.textContent = text;
}

function showReady(jobId) {
  link.href = `/api/me/export/${jobId}`;
  setProgress(1);
  setPhase("ready");
  statusLine.textContent = "Your data is ready to download.";
}

async function poll() {
  let job;
  try {
    const response = await fetch(`/api/jobs/${state.jobId}`, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(await errorOf(response));
    job = await response.json();
  } catch (_) {
    label.textContent = "Reconnecting…";
    setTimeout(poll, POLL_MS * 3);
    return;
  }
  state.progress.push(job.progress);
  if (job.status === "done") {
    showReady(state.jobId);
    link.focus();
    return;
  }
  if (job.status === "failed") {
    bar.classList.add("is-failed");
    setProgress(job.progress, "Failed");
    setPhase("failed");
    showExportError(job.error || "The export failed.");
    return;
  }
  setProgress(job.progress, job.status === "queued" ? "Waiting to start" : "Preparing your data");
  setTimeout(poll, POLL_MS);
}

async function startExport() {
  showExportError("");
  bar.classList.remove("is-failed");
  setProgress(0, "Waiting to start");
  setPhase("starting");
  statusLine.textContent = "Preparing your data.";
  let response;
  try {
    response = await fetch("/api/me/export", {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    });
  } catch (_) {
    setPhase("idle");
    showExportError("The server could not be reached: check the connection and try again.");
    return;
  }
  if (response.status !== 202) {
    setPhase("idle");
    showExportError(await errorOf(response));
    return;
  }
  state.jobId = (await response.json()).job_id;
  setPhase("running");
  poll();
}

startButton.addEventListener("click", startExport);
if (card.dataset.jobId) {
  state.jobId = Number(card.dataset.jobId);
  if (card.dataset.ready) {
    showReady(state.jobId);
  } else if (card.dataset.jobStatus === "queued" || card.dataset.jobStatus === "running") {
    setPhase("running");
    poll();
  }
}

// --- delete my account -----------------------------------------------------------------------

const dialog = $("delete-account-dialog");
const form = $("delete-account-form");
const password = $("delete-account-password");
const confirmButton = $("delete-account-confirm");
const deleteError = $("delete-account-error");

function showDeleteError(message) {
  deleteError.textContent = message;
  deleteError.hidden = !message;
}

$("delete-account-open").addEventListener("click", () => {
  showDeleteError("");
  password.value = "";
  dialog.showModal();
  password.focus();
});
$("delete-account-cancel").addEventListener("click", () => dialog.close());
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!password.value) {
    showDeleteError("Enter your password to delete your account.");
    password.focus();
    return;
  }
  confirmButton.disabled = true;
  showDeleteError("");
  let response;
  try {
    response = await fetch("/api/me", {
      method: "DELETE",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ password: password.value }),
    });
  } catch (_) {
    confirmButton.disabled = false;
    showDeleteError("The server could not be reached. Nothing was deleted.");
    return;
  }
  if (response.status === 204) {
    location.assign("/login");
    return;
  }
  confirmButton.disabled = false;
  showDeleteError(await errorOf(response));
  password.select();
});
