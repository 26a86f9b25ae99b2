// Paying an order: the choice of QR or payment code, the live status, and the result screen.
// The open order's number stays in storage until its result has been seen, so a reload or a lost
// network comes back to the same order instead of placing another.

import { api, requestId } from "./hub.js";
import { t } from "./i18n.js";
import { clock, secondsUntil, walletOf, yuan, chinaTime } from "./money.js";
import * as receipts from "./receipts.js";
import * as stored from "./storage.js";
import { $, $$, busy, el, focusFirst, say, sayText, showOnly, walletName } from "./ui.js";

const OUTCOMES = {
  fulfilled: ["ok", "result.fulfilled"],
  pay_failed: ["bad", "result.payFailed"],
  refunded: ["warn", "result.refunded"],
  manual: ["warn", "result.manual"],
  closed: ["bad", "result.closed"],
};
const DEFAULT_CODE_SECONDS = 45;

let current = null; // the order on screen
let following = null; // the order no. being followed
let countdown = null;
let onFinished = () => {};
let onAttention = () => {};
let attending = false; // a QR, a payment code or a result the cashier has not acknowledged is on screen

const stepMessage = (step) => $(`[data-name="${step}"] [data-message]`);

export function whenFinished(callback) {
  onFinished = callback;
}

/** Call callback(true) when a payment or its result starts needing the cashier's eyes, callback(false) after. */
export function whileAttending(callback) {
  onAttention = callback;
}

function attend(needed) {
  if (needed === attending) return;
  attending = needed;
  onAttention(needed);
}

/** Pick up the open order after a reload; false when there is none. */
export async function resume() {
  const open = stored.openOrder.get();
  if (!open) return false;
  show(await api.order(open.order_no));
  return true;
}

/** Show the step that fits the order's state and follow it until it is final. */
export function show(order) {
  current = order;
  for (const node of document.querySelectorAll('[data-name="counter"] .order-no')) node.textContent = order.order_no;
  for (const node of document.querySelectorAll('[data-name="counter"] .amount-big')) node.textContent = `¥ ${yuan(order.amount)}`;
  const step = stepFor(order);
  const changedStep = $(`[data-group="step"][data-name="${step}"]`).hidden;
  if (changedStep) {
    for (const name of ["pay", "qr", "code", "result"]) say(stepMessage(name), "");
  }
  showOnly("step", step);
  attend(step !== "pay");
  if (step === "pay") focusFirst($('[data-name="pay"]'));
  if (step === "qr") showQr(order);
  if (step === "code") showCode(order, changedStep);
  if (step === "result") showResult(order);
  if (!order.final) follow(order);
}

function stepFor(order) {
  if (order.state === "created") return "pay";
  if (order.state === "paying") return order.pay_method === "native" ? "qr" : "code";
  return "result";
}

/** Long-poll the hub for the next version of the order while it is on screen and not final. */
async function follow(order) {
  if (following === order.order_no) return;
  following = order.order_no;
  let seen = order;
  try {
    while (!seen.final && current?.order_no === seen.order_no) {
      const next = await api.orderChange(seen.order_no, seen.version);
      if (current?.order_no !== next.order_no) return;
      if (next.version !== seen.version) show(next);
      seen = next;
    }
  } catch (error) {
    say(stepMessage(stepFor(seen)), error.message);
  } finally {
    following = null;
  }
}

function startCountdown(target, deadline, template) {
  clearInterval(countdown);
  const tick = () => {
    target.textContent = t(template, { time: clock(secondsUntil(deadline)) });
  };
  tick();
  countdown = setInterval(tick, 1000);
}

function showQr(order) {
  $("#qr-image").src = order.qr_image;
  startCountdown($("#qr-countdown"), order.pay_deadline, "qr.remaining");
}

function showCode(order, fresh) {
  const paying = order.state === "paying";
  $("#code-form").hidden = paying;
  $("#code-paying").hidden = !paying;
  $("#code-cancel").hidden = paying;
  if (paying) {
    $("#code-wallet").textContent = walletName(order.wallet);
    startCountdown($("#code-countdown"), order.pay_deadline, "code.remaining");
  } else if (fresh) {
    $("#code-form").reset();
    $("#code-wallet").textContent = "";
    $("#auth-code").focus();
  }
}

const qrExpired = (order) => order.state === "closed" && order.failure_code === "QR_EXPIRED";

function showResult(order) {
  clearInterval(countdown);
  const [outcome, title] = OUTCOMES[order.state] ?? ["working", null];
  $("#result").dataset.outcome = outcome;
  $("#result-title").textContent = qrExpired(order) ? t("result.qrExpired")
    : title ? t(title) : t("result.working", { state: order.state_name });
  const detail = order.state === "manual" ? t("result.manualHint") : order.failure_message ?? "";
  $("#result-detail").textContent = order.state === "fulfilled" || qrExpired(order) ? "" : detail;
  const facts = [
    ["pay.orderNo", order.order_no],
    ["orders.feeType", t(`feeType.${order.fee_type}`)],
    ["account.label", order.account_no],
    ["arrears.customer", order.customer_name],
    [order.paid_at ? "pay.received" : "pay.amount", `¥ ${yuan(order.amount)}`],
    ["orders.payWay", [order.pay_method && t(`method.${order.pay_method}`), walletName(order.wallet)].filter(Boolean).join(" · ")],
    ["orders.time", chinaTime(order.paid_at ?? order.created_at)],
  ];
  const shown = facts.filter(([, value]) => value);
  $("#result-facts").replaceChildren(...shown.flatMap(([label, value]) => [el("dt", {}, t(label)), el("dd", {}, value)]));
  const moneyMoved = Boolean(order.paid_at);
  $("#result-print").hidden = !moneyMoved;
  $("#result-browser-print").hidden = !moneyMoved;
  const failed = order.state === "pay_failed";
  $("#result-retry-code").hidden = !failed;
  $("#result-retry-qr").hidden = !failed;
  $("#result-new-qr").hidden = !qrExpired(order);
  const advice = failed ? "result.payFailedSay" : qrExpired(order) ? "result.qrExpiredSay" : null;
  say($("#result-say"), advice && t(advice), "info");
  $("#result-next").disabled = !order.final;
  if (order.final) {
    $("#result-next").focus();
    if (moneyMoved) printOnce(order);
  }
}

