// The terminal agent on this counter PC (`payhub agent`): device status over WebSocket, printing over HTTP.

import * as stored from "./storage.js";

/** A print that did not happen; agentDown when the agent could not be reached at all. */
export class PrintError extends Error {
  constructor(reason) {
    super(reason ?? "");
    this.agentDown = reason === undefined;
  }
}

const watchers = [];
let socket = null;
let devices = null; // null: the agent is not reachable

function baseUrl() {
  return stored.settings.get().agentUrl.replace(/\/+$/, "");
}

function announce(next) {
  devices = next;
  for (const watcher of watchers) watcher(devices);
}

/** Call watcher with the device list (or null while the agent is unreachable) now and on every change. */
export function watchDevices(watcher) {
  watchers.push(watcher);
  watcher(devices);
}

/** Keep a WebSocket to the agent open, reconnecting after a pause; reconnect() after the address changes. */
export function connect() {
  if (socket) socket.close();
  const url = baseUrl().replace(/^http/, "ws") + "/ws";
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    announce(null);
    return;
  }
  socket = ws;
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "status") announce(message.devices);
  });
  ws.addEventListener("close", () => {
    if (socket !== ws) return;
    socket = null;
    announce(null);
    setTimeout(() => socket ?? connect(), 3000);
  });
  fetch(`${baseUrl()}/api/status`, { signal: AbortSignal.timeout(3000) })
    .then((response) => response.json())
    .then((answer) => announce(answer.devices))
    .catch(() => announce(null));
}

export function currentDevices() {
  return devices;
}

export function printer() {
  return devices?.find((device) => device.kind === "printer") ?? null;
}

/** Print one receipt (the hub's JSON receipt); resolves with the job, or throws PrintError with a reason. */
export async function print(receipt) {
  let response;
  try {
    response = await fetch(`${baseUrl()}/api/print`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ receipt }),
      signal: AbortSignal.timeout(20000),
    });
  } catch {
    throw new PrintError();
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new PrintError(answer.error?.message ?? `HTTP ${response.status}`);
  return answer;
}
