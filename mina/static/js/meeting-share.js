// The meeting page's Share dialog (a native <dialog>, so the page behind it is inert and focus
// stays inside): make a read-only link (how long it works, whether it plays the audio), copy it
// (the clipboard, or the selected text field where the browser refuses), and list the
// meeting's active links with their expiry, each with Revoke. The link's token is only in the
// answer that made it: the list never shows it again.

import { api, showError } from "/static/js/meeting-common.js";

const $ = (id) => document.getElementById(id);

function formatWhen(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function linkItem(share, onRevoke) {
  const item = document.createElement("li");
  item.className = "share-item";
  item.dataset.shareId = share.id;
  const text = document.createElement("div");
  text.className = "share-item-text";
  const expiry = document.createElement("strong");
  expiry.textContent = `Expires ${formatWhen(share.expires_at)}`;
  const facts = document.createElement("span");
  facts.className = "muted small";
  const parts = [share.include_audio ? "with audio" : "without audio"];
  if (share.created_by) parts.push(`made by ${share.created_by.name}`);
  parts.push(formatWhen(share.created_at));
  facts.textContent = parts.join(" \u00B7 ");
  text.append(expiry, facts);
  const revoke = document.createElement("button");
  revoke.type = "button";
  revoke.className = "btn btn-sm btn-danger";
  revoke.textContent = "Revoke";
  revoke.setAttribute("aria-label", `Revoke the link that expires ${formatWhen(share.expires_at)}`);
  revoke.addEventListener("click", () => onRevoke(share, revoke));
  item.append(text, revoke);
  return item;
}

export function initShare(meetingId) {
  const dialog = $("share-dialog");
  const opener = $("share-open");
  if (!dialog || !opener) return;
  const list = $("share-list");
  const status = $("share-status");
  const error = $("share-error");
  let shown = null; // the id of the link whose address is in the "New link" field

  async function reload() {
    try {
      const { items } = await api("GET", `/api/meetings/${meetingId}/shares`);
      const active = items.filter((share) => share.active);
      list.replaceChildren(...active.map((share) => linkItem(share, revoke)));
      $("share-none").hidden = active.length > 0;
    } catch (err) {
      showError(error, `The links could not be listed: ${err.message}`);
    }
  }

  async function revoke(share, button) {
    button.disabled = true;
    showError(error, "");
    try {
      await api("DELETE", `/api/shares/${share.id}`);
      if (share.id === shown) {
        $("share-new").hidden = true;
        $("share-url").value = "";
        shown = null;
      }
      status.textContent = "Link revoked: it stops working now.";
      await reload();
      $("share-create").focus();
    } catch (err) {
      button.disabled = false;
      showError(error, `Not revoked: ${err.message}`);
    }
  }

  opener.addEventListener("click", () => {
    showError(error, "");
    status.textContent = "";
    $("share-new").hidden = true;
    $("share-url").value = "";
    shown = null;
    dialog.showModal();
    reload();
  });
  for (const id of ["share-close", "share-done"]) $(id).addEventListener("click", () => dialog.close());

  $("share-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("share-create");
    button.disabled = true;
    showError(error, "");
    try {
      const made = await api("POST", `/api/meetings/${meetingId}/shares`, {
        expires_in_days: Number($("share-expiry").value),
        include_audio: $("share-audio").checked,
      });
      $("share-url").value = made.url;
      shown = made.id;
      $("share-new").hidden = false;
      status.textContent = "Link created. Copy it now: it is not shown again.";
      $("share-url").focus();
      $("share-url").select();
      await reload();
    } catch (err) {
      showError(error, `No link made: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  });

  $("share-copy").addEventListener("click", async () => {
    const field = $("share-url");
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = "Link copied to the clipboard.";
    } catch {
      field.focus();
      field.select();
      status.textContent = "Copying was refused: the link is selected, press Ctrl+C (\u2318C on a Mac).";
    }
  });
}
