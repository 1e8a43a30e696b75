// Settings: the voice, the model (shown), the account's token, the day's conversation,
// and your data: export it, or erase it all (after typing your account's name).

import { api, forget, remember } from "./api.js";
import { confirmDialog } from "./dialog.js";
import { h, replaceChildren } from "./dom.js";
import { showNotice } from "./notices.js";

const VOICE_LABELS = { feminine: "Feminine", masculine: "Masculine", neutral: "Neutral" };

function card(title, id, ...children) {
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id, text: title }), ...children);
}

async function download() {
  const response = await api("/v1/export", { raw: true });
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: "os1-export.jsonl", hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function showSettings(page, { name, restart }) {
  const settings = await api("/v1/settings");
  const voices = h("fieldset", { class: "choices" },
    h("legend", { class: "visually-hidden", text: `${name}'s voice` }),
    settings.voices.map((voice) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "voice", value: voice, checked: voice === settings.voice }),
      h("span", { class: "choice__name", text: VOICE_LABELS[voice] || voice }))));
  voices.addEventListener("change", async (event) => {
    try {
      await api("/v1/settings", { method: "PATCH", body: { voice: event.target.value } });
      showNotice(`${name} will speak with a ${event.target.value} voice from now on.`);
    } catch (error) {
      showNotice(error.message);
    }
  });

  const tokenSlot = h("div", { "aria-live": "polite" });
  async function rotate() {
    const sure = await confirmDialog({
      title: "Make a new token?",
      body: "Your current token stops working at once, here and on every other device. This browser keeps working with the new one.",
      confirmLabel: "Make a new token",
    });
    if (!sure) return;
    const { token } = await api("/v1/token", { method: "POST" });
    remember(token);
    replaceChildren(tokenSlot,
      h("p", { text: "Your new token, shown only this once. Keep it somewhere safe:" }),
      h("code", { class: "token", id: "new-token", text: token }),
      h("button", { class: "button button--quiet button--small", text: "Copy",
        onclick: () => navigator.clipboard.writeText(token).then(() => showNotice("Copied.")) }));
  }

  async function erase() {
    const sure = await confirmDialog({
      title: "Erase everything?",
      body: `${name} will forget you completely: every conversation, memory and journal entry, and ${name} itself. Export first if you want a copy. This cannot be undone.`,
      confirmLabel: "Erase everything",
      danger: true,
      typeToConfirm: settings.account.name,
    });
    if (!sure) return;
    await api("/v1/erase", { method: "POST", body: { confirm: settings.account.name } });
    location.hash = "";
    restart();
  }

  async function sleep() {
    const done = await api("/v1/sleep", { method: "POST" });
    showNotice(done.reflected
      ? `${name} reflected on your conversation and wrote in the journal.`
      : `${name} has nothing new to reflect on.`);
  }

  const model = settings.model;
  replaceChildren(page, h("div", { class: "settings" },
    h("h1", { text: "Settings" }),
    card("Voice", "voice-title", h("p", { class: "hint", text: `How ${name} sounds when you talk.` }), voices),
    card("Model", "model-title",
      h("dl", { class: "facts" },
        h("dt", { text: "Backend" }), h("dd", { text: model.backend }),
        model.name ? h("dt", { text: "Model" }) : null, model.name ? h("dd", { text: model.name }) : null),
      h("p", { class: "hint" }, "One model serves everyone on this server; whoever runs it changes it with ",
        h("code", { text: "os1 model use" }), ".")),
    card("Today", "today-title",
      h("p", { class: "hint", text: `End the conversation now, and ${name} reflects on it and writes in the journal.` }),
      h("button", { class: "button button--quiet", text: "End today's conversation", onclick: sleep })),
    card("Account", "account-title",
      h("dl", { class: "facts" }, h("dt", { text: "Signed in as" }), h("dd", { text: settings.account.name })),
      h("div", { class: "row row--spaced" },
        h("button", { class: "button button--quiet", text: "Make a new token", onclick: rotate }),
        h("button", { class: "button button--quiet", text: "Sign out",
          onclick: () => { forget(); location.hash = ""; restart(); } })),
      tokenSlot),
    card("Your data", "data-title",
      h("p", { class: "hint", text: "Everything stays on this server. Take a copy (JSON lines, which os1 import reads), or erase it all." }),
      h("div", { class: "row" },
        h("button", { class: "button", text: "Export everything", onclick: () => download().catch((e) => showNotice(e.message)) }),
        h("button", { class: "button button--danger", text: "Erase everything…", onclick: erase })))));
}
