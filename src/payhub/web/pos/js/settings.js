// Settings of this browser: the terminal agent's address, the idle lock, automatic printing; unregistering.
// Reachable before login too (from the registration and login screens), so a terminal whose key fails can re-register.

import * as agent from "./agent.js";
import { t } from "./i18n.js";
import * as stored from "./storage.js";
import { $, say } from "./ui.js";

export function enter() {
  const form = $("#settings-form");
  const current = stored.settings.get();
  form.agentUrl.value = current.agentUrl;
  form.idleMinutes.value = current.idleMinutes;
  form.autoPrint.checked = current.autoPrint;
  say($("[data-message]", form), "");
  $("#settings-terminal").textContent = stored.terminal.get()?.terminal ?? "";
  $("#unregister-button").hidden = !stored.terminal.get();
  $("#settings-back").hidden = Boolean(stored.session.get());
  form.agentUrl.focus();
}

export function bind(onUnregister, onBack) {
  const form = $("#settings-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    stored.settings.update({
      agentUrl: form.agentUrl.value.trim(), idleMinutes: Number(form.idleMinutes.value), autoPrint: form.autoPrint.checked,
    });
    agent.connect();
    say($("[data-message]", form), t("settings.saved"), "ok");
  });
  $("#unregister-button").addEventListener("click", onUnregister);
  $("#settings-back").addEventListener("click", onBack);
}
