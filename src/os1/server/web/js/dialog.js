// Confirmations in a native <dialog>: focus is trapped, Escape cancels, and the answer
// comes back as a promise.

import { h } from "./dom.js";

export function confirmDialog({
  title, body, confirmLabel, cancelLabel = "Cancel", danger = false, typeToConfirm = "",
}) {
  return new Promise((resolve) => {
    const titleId = `dialog-title-${Date.now()}`;
    const field = typeToConfirm
      ? h("div", { class: "field" },
          h("label", { for: "confirm-input", text: `Type ${typeToConfirm} to confirm` }),
          h("input", { id: "confirm-input", class: "input", autocomplete: "off", spellcheck: "false" }))
      : null;
    const confirm = h("button", {
      class: `button ${danger ? "button--danger" : ""}`,
      text: confirmLabel,
      disabled: Boolean(typeToConfirm),
    });
    const cancel = h("button", { class: "button button--quiet", text: cancelLabel });
    const dialog = h("dialog", { "aria-labelledby": titleId },
      h("h2", { id: titleId, text: title }),
      h("p", { text: body }),
      field,
      h("div", { class: "dialog__actions" }, cancel, confirm));
    if (field) {
      const input = field.querySelector("input");
      input.addEventListener("input", () => {
        confirm.disabled = input.value.trim() !== typeToConfirm;
      });
    }
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    confirm.addEventListener("click", () => finish(true));
    cancel.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    (field ? field.querySelector("input") : cancel).focus();
  });
}
