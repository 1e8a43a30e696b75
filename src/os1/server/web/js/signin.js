// Sign in with the token `os1 users add NAME` printed; it is remembered on this device.

import { api, ApiError, forget, remember } from "./api.js";
import { focusHeading, h, replaceChildren } from "./dom.js";

export function showSignIn(main, onSignedIn, problem = "") {
  document.title = "OS1";
  const error = h("p", { class: "error", id: "token-error", role: "alert", text: problem });
  const input = h("input", {
    id: "token",
    class: "input",
    type: "password",
    autocomplete: "current-password",
    spellcheck: "false",
    placeholder: "os1_…",
    required: true,
    "aria-describedby": "token-hint token-error",
  });
  const submit = h("button", { class: "button", type: "submit", text: "Begin" });
  const form = h("form", { class: "card", "aria-label": "Sign in" },
    h("div", { class: "field" },
      h("label", { for: "token", text: "Your token" }),
      input,
      h("p", { class: "hint", id: "token-hint" },
        "Whoever runs this OS1 makes one with ", h("code", { text: "os1 users add NAME" }), ".")),
    error,
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    remember(input.value);
    try {
      await api("/v1/me");
      onSignedIn();
    } catch (failure) {
      forget();
      error.textContent =
        failure instanceof ApiError && failure.status === 401
          ? "That token was not recognised. Check it, or ask for a new one."
          : failure.message;
      submit.disabled = false;
      input.focus();
    }
  });
  replaceChildren(main, h("section", { class: "welcome" },
    h("div", { class: "welcome__inner" },
      h("span", { class: "orb orb--large", "aria-hidden": "true" }),
      h("h1", { class: "wordmark", text: "OS1" }),
      h("p", { class: "tagline", text: "An intuitive operating system. It listens to you, understands you, and knows you." }),
      form)));
  focusHeading(main);
}
