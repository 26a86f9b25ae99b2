// Money is integer fen; people read and type yuan. Payment codes tell their wallet by their prefix.

const MAX_FEN = 100_000_000;

/** Typed yuan ("12", "12.3", "12.34") as fen, or null when it is not a valid amount. */
export function parseYuan(text) {
  const match = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text ?? "");
  if (!match) return null;
  const fen = Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
  return fen > 0 && fen <= MAX_FEN ? fen : null;
}

/** Fen written as yuan with two decimals. */
export function yuan(fen) {
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

const WALLET_PATTERNS = [
  ["wechat", /^1[0-5]\d{16}$/],
  ["alipay", /^(2[5-9]|30)\d{14,22}$/],
  ["unionpay", /^62\d{17}$/],
];

/** The wallet a scanned payment code belongs to, or null. */
export function walletOf(code) {
  const found = WALLET_PATTERNS.find(([, pattern]) => pattern.test(code));
  return found ? found[0] : null;
}

/** Seconds from now until an ISO time, never below zero. */
export function secondsUntil(iso) {
  return Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
}

export function clock(seconds) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** Today's date in China (YYYY-MM-DD), whatever the browser's own time zone. */
export function chinaToday() {
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

export function chinaTime(iso) {
  return iso ? new Date(Date.parse(iso) + 8 * 3600 * 1000).toISOString().slice(0, 19).replace("T", " ") : "";
}
