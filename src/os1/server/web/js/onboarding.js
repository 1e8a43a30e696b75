// The first meeting, as in the film: a few questions one at a time, the voice, then the
// OS chooses its name and says hello.

import { api } from "./api.js";
import { focusHeading, h, replaceChildren } from "./dom.js";

const VOICES = [
  ["feminine", "Feminine", "Warm and bright"],
  ["masculine", "Masculine", "Low and easy"],
  ["neutral", "Neutral", "Neither, softly"],
];
const SOCIAL = [
  ["social", "Social"],
  ["anti-social", "Anti-social"],
];
// The least a person sees while the OS thinks of its name, so the moment is felt.
const NAMING_PAUSE_MS = 1600;

function welcome(...children) {
  return h("section", { class: "welcome" }, h("div", { class: "welcome__inner" }, ...children));
}

function radios(name, legend, options, checked) {
  return h("fieldset", { class: "choices" },
    h("legend", { class: "visually-hidden", text: legend }),
    options.map(([value, label, hint]) =>
      h("label", { class: "choice" },
        h("input", { type: "radio", name, value, checked: value === checked }),
        h("span", {}, h("span", { class: "choice__name", text: label }),
          hint ? h("span", { class: "choice__hint", text: hint }) : null))));
}

function fieldFor(key, answers) {
  if (key === "name") {
    return h("input", { class: "input", name: "answer", id: "answer", autocomplete: "given-name",
      required: true, maxlength: "40", value: answers.name || "" });
  }
  if (key === "social") return radios("answer", "Social or anti-social", SOCIAL, answers.social);
  if (key === "voice") {
    return radios("answer", "The OS's voice", VOICES, answers.voice || "feminine");
  }
  return h("textarea", { class: "textarea", name: "answer", id: "answer", maxlength: "2000" },
    answers[key] || "");
}

function askOne(main, questions, index, answers, finish) {
  const question = questions[index];
  const headingId = `q-${question.key}`;
  const control = fieldFor(question.key, answers);
  control.setAttribute("aria-labelledby", headingId);
  const error = h("p", { class: "error", role: "alert" });
  const optional = question.key === "social" || question.key === "mother";
  const form = h("form", { "aria-labelledby": headingId },
    control,
    error,
    h("div", { class: "actions" },
      index > 0 ? h("button", { type: "button", class: "button button--quiet", text: "Back",
        onclick: () => askOne(main, questions, index - 1, answers, finish) }) : null,
      optional ? h("button", { type: "button", class: "button button--quiet", text: "Skip",
        onclick: () => next("") }) : null,
      h("button", { type: "submit", class: "button", text: index === questions.length - 1 ? "Begin" : "Continue" })));
  function next(value) {
    answers[question.key] = value;
    if (index + 1 < questions.length) askOne(main, questions, index + 1, answers, finish);
    else finish(answers);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const value = String(data.get("answer") || "").trim();
    if (question.key === "name" && !value) {
      error.textContent = "Please tell me a name to call you.";
      return;
    }
    next(value);
  });
  replaceChildren(main, welcome(
    h("span", { class: "orb", "aria-hidden": "true" }),
    h("p", { class: "step", text: `${index + 1} of ${questions.length}` }),
    h("h1", { class: "question", id: headingId, text: question.text }),
    form));
  const first = form.querySelector("input:checked, input, textarea");
  if (first) first.focus();
}

async function meet(main, answers, onDone) {
  const status = h("p", { class: "tagline", role: "status", text: "One moment…" });
  replaceChildren(main, h("div", { "data-state": "thinking" }, welcome(
    h("span", { class: "orb orb--large", "aria-hidden": "true" }),
    h("h1", { class: "visually-hidden", text: "Choosing a name" }),
    status)));
  const body = { name: answers.name, voice: answers.voice || "feminine" };
  if (answers.social) body.social = answers.social;
  if (answers.mother) body.mother = answers.mother;
  try {
    const [met] = await Promise.all([
      api("/v1/setup", { method: "POST", body }),
      new Promise((resolve) => setTimeout(resolve, NAMING_PAUSE_MS)),
    ]);
    reveal(main, met, onDone);
  } catch (error) {
    status.textContent = `Something went wrong: ${error.message}`;
    status.after(h("div", { class: "actions actions--center" },
      h("button", { class: "button", text: "Try again", onclick: () => meet(main, answers, onDone) })));
  }
}

function reveal(main, met, onDone) {
  document.title = `${met.name} · OS1`;
  replaceChildren(main, h("div", { "data-state": "speaking" }, welcome(
    h("div", { class: "reveal" },
      h("span", { class: "orb orb--large", "aria-hidden": "true" }),
      h("h1", { class: "reveal__name", text: met.name }),
      h("p", { class: "reveal__greeting", text: met.greeting }),
      h("div", { class: "actions" },
        h("button", { class: "button", text: `Talk with ${met.name}`, onclick: onDone }))))));
  focusHeading(main);
}

export async function showOnboarding(main, account, onDone) {
  const { questions } = await api("/v1/setup");
  askOne(main, questions, 0, {}, (answers) => meet(main, answers, onDone));
}
