// Reminders: what is coming (soonest first), a form to add one in plain words ("tomorrow
// at 8", "every Monday at 9"), and "Remove" for each, asked first in the usual dialog.

import { api } from "./api.js";
import { confirmDialog } from "./dialog.js";
import { h, replaceChildren, when } from "./dom.js";
import { showNotice } from "./notices.js";

export function showReminders(panel, { name }) {
  const text = h("input", { id: "reminder-text", class: "input", required: true,
    autocomplete: "off", placeholder: "Call Amy" });
  const at = h("input", { id: "reminder-when", class: "input", required: true,
    autocomplete: "off", placeholder: "tomorrow at 5 pm", "aria-describedby": "reminder-hint" });
  const error = h("p", { class: "error", id: "reminder-error", role: "alert" });
  const form = h("form", { class: "reminder-form" },
    h("div", { class: "field" }, h("label", { for: "reminder-text", text: "Remind me to" }), text),
    h("div", { class: "field" }, h("label", { for: "reminder-when", text: "When" }), at),
    h("button", { class: "button", type: "submit", text: "Add" }),
    h("p", { class: "hint", id: "reminder-hint",
      text: "In your words: “in 20 minutes”, “Friday at 10”, “every weekday at 8”." }),
    error);
  const list = h("ul", { class: "memories", "aria-live": "polite", "aria-label": "Reminders, soonest first" });
  replaceChildren(panel, form, list);

  async function load() {
    try {
      const { reminders } = await api("/v1/reminders");
      replaceChildren(list, reminders.length
        ? reminders.map(reminderItem)
        : h("li", { class: "empty", text: "You have no reminders." }));
    } catch (failure) {
      replaceChildren(list, h("li", { class: "empty", text: failure.message }));
    }
  }

  function reminderItem(reminder) {
    const repeats = reminder.recurrence ? ` · next ${when(reminder.due)}` : "";
    return h("li", { class: "memory", "data-reminder": reminder.id },
      h("p", { class: "memory__text", text: reminder.text }),
      h("p", { class: "memory__meta", text: `${reminder.when}${repeats}` }),
      h("button", { class: "button button--quiet button--small", text: "Remove",
        "aria-label": `Remove reminder: ${reminder.text.slice(0, 60)}`,
        onclick: () => cancel(reminder) }));
  }

  async function cancel(reminder) {
    const sure = await confirmDialog({
      title: "Remove this reminder?",
      body: `${name} will not remind you “${reminder.text}” ${reminder.when}.`,
      confirmLabel: "Remove",
    });
    if (!sure) return;
    try {
      const done = await api(`/v1/reminders/${reminder.id}`, { method: "DELETE" });
      showNotice(done.text);
      load();
    } catch (failure) {
      showNotice(failure.message);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const added = await api("/v1/reminders", {
        method: "POST", body: { text: text.value, when: at.value },
      });
      showNotice(added.text);
      form.reset();
      text.focus();
      load();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  load();
}
