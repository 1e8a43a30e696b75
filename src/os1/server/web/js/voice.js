// WS /v1/voice (docs/voice-protocol.md): the microphone goes out as PCM16 blocks at the
// AudioContext's own rate (announced with "start"); reply audio comes back as an "audio"
// event then its PCM16, played in order. Barge-in: when the server hears speech over a
// reply, everything still queued for playback is dropped at once.

import { socketUrl } from "./api.js";

export class VoiceSession {
  constructor(handlers) {
    this.handlers = handlers;
    this.sending = false;
    this.pendingAudio = null;
    this.sources = new Set();
    this.playAt = 0;
  }

  // Opens the microphone and the socket; resolves once the server is ready.
  async start() {
    this.context = new AudioContext({ latencyHint: "interactive" });
    await this.context.resume();
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    await this.context.audioWorklet.addModule("/web/js/mic-worklet.js");
    this.microphone = this.context.createMediaStreamSource(this.stream);
    this.capture = new AudioWorkletNode(this.context, "pcm16-capture");
    this.capture.port.onmessage = (event) => this.sendAudio(event.data);
    this.microphone.connect(this.capture);
    // Only nodes that lead to the destination are run; the capture's output is silence.
    this.capture.connect(this.context.destination);
    await this.connect();
  }

  connect() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(socketUrl("/v1/voice"));
      socket.binaryType = "arraybuffer";
      this.socket = socket;
      socket.addEventListener("open", () => {
        socket.send(JSON.stringify({ type: "start", sample_rate: this.context.sampleRate }));
      });
      socket.addEventListener("message", (event) => {
        if (typeof event.data !== "string") {
          this.play(event.data);
          return;
        }
        const message = JSON.parse(event.data);
        if (message.type === "ready") resolve();
        this.dispatch(message);
      });
      socket.addEventListener("close", (event) => {
        reject(new Error(event.reason || "the voice connection closed"));
        this.socket = null;
        this.handlers.closed && this.handlers.closed(event);
      });
    });
  }

  dispatch(message) {
    if (message.type === "audio") this.pendingAudio = message;
    // Barge-in: the user spoke over the reply, so stop what is still queued to play.
    if (message.type === "speech_started" || message.type === "interrupted") this.silence();
    const handler = this.handlers[message.type];
    if (handler) handler(message);
  }

  sendAudio(buffer) {
    if (this.sending && this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(buffer);
    }
  }

  command(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  // Hands-free: always sending. Push-to-talk: sending while the button is held.
  setSending(value) {
    this.sending = value;
  }

  interrupt() {
    this.silence();
    this.command({ type: "interrupt" });
  }

  endOfSpeech() {
    this.command({ type: "end" });
  }

  get playing() {
    return this.sources.size > 0;
  }

  play(data) {
    const header = this.pendingAudio;
    this.pendingAudio = null;
    if (!header || !this.context) return;
    const pcm = new Int16Array(data);
    const buffer = this.context.createBuffer(1, pcm.length, header.sample_rate);
    const samples = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i += 1) samples[i] = pcm[i] / 0x8000;
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const at = Math.max(this.context.currentTime + 0.03, this.playAt);
    source.start(at);
    this.playAt = at + buffer.duration;
    this.sources.add(source);
    this.handlers.playing && this.handlers.playing(header);
    source.addEventListener("ended", () => {
      this.sources.delete(source);
      if (!this.playing && this.handlers.played) this.handlers.played();
    });
  }

  silence() {
    for (const source of this.sources) {
      try {
        source.stop();
      } catch {
        // already stopped
      }
    }
    this.sources.clear();
    this.playAt = 0;
  }

  close() {
    this.silence();
    this.sending = false;
    if (this.socket) this.socket.close(1000, "done talking");
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    if (this.context) this.context.close();
  }
}
