// "@" autocomplete for a comment's textarea (the ARIA combobox pattern): typing "@" and the
// start of a name lists the workspace's members who match; ArrowDown/ArrowUp move through
// them, Enter or Tab picks one ("@Ada Lovelace "), Escape closes the list. The textarea is the
// combobox; the list a listbox whose active option is its aria-activedescendant.

const MAX_OPTIONS = 6;
let boxes = 0;

// The "@query" that ends just before the caret, if any: {start, query}.
function queryAt(text, caret) {
  const match = text.slice(0, caret).match(/(?:^|[^\p{L}\p{N}_@])@([\p{L}\p{N}._'-]*(?: [\p{L}\p{N}._'-]*)?)$/u);
  if (!match) return null;
  return { start: caret - match[1].length - 1, query: match[1] };
}

function matches(member, query) {
  const q = query.toLocaleLowerCase();
  if (!q) return true;
  const name = member.name.toLocaleLowerCase();
  const local = member.email.split("@")[0].toLocaleLowerCase();
  return name.startsWith(q) || local.startsWith(q) || name.split(/\s+/).some((word) => word.startsWith(q));
}

// textarea: the field; loadMembers(): a promise of [{user_id, name, email}].
export function attachMentions(textarea, loadMembers) {
  const id = `mention-list-${++boxes}`;
  const listbox = document.createElement("ul");
  listbox.id = id;
  listbox.className = "mention-list";
  listbox.setAttribute("role", "listbox");
  listbox.setAttribute("aria-label", "Members to mention");
  listbox.hidden = true;
  textarea.after(listbox);
  textarea.setAttribute("role", "combobox");
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", id);
  textarea.setAttribute("aria-expanded", "false");
  let found = [];
  let active = -1;
  let at = null;

  function close() {
    listbox.hidden = true;
    listbox.replaceChildren();
    found = [];
    active = -1;
    at = null;
    textarea.setAttribute("aria-expanded", "false");
    textarea.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    [...listbox.children].forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) {
      textarea.setAttribute("aria-activedescendant", `${id}-${index}`);
      listbox.children[index].scrollIntoView({ block: "nearest" });
    } else {
      textarea.removeAttribute("aria-activedescendant");
    }
  }

  function pick(index) {
    const member = found[index];
    if (!member || !at) return;
    const before = textarea.value.slice(0, at.start);
    const after = textarea.value.slice(textarea.selectionStart);
    const inserted = `@${member.name} `;
    textarea.value = before + inserted + after.replace(/^ /, "");
    const caret = before.length + inserted.length;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  async function update() {
    const wanted = queryAt(textarea.value, textarea.selectionStart);
    if (!wanted || textarea.selectionStart !== textarea.selectionEnd) {
      close();
      return;
    }
    const members = await loadMembers().catch(() => []);
    found = members.filter((m) => matches(m, wanted.query)).slice(0, MAX_OPTIONS);
    if (!found.length) {
      close();
      return;
    }
    at = wanted;
    listbox.replaceChildren(
      ...found.map((member, i) => {
        const option = document.createElement("li");
        option.id = `${id}-${i}`;
        option.className = "mention-option";
        option.setAttribute("role", "option");
        const name = document.createElement("span");
        name.className = "mention-name";
        name.textContent = member.name;
        const email = document.createElement("span");
        email.className = "mention-email";
        email.textContent = member.email;
        option.append(name, email);
        // mousedown, not click: the textarea keeps the focus (and the caret)
        option.addEventListener("mousedown", (event) => {
          event.preventDefault();
          pick(i);
        });
        return option;
      }),
    );
    listbox.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    highlight(0);
  }

  textarea.addEventListener("input", (event) => {
    if (event.isTrusted || event.inputType) update();
  });
  textarea.addEventListener("click", update);
  textarea.addEventListener("blur", () => setTimeout(close, 100));
  textarea.addEventListener("keydown", (event) => {
    if (listbox.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + found.length) % found.length);
    } else if ((event.key === "Enter" && !event.ctrlKey && !event.metaKey) || event.key === "Tab") {
      if (active < 0) return;
      event.preventDefault();
      event.stopPropagation();
      pick(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // the list closes, not the thread
      close();
    }
  });
}
