// The journal: what the OS remembers (search, correct, forget), the conversations you
// have had, who the OS has become, and your reminders. Four tabs, reachable by keyboard
// (arrow keys).

import { h, replaceChildren } from "./dom.js";
import { showMemories } from "./journal-memories.js";
import { showTimeline } from "./journal-timeline.js";
import { showPersona } from "./journal-persona.js";
import { showReminders } from "./journal-reminders.js";

const TABS = [
  ["memories", "Memories", showMemories],
  ["conversations", "Conversations", showTimeline],
  ["persona", "Who I am", showPersona],
  ["reminders", "Reminders", showReminders],
];

export function showJournal(page, context) {
  const panel = h("div", { class: "journal__panel", role: "tabpanel", id: "journal-panel", tabindex: "0" });
  const tabs = TABS.map(([id, label]) => h("button", {
    type: "button", role: "tab", id: `tab-${id}`, "aria-controls": "journal-panel",
    class: "tab", text: label,
  }));
  const list = h("div", { class: "tabs", role: "tablist", "aria-label": "Journal" }, tabs);
  replaceChildren(page, h("section", { class: "journal", "aria-labelledby": "journal-title" },
    h("h1", { id: "journal-title", text: "Journal" }), list, panel));

  function choose(index, focus = false) {
    tabs.forEach((tab, i) => {
      tab.setAttribute("aria-selected", String(i === index));
      tab.tabIndex = i === index ? 0 : -1;
    });
    panel.setAttribute("aria-labelledby", tabs[index].id);
    if (focus) tabs[index].focus();
    TABS[index][2](panel, context);
  }

  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => choose(index));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) choose((index + step + tabs.length) % tabs.length, true);
    });
  });
  choose(0);
}
