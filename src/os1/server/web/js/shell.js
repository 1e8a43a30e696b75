// The app once the OS is set up: its name and state at the top, and three places.

import { listen } from "./notices.js";
import { h, replaceChildren, focusHeading } from "./dom.js";
import { attachPresence } from "./presence.js";
import { showTalk } from "./talk.js";
import { showJournal } from "./journal.js";
import { showSettings } from "./settings.js";

const PLACES = [
  ["talk", "Talk", showTalk],
  ["journal", "Journal", showJournal],
  ["settings", "Settings", showSettings],
];

let stopListening = null;
let leavePlace = null;

export function showShell(main, me, restart) {
  const name = me.persona.name;
  const page = h("div", { class: "page", id: "page" });
  const links = PLACES.map(([id, label]) => h("a", { href: `#${id}`, "data-place": id, text: label }));
  const shell = h("div", { class: "shell" },
    h("header", { class: "topbar" },
      h("div", { class: "presence" },
        h("span", { class: "orb", "aria-hidden": "true" }),
        h("div", {},
          h("p", { class: "presence__name", text: name }),
          h("span", { class: "presence__state", "data-presence-label": true, role: "status" }))),
      h("nav", { class: "nav", "aria-label": "Places" }, links)),
    page);
  replaceChildren(main, shell);
  attachPresence(shell);
  const context = { me, name, restart, page };

  function go() {
    const wanted = location.hash.slice(1) || "talk";
    const place = PLACES.find(([id]) => id === wanted) || PLACES[0];
    links.forEach((link) => {
      if (link.dataset.place === place[0]) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
    if (leavePlace) leavePlace();
    document.title = `${place[1]} · ${name} · OS1`;
    // A place may return what to do when leaving it (talk closes its sockets).
    const leave = place[2](page, context);
    leavePlace = typeof leave === "function" ? leave : null;
    if (place[0] !== "talk") focusHeading(page);
  }

  window.onhashchange = go;
  if (stopListening) stopListening();
  stopListening = listen();
  go();
}
