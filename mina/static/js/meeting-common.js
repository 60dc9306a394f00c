// What the meeting page's modules (meeting.js, meeting-speakers.js, meeting-analysis.js) share:
// the API call that carries the page's CSRF token (the nav's bell.js uses it on every page), a
// count in words, and an inline error.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

// Cookie-authenticated writes carry the page's CSRF token in a header.
export async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error?.message || `The server answered ${response.status}.`);
  return data;
}

export function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

export function showError(el, message) {
  el.textContent = message || "";
  el.hidden = !message;
}
