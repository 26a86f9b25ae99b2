// The orders screen: filters, the list, one order's detail and history, reprint, refund with a
// supervisor on the spot, and export of the filtered list.

import { api, requestId } from "./hub.js";
import { t } from "./i18n.js";
import { chinaTime, chinaToday, parseYuan, yuan } from "./money.js";
import * as receipts from "./receipts.js";
import * as stored from "./storage.js";
import { $, busy, el, say, walletName } from "./ui.js";

const STATES = ["fulfilled", "paying", "created", "pay_failed", "closed", "fulfil_failed", "refunding", "refunded", "manual"];
const FEE_TYPES = ["gas", "water", "business", "other"];
let shown = null; // the order in the detail dialog
let refundRequestNo = null; // kept while the refund dialog is open: a resend refunds once
let searches = 0;

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
  search();
  $("#order-scan-form").order_no.focus();
}

async function search() {
  say(listMessage(), "");
  const mine = ++searches;
  let page;
  try {
    page = await api.orders({ ...filters(), limit: 200 });
  } catch (error) {
    say(listMessage(), error.message);
    return;
  }
  if (mine !== searches) return; // a later search is on its way: its answer is the one to show
  const rows = page.orders.map((order) => {
    const row = el("tr", { tabindex: "0", dataset: { order: order.order_no } },
      el("td", {}, chinaTime(order.created_at)), el("td", {}, order.order_no),
      el("td", {}, t(`feeType.${order.fee_type}`)), el("td", {}, order.account_no),
      el("td", { class: "num" }, yuan(order.amount)),
      el("td", {}, [order.pay_method ? t(`method.${order.pay_method}`) : "", walletName(order.wallet)].filter(Boolean).join(" · ")),
      el("td", {}, order.state_name));
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
  form.amount.value = yuan(shown.refundable);
  form.reason.value = t("refund.reasonDefault");
  $("#refund-dialog").showModal();
  form.amount.select();
}

async function submitRefund() {
  const form = $("#refund-form");
  const box = $("[data-message]", form);
  const amount = parseYuan(form.amount.value);
  if (amount === null) return say(box, t("amount.invalid"));
  if (amount > shown.refundable) return say(box, t("refund.tooMuch", { refundable: yuan(shown.refundable) }));
  if (!form.supervisor_username.value.trim() || !form.supervisor_password.value) return say(box, t("refund.needSupervisor"));
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
  await openDetail(shown.order_no);
  const detailBox = $("#detail-dialog [data-message]");
  say(detailBox, t("refund.done", { refund_no: refund.refund_no, state: refund.state_name }), "ok");
  const printed = await receipts.print(receipts.jobs.refund(refund.refund_no));
  say(detailBox, `${detailBox.textContent}；${printed.message}`, printed.ok ? "ok" : "error");
}

async function reprint() {
  const result = await receipts.print(receipts.jobs.order(shown.order_no, true));
  say($("#detail-dialog [data-message]"), result.message, result.ok ? "ok" : "error");
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
    busy($('#orders-form button:not([type="button"])'), search);
  });
  $("#export-csv").addEventListener("click", (event) => busy(event.currentTarget, () => download("csv")));
  $("#export-xlsx").addEventListener("click", (event) => busy(event.currentTarget, () => download("xlsx")));
  $("#detail-close").addEventListener("click", () => $("#detail-dialog").close());
  $("#detail-dialog").addEventListener("close", search);
  $("#detail-reprint").addEventListener("click", (event) => busy(event.currentTarget, reprint));
  $("#detail-browser-print").addEventListener("click", () => receipts.printInBrowser(receipts.jobs.order(shown.order_no, true)));
  $("#detail-refund").addEventListener("click", openRefund);
  $("#refund-cancel").addEventListener("click", () => $("#refund-dialog").close());
  $("#refund-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($("#refund-submit"), submitRefund);
  });
}
