// Conversations: every session, newest first, with how it began and what the OS made of
// it; open one to read it again.

import { api } from "./api.js";
import { h, replaceChildren, when } from "./dom.js";

export async function showTimeline(panel, { name }) {
  const list = h("ol", { class: "timeline", "aria-label": "Conversations, newest first" });
  replaceChildren(panel, list);
  let sessions;
  try {
    ({ sessions } = await api("/v1/sessions?limit=100"));
  } catch (error) {
    replaceChildren(list, h("li", { class: "empty", text: error.message }));
    return;
  }
  if (!sessions.length) {
    replaceChildren(list, h("li", { class: "empty", text: "No conversations yet." }));
    return;
  }
  replaceChildren(list, sessions.map((session) => {
    const turnsId = `session-${session.id}-turns`;
    const turns = h("ol", { class: "session__turns", id: turnsId, hidden: true });
    const toggle = h("button", {
      class: "button button--quiet button--small", "aria-expanded": "false",
      "aria-controls": turnsId, text: "Read",
      "aria-label": `Read the conversation of ${when(session.started_at)}`,
    });
    toggle.addEventListener("click", async () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      toggle.textContent = open ? "Read" : "Close";
      turns.hidden = open;
      if (!open && !turns.children.length) {
        const { session: full } = await api(`/v1/sessions/${session.id}`);
        replaceChildren(turns, full.turns.map((turn) =>
          h("li", { class: turn.role === "user" ? "said said--you" : "said" },
            h("span", { class: "said__who", text: turn.role === "user" ? "You" : turn.speaker }),
            h("span", { text: turn.text }))));
      }
    });
    const count = `${session.turns} ${session.turns === 1 ? "turn" : "turns"}`;
    return h("li", { class: "session" },
      h("div", { class: "session__dot", "aria-hidden": "true" }),
      h("div", { class: "session__body" },
        h("h2", { class: "session__when", text: when(session.started_at) }),
        h("p", { class: "memory__meta", text: session.ended_at ? count : `${count} · still open` }),
        session.summary ? h("p", { class: "session__summary", text: session.summary }) : null,
        session.first_words
          ? h("p", { class: "session__first", text: `“${session.first_words}”` })
          : h("p", { class: "session__first", text: `${name} said hello.` }),
        toggle,
        turns));
  }));
}
