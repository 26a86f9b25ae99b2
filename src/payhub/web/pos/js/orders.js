// The orders screen: filters, the list, one order's detail and history, reprint, refund with a
// supervisor on the spot, and export of the filtered list.

import { api, call, requestId } from "./hub.js";
import { t } from "./i18n.js";
import { chinaTime, chinaToday, parseYuan, yuan } from "./money.js";
import * as receipts from "./receipts.js";
import * as stored from "./storage.js";
import { $, busy, el, say, sayText, walletName } from "./ui.js";

const STATES = ["fulfilled", "paying", "created", "pay_failed", "closed", "fulfil_failed", "refunding", "refunded", "manual"];
const FEE_TYPES = ["gas", "water", "business", "other"];
let shown = null; // the order in the detail dialog
let refundRequestNo = null; // kept while the refund dialog is open: a resend refunds once
let searches = 0;
let page = 0; // the list's page, from 0
let previewed = null; // the refund amount whose effect at the biller is on screen
let previews = 0;
const PAGE_SIZE = 50;

const listMessage = () => $('[data-name="orders"] [data-message]');

function options(select, values, prefix) {
  const keep = select.value;
  select.replaceChildren(el("option", { value: "" }, t("orders.any")),
    ...values.map((value) => el("option", { value }, t(`${prefix}.${value}`))));
  select.value = keep;
}

export function renderFilters() {
  const form = $("#orders-form");
  options(form.state, STATES, "state");
  options(form.fee_type, FEE_TYPES, "feeType");
}

/** The filters on screen in the API's terms (GET /api/v1/orders and its export take the same). */
function filters() {
  const form = $("#orders-form");
  const mine = form.mine.checked;
  return {
    date_from: form.date_from.value, date_to: form.date_to.value, state: form.state.value,
    fee_type: form.fee_type.value, account_no: form.account_no.value.trim(),
    terminal_only: mine ? "true" : "", operator_id: mine ? stored.session.get().operator.id : "",
  };
}

export function enter() {
  const form = $("#orders-form");
  if (!form.date_from.value) form.date_from.value = chinaToday();
  if (!form.date_to.value) form.date_to.value = chinaToday();
  search(0);
  $("#order-scan-form").order_no.focus();
}

/** Show one page of the filtered list (from 0; the current page when none is given) with the totals of all pages. */
async function search(toPage = page) {
  say(listMessage(), "");
  const mine = ++searches;
  let found;
  try {
    found = await api.orders({ ...filters(), limit: PAGE_SIZE, offset: toPage * PAGE_SIZE });
  } catch (error) {
    say(listMessage(), error.message);
    return;
  }
  if (mine !== searches) return; // a later search is on its way: its answer is the one to show
  page = toPage;
  const pages = Math.max(1, Math.ceil(found.total_count / PAGE_SIZE));
  $("#orders-totals").textContent = t("orders.totals", { count: found.total_count, amount: yuan(found.total_amount) });
  $("#orders-page").textContent = t("orders.page", { page: page + 1, pages });
  $("#orders-prev").disabled = page === 0;
  $("#orders-next").disabled = page + 1 >= pages;
  const rows = found.orders.map((order) => {
    const row = el("tr", { tabindex: "0", dataset: { order: order.order_no } },
      el("td", {}, chinaTime(order.created_at)), el("td", {}, order.order_no),
      el("td", {}, t(`feeType.${order.fee_type}`)), el("td", {}, order.account_no),
      el("td", { class: "num" }, yuan(order.amount)),
      el("td", {}, [order.pay_method ? t(`method.${order.pay_method}`) : "", walletName(order.wallet)].filter(Boolean).join(" · ")),
      el("td", {}, order.state_name), el("td", {}, order.operator_name), el("td", {}, order.terminal_name));
    row.addEventListener("click", () => openDetail(order.order_no));
    row.addEventListener("keydown", (event) => event.key === "Enter" && openDetail(order.order_no));
    return row;
  });
  $("#orders-rows").replaceChildren(...rows);
  if (!rows.length) say(listMessage(), t("orders.empty"), "info");
}

