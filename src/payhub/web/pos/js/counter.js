// The counter's first steps: fee type, account and its arrears, the amount; then the order is placed.

import { api, requestId } from "./hub.js";
import { currentLocale, t } from "./i18n.js";
import { parseYuan, yuan } from "./money.js";
import * as payment from "./payment.js";
import * as stored from "./storage.js";
import { $, $$, busy, el, focusFirst, say, showOnly } from "./ui.js";

const MODE_KEYS = { F6: "all", F7: "chosen", F8: "prepay" };
// the hub answers a refused connection at once: an unavailable biller that took this long was reached and is slow
const SLOW_BILLER_SECONDS = 3;
let feeTypes = [];
let chosen = null; // {feeType, arrears, mode}
let lookup = null; // the arrears query under way: its AbortController

const message = () => $('[data-name="account"] [data-message]');

export async function loadFeeTypes() {
  feeTypes = await api.feeTypes();
  renderFeeTypes();
}

export function renderFeeTypes() {
  const box = $("#fee-types");
  box.replaceChildren(...feeTypes.map((fee, index) => {
    // 营业费 is not obvious to every customer: a tooltip, and the same words under the name for touch screens
    const hint = fee.code === "business" ? t("feeType.businessHint") : undefined;
    const button = el("button", { type: "button", class: "primary", title: hint, dataset: { fee: fee.code } },
      currentLocale() === "en" ? fee.name_en : fee.name, " ", el("kbd", {}, String(index + 1)),
      hint ? el("small", { class: "fee-hint" }, hint) : null);
    button.addEventListener("click", () => chooseFee(fee));
    return button;
  }));
}

/** Back to the first step with nothing chosen. */
export function restart() {
  lookup?.abort();
  chosen = null;
  showOnly("step", "fee");
  focusFirst($('[data-name="fee"]'));
}

function feeName(fee) {
  return currentLocale() === "en" ? fee.name_en : fee.name;
}

function chooseFee(fee) {
  chosen = { feeType: fee, arrears: null, mode: fee.has_arrears ? "all" : "prepay" };
  const form = $("#account-form");
  form.reset();
  $("#account-title").textContent = feeName(fee);
  $("#lookup-button").hidden = !fee.has_arrears;
  $("#arrears").hidden = true;
  $("#amount-form").hidden = fee.has_arrears;
  $("#amount-form").reset();
  say(message(), "");
  showOnly("step", "account");
  form.account_no.focus();
}

export function bind() {
  $("#account-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (chosen.feeType.has_arrears) busy($("#lookup-button"), lookUp);
    else $("#amount-form").amount.focus();
  });
  $("#account-form").account_no.addEventListener("input", () => {
    if (!chosen?.arrears) return;
    chosen.arrears = null;
    $("#arrears").hidden = true;
    $("#amount-form").hidden = true;
  });
  $("#account-back").addEventListener("click", restart);
  $("#arrears-cancel").addEventListener("click", () => lookup?.abort());
  for (const button of $$("[data-mode]")) button.addEventListener("click", () => chooseMode(button.dataset.mode));
  $("#amount-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($("#place-button"), placeOrder);
  });
}

/** Query the arrears, showing the seconds waited and a cancel; a slow billing system is named as such. */
async function lookUp() {
  say(message(), "");
  const accountNo = $("#account-form").account_no.value.trim();
  const controller = new AbortController();
  const started = Date.now();
  const waited = () => Math.floor((Date.now() - started) / 1000);
  const tick = () => { $("#arrears-elapsed").textContent = t("arrears.querying", { seconds: waited() }); };
  tick();
  const timer = setInterval(tick, 1000);
  lookup = controller;
  $("#arrears-progress").hidden = false;
  try {
    chosen.arrears = await api.arrears(chosen.feeType.code, accountNo, controller.signal);
  } catch (error) {
    say(message(), lookupProblem(error, waited()));
    $("#account-form").account_no.select();
    return;
  } finally {
    clearInterval(timer);
    lookup = null;
    $("#arrears-progress").hidden = true;
  }
  renderArrears();
}

function lookupProblem(error, seconds) {
  if (error.name === "AbortError") return t("arrears.cancelled");
  if (error.code === "BILLER_UNAVAILABLE" && seconds >= SLOW_BILLER_SECONDS) return t("arrears.slow", { seconds });
  return error.message;
}

