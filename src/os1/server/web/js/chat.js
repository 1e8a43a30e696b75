// WS /v1/chat: typed conversation. One socket, reopened when it drops; one reply at a
// time. Events go to the handlers given: token, done, error, busy.

import { socketUrl } from "./api.js";

const RETRY_MS = [500, 1000, 2000, 5000];

export class ChatConnection {
  constructor(handlers) {
    this.handlers = handlers;
    this.socket = null;
    this.closed = false;
    this.failures = 0;
    this.outbox = [];
    this.open();
  }

  open() {
    const socket = new WebSocket(socketUrl("/v1/chat"));
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.failures = 0;
      this.outbox.splice(0).forEach((message) => socket.send(message));
    });
    socket.addEventListener("message", (event) => this.dispatch(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (this.closed) return;
      if (event.code === 4401) {
        this.handlers.error({ message: "Your token no longer works: sign in again.", fatal: true });
        return;
      }
      const wait = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)];
      this.failures += 1;
      this.handlers.dropped && this.handlers.dropped();
      setTimeout(() => !this.closed && this.open(), wait);
    });
  }

  dispatch(event) {
    const handler = this.handlers[event.type];
    if (handler) handler(event);
  }

  send(message) {
    const text = JSON.stringify(message);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
    else this.outbox.push(text);
  }

  say(text) {
    this.send({ type: "message", text });
  }

  stop() {
    this.send({ type: "stop" });
  }

  close() {
    this.closed = true;
    if (this.socket) this.socket.close(1000, "leaving");
  }
}
