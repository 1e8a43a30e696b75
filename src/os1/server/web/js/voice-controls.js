// The voice bar: "Hold to talk" (pointer, or Space/Enter held on the button) and a
// hands-free switch. What is heard appears live in the conversation, then the reply,
// spoken and written.

import { h } from "./dom.js";
import { showNotice } from "./notices.js";
import { presence, setPresence } from "./presence.js";
import { VoiceSession } from "./voice.js";

export class VoiceControls {
  constructor(bar, { name, line, micIcon, setReplying }) {
    this.name = name;
    this.line = line;
    this.setReplying = setReplying;
    this.session = null;
    this.handsFree = false;
    this.heard = null;   // the line showing what is being heard
    this.spoken = null;  // the line showing the reply
    this.hold = h("button", {
      type: "button", class: "button button--quiet button--talk", "aria-pressed": "false",
      "aria-label": "Hold to talk",
    }, micIcon(), h("span", { text: "Hold to talk" }));
    this.free = h("button", {
      type: "button", class: "button button--quiet button--handsfree", "aria-pressed": "false",
    }, h("span", { text: "Hands-free" }));
    this.status = h("span", { class: "hint", role: "status" });
    bar.append(this.hold, this.free, this.status);
    this.bindHold();
    this.free.addEventListener("click", () => this.toggleHandsFree());
  }

  bindHold() {
    const press = (event) => {
      event.preventDefault();
      this.pressTalk();
    };
    const release = () => this.releaseTalk();
    this.hold.addEventListener("pointerdown", press);
    this.hold.addEventListener("pointerup", release);
    this.hold.addEventListener("pointerleave", () => this.holding && release());
    this.hold.addEventListener("keydown", (event) => {
      if ((event.key === " " || event.key === "Enter") && !event.repeat) press(event);
    });
    this.hold.addEventListener("keyup", (event) => {
      if (event.key === " " || event.key === "Enter") release();
    });
  }

  async ensureSession() {
    if (this.session) return this.session;
    this.status.textContent = "Opening the microphone…";
    const session = new VoiceSession(this.handlers());
    try {
      await session.start();
    } catch (error) {
      session.close();
      this.status.textContent = "";
      showNotice(`Voice is not available: ${error.message}`);
      return null;
    }
    this.session = session;
    this.status.textContent = "";
    return session;
  }

  async pressTalk() {
    this.holding = true;
    this.hold.setAttribute("aria-pressed", "true");
    const session = await this.ensureSession();
    if (!session || !this.holding) return;
    if (session.playing) session.interrupt();
    session.setSending(true);
    setPresence("listening");
  }

  releaseTalk() {
    if (!this.holding) return;
    this.holding = false;
    this.hold.setAttribute("aria-pressed", "false");
    if (!this.session || this.handsFree) return;
    this.session.setSending(false);
    this.session.endOfSpeech();
    if (presence() === "listening") setPresence("idle");
  }

  async toggleHandsFree() {
    this.handsFree = !this.handsFree;
    this.free.setAttribute("aria-pressed", String(this.handsFree));
    if (!this.handsFree) {
      this.close();
      return;
    }
    const session = await this.ensureSession();
    if (!session) {
      this.handsFree = false;
      this.free.setAttribute("aria-pressed", "false");
      return;
    }
    session.setSending(true);
    this.status.textContent = `${this.name} is listening. Speak whenever you like.`;
    setPresence("listening");
  }

  restingState() {
    return this.handsFree ? "listening" : "idle";
  }

  handlers() {
    return {
      speech_started: () => setPresence("listening"),
      partial_transcript: (event) => this.hear(event.text, true),
      final_transcript: (event) => {
        if (!event.text && this.heard) this.heard.item.remove();
        this.hear(event.text, false);
        this.heard = null;
        this.setReplying(true);
        setPresence("thinking");
      },
      reply_text: (event) => {
        if (!this.spoken) this.spoken = this.line(this.name, "", false);
        const before = this.spoken.words.textContent;
        this.spoken.words.textContent = before ? `${before} ${event.text}` : event.text;
      },
      playing: () => setPresence("speaking"),
      played: () => setPresence(this.restingState()),
      interrupted: (event) => {
        if (this.spoken) {
          this.spoken.words.textContent = event.spoken;
          this.spoken.item.append(h("span", { class: "line__note", text: "You spoke over me" }));
        }
      },
      turn_end: (event) => {
        if (event.error) showNotice(event.error);
        this.spoken = null;
        this.setReplying(false);
        if (!this.session || !this.session.playing) setPresence(this.restingState());
      },
      busy: (event) => showNotice(event.message || `${this.name} is busy for a moment.`),
      error: (event) => showNotice(event.message),
      closed: () => {
        this.session = null;
        this.handsFree = false;
        this.free.setAttribute("aria-pressed", "false");
        this.status.textContent = "";
        setPresence("idle");
      },
    };
  }

  hear(text, partial) {
    if (!text) return;
    if (!this.heard) this.heard = this.line("You", text, true);
    this.heard.words.textContent = text;
    this.heard.item.classList.toggle("line--partial", partial);
  }

  close() {
    if (this.session) this.session.close();
    this.session = null;
    this.status.textContent = "";
    setPresence("idle");
  }
}
