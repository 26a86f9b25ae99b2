// Terminal registration (once per browser, its key proved by a signed ping first), operator login and logout,
// and the idle lock.

import { api } from "./hub.js";
import { t } from "./i18n.js";
import * as stored from "./storage.js";
import { $, busy, focusFirst, say, showOnly } from "./ui.js";

const ACTIVITY_EVENTS = ["keydown", "pointerdown", "wheel", "touchstart"];
let idleTimer = null;

/** A setup link's #terminal=..&key=.., taken out of the address bar; null when there is none. */
export function registrationFromAddress() {
  const fields = new URLSearchParams(location.hash.slice(1));
  if (!fields.get("terminal") || !fields.get("key")) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return { terminal: fields.get("terminal"), key: fields.get("key") };
}

const KEY_PROBLEMS = { BAD_SIGNATURE: "badKey", UNKNOWN_TERMINAL: "unknownTerminal" };

/** What to tell the counter (on the `screen`: register or login) when the hub refuses the terminal's signature. */
function keyProblem(error, terminal, screen) {
  const problem = KEY_PROBLEMS[error.code];
  return problem ? t(`${screen}.${problem}`, { terminal }) : error.message;
}

/** Keep the terminal code and key only once a signed ping proves them; the reason in words when it does not. */
export async function register(registration) {
  try {
    await api.ping(registration);
  } catch (error) {
    return keyProblem(error, registration.terminal, "register");
  }
  stored.terminal.set(registration);
  return null;
}

export function showRegisterScreen(terminal = "", problem = "") {
  const form = $("#register-form");
  form.terminal.value = terminal;
  say($("[data-message]", form), problem);
  showOnly("screen", "register");
  (terminal ? form.key : form.terminal).focus();
}

export function bindRegisterForm(onRegistered) {
  const form = $("#register-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const terminal = form.terminal.value.trim();
    const key = form.key.value.trim();
    const box = $("[data-message]", form);
    if (!terminal || !key) return say(box, t("register.missing"));
    say(box, t("register.checking"), "info");
    const problem = await busy($("button.primary", form), () => register({ terminal, key }));
    if (problem === undefined) return; // submitted again while the first submit was being checked
    if (problem) {
      say(box, problem);
      form.key.select();
      return;
    }
    form.reset();
    say(box, "");
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
        say(box, keyProblem(error, stored.terminal.get()?.terminal ?? "", "login"));
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
    if (stored.session.get()) await api.logout();
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
