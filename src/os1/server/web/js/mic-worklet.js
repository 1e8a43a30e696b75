// Runs on the audio thread: turns the microphone's float samples into 16-bit PCM blocks
// of about 40 ms (the voice protocol takes 20-100 ms) and hands them to the page.

const BLOCK_SECONDS = 0.04;

class Pcm16Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.size = Math.round(sampleRate * BLOCK_SECONDS);
    this.block = new Int16Array(this.size);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i += 1) {
      const clipped = Math.max(-1, Math.min(1, channel[i]));
      this.block[this.filled] = clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff;
      this.filled += 1;
      if (this.filled === this.size) {
        // The buffer is handed over (transferred), so each block gets a new one.
        this.port.postMessage(this.block.buffer, [this.block.buffer]);
        this.block = new Int16Array(this.size);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
