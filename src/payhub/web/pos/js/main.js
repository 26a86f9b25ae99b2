// The page's start: registration, login, screens, keyboard shortcuts, network banner, device status.

import * as agent from "./agent.js";
import * as counter from "./counter.js";
import { onNetworkChange, onSessionLost } from "./hub.js";
import { currentLocale, setLocale, t } from "./i18n.js";
import * as orders from "./orders.js";
import * as payment from "./payment.js";
import * as receipts from "./receipts.js";
import * as session from "./session.js";
import * as settings from "./settings.js";
import * as shift from "./shift.js";
import { canSign } from "./signing.js";
import * as stored from "./storage.js";
import { $, $$, busy, el, focusFirst, showOnly, toast } from "./ui.js";

const SCREENS = { counter: () => {}, orders: orders.enter, shift: shift.enter, settings: settings.enter };
const SHORTCUTS = { F2: "counter", F3: "orders", F4: "shift" };
let screen = null;

function navigate(name) {
  screen = name;
  showOnly("screen", name);
  for (const button of $$("[data-nav]")) button.classList.toggle("selected", button.dataset.nav === name);
  SCREENS[name]?.();
}

function showDevices(devices) {
  const badge = $("#printer-status");
  const printer = agent.printer();
  const state = devices === null ? "none" : printer?.state ?? "none";
  badge.dataset.state = state;
  badge.textContent = devices === null
    ? t("device.agentDown")
    : t("device.printerState", { state: printer ? t(`device.${printer.state}`) : "—" });
  badge.title = printer?.detail ?? "";
}

function showUnprinted(jobs) {
  const button = $("#unprinted-button");
  button.hidden = jobs.length === 0;
  button.textContent = t("print.pending", { count: jobs.length });
  $("#unprinted-list").replaceChildren(...jobs.map((job) => {
    const retry = el("button", { type: "button" }, t("print.retry"));
    retry.addEventListener("click", () => busy(retry, async () => toast((await receipts.print(job)).message)));
    return el("li", {}, `${job.label} `, retry);
  }));
}

function refreshTexts() {
  counter.renderFeeTypes();
  orders.renderFilters();
  shift.refresh();
  showDevices(agent.currentDevices());
  showUnprinted(stored.unprinted.list());
  const operator = stored.session.get()?.operator;
  $("#who").textContent = operator ? `${stored.terminal.get().terminal} · ${operator.display_name}` : "";
}

async function enterApp() {
  $("#topbar").hidden = false;
  refreshTexts();
  session.startIdleLock();
  navigate("counter");
  await counter.loadFeeTypes();
  if (!(await payment.resume())) counter.restart();
}

function leaveApp() {
  session.stopIdleLock();
  $("#topbar").hidden = true;
  session.showLoginScreen();
  showOnly("screen", "login");
  screen = null;
  focusFirst($('[data-name="login"]'));
}

async function start() {
  if (!canSign()) return showOnly("screen", "insecure");
  const fromLink = session.registrationFromAddress();
  const problem = fromLink && (await session.register(fromLink));
  if (problem) return session.showRegisterScreen(fromLink.terminal, problem);
  if (!stored.terminal.get()) return session.showRegisterScreen();
  if (!stored.session.get()) return leaveApp();
  enterApp();
}

function onKeyDown(event) {
  if (screen === null || !stored.session.get() || session.isLocked() || document.querySelector("dialog[open]")) return;
  if (SHORTCUTS[event.key]) {
    event.preventDefault();
    navigate(SHORTCUTS[event.key]);
    if (SHORTCUTS[event.key] === "counter") focusFirst($('[data-group="step"]:not([hidden])'));
  } else if (event.key === "F9") {
    event.preventDefault();
    session.lock();
  } else if (screen === "counter") {
    counter.onKey(event);
  }
}

function bind() {
  session.bindRegisterForm(start);
  session.bindLoginForm(enterApp);
  session.bindLockForm(leaveApp);
  counter.bind();
  payment.bind();
  payment.whenFinished(counter.restart);
  // the idle lock never covers a live QR, a payment code in flight or a result not yet acknowledged
  payment.whileAttending((attending) => (attending ? session.stopIdleLock() : session.startIdleLock()));
  orders.bind();
  shift.bind();
  settings.bind(async () => {
    await session.logOut();
    stored.terminal.set(null);
    location.reload();
  }, start);
  for (const button of $$("[data-nav]")) button.addEventListener("click", () => navigate(button.dataset.nav));
  $("#lock-button").addEventListener("click", session.lock);
  $("#logout-button").addEventListener("click", async () => {
    await session.logOut();
    leaveApp();
  });
  $("#lang-toggle").addEventListener("click", () => {
    setLocale(currentLocale() === "zh" ? "en" : "zh");
    stored.settings.update({ locale: currentLocale() });
    refreshTexts();
  });
  $("#unprinted-button").addEventListener("click", () => $("#unprinted-dialog").showModal());
  $("#unprinted-close").addEventListener("click", () => $("#unprinted-dialog").close());
  document.addEventListener("keydown", onKeyDown);
  onNetworkChange((up) => {
    $("#offline-banner").hidden = up;
  });
  onSessionLost(() => {
    stored.session.set(null);
    leaveApp();
  });
  agent.watchDevices(showDevices);
  receipts.onUnprintedChange(showUnprinted);
}

setLocale(stored.settings.get().locale);
bind();
agent.connect();
start();
