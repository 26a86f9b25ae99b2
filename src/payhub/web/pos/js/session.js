// Terminal registration (once per browser), operator login and logout, and the idle lock.

import { api } from "./hub.js";
import { t } from "./i18n.js";
import * as stored from "./storage.js";
import { $, busy, focusFirst, say } from "./ui.js";

const ACTIVITY_EVENTS = ["keydown", "pointerdown", "wheel", "touchstart"];
let idleTimer = null;

/** Take a setup link's #terminal=..&key=.. into storage and out of the address bar. */
export function registerFromAddress() {
  const fields = new URLSearchParams(location.hash.slice(1));
  if (!fields.get("terminal") || !fields.get("key")) return;
  stored.terminal.set({ terminal: fields.get("terminal"), key: fields.get("key") });
  history.replaceState(null, "", location.pathname + location.search);
}

export function bindRegisterForm(onRegistered) {
  const form = $("#register-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const terminal = form.terminal.value.trim();
    const key = form.key.value.trim();
    if (!terminal || !key) return say($("[data-message]", form), t("register.missing"));
    stored.terminal.set({ terminal, key });
    form.reset();
    onRegistered();
  });
}

export function bindLoginForm(onLoggedIn) {
  const form = $("#login-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("[data-message]", form);
    say(box, "");
    await busy($("button", form), async () => {
      try {
        await logIn(form.username.value.trim(), form.password.value);
        form.reset();
        onLoggedIn();
      } catch (error) {
        say(box, error.message);
        form.password.select();
      }
    });
  });
}

async function logIn(username, password) {
  const answer = await api.login(username, password);
  stored.session.set({ token: answer.token, operator: answer.operator, username, expires_at: answer.expires_at });
  stored.locked.set(false);
}

export function showLoginScreen() {
  $("#login-terminal").textContent = t("login.terminal", { terminal: stored.terminal.get()?.terminal ?? "" });
}

export async function logOut() {
  try {
    await api.logout();
  } catch {
    // the session may have ended already; forget it either way
  }
  stored.session.set(null);
  stored.locked.set(false);
}

/** The lock screen's form: unlocking logs in again with the same user's password. */
export function bindLockForm(onSwitchUser) {
  const form = $("#lock-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("[data-message]", form);
    await busy($("button", form), async () => {
      try {
        await logIn(stored.session.get().username, form.password.value);
        form.reset();
        say(box, "");
        unlock();
      } catch (error) {
        say(box, error.message);
      }
    });
  });
  $("#lock-switch").addEventListener("click", async () => {
    await logOut();
    unlock();
    onSwitchUser();
  });
}

/** Lock after the configured idle minutes of no keyboard, mouse or touch. */
export function startIdleLock() {
  for (const name of ACTIVITY_EVENTS) document.addEventListener(name, restartIdleTimer, { passive: true });
  if (stored.locked.get()) lock();
  restartIdleTimer();
}

export function stopIdleLock() {
  clearTimeout(idleTimer);
  for (const name of ACTIVITY_EVENTS) document.removeEventListener(name, restartIdleTimer);
}

function restartIdleTimer() {
  clearTimeout(idleTimer);
  if (stored.locked.get()) return;
  idleTimer = setTimeout(lock, stored.settings.get().idleMinutes * 60 * 1000);
}

export function lock() {
  const session = stored.session.get();
  if (!session) return;
  stored.locked.set(true);
  clearTimeout(idleTimer);
  $("#lock-hint").textContent = t("lock.hint", { name: session.operator.display_name });
  $("#lock-overlay").hidden = false;
  focusFirst($("#lock-overlay"));
}

function unlock() {
  $("#lock-overlay").hidden = true;
  restartIdleTimer();
}

export function isLocked() {
  return !$("#lock-overlay").hidden;
}
