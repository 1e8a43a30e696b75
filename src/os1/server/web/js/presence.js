// The OS's visible state: here, listening, thinking, speaking (or writing, for text).
// The orb in the header breathes with it, and a live region says it in words.

const LABELS = {
  idle: "Here with you",
  listening: "Listening",
  thinking: "Thinking",
  speaking: "Speaking",
  writing: "Writing",
};

let root = null;

export function attachPresence(element) {
  root = element;
  setPresence("idle");
}

export function setPresence(state) {
  if (!root) return;
  root.dataset.state = state;
  const label = root.querySelector("[data-presence-label]");
  if (label) label.textContent = LABELS[state] || LABELS.idle;
}

export function presence() {
  return root ? root.dataset.state : "idle";
}