function renderArrears() {
  const arrears = chosen.arrears;
  $("#arrears-customer").textContent = arrears.customer_name;
  $("#arrears-address").textContent = arrears.address;
  const notes = [];
  if (!arrears.bills.length) notes.push(t("arrears.none"));
  if (!arrears.prepay_allowed) notes.push(t("arrears.noPrepay"));
  if (arrears.ic_card) notes.push(t("arrears.icCard"));
  $("#arrears-notes").textContent = notes.join("；");
  $("#bills").replaceChildren(...arrears.bills.map((bill) => el("tr", {},
    el("td", {}, el("input", { type: "checkbox", checked: true, value: bill.bill_id, "aria-label": bill.period })),
    el("td", {}, bill.period), el("td", {}, bill.bill_id), el("td", { class: "num" }, yuan(bill.amount)))));
  for (const box of $$("#bills input")) box.addEventListener("change", showAmount);
  $("#total-due").textContent = yuan(arrears.total_due);
  const hasBills = arrears.bills.length > 0;
  $('[data-mode="all"]').disabled = !hasBills;
  $('[data-mode="chosen"]').disabled = arrears.bills.length < 2;
  $('[data-mode="prepay"]').disabled = !arrears.prepay_allowed;
  $("#arrears").hidden = false;
  $("#amount-form").hidden = false;
  chooseMode(hasBills ? "all" : "prepay");
}

function chooseMode(mode) {
  if (!chosen?.arrears || $(`[data-mode="${mode}"]`).disabled) return;
  chosen.mode = mode;
  for (const button of $$("[data-mode]")) {
    button.classList.toggle("selected", button.dataset.mode === mode);
    button.setAttribute("aria-checked", String(button.dataset.mode === mode));
  }
  for (const box of $$("#bills input")) {
    box.disabled = mode !== "chosen";
    if (mode !== "chosen") box.checked = true;
  }
  const input = $("#amount-form").amount;
  input.readOnly = mode !== "prepay";
  input.value = mode === "prepay" ? "" : yuan(chosen.arrears.total_due);
  showAmount();
  (mode === "chosen" ? $("#bills input") : input).focus();
}

function chosenBills() {
  return $$("#bills input").filter((box) => box.checked).map((box) => box.value);
}

function showAmount() {
  if (chosen.mode !== "chosen") return;
  const picked = new Set(chosenBills());
  const sum = chosen.arrears.bills.filter((bill) => picked.has(bill.bill_id)).reduce((total, bill) => total + bill.amount, 0);
  $("#amount-form").amount.value = yuan(sum);
}

/** The order request for what is on screen, or an error message. */
function orderRequest() {
  const accountNo = $("#account-form").account_no.value.trim();
  const amount = parseYuan($("#amount-form").amount.value);
  const arrears = chosen.arrears;
  const base = { fee_type: chosen.feeType.code, account_no: accountNo, bill_ids: [] };
  if (!accountNo) return { error: t("account.placeholder") };
  if (chosen.feeType.has_arrears && !arrears) return { error: t("account.lookup") };
  if (chosen.mode === "chosen") {
    const billIds = chosenBills();
    if (!billIds.length) return { error: t("amount.noBills") };
    const all = billIds.length === arrears.bills.length;
    return { request: { ...base, amount, bill_ids: all ? [] : billIds } };
  }
  if (amount === null) return { error: t("amount.invalid") };
  if (arrears && chosen.mode === "prepay" && amount <= arrears.total_due) {
    return { error: t("amount.prepayAbove", { due: yuan(arrears.total_due) }) };
  }
  if (arrears && !arrears.prepay_allowed && amount !== arrears.total_due) {
    return { error: t("amount.noPrepay", { due: yuan(arrears.total_due) }) };
  }
  if (arrears && amount < arrears.total_due) return { error: t("amount.belowDue", { due: yuan(arrears.total_due) }) };
  return { request: { ...base, amount } };
}

/** Place the order; the same content keeps its out_trade_no, so a resend returns the first order. */
async function placeOrder() {
  say(message(), "");
  const { request, error } = orderRequest();
  if (error) {
    say(message(), error);
    $("#amount-form").amount.focus();
    return;
  }
  const content = JSON.stringify(request);
  const previous = stored.attempt.get();
  const outTradeNo = previous?.content === content ? previous.out_trade_no : requestId("POS");
  stored.attempt.set({ out_trade_no: outTradeNo, content });
  try {
    const order = await api.placeOrder({ ...request, out_trade_no: outTradeNo });
    stored.openOrder.set({ order_no: order.order_no, printed: false });
    stored.attempt.set(null);
    payment.show(order);
  } catch (error) {
    say(message(), error.message);
  }
}

export function onKey(event) {
  const step = $('[data-group="step"]:not([hidden])')?.dataset.name;
  if (step === "fee" && /^[1-9]$/.test(event.key) && feeTypes[Number(event.key) - 1]) {
    event.preventDefault();
    chooseFee(feeTypes[Number(event.key) - 1]);
  } else if (step === "account" && MODE_KEYS[event.key]) {
    event.preventDefault();
    chooseMode(MODE_KEYS[event.key]);
  } else if (step === "account" && event.key === "Escape") {
    event.preventDefault();
    if (lookup) lookup.abort();
    else restart();
  } else {
    payment.onKey(event, step);
  }
}
