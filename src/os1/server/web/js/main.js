// Starts the app: no token, sign in; a token but no OS yet, the first meeting; otherwise
// the shell, with Talk, Journal and Settings chosen by the address's #fragment.

import { api, ApiError, forget, token } from "./api.js";
import { showSignIn } from "./signin.js";
import { showOnboarding } from "./onboarding.js";
import { showShell } from "./shell.js";

const main = document.getElementById("main");

export async function start() {
  document.getElementById("app").setAttribute("aria-busy", "true");
  if (!token()) {
    showSignIn(main, start);
    return;
  }
  let me;
  try {
    me = await api("/v1/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forget();
      showSignIn(main, start, "That token did not work. It may have been replaced or revoked.");
      return;
    }
    showSignIn(main, start, `The server did not answer (${error.message}). Try again in a moment.`);
    return;
  }
  if (!me.set_up) {
    showOnboarding(main, me.account, start);
    return;
  }
  showShell(main, me, start);
}

start().finally(() => document.getElementById("app").setAttribute("aria-busy", "false"));
