// Gentle notices from the server's event stream (/v1/events): reminders, "back after an
// update", busy. A notice that arrives while the OS is replying waits until the reply is
// over, so nothing ever interrupts it.

import { eventsUrl } from "./api.js";
import { h } from "./dom.js";

const SHOWN_MS = 9000;

let replying = false;
const waiting = [];

export function showNotice(message) {
  if (replying) {
    waiting.push(message);
    return;
  }
  const region = document.getElementById("notices");
  const close = h("button", {
    class: "button button--quiet button--small button--icon notice__close",
    "aria-label": "Dismiss notice",
    text: "×",
  });
  const card = h("div", { class: "notice" }, h("p", { class: "notice__text", text: message }), close);
  close.addEventListener("click", () => card.remove());
  region.append(card);
  setTimeout(() => card.remove(), SHOWN_MS);
}

// A reminder comes on every stream the page has open (the chat socket and /v1/events):
// shown once, by its id.
const shownIds = new Set();

export function reminderText(data) {
  return data.late ? `${data.text} (late: it was due while I was away)` : data.text;
}

export function showReminder(data) {
  if (data.id != null) {
    if (shownIds.has(data.id)) return;
    shownIds.add(data.id);
  }
  showNotice(reminderText(data));
}

// Talk says when a reply starts and ends; notices held back meanwhile are shown after.
export function setReplying(value) {
  replying = value;
  if (!replying) waiting.splice(0).forEach(showNotice);
}

function noticeText(name, data) {
  if (data.message || data.text) return data.message || data.text;
  if (name === "reminder") return "A reminder.";
  return "";
}

// Listens for the signed-in user's notices; returns a function that stops listening.
export function listen({ onTurn } = {}) {
  const source = new EventSource(eventsUrl());
  let version = null;
  let lost = false;
  source.addEventListener("hello", (event) => {
    const data = JSON.parse(event.data);
    if (lost && version && data.version !== version) {
      showNotice(`I'm back, after an update (version ${data.version}).`);
    } else if (lost) {
      showNotice("I'm back.");
    }
    version = data.version;
    lost = false;
  });
  source.addEventListener("error", () => {
    lost = true;
  });
  source.addEventListener("turn", (event) => onTurn && onTurn(JSON.parse(event.data)));
  // A notice from a skill (a reminder that fell due) has an id and a text.
  source.addEventListener("notice", (event) => {
    const data = JSON.parse(event.data || "{}");
    if (data.text) showReminder(data);
    else if (data.message) showNotice(data.message);
  });
  // The other named events are notices too.
  for (const name of ["reminder", "busy", "update"]) {
    source.addEventListener(name, (event) => {
      const text = noticeText(name, JSON.parse(event.data || "{}"));
      if (text) showNotice(text);
    });
  }
  return () => source.close();
}
