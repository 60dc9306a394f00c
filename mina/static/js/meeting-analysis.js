// Identifying the speakers of a meeting (the diarize job), as the meeting page shows it: the note
// "Identifying speakers…" while the job is pending or running, the meeting polled until it is
// done (then the transcript and the Speakers panel are drawn again, without a reload), "Try
// again" after a failure, and the "Re-identify speakers" form (with a count if you know it).

import { api, plural, showError } from "/static/js/meeting-common.js";

const $ = (id) => document.getElementById(id);
// What meeting.js gave initAnalysis: {meetingId, reload, labelledCount}.
let page = null;

const BUSY = new Set(["pending", "running"]);
const POLL_MS = 2000;
const analysis = {
  note: $("speakers-state"),
  retry: $("speakers-retry"),
  state: "off",
  timer: 0,
  clear: 0,
};
const reidentify = { box: $("reidentify"), form: $("reidentify-form"), count: $("reidentify-count"), error: $("reidentify-error"), start: $("reidentify-start") };

function setAnalysis(state, message) {
  analysis.state = state;
  const busy = BUSY.has(state);
  clearTimeout(analysis.clear);
  if (analysis.note) {
    analysis.note.dataset.state = state;
    analysis.note.textContent = message ?? (busy ? "Identifying speakers\u2026" : state === "failed" ? "Speakers could not be identified." : "");
  }
  if (analysis.retry) analysis.retry.hidden = state !== "failed" || !reidentify.form;
  if (reidentify.start) reidentify.start.disabled = busy;
  clearTimeout(analysis.timer);
  if (busy) analysis.timer = setTimeout(pollAnalysis, POLL_MS);
}

async function pollAnalysis() {
  if (document.hidden) {
    analysis.timer = setTimeout(pollAnalysis, POLL_MS);
    return;
  }
  let state;
  try {
    state = (await api("GET", `/api/meetings/${page.meetingId}`)).analysis?.speakers || "off";
  } catch {
    state = analysis.state; // a missed answer: ask again
  }
  if (state !== "done") {
    setAnalysis(state, state === analysis.state ? analysis.note?.textContent : undefined);
    return;
  }
  try {
    await page.reload();
    const n = page.labelledCount();
    setAnalysis("done", `Speakers identified: ${plural(n, "speaker", "speakers")}.`);
  } catch {
    setAnalysis("done", "Speakers identified: reload the page to see them.");
    return;
  }
  analysis.clear = setTimeout(() => {
    if (analysis.note && analysis.state === "done") analysis.note.textContent = "";
  }, 8000);
}

async function startDiarize(body) {
  await api("POST", `/api/meetings/${page.meetingId}/diarize`, body);
  setAnalysis("pending");
}

// state: the job's state when the page was drawn ("off", "pending", "running", "done", "failed");
// shown: whether the page shows the speakers (else only the buttons listen); reload(): the
// transcript and the speakers drawn again; labelledCount(): how many speakers have a name.
export function initAnalysis({ meetingId, state, shown, reload, labelledCount }) {
  page = { meetingId, reload, labelledCount };
  analysis.state = state || "off";
  analysis.retry?.addEventListener("click", async () => {
    analysis.retry.disabled = true;
    try {
      await startDiarize({});
    } catch (err) {
      setAnalysis("failed", `Speakers could not be identified. Not started again: ${err.message}`);
    } finally {
      analysis.retry.disabled = false;
    }
  });

  reidentify.count?.addEventListener("input", () => reidentify.count.removeAttribute("aria-invalid"));
  reidentify.form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = reidentify.count.value.trim();
    const count = Number(text);
    if (reidentify.count.validity.badInput || (text && (!Number.isInteger(count) || count < 1 || count > 20))) {
      showError(reidentify.error, "The number of speakers is a whole number from 1 to 20; leave it empty to let Mina count them.");
      reidentify.count.setAttribute("aria-invalid", "true");
      reidentify.count.focus();
      return;
    }
    reidentify.count.removeAttribute("aria-invalid");
    showError(reidentify.error, "");
    reidentify.start.disabled = true;
    try {
      await startDiarize(text ? { speakers: count } : {});
      reidentify.box.open = false;
      reidentify.box.querySelector("summary").focus();
    } catch (err) {
      reidentify.start.disabled = false;
      showError(reidentify.error, `Not started: ${err.message}`);
    }
  });
  if (shown) setAnalysis(analysis.state, analysis.note?.textContent || undefined);
}
