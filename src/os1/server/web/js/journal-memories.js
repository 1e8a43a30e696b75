// Memories: the facts the OS has learned (or its summaries), a search over everything
// said, and for each memory "Edit" and "Forget" (forgetting also removes what came from it).

import { api } from "./api.js";
import { confirmDialog } from "./dialog.js";
import { h, replaceChildren, when } from "./dom.js";
import { showNotice } from "./notices.js";

export function showMemories(panel, { name }) {
  const query = h("input", { id: "memory-search", class: "input", type: "search",
    placeholder: "What did I say about…", "aria-label": "Search everything said" });
  const kind = h("select", { class: "input", id: "memory-kind", "aria-label": "Which memories" },
    h("option", { value: "facts", text: "Facts" }),
    h("option", { value: "summaries", text: "Summaries" }));
  const results = h("ul", { class: "memories", "aria-live": "polite", "aria-label": "Memories" });
  const search = h("form", { class: "toolbar", role: "search" },
    query, h("button", { class: "button", type: "submit", text: "Search" }), kind);
  replaceChildren(panel, search, results);

  async function load() {
    const searching = query.value.trim();
    try {
      const items = searching
        ? (await api(`/v1/memories/search?k=20&q=${encodeURIComponent(searching)}`)).results
        : (await api(`/v1/memories?kind=${kind.value}&limit=200`)).memories;
      render(items, searching);
    } catch (error) {
      replaceChildren(results, h("li", { class: "empty", text: error.message }));
    }
  }

  function render(items, searching) {
    if (!items.length) {
      const text = searching ? "Nothing found." : `${name} has not written down anything yet.`;
      replaceChildren(results, h("li", { class: "empty", text }));
      return;
    }
    replaceChildren(results, items.map((item) => memoryItem(item)));
  }

  function memoryItem(item) {
    const text = h("p", { class: "memory__text", text: item.text });
    const meta = item.speaker
      ? `${item.speaker} · ${when(item.at)}`
      : item.kind ? `${item.kind} summary` : item.valid_from ? `since ${when(item.valid_from)}` : "";
    const row = h("li", { class: "memory", "data-memory": item.id },
      text,
      h("p", { class: "memory__meta", text: meta }),
      h("div", { class: "row" },
        h("button", { class: "button button--quiet button--small", text: "Edit",
          "aria-label": `Edit memory: ${item.text.slice(0, 60)}`, onclick: () => edit(item, row) }),
        h("button", { class: "button button--quiet button--small", text: "Forget",
          "aria-label": `Forget memory: ${item.text.slice(0, 60)}`, onclick: () => forget(item, row) })));
    return row;
  }

  function edit(item, row) {
    // A fact's value is what can be corrected ("Alice sister: Anna" → "Annie").
    const label = item.value !== undefined ? `Corrected value of: ${item.text}` : "Corrected memory";
    const field = h("textarea", { class: "textarea", "aria-label": label }, item.value ?? item.text);
    const form = h("form", { class: "memory__edit" }, field,
      h("div", { class: "row" },
        h("button", { class: "button button--small", type: "submit", text: "Save" }),
        h("button", { class: "button button--quiet button--small", type: "button", text: "Cancel",
          onclick: () => row.replaceWith(memoryItem(item)) })));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const { memory } = await api(`/v1/memories/${item.id}`, {
          method: "PATCH", body: { text: field.value },
        });
        const updated = { ...item, text: memory.text };
        row.replaceWith(memoryItem(updated));
        showNotice("Corrected.");
      } catch (error) {
        showNotice(error.message);
      }
    });
    replaceChildren(row, form);
    field.focus();
  }

  async function forget(item, row) {
    const sure = await confirmDialog({
      title: "Forget this?",
      body: `${name} will forget "${item.text}", the words it came from, and everything learned from them. This cannot be undone.`,
      confirmLabel: "Forget",
      danger: true,
    });
    if (!sure) return;
    try {
      await api(`/v1/memories/${item.id}`, { method: "DELETE" });
      row.remove();
      showNotice("Forgotten.");
      if (!results.children.length) load();
    } catch (error) {
      showNotice(error.message);
    }
  }

  search.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  query.addEventListener("search", () => !query.value && load());
  kind.addEventListener("change", () => {
    query.value = "";
    load();
  });
  load();
}
