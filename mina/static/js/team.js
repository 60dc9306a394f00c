// Settings page, Team: the workspace's members (owners and admins change roles and remove
// people), invitations (made, copied, revoked), transferring ownership, leaving, renaming the
// workspace and making a new one. Everything goes through /api/workspace*; window.minaTeam
// mirrors the state for tests.
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const section = $("team");
const myRole = section.dataset.role;
const myId = Number(section.dataset.userId);
const manages = myRole === "owner" || myRole === "admin";
const ROLES = ["admin", "member", "viewer"];

const state = (window.minaTeam = { members: [], invites: [], loaded: false, error: null });

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
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(await errorOf(response));
  return response.status === 204 ? null : response.json();
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

function say(message) { $("team-status").textContent = message; }

function showError(message) {
  state.error = message || null;
  $("team-error").textContent = message || "";
  $("team-error").hidden = !message;
}

const day = (iso) => new Date(iso).toLocaleDateString(undefined, { dateStyle: "medium" });

// Which roles the caller may give this member (none: show the role as text).
function assignable(member) {
  if (!manages || member.role === "owner" || member.user_id === myId) return [];
  if (myRole === "owner") return ROLES;
  return member.role === "admin" ? [] : ["member", "viewer"];
}

function memberRow(member) {
  const choices = assignable(member);
  let role;
  if (choices.length) {
    const select = el("select", { "aria-label": `Role of ${member.name}` },
      ...choices.map((r) => { const o = el("option", { value: r, text: r[0].toUpperCase() + r.slice(1) }); o.selected = r === member.role; return o; }));
    select.addEventListener("change", () => changeRole(member, select));
    role = select;
  } else {
    role = el("span", { class: "badge", text: member.role });
  }
  const actions = el("td", { class: "right" });
  if (choices.length) {
    const remove = el("button", { type: "button", class: "btn btn-danger btn-sm", "aria-label": `Remove ${member.name}`, text: "Remove" });
    remove.addEventListener("click", () => removeMember(member, remove));
    actions.append(remove);
  }
  const you = member.user_id === myId ? " (you)" : "";
  return el("tr", { "data-user-id": String(member.user_id) },
    el("td", { text: member.name + you }),
    el("td", { class: "member-email", text: member.email }),
    el("td", { class: "member-role" }, role),
    el("td", {}, el("time", { datetime: member.joined_at, text: day(member.joined_at) })),
    actions);
}

function render() {
  $("member-rows").replaceChildren(...state.members.map(memberRow));
  const transfer = $("transfer-to");
  if (transfer) {
    transfer.replaceChildren(el("option", { value: "", text: "Choose a member" }),
      ...state.members.filter((m) => m.user_id !== myId).map((m) => el("option", { value: String(m.user_id), text: `${m.name} (${m.email})` })));
  }
  const list = $("invite-list");
  if (!list) return;
  list.replaceChildren(...state.invites.map((invite) => {
    const revoke = el("button", { type: "button", class: "btn btn-danger btn-sm", "aria-label": `Revoke the invitation to ${invite.email}`, text: "Revoke" });
    revoke.addEventListener("click", () => revokeInvite(invite, revoke));
    const sent = invite.emailed_at ? "emailed" : "link only";
    return el("li", { "data-invite-id": String(invite.id) },
      el("span", { class: "invite-who" }, el("strong", { text: invite.email }), ` as ${invite.role} · ${sent} · expires ${day(invite.expires_at)}`),
      revoke);
  }));
  $("invite-empty").hidden = state.invites.length > 0;
}

async function load() {
  try {
    state.members = (await api("GET", "/api/workspace/members")).items;
    state.invites = manages ? (await api("GET", "/api/workspace/invites")).items : [];
    state.loaded = true;
    render();
  } catch (error) {
    showError(error.message);
  }
}

async function changeRole(member, select) {
  select.disabled = true;
  try {
    const changed = await api("PATCH", `/api/workspace/members/${member.user_id}`, { role: select.value });
    member.role = changed.role;
    showError("");
    say(`${member.name} is now ${changed.role}.`);
  } catch (error) {
    select.value = member.role;
    showError(error.message);
  }
  select.disabled = false;
}

async function removeMember(member, button) {
  if (!window.confirm(`Remove ${member.name} from the workspace? They lose access at once.`)) return;
  button.disabled = true;
  try {
    await api("DELETE", `/api/workspace/members/${member.user_id}`);
    showError("");
    say(`${member.name} was removed.`);
    await load();
  } catch (error) {
    button.disabled = false;
    showError(error.message);
  }
}

async function revokeInvite(invite, button) {
  button.disabled = true;
  try {
    await api("DELETE", `/api/workspace/invites/${invite.id}`);
    say(`The invitation to ${invite.email} was revoked.`);
    await load();
  } catch (error) {
    button.disabled = false;
    showError(error.message);
  }
}

$("invite-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("invite-email").value.trim();
  if (!email) { showError("Enter the email address to invite."); $("invite-email").focus(); return; }
  $("invite-send").disabled = true;
  try {
    const made = await api("POST", "/api/workspace/invites", { email, role: $("invite-role").value });
    showError("");
    $("invite-link").textContent = made.url;
    $("invite-made-text").textContent = made.emailed
      ? `Invitation emailed to ${made.email}. You can also send them this link:`
      : `Send ${made.email} this link (it works once, for 7 days)${made.email_error ? "; the email could not be sent" : ""}:`;
    $("invite-made").hidden = false;
    $("invite-email").value = "";
    await load();
    $("invite-copy").focus();
  } catch (error) {
    showError(error.message);
  }
  $("invite-send").disabled = false;
});

$("invite-copy")?.addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("invite-link").textContent);
    say("Link copied.");
  } catch (_) {
    const range = document.createRange();
    range.selectNodeContents($("invite-link"));
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    say("Press Ctrl+C to copy the selected link.");
  }
});

$("transfer-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const target = state.members.find((m) => String(m.user_id) === $("transfer-to").value);
  if (!target) { showError("Choose the member who becomes the owner."); return; }
  if (!window.confirm(`Make ${target.name} the owner? You become an admin.`)) return;
  try {
    await api("POST", "/api/workspace/transfer", { user_id: target.user_id });
    window.location.reload();
  } catch (error) {
    showError(error.message);
  }
});

$("leave-workspace")?.addEventListener("click", async () => {
  if (!window.confirm("Leave this workspace? You lose access to its meetings at once.")) return;
  try {
    await api("DELETE", `/api/workspace/members/${myId}`);
    window.location.assign("/dashboard");
  } catch (error) {
    showError(error.message);
  }
});

$("workspace-rename")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("PATCH", "/api/workspace", { name: $("workspace-name").value.trim() });
    window.location.reload();
  } catch (error) {
    showError(error.message);
  }
});

$("workspace-create")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("new-workspace-name").value.trim();
  if (!name) { $("new-workspace-name").focus(); return; }
  try {
    const made = await api("POST", "/api/workspaces", { name });
    const form = el("form", { method: "post", action: "/workspace/switch", hidden: "" },
      el("input", { type: "hidden", name: "csrf_token", value: csrf }),
      el("input", { type: "hidden", name: "workspace_id", value: String(made.id) }),
      el("input", { type: "hidden", name: "next", value: "/settings" }));
    document.body.append(form);
    form.submit();
  } catch (error) {
    showError(error.message);
  }
});

load();
