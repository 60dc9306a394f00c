// The meeting page's "Ask this meeting" box: POST /api/ask with the meeting's id, then the
// answer and its citations; each citation's timestamp plays its moment (meeting.js jumpTo).

import { api } from "/static/js/meeting-common.js";
import { momentButton } from "/static/js/meeting-tasks.js";

const $ = (id) => document.getElementById(id);

function paragraph(className, text) {
  const p = document.createElement("p");
  p.className = className;
  p.textContent = text;
  return p;
}

export function renderAnswer(box, answer, cite) {
  box.replaceChildren(paragraph(answer.found ? "ask-text" : "ask-text muted", answer.answer));
  if (answer.citations.length) {
    const list = document.createElement("ol");
    list.className = "ask-citations";
    list.setAttribute("aria-label", "Where it was said");
    for (const c of answer.citations) {
      const item = document.createElement("li");
      item.append(cite(c), paragraph("ask-quote", c.text));
      list.append(item);
    }
    box.append(list);
  }
  box.append(paragraph("ask-provider muted small", `Answered by ${answer.provider}, from what was said.`));
  box.hidden = false;
}

export function initAsk({ meetingId, jumpTo }) {
  const form = $("ask-form");
  if (!form) return;
  const input = $("ask-input");
  const box = $("ask-answer");
  const submit = $("ask-submit");
  const state = (window.minaAsk = { answer: null, error: null });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) { input.focus(); return; }
    submit.disabled = true;
    box.hidden = false;
    box.replaceChildren(paragraph("muted", "Looking through the meeting…"));
    try {
      const answer = await api("POST", "/api/ask", { question, meeting_id: Number(meetingId) });
      state.answer = answer;
      renderAnswer(box, answer, (c) => {
        const button = momentButton(c.segment_id, c.start_ms, "this answer");
        button.addEventListener("click", () => jumpTo(c.segment_id, c.start_ms));
        return button;
      });
    } catch (error) {
      state.error = error.message;
      box.replaceChildren(paragraph("inline-error", error.message));
    }
    submit.disabled = false;
  });
}
