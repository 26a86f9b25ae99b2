// What the page keeps: the terminal registration and settings (this browser), the operator session (this tab),
// the open order (so that a reload or a network loss resumes it) and receipts that still need printing.

const KEYS = {
  terminal: "payhub.terminal",
  settings: "payhub.settings",
  openOrder: "payhub.openOrder",
  attempt: "payhub.attempt",
  unprinted: "payhub.unprinted",
  session: "payhub.session",
  locked: "payhub.locked",
};

const DEFAULT_SETTINGS = { agentUrl: "http://127.0.0.1:8765", idleMinutes: 5, autoPrint: true, locale: "zh" };

function read(store, key) {
  try {
    return JSON.parse(store.getItem(key));
  } catch {
    return null;
  }
}

function write(store, key, value) {
  if (value === null || value === undefined) store.removeItem(key);
  else store.setItem(key, JSON.stringify(value));
}

export const terminal = {
  get: () => read(localStorage, KEYS.terminal),
  set: (value) => write(localStorage, KEYS.terminal, value),
};

export const settings = {
  get: () => ({ ...DEFAULT_SETTINGS, ...(read(localStorage, KEYS.settings) ?? {}) }),
  update: (changes) => write(localStorage, KEYS.settings, { ...settings.get(), ...changes }),
};

/** The order being paid on this terminal: {order_no}. Kept until its result has been shown. */
export const openOrder = {
  get: () => read(localStorage, KEYS.openOrder),
  set: (value) => write(localStorage, KEYS.openOrder, value),
};

/** The order request in flight: {out_trade_no, content}. A retry of the same content reuses the number. */
export const attempt = {
  get: () => read(localStorage, KEYS.attempt),
  set: (value) => write(localStorage, KEYS.attempt, value),
};

/** Receipts whose printing failed: [{kind, ref, copy, label}]. */
export const unprinted = {
  list: () => read(localStorage, KEYS.unprinted) ?? [],
  add: (job) => write(localStorage, KEYS.unprinted, [...unprinted.list().filter((j) => !sameJob(j, job)), job]),
  remove: (job) => write(localStorage, KEYS.unprinted, unprinted.list().filter((j) => !sameJob(j, job))),
};

function sameJob(a, b) {
  return a.kind === b.kind && a.ref === b.ref;
}

/** The operator's login: {token, operator, username, expires_at}; per tab, survives a reload. */
export const session = {
  get: () => read(sessionStorage, KEYS.session),
  set: (value) => write(sessionStorage, KEYS.session, value),
};

export const locked = {
  get: () => read(sessionStorage, KEYS.locked) === true,
  set: (value) => write(sessionStorage, KEYS.locked, value ? true : null),
};
