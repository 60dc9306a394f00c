// Meeting page: click a timestamp to play from there; follow a live meeting over its WebSocket.
const list = document.getElementById("transcript");
const audio = document.getElementById("meeting-audio");
const interim = document.getElementById("interim");

function formatMs(ms) {
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(s).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

list.addEventListener("click", (event) => {
  const button = event.target.closest(".ts");
  if (!button || !audio) return;
  const item = button.closest(".segment");
  audio.currentTime = Number(item.dataset.startMs) / 1000;
  audio.play().catch(() => {});
});

function appendSegment(segment) {
  if (list.querySelector(`[data-segment-id="${segment.id}"]`)) return;
  document.getElementById("transcript-empty")?.remove();
  const item = document.createElement("li");
  item.className = "segment";
  item.dataset.segmentId = segment.id;
  item.dataset.startMs = segment.start_ms;
  const ts = document.createElement("button");
  ts.type = "button";
  ts.className = "ts";
  ts.textContent = formatMs(segment.start_ms);
  ts.setAttribute("aria-label", `Play from ${formatMs(segment.start_ms)}`);
  const body = document.createElement("div");
  body.className = "segment-body";
  if (segment.speaker) {
    const speaker = document.createElement("span");
    speaker.className = "speaker";
    speaker.textContent = segment.speaker;
    body.append(speaker);
  }
  const text = document.createElement("p");
  text.textContent = segment.text;
  body.append(text);
  item.append(ts, body);
  list.append(item);
}

function follow() {
  const id = list.dataset.meetingId;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/meetings/${id}/live`);
  const state = document.getElementById("follow-state");
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "transcript") {
      event.segments.forEach(appendSegment);
      // the recording ended while we were away: show the completed meeting
      if (event.status !== "live") finished();
    } else if (event.type === "final") {
      appendSegment(event.segment);
    } else if (event.type === "interim") {
      interim.hidden = !event.text;
      interim.textContent = event.text || "";
    } else if (event.type === "stopped") {
      finished();
    }
  });
  function finished() {
    interim.hidden = true;
    if (state) state.textContent = "Recording ended";
    setTimeout(() => location.reload(), 1500);
  }
  socket.addEventListener("close", () => {
    if (state && state.textContent === "Following live") {
      state.textContent = "Reconnecting…";
      setTimeout(follow, 2000);
    }
  });
  socket.addEventListener("open", () => { if (state) state.textContent = "Following live"; });
}

if (list.dataset.live === "true") follow();
