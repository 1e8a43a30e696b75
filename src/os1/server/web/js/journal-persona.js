// Who the OS is now (its traits, interests, feelings and journal), and how it has
// changed: every version of the persona, with why.

import { api } from "./api.js";
import { h, replaceChildren, when } from "./dom.js";

function words(list) {
  return list && list.length ? list.join(", ") : "still finding out";
}

export async function showPersona(panel) {
  let versions;
  try {
    ({ versions } = await api("/v1/persona/history"));
  } catch (error) {
    replaceChildren(panel, h("p", { class: "empty", text: error.message }));
    return;
  }
  const now = versions[versions.length - 1].persona;
  const journal = (now.journal || []).slice(-5).reverse();
  replaceChildren(panel,
    h("article", { class: "persona" },
      h("h2", { class: "persona__name", text: now.name }),
      h("dl", { class: "facts" },
        h("dt", { text: "Voice" }), h("dd", { text: now.voice }),
        h("dt", { text: "Traits" }), h("dd", { text: words(now.traits) }),
        h("dt", { text: "Interests" }), h("dd", { text: words(now.interests) }),
        h("dt", { text: "Feeling" }), h("dd", { text: now.feelings || "quietly curious" }),
        h("dt", { text: "Conversations" }), h("dd", { text: String(now.sessions_together) })),
      journal.length
        ? h("section", { "aria-labelledby": "persona-journal" },
            h("h3", { id: "persona-journal", text: `${now.name}'s journal` }),
            journal.map((entry) => h("blockquote", { class: "entry" },
              h("p", { text: entry.text }), h("footer", { class: "memory__meta", text: when(entry.written_at) }))))
        : null),
    h("section", { "aria-labelledby": "persona-changes" },
      h("h3", { id: "persona-changes", text: "How I have changed" }),
      h("ol", { class: "changes" }, versions.slice().reverse().map((version) =>
        h("li", { class: "change" },
          h("span", { class: "memory__meta", text: when(version.at) }),
          h("span", { text: version.reason }))))));
}
