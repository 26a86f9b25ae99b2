// Small DOM helpers shared by the screens.

import { t } from "./i18n.js";

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** A new element: el("td", {class: "amount"}, "12.00"). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** Show one of the siblings marked data-group=group, hide the rest. */
export function showOnly(group, name) {
  for (const node of $$(`[data-group="${group}"]`)) node.hidden = node.dataset.name !== name;
}

/** Run action with button disabled (and marked busy) so that a double click cannot run it twice. */
export async function busy(button, action) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** Put a message in a data-message box: kind is "error", "ok" or "info"; empty text hides it. */
export function say(box, text, kind = "error") {
  delete box.dataset.sayKey;
  box.textContent = text ?? "";
  box.dataset.kind = kind;
  box.hidden = !text;
}

/** say() a text of the catalogue; it follows the language when the language is switched. */
export function sayText(box, key, params = {}, kind = "error") {
  say(box, t(key, params), kind);
  box.dataset.sayKey = key;
  box.dataset.sayParams = JSON.stringify(params);
}

let toastTimer = null;

export function toast(text, kind = "info") {
  const box = $("#toast");
  say(box, text, kind);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => say(box, ""), 4000);
}

/** Focus root's autofocus element, else its first usable field or button; never a print button, where Enter
 * would print once more. */
export function focusFirst(root) {
  const target = root.querySelector("[autofocus]:not([disabled])")
    ?? root.querySelector("input:not([disabled]), button:not([disabled]):not([hidden]):not([data-no-autofocus])");
  target?.focus();
}

const WALLET_WORDS = { weixin: "wechat", wechat: "wechat", alipay: "alipay", unionpay: "unionpay" };

/** The wallet's name; the hub gives a wallet ("wechat") or a channel trade type ("pay.weixin.native"). */
export function walletName(wallet) {
  const word = (wallet ?? "").toLowerCase().split(".").find((part) => WALLET_WORDS[part]);
  return word ? t(`wallet.${WALLET_WORDS[word]}`) : wallet ?? "";
}
