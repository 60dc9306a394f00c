// A comment's body as the page shows it: markdown-lite (**bold**, *italic*, `code`, links that
// are http(s) only, line breaks) and the members it @mentions highlighted. Built as DOM nodes
// from the raw text: the body is never parsed as HTML, so a tag in it (an img with a handler, a
// script) stays text.

// `code` | [text](url) | a bare url | **bold** | *italic*
const INLINE = /(`[^`\n]+`)|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>]*[^\s<>.,;:!?)\]'"])|\*\*(?=\S)([^*\n]*?\S)\*\*|\*(?=\S)([^*\n]*?\S)\*/g;

function safeUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Plain text, with each "@Name" of a mentioned member in a span.mention.
function mentionNodes(text, mentionPattern) {
  if (!mentionPattern) return [document.createTextNode(text)];
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(mentionPattern)) {
    const at = match.index + match[1].length;
    if (at > last) nodes.push(document.createTextNode(text.slice(last, at)));
    const mention = document.createElement("span");
    mention.className = "mention";
    mention.textContent = match[2];
    nodes.push(mention);
    last = at + match[2].length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

function inlineNodes(text, mentionPattern) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) nodes.push(...mentionNodes(text.slice(last, match.index), mentionPattern));
    const [whole, code, label, labelledUrl, bareUrl, bold, italic] = match;
    let node;
    if (code) {
      node = document.createElement("code");
      node.textContent = code.slice(1, -1);
    } else if (label || bareUrl) {
      const href = safeUrl(labelledUrl || bareUrl);
      if (href) {
        node = document.createElement("a");
        node.href = href;
        node.rel = "noopener noreferrer nofollow";
        node.target = "_blank";
        node.textContent = label || bareUrl;
      } else {
        node = document.createTextNode(whole);
      }
    } else {
      node = document.createElement(bold ? "strong" : "em");
      node.append(...inlineNodes(bold || italic, mentionPattern));
    }
    nodes.push(node);
    last = match.index + whole.length;
  }
  if (last < text.length) nodes.push(...mentionNodes(text.slice(last), mentionPattern));
  return nodes;
}

// The names of the mentioned members (longest first), as one pattern: "@" after a non-word
// character, the name, then no word character.
export function mentionPatternFor(names) {
  const sorted = [...new Set(names.filter(Boolean))].sort((a, b) => b.length - a.length);
  if (!sorted.length) return null;
  return new RegExp(`(^|[^\\p{L}\\p{N}_@])(@(?:${sorted.map(escapeRegExp).join("|")}))(?![\\p{L}\\p{N}_])`, "giu");
}

// The body's nodes, to append to an element; `names`: how the mentioned members are called.
export function renderCommentBody(body, names = []) {
  const pattern = mentionPatternFor(names);
  const nodes = [];
  body.split("\n").forEach((line, i) => {
    if (i) nodes.push(document.createElement("br"));
    nodes.push(...inlineNodes(line, pattern));
  });
  return nodes;
}
