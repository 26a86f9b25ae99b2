// Receipts (凭条): fetched from the hub, printed by the terminal agent; a failed print stays in the
// unprinted list for a later try. The browser can print the hub's HTML receipt instead.

import * as agent from "./agent.js";
import { api } from "./hub.js";
import { t } from "./i18n.js";
import * as stored from "./storage.js";

const changeListeners = [];

export function onUnprintedChange(listener) {
  changeListeners.push(listener);
  listener(stored.unprinted.list());
}

function changed() {
  for (const listener of changeListeners) listener(stored.unprinted.list());
}

function source(job) {
  if (job.kind === "order") return [`orders/${job.ref}`, { copy: job.copy ? "true" : "false" }];
  if (job.kind === "refund") return [`refunds/${job.ref}`, {}];
  return ["shift", { date: job.ref }];
}

export const jobs = {
  order: (orderNo, copy = false) => ({ kind: "order", ref: orderNo, copy, label: orderNo }),
  refund: (refundNo) => ({ kind: "refund", ref: refundNo, copy: false, label: refundNo }),
  shift: (date) => ({ kind: "shift", ref: date, copy: false, label: date }),
};

/** Print through the agent; returns the message to show (and its catalogue key and params). A failure is kept for printing again later. */
export async function print(job) {
  try {
    const receipt = await api.receipt(...source(job));
    await agent.print(receipt);
    stored.unprinted.remove(job);
    changed();
    return { ok: true, message: t("print.done"), key: "print.done", params: {} };
  } catch (error) {
    stored.unprinted.add({ ...job, copy: job.kind === "order" ? true : job.copy });
    changed();
    const reason = error.agentDown ? t("print.noAgent") : error.message;
    return { ok: false, message: t("print.failed", { reason }), key: "print.failed", params: { reason } };
  }
}

/** Print the hub's HTML receipt with the browser's own print dialog. */
export async function printInBrowser(job) {
  const html = await api.receiptHtml(...source(job));
  const frame = document.createElement("iframe");
  frame.className = "print-frame";
  frame.srcdoc = html;
  document.body.append(frame);
  const before = document.activeElement;
  await new Promise((resolve) => frame.addEventListener("load", resolve, { once: true }));
  frame.contentWindow.print();
  // printing leaves focus in the frame, where the page's keyboard shortcuts would not be heard
  window.focus();
  if (before && before !== document.body) before.focus();
  frame.dataset.printed = "1";
  setTimeout(() => frame.remove(), 60000);
}
