// Terminal request signing (README "Terminal authentication"): hex HMAC-SHA256 with the terminal key over
// METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n SHA256HEX(BODY), the path and query raw, as sent (still
// percent-encoded). WebCrypto exists only in a secure context.

const encoder = new TextEncoder();

export function canSign() {
  return window.isSecureContext && Boolean(crypto.subtle);
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function nonce() {
  return hex(crypto.getRandomValues(new Uint8Array(16)));
}

/** The X-PayHub-* headers of one request; target is the path with its query string exactly as sent (encoded). */
export async function signedHeaders({ terminal, key, method, target, body }) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const once = nonce();
  const bodyHash = hex(await crypto.subtle.digest("SHA-256", body));
  const text = [method.toUpperCase(), target, timestamp, once, bodyHash].join("\n");
  const hmacKey = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = hex(await crypto.subtle.sign("HMAC", hmacKey, encoder.encode(text)));
  return {
    "X-PayHub-Terminal": terminal,
    "X-PayHub-Timestamp": timestamp,
    "X-PayHub-Nonce": once,
    "X-PayHub-Signature": signature,
  };
}