async function printOnce(order) {
  const open = stored.openOrder.get();
  if (!stored.settings.get().autoPrint || open?.order_no !== order.order_no || open.printed) return;
  stored.openOrder.set({ ...open, printed: true });
  await printReceipt();
}

async function printReceipt() {
  const result = await receipts.print(receipts.jobs.order(current.order_no));
  sayText(stepMessage("result"), result.key, result.params, result.ok ? "ok" : "error");
}

async function payByQr() {
  try {
    show(await api.payByQr(current.order_no));
  } catch (error) {
    say(stepMessage(stepFor(current)), error.message);
  }
}

function chooseCode() {
  say(stepMessage("pay"), "");
  showOnly("step", "code");
  showCode(current, true);
}

async function submitCode() {
  const input = $("#auth-code");
  const code = input.value.replace(/\s+/g, "");
  input.value = "";
  const wallet = walletOf(code);
  if (!wallet) {
    say(stepMessage("code"), t("code.unknown"));
    input.focus();
    return;
  }
  say(stepMessage("code"), "");
  $("#code-wallet").textContent = walletName(wallet);
  show({ ...current, state: "paying", pay_method: "micropay", wallet, final: false,
         pay_deadline: new Date(Date.now() + DEFAULT_CODE_SECONDS * 1000).toISOString() });
  try {
    show(await api.payByCode(current.order_no, code));
  } catch (error) {
    const fresh = await api.order(current.order_no);
    show(fresh);
    say(stepMessage(stepFor(fresh)), error.message);
  }
}

async function cancelOrder() {
  if (current.state === "pay_failed") {
    show(current); // another code was not sent after all: back to the refusal and its choices
    return;
  }
  try {
    show(await api.closeOrder(current.order_no));
  } catch (error) {
    say(stepMessage(stepFor(current)), error.message);
  }
}

/** A QR expired: the same items as a new order (the biller checks them again), paid by a new QR. */
async function newQr() {
  const { fee_type, account_no, amount, bill_ids } = current;
  try {
    const order = await api.placeOrder({ fee_type, account_no, amount, bill_ids, out_trade_no: requestId("POS") });
    stored.openOrder.set({ order_no: order.order_no, printed: false });
    show(order);
  } catch (error) {
    say(stepMessage("result"), error.message);
    return;
  }
  await payByQr();
}

function askToCancel() {
  const dialog = $("#cancel-dialog");
  dialog.returnValue = "";
  dialog.showModal();
}

function next() {
  if (!current?.final) return;
  clearInterval(countdown);
  stored.openOrder.set(null);
  current = null;
  attend(false);
  onFinished();
}

export function bind() {
  $("#pay-qr").addEventListener("click", (event) => busy(event.currentTarget, payByQr));
  $("#pay-code").addEventListener("click", chooseCode);
  $("#code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitCode();
  });
  for (const button of document.querySelectorAll(".cancel-order")) {
    button.addEventListener("click", (event) => busy(event.currentTarget, cancelOrder));
  }
  $("#result-print").addEventListener("click", (event) => busy(event.currentTarget, printReceipt));
  $("#result-browser-print").addEventListener("click", () => receipts.printInBrowser(receipts.jobs.order(current.order_no)));
  $("#result-next").addEventListener("click", next);
  $("#result-retry-code").addEventListener("click", chooseCode);
  $("#result-retry-qr").addEventListener("click", (event) => busy(event.currentTarget, payByQr));
  $("#result-new-qr").addEventListener("click", (event) => busy(event.currentTarget, newQr));
  $("#cancel-dialog").addEventListener("close", () => {
    if ($("#cancel-dialog").returnValue === "cancel") busy($('[data-name="pay"] .cancel-order'), cancelOrder);
  });
}

/** The result's visible choice for a key (1: a QR, 2: another payment code), if any. */
function resultChoice(key) {
  return $$('[data-name="result"] [data-key]').find((button) => button.dataset.key === key && !button.hidden);
}

export function onKey(event, step) {
  if (step === "pay" && event.key === "1") $("#pay-qr").click();
  else if (step === "pay" && event.key === "2") $("#pay-code").click();
  else if (step === "pay" && event.key === "Escape") askToCancel();
  else if (["qr", "code"].includes(step) && event.key === "Escape") $(`[data-name="${step}"] .cancel-order`).click();
  else if (step === "result" && (event.key === "p" || event.key === "P") && !$("#result-print").hidden) $("#result-print").click();
  else if (step === "result" && resultChoice(event.key)) resultChoice(event.key).click();
  else return;
  event.preventDefault();
}
