// The hub's terminal API: every request signed, the operator's token attached, errors as HubError with the
// hub's own readable message. A lost network is waited out (the banner shows) and the same request is sent
// again: every write the page makes is idempotent (out_trade_no, request_no), so a resend never doubles it.

import { currentLocale, t } from "./i18n.js";
import { signedHeaders } from "./signing.js";
import * as stored from "./storage.js";

export class HubError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const listeners = { network: [], sessionLost: [] };
const RETRY_SECONDS = [1, 2, 3, 5];

export function onNetworkChange(listener) {
  listeners.network.push(listener);
}

export function onSessionLost(listener) {
  listeners.sessionLost.push(listener);
}

function announceNetwork(up) {
  for (const listener of listeners.network) listener(up);
}

function targetOf(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") query.append(name, String(one));
    }
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function send(method, address, body, { registration = stored.terminal.get(), signal } = {}) {
  // sign the path and query exactly as fetch puts them on the wire (percent-encoded, dot segments resolved)
  const url = new URL(address, document.baseURI);
  const target = url.pathname + url.search;
  const payload = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
  const headers = await signedHeaders({ ...registration, method, target, body: payload });
  headers["Accept-Language"] = currentLocale();
  if (payload.length) headers["Content-Type"] = "application/json";
  const token = stored.session.get()?.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(target, { method, headers, body: payload.length ? payload : undefined, cache: "no-store", signal });
}

/** Send until the network answers; then the hub's answer or a HubError. `registration` signs with a terminal and key
 * not kept yet; an aborted `signal` ends the wait with its AbortError. */
export async function raw(method, path, { body, params, registration, signal } = {}) {
  const target = targetOf(path, params);
  for (let attempt = 0; ; attempt += 1) {
    let response;
    try {
      response = await send(method, target, body, { registration, signal });
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      announceNetwork(false);
      await sleep(1000 * RETRY_SECONDS[Math.min(attempt, RETRY_SECONDS.length - 1)]);
      continue;
    }
    announceNetwork(true);
    if (response.ok) return response;
    throw await errorOf(response);
  }
}

async function errorOf(response) {
  let code = "HTTP_" + response.status;
  let message = t("error.network");
  try {
    const answer = await response.json();
    code = answer.error?.code ?? code;
    message = answer.error?.message ?? message;
  } catch {
    // not JSON: a proxy's page; keep the generic message
  }
  if (code === "SESSION_EXPIRED" || code === "LOGIN_REQUIRED") {
    for (const listener of listeners.sessionLost) listener(message);
  }
  return new HubError(response.status, code, message);
}

export async function call(method, path, options) {
  const response = await raw(method, path, options);
  return response.status === 204 ? null : response.json();
}

export const api = {
  login: (username, password) => call("POST", "/api/v1/session", { body: { username, password } }),
  logout: () => call("DELETE", "/api/v1/session"),
  feeTypes: () => call("GET", "/api/v1/fee-types"),
  /** Proves a terminal code and key (not kept yet) to the hub: {terminal, terminal_name, merchant, merchant_name}. */
  ping: (registration) => call("GET", "/api/v1/terminal/ping", { registration }),
  arrears: (feeType, accountNo, signal) =>
    call("GET", "/api/v1/arrears", { params: { fee_type: feeType, account_no: accountNo }, signal }),
  placeOrder: (request) => call("POST", "/api/v1/orders", { body: request }),
  order: (orderNo) => call("GET", `/api/v1/orders/${orderNo}`),
  /** The order once its version differs from seen (long-poll; answers unchanged after timeout seconds). */
  orderChange: (orderNo, seen, timeout = 20) =>
    call("GET", `/api/v1/orders/${orderNo}`, { params: { wait_version: seen, timeout } }),
  payByQr: (orderNo) => call("POST", `/api/v1/orders/${orderNo}/pay/qr`),
  payByCode: (orderNo, authCode) => call("POST", `/api/v1/orders/${orderNo}/pay/code`, { body: { auth_code: authCode } }),
  closeOrder: (orderNo) => call("POST", `/api/v1/orders/${orderNo}/close`),
  orders: (filters) => call("GET", "/api/v1/orders", { params: filters }),
  refund: (orderNo, request) => call("POST", `/api/v1/orders/${orderNo}/refunds`, { body: request }),
  exportOrders: (filters, format) => raw("GET", "/api/v1/orders/export", { params: { ...filters, format } }),
  receipt: (path, params) => call("GET", `/api/v1/receipts/${path}`, { params: { ...params, format: "json" } }),
  receiptHtml: (path, params) => raw("GET", `/api/v1/receipts/${path}`, { params: { ...params, format: "html" } }).then((r) => r.text()),
};

/** A fresh id for an idempotent request (out_trade_no, request_no). */
export function requestId(prefix) {
  const random = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${prefix}${Date.now().toString(36)}${random}`.toUpperCase();
}