async function download(format) {
  say(listMessage(), "");
  try {
    const response = await api.exportOrders(filters(), format);
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `orders-${chinaToday()}.${format}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    say(listMessage(), error.message);
  }
}

async function openDetail(orderNo) {
  const dialog = $("#detail-dialog");
  say($("[data-message]", dialog), "");
  shown = await api.order(orderNo);
  renderDetail();
  if (!dialog.open) dialog.showModal();
  $("#detail-close").focus();
}

function renderDetail() {
  const order = shown;
  const facts = [
    ["pay.orderNo", order.order_no], ["orders.state", order.state_name],
    ["orders.feeType", t(`feeType.${order.fee_type}`)], ["account.label", order.account_no],
    ["arrears.customer", order.customer_name], ["pay.amount", `¥ ${yuan(order.amount)}`],
    ["orders.payWay", [order.pay_method ? t(`method.${order.pay_method}`) : "", walletName(order.wallet)].filter(Boolean).join(" · ")],
    ["orders.time", chinaTime(order.created_at)], ["detail.refundable", `¥ ${yuan(order.refundable)}`],
  ];
  $("#detail-facts").replaceChildren(...facts.flatMap(([label, value]) => [el("dt", {}, t(label)), el("dd", {}, value ?? "")]));
  $("#detail-history").replaceChildren(...order.history.map((move) =>
    el("li", {}, `${chinaTime(move.at)}  ${move.key}  ${t(`state.${move.to_state}`)}  ${move.reason}`)));
  $("#detail-refunds").replaceChildren(...order.refunds.map((refund) =>
    el("li", { dataset: { refund: refund.refund_no } }, `${refund.refund_no}  ¥ ${yuan(refund.amount)}  ${refund.state_name}`)));
  $("#detail-refund").disabled = order.refundable <= 0;
  $("#detail-reprint").disabled = !order.paid_at;
  $("#detail-browser-print").disabled = !order.paid_at;
}

function openRefund() {
  const form = $("#refund-form");
  form.reset();
  say($("[data-message]", form), "");
  refundRequestNo = requestId("RF");
  $("#refund-order").textContent = `${shown.order_no} · ${t("detail.refundable")} ¥ ${yuan(shown.refundable)}`;
  previewed = null;
  showEffect(null);
  form.reason.value = t("refund.reasonDefault");
  $("#refund-dialog").showModal();
  form.amount.focus();
}

/** What the refund does at the biller (bills owed again, prepaid balance), or nothing while no amount is valid. */
function showEffect(preview) {
  const box = $("#refund-effect");
  box.dataset.amount = preview ? String(preview.amount) : "";
  if (!preview) return box.replaceChildren();
  const rows = preview.lines.length
    ? preview.lines.map((line) => el("li", {}, el("span", {}, line.label), el("span", { class: "num" }, line.fen === null ? line.value : `¥ ${line.value}`)))
    : [el("li", {}, t("refund.noEffect"))];
  box.replaceChildren(el("h3", {}, t("refund.effectTitle")), el("ul", {}, ...rows));
}

/** Ask the hub what refunding the typed amount would do; true once that amount's effect is on screen. */
async function preview() {
  const amount = parseYuan($("#refund-form").amount.value);
  const mine = ++previews;
  if (amount === null || amount <= 0 || amount > shown.refundable) {
    previewed = null;
    showEffect(null);
    return false;
  }
  if (previewed === amount) return true;
  const found = await call("GET", `/api/v1/orders/${shown.order_no}/refunds/preview`, { params: { amount } });
  if (mine !== previews) return false;
  previewed = amount;
  showEffect(found);
  return true;
}

/** Wait until the biller has answered the reversal (冲正中 no more), for at most about 15 seconds. */
async function reversed(refundNo) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    // polled: a refund's moves need not change the order's version, which the long-poll waits on
    const refund = (await api.order(shown.order_no)).refunds.find((r) => r.refund_no === refundNo);
    if (refund && refund.state !== "undoing") return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function submitRefund() {
  const form = $("#refund-form");
  const box = $("[data-message]", form);
  const amount = parseYuan(form.amount.value);
  if (amount === null) return say(box, t("amount.invalid"));
  if (amount > shown.refundable) return say(box, t("refund.tooMuch", { refundable: yuan(shown.refundable) }));
  if (!form.supervisor_username.value.trim() || !form.supervisor_password.value) return say(box, t("refund.needSupervisor"));
  if (previewed !== amount) {
    try {
      if (await preview()) say(box, t("refund.checkEffect"), "info");
    } catch (error) {
      say(box, error.message);
    }
    return;
  }
  let refund;
  try {
    refund = await api.refund(shown.order_no, {
      request_no: refundRequestNo, amount, reason: form.reason.value.trim() || t("refund.reasonDefault"),
      supervisor_username: form.supervisor_username.value.trim(), supervisor_password: form.supervisor_password.value,
    });
  } catch (error) {
    say(box, error.message);
    form.supervisor_password.select();
    return;
  }
  $("#refund-dialog").close();
  const detailBox = $("#detail-dialog [data-message]");
  say(detailBox, t("refund.waiting"), "info");
  await reversed(refund.refund_no); // the slip shows the reversal's outcome; still under way, it is marked 处理中
  await openDetail(shown.order_no);
  const now = shown.refunds.find((r) => r.refund_no === refund.refund_no) ?? refund;
  say(detailBox, t("refund.done", { refund_no: refund.refund_no, state: now.state_name }), "ok");
  const printed = await receipts.print(receipts.jobs.refund(refund.refund_no));
  say(detailBox, `${detailBox.textContent}；${printed.message}`, printed.ok ? "ok" : "error");
}

async function reprint() {
  const result = await receipts.print(receipts.jobs.order(shown.order_no, true));
  sayText($("#detail-dialog [data-message]"), result.key, result.params, result.ok ? "ok" : "error");
}

export function bind() {
  $("#order-scan-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = event.currentTarget.order_no;
    say(listMessage(), "");
    try {
      await openDetail(input.value.trim());
      input.value = "";
    } catch (error) {
      say(listMessage(), error.message);
      input.select();
    }
  });
  $("#orders-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($('#orders-form button:not([type="button"])'), () => search(0));
  });
  $("#export-csv").addEventListener("click", (event) => busy(event.currentTarget, () => download("csv")));
  $("#export-xlsx").addEventListener("click", (event) => busy(event.currentTarget, () => download("xlsx")));
  $("#detail-close").addEventListener("click", () => $("#detail-dialog").close());
  $("#detail-dialog").addEventListener("close", () => search());
  $("#detail-reprint").addEventListener("click", (event) => busy(event.currentTarget, reprint));
  $("#detail-browser-print").addEventListener("click", () => receipts.printInBrowser(receipts.jobs.order(shown.order_no, true)));
  $("#detail-refund").addEventListener("click", openRefund);
  $("#refund-cancel").addEventListener("click", () => $("#refund-dialog").close());
  $("#refund-form").amount.addEventListener("input", () => preview().catch((error) => say($("#refund-form [data-message]"), error.message)));
  // not busy(): it would enable the button again after search() has disabled it on the first or last page
  $("#orders-prev").addEventListener("click", () => search(page - 1));
  $("#orders-next").addEventListener("click", () => search(page + 1));
  $("#refund-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($("#refund-submit"), submitRefund);
  });
}
