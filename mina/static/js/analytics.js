// Analytics charts (Chart.js, vendored in /static/vendor/chartjs). The numbers come from the
// page (the same as GET /api/analytics); each chart has a table beside it for screen readers.

import { speakerColours } from "/static/js/speaker-colours.js";

const data = JSON.parse(document.getElementById("analytics-data").textContent);
const css = getComputedStyle(document.documentElement);
const color = (name) => css.getPropertyValue(name).trim();
const primary = color("--primary");
const accent = color("--warn");
const positive = color("--success");
const negative = color("--danger");
const muted = color("--muted");
const grid = color("--border");
const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

const Chart = window.Chart;
Chart.defaults.color = muted;
Chart.defaults.borderColor = grid;
Chart.defaults.font.family = css.getPropertyValue("--font");
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.animation = reduced ? false : { duration: 400 };
Chart.defaults.plugins.legend.labels.boxWidth = 12;

const integerAxis = { beginAtZero: true, ticks: { precision: 0 } };
const minutes = (ms) => Math.round(ms / 600) / 100;

function chart(id, config) {
  const canvas = document.getElementById(id);
  if (canvas) new Chart(canvas, config);
}

const weekLabel = (iso) => new Date(`${iso}T00:00:00Z`).toLocaleDateString(undefined, { day: "numeric", month: "short", timeZone: "UTC" });

chart("chart-weeks", {
  data: {
    labels: data.weeks.map((w) => weekLabel(w.week_start)),
    datasets: [
      { type: "bar", label: "Meetings", data: data.weeks.map((w) => w.meetings), backgroundColor: primary, borderRadius: 4, yAxisID: "meetings" },
      { type: "line", label: "Hours", data: data.weeks.map((w) => w.hours), borderColor: accent, backgroundColor: accent, cubicInterpolationMode: "monotone", pointRadius: 3, yAxisID: "hours" },
    ],
  },
  options: {
    interaction: { mode: "index", intersect: false },
    scales: {
      meetings: { ...integerAxis, position: "left", title: { display: true, text: "Meetings" } },
      hours: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "Hours" } },
      x: { grid: { display: false } },
    },
  },
});

// the chart names the 12 who talked most, every one of them (the table beside it lists all),
// each bar in its speaker's colour as on the meeting pages
const topSpeakers = data.speakers.slice(0, 12);
const slots = speakerColours(topSpeakers.map((s) => s.speaker));
const barColours = topSpeakers.map((s) => (s.speaker ? color(`--speaker-${slots.get(s.speaker)}`) : muted));
chart("chart-speakers", {
  type: "bar",
  data: {
    labels: topSpeakers.map((s) => s.speaker ?? "No label"),
    datasets: [{ label: "Minutes", data: topSpeakers.map((s) => minutes(s.talk_ms)), backgroundColor: barColours, borderRadius: 4 }],
  },
  options: {
    indexAxis: "y",
    plugins: { legend: { display: false } },
    scales: { x: { beginAtZero: true, title: { display: true, text: "Minutes" } }, y: { grid: { display: false }, ticks: { autoSkip: false } } },
  },
});

chart("chart-weekdays", {
  type: "bar",
  data: {
    labels: data.weekdays.map((d) => d.weekday.slice(0, 3)),
    datasets: [{ label: "Meetings", data: data.weekdays.map((d) => d.meetings), backgroundColor: primary, borderRadius: 4 }],
  },
  options: { plugins: { legend: { display: false } }, scales: { y: integerAxis, x: { grid: { display: false } } } },
});

chart("chart-hours", {
  type: "bar",
  data: {
    labels: data.hours_of_day.map((h) => String(h.hour).padStart(2, "0")),
    datasets: [{ label: "Meetings", data: data.hours_of_day.map((h) => h.meetings), backgroundColor: primary, borderRadius: 3 }],
  },
  options: { plugins: { legend: { display: false } }, scales: { y: integerAxis, x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true } } } },
});

// the average sentiment of each week's meetings: green above zero, red below, no bar without one
chart("chart-sentiment", {
  type: "bar",
  data: {
    labels: data.sentiment_by_week.map((w) => weekLabel(w.week_start)),
    datasets: [{
      label: "Sentiment",
      data: data.sentiment_by_week.map((w) => w.sentiment),
      backgroundColor: data.sentiment_by_week.map((w) => ((w.sentiment ?? 0) < 0 ? negative : positive)),
      borderRadius: 4,
    }],
  },
  options: {
    plugins: { legend: { display: false } },
    scales: { y: { min: -1, max: 1, ticks: { stepSize: 0.5 } }, x: { grid: { display: false } } },
  },
});

chart("chart-tasks", {
  type: "bar",
  data: {
    labels: data.tasks_by_week.map((w) => weekLabel(w.week_start)),
    datasets: [
      { label: "Opened", data: data.tasks_by_week.map((w) => w.opened), backgroundColor: primary, borderRadius: 4 },
      { label: "Done", data: data.tasks_by_week.map((w) => w.done), backgroundColor: positive, borderRadius: 4 },
    ],
  },
  options: { interaction: { mode: "index", intersect: false }, scales: { y: integerAxis, x: { grid: { display: false } } } },
});
