// Upload page: drop or pick a file, send it with XMLHttpRequest (for upload progress), then
// poll its transcription job until the meeting is ready. window.minaUpload mirrors the state.
const form = document.getElementById("upload-form");
const input = document.getElementById("upload-file");
const drop = document.getElementById("upload-drop");
const fileName = document.getElementById("upload-file-name");
const titleInput = document.getElementById("upload-title");
const speakersInput = document.getElementById("upload-speakers");
const startButton = document.getElementById("upload-start");
const errorBox = document.getElementById("upload-error");
const progressCard = document.getElementById("upload-progress");
const uploadBar = document.getElementById("upload-bar");
const uploadText = document.getElementById("upload-bar-text");
const jobBar = document.getElementById("transcribe-bar");
const jobText = document.getElementById("transcribe-bar-text");
const statusLine = document.getElementById("upload-status");
const done = document.getElementById("upload-done");
const doneSummary = document.getElementById("upload-done-summary");
const meetingLink = document.getElementById("upload-meeting-link");
const again = document.getElementById("upload-again");

const maxBytes = Number(form.dataset.maxBytes);
const maxMb = Number(form.dataset.maxMb);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const POLL_MS = 700;

const state = (window.minaUpload = {
  phase: "idle", // idle, uploading, transcribing, done, failed
  uploadProgress: 0,
  jobProgress: [],
  jobId: null,
  meetingId: null,
  error: null,
});
let selected = null;

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function showError(message) {
  state.error = message;
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function setPhase(phase) {
  state.phase = phase;
  document.body.dataset.uploadPhase = phase;
  const busy = phase === "uploading" || phase === "transcribing";
  startButton.disabled = busy || !selected;
  input.disabled = busy;
  titleInput.disabled = busy;
  speakersInput.disabled = busy;
  drop.setAttribute("aria-disabled", String(busy));
  again.hidden = !(phase === "done" || phase === "failed");
}

function choose(file) {
  if (state.phase === "uploading" || state.phase === "transcribing") return;
  selected = file || null;
  showError("");
  if (selected) {
    fileName.textContent = `${selected.name} · ${formatBytes(selected.size)}`;
    fileName.hidden = false;
    if (selected.size > maxBytes) {
      showError(`${selected.name} is ${formatBytes(selected.size)}: larger than the ${maxMb} MB this server accepts.`);
      selected = null;
    }
  } else {
    fileName.hidden = true;
  }
  startButton.disabled = !selected;
}

function setBar(bar, text, fraction, label) {
  const percent = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  bar.value = percent;
  text.textContent = label ?? `${percent}%`;
}

function errorMessage(xhr) {
  try {
    const body = JSON.parse(xhr.responseText);
    if (body && body.error && body.error.message) return body.error.message;
  } catch (_) { /* not JSON */ }
  if (xhr.status === 413) return `The file is larger than the ${maxMb} MB this server accepts.`;
  return `The upload failed (HTTP ${xhr.status}).`;
}

function fail(message, bar, label) {
  setPhase("failed");
  showError(message);
  bar.classList.add("is-failed");
  if (label) (bar === uploadBar ? uploadText : jobText).textContent = label;
  if (bar === uploadBar) jobText.textContent = "Not started";
  statusLine.textContent = message;
}

// How many people speak, if the person uploading said: a number, null, or undefined when what
// they typed is not a whole number from 1 to 20.
function speakerCount() {
  const text = speakersInput.value.trim();
  const count = Number(text);
  if (speakersInput.validity.badInput || (text !== "" && (!Number.isInteger(count) || count < 1 || count > 20))) {
    return undefined;
  }
  return text ? count : null;
}

function upload() {
  if (!selected) return;
  const speakers = speakerCount();
  if (speakers === undefined) {
    showError("Number of speakers: a whole number from 1 to 20, or leave it empty.");
    speakersInput.setAttribute("aria-invalid", "true");
    speakersInput.focus();
    return;
  }
  speakersInput.removeAttribute("aria-invalid");
  showError("");
  done.hidden = true;
  progressCard.hidden = false;
  state.jobProgress = [];
  for (const bar of [uploadBar, jobBar]) bar.classList.remove("is-done", "is-failed");
  setBar(uploadBar, uploadText, 0);
  setBar(jobBar, jobText, 0, "Waiting for the upload");
  setPhase("uploading");
  statusLine.textContent = `Uploading ${selected.name}`;

  const data = new FormData();
  data.append("file", selected, selected.name);
  if (titleInput.value.trim()) data.append("title", titleInput.value.trim());
  if (speakers) data.append("speakers", String(speakers));
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/transcriptions");
  xhr.setRequestHeader("X-CSRF-Token", csrf);
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) return;
    state.uploadProgress = event.loaded / event.total;
    setBar(uploadBar, uploadText, state.uploadProgress);
  });
  xhr.addEventListener("load", () => {
    if (xhr.status !== 202) {
      fail(errorMessage(xhr), uploadBar, "Refused");
      return;
    }
    const body = JSON.parse(xhr.responseText);
    state.uploadProgress = 1;
    state.jobId = body.job_id;
    state.meetingId = body.meeting_id;
    setBar(uploadBar, uploadText, 1, "Uploaded");
    uploadBar.classList.add("is-done");
    meetingLink.href = `/dashboard/meeting/${body.meeting_id}`;
    setBar(jobBar, jobText, 0, "Queued");
    setPhase("transcribing");
    statusLine.textContent = "Uploaded. Transcribing.";
    poll();
  });
  xhr.addEventListener("error", () => {
    fail("The upload was interrupted: check the connection and try again.", uploadBar, "Interrupted");
  });
  xhr.send(data);
}

async function poll() {
  let job;
  try {
    const response = await fetch(`/api/jobs/${state.jobId}`, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    job = await response.json();
  } catch (_) {
    jobText.textContent = "Reconnecting…";
    setTimeout(poll, POLL_MS * 3);
    return;
  }
  state.jobProgress.push(job.progress);
  if (job.status === "done") {
    setBar(jobBar, jobText, 1, "Done");
    jobBar.classList.add("is-done");
    setPhase("done");
    doneSummary.textContent = selected ? selected.name : "";
    done.hidden = false;
    statusLine.textContent = "Transcribed. The meeting is ready.";
    meetingLink.focus();
    return;
  }
  if (job.status === "failed") {
    setBar(jobBar, jobText, job.progress, "Failed");
    fail(job.error || "The transcription failed.", jobBar);
    return;
  }
  setBar(jobBar, jobText, job.progress, job.status === "queued" ? "Queued" : undefined);
  setTimeout(poll, POLL_MS);
}

input.addEventListener("change", () => choose(input.files[0]));
speakersInput.addEventListener("input", () => speakersInput.removeAttribute("aria-invalid"));
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (event) => {
    event.preventDefault();
    drop.classList.add("is-over");
  });
}
for (const type of ["dragleave", "dragend"]) {
  drop.addEventListener(type, () => drop.classList.remove("is-over"));
}
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("is-over");
  if (event.dataTransfer && event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
});
// a file dropped beside the zone must not make the browser navigate away to it
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => event.preventDefault());
form.addEventListener("submit", (event) => {
  event.preventDefault();
  upload();
});
again.addEventListener("click", () => {
  input.value = "";
  titleInput.value = "";
  speakersInput.value = "";
  choose(null);
  progressCard.hidden = true;
  done.hidden = true;
  showError("");
  setPhase("idle");
  input.focus();
});
setPhase("idle");
