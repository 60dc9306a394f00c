// One transcript row, shared by the live page (live/transcript.js) and the meeting page
// (meeting.js), with the same markup as the meeting template's `segment_row` macro:
//   li.segment[data-segment-id, data-seq, data-start-ms, data-end-ms, data-speaker]
//     .ts (a "Play from" button where the audio can seek, else a span)
//     .segment-body > .segment-meta > .speaker[data-colour], .tone, .edited-tag ; p.segment-text
//     .seg-actions > button.seg-task, button.seg-edit (where the text can be edited) and
//       button.seg-comment (its comment count; where `commentCount` is given)
//     section.thread (a comment thread the meeting page opened: kept when the row is redrawn)
// The tone marker (a small dot) shows only where the segment's sentiment is at least TONE_AT
// either way, so a transcript is not spotted all over.
// `colourOf(name)` gives the speaker's colour slot (speaker-colours.js); the meeting page passes
// its meeting's assignment, the live page the one that needs no other names.

import { formatClock } from "./live/text.js";
import { speakerColour } from "./speaker-colours.js";

export const TONE_AT = 0.3;

export function toneOf(sentiment) {
  if (sentiment == null) return "";
  if (sentiment >= TONE_AT) return "positive";
  if (sentiment <= -TONE_AT) return "negative";
  return "";
}

export function paintSpeaker(span, name, colourOf = speakerColour) {
  const slot = name ? colourOf(name) : null;
  if (slot == null) delete span.dataset.colour;
  else span.dataset.colour = slot;
}

// The comment button's words: a count people see, and a name that says what it opens.
export function paintCommentButton(button, count, clock) {
  button.classList.toggle("has-comments", count > 0);
  button.querySelector(".comment-count").textContent = count > 0 ? String(count) : "Comment";
  const what = count === 0 ? "Comment on" : `${count} comment${count === 1 ? "" : "s"} on`;
  button.setAttribute("aria-label", `${what} the segment at ${clock}`);
}

function commentButton(count, clock) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn-ghost btn-sm seg-comment";
  button.setAttribute("aria-expanded", "false");
  const icon = document.createElement("span");
  icon.className = "comment-icon";
  icon.setAttribute("aria-hidden", "true");
  const label = document.createElement("span");
  label.className = "comment-count";
  button.append(icon, label);
  paintCommentButton(button, count, clock);
  return button;
}

export function fillSegmentRow(item, seg, { seekable = false, editable = false, colourOf = speakerColour, commentCount = null } = {}) {
  item.classList.add("segment");
  item.id = `segment-${seg.id}`;
  item.dataset.segmentId = seg.id;
  item.dataset.seq = seg.seq;
  item.dataset.startMs = seg.start_ms;
  item.dataset.endMs = seg.end_ms;
  item.dataset.speaker = seg.speaker || "";
  const clock = formatClock(seg.start_ms);
  const time = document.createElement(seekable ? "button" : "span");
  time.className = "ts";
  time.textContent = clock;
  if (seekable) {
    time.type = "button";
    time.setAttribute("aria-label", `Play from ${clock}`);
  }
  const body = document.createElement("div");
  body.className = "segment-body";
  const meta = document.createElement("div");
  meta.className = "segment-meta";
  const speaker = document.createElement("span");
  speaker.className = "speaker";
  speaker.textContent = seg.speaker || "";
  speaker.hidden = !seg.speaker;
  paintSpeaker(speaker, seg.speaker, colourOf);
  meta.append(speaker);
  const tone = toneOf(seg.sentiment);
  if (tone) {
    const marker = document.createElement("span");
    const label = `${tone[0].toUpperCase()}${tone.slice(1)} tone`;
    marker.className = `tone tone-${tone}`;
    marker.title = label;
    const text = document.createElement("span");
    text.className = "sr-only";
    text.textContent = label;
    marker.append(text);
    meta.append(marker);
  }
  if (seg.edited) {
    const tag = document.createElement("span");
    tag.className = "edited-tag";
    tag.textContent = "edited";
    tag.title = `Heard as: ${seg.original_text ?? ""}`;
    meta.append(tag);
  }
  meta.hidden = !seg.speaker && !seg.edited && !tone;
  const text = document.createElement("p");
  text.className = "segment-text";
  text.textContent = seg.text;
  body.append(meta, text);
  const parts = [time, body];
  if (editable || commentCount) {
    const actions = document.createElement("div");
    actions.className = "seg-actions";
    if (editable) {
      const task = document.createElement("button");
      task.type = "button";
      task.className = "btn btn-ghost btn-sm seg-task";
      task.textContent = "Add task";
      task.setAttribute("aria-label", `Add a task from the segment at ${clock}`);
      const edit = document.createElement("button");
      edit.type = "button";
      edit.className = "btn btn-ghost btn-sm seg-edit";
      edit.textContent = "Edit";
      edit.setAttribute("aria-label", `Edit the segment at ${clock}`);
      actions.append(task, edit);
    }
    if (commentCount) actions.append(commentButton(commentCount(seg.id), clock));
    parts.push(actions);
  }
  const thread = item.querySelector(":scope > .thread");
  if (thread) parts.push(thread);
  item.replaceChildren(...parts);
  return item;
}

export function createSegmentRow(seg, options) {
  return fillSegmentRow(document.createElement("li"), seg, options);
}
