// Talk: the conversation. Typed words go over WS /v1/chat and the reply streams in;
// Stop cuts it short (what was said is kept) and "Say it again" asks anew. The voice bar
// holds push-to-talk and hands-free voice over WS /v1/voice. When a skill asks before it
// acts ("Shall I cancel …?"), a dialog asks Yes or No, answered with
// POST /v1/confirmations/{id}; reminders show as notices.

import { api } from "./api.js";
import { ChatConnection } from "./chat.js";
import { confirmDialog } from "./dialog.js";
import { h, micIcon, replaceChildren } from "./dom.js";
import { setReplying, showNotice, showReminder } from "./notices.js";
import { setPresence } from "./presence.js";
import { VoiceControls } from "./voice-controls.js";

const HISTORY_TURNS = 40;

export function showTalk(page, { name }) {
  const log = h("div", { class: "log", role: "log", "aria-label": `Conversation with ${name}` });
  const empty = h("p", { class: "talk__empty", text: `Say something to ${name}.` });
  const input = h("textarea", {
    id: "message", class: "textarea", rows: "1", maxlength: "20000",
    placeholder: `Talk to ${name}…`, "aria-label": `Message to ${name}`,
  });
  const send = h("button", { type: "submit", class: "button", text: "Send" });
  const form = h("form", { class: "composer", "aria-label": "Write a message" }, input, send);
  const voiceBar = h("div", { class: "voicebar", "aria-label": "Voice" });
  replaceChildren(page, h("section", { class: "talk", "aria-labelledby": "talk-title" },
    h("h1", { id: "talk-title", class: "visually-hidden", text: `Talk with ${name}` }),
    log, form, voiceBar));

  let replying = null; // the line being written, and what was asked
  let lastExchange = null;
  let question = null; // a skill's question in this reply, asked once it is done

  function line(who, text, mine) {
    empty.remove();
    const words = h("span", { class: "line__text", text });
    const item = h("div", { class: `line ${mine ? "line--you" : "line--os"}` },
      h("span", { class: "line__who", text: mine ? "You" : who }), words);
    log.append(item);
    item.scrollIntoView({ block: "end", behavior: "smooth" });
    return { item, words };
  }

  function startReply(text, userLine) {
    replying = { ...line(name, "", false), asked: text, userLine, text: "" };
    replying.item.setAttribute("aria-busy", "true");
    send.textContent = "Stop";
    send.setAttribute("aria-label", "Stop the reply");
    setReplying(true);
    setPresence("thinking");
  }

  function finishReply(note) {
    if (!replying) return;
    replying.item.removeAttribute("aria-busy");
    if (note) replying.item.append(h("span", { class: "line__note", text: note }));
    replying = null;
    send.textContent = "Send";
    send.removeAttribute("aria-label");
    setReplying(false);
    setPresence("idle");
  }

  function offerAgain(exchange) {
    log.querySelectorAll(".line__tools").forEach((tools) => tools.remove());
    lastExchange = exchange;
    exchange.osLine.item.append(h("div", { class: "line__tools" },
      h("button", { class: "button button--quiet button--small", text: "Say it again",
        "aria-label": `Ask ${name} to answer that again`, onclick: regenerate })));
  }

  // Forget the last exchange (both turns, and what was derived from them), then ask again.
  async function regenerate() {
    const exchange = lastExchange;
    if (!exchange || replying) return;
    lastExchange = null;
    try {
      for (const id of [exchange.turnId, exchange.userTurnId].filter(Boolean)) {
        await api(`/v1/memories/${id}`, { method: "DELETE" });
      }
    } catch (error) {
      showNotice(`Could not ask again: ${error.message}`);
      return;
    }
    exchange.osLine.item.remove();
    startReply(exchange.asked, exchange.userLine);
    chat.say(exchange.asked);
  }

  // The user's answer to a skill's question is a turn of its own; its reply is shown.
  async function ask(confirm) {
    const yes = await confirmDialog({
      title: `${name} asks`, body: confirm.question, confirmLabel: "Yes", cancelLabel: "No",
    });
    const answer = yes ? "yes" : "no";
    line("You", answer, true);
    const pending = line(name, "…", false);
    try {
      const done = await api(`/v1/confirmations/${confirm.id}`, { method: "POST", body: { answer } });
      (done.notices || []).forEach(showReminder);
      pending.words.textContent = done.reply;
    } catch (error) {
      pending.words.textContent = error.message;
      pending.item.append(h("span", { class: "line__note", text: "Not sent" }));
    }
  }

  const chat = new ChatConnection({
    notice(event) {
      showReminder(event);
    },
    confirm(event) {
      question = event;
    },
    token(event) {
      if (!replying) return;
      replying.text += event.text;
      replying.words.textContent = replying.text;
      setPresence("writing");
    },
    done(event) {
      if (!replying) return;
      replying.words.textContent = event.reply;
      const exchange = { osLine: replying, asked: replying.asked, userLine: replying.userLine,
        userTurnId: event.user_turn_id, turnId: event.turn_id };
      finishReply(event.status === "interrupted" ? "Stopped" : "");
      offerAgain(exchange);
      const asked = question;
      question = null;
      if (asked) ask(asked);
    },
    busy(event) {
      const note = event.message || `${name} is with someone else for a moment.`;
      if (replying) replying.words.textContent = note;
      else showNotice(note);
    },
    error(event) {
      question = null;
      if (replying) {
        replying.words.textContent = event.message;
        finishReply("Not sent");
      } else {
        showNotice(event.message);
      }
    },
    dropped() {
      if (replying) finishReply("The connection dropped; what was said is kept.");
    },
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (replying) {
      chat.stop();
      return;
    }
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const userLine = line("You", text, true);
    startReply(text, userLine);
    chat.say(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  const voice = new VoiceControls(voiceBar, { name, line, micIcon, setReplying });

  api(`/v1/history?limit=${HISTORY_TURNS}`).then(({ turns }) => {
    if (!turns.length) {
      log.append(empty);
      return;
    }
    const earlier = turns.map((turn) => {
      const shown = line(turn.speaker, turn.text, turn.role === "user");
      if (turn.status === "interrupted") shown.item.append(h("span", { class: "line__note", text: "Stopped" }));
      return shown.item;
    });
    log.replaceChildren(...earlier);
    log.scrollTop = log.scrollHeight;
  });
  input.focus();

  return () => {
    chat.close();
    voice.close();
    setReplying(false);
    setPresence("idle");
  };
}
