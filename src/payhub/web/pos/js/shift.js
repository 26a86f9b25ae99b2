// The operator's end-of-shift summary (交班汇总): shown from the hub's receipt model, printed by the agent.

import { api } from "./hub.js";
import { chinaToday } from "./money.js";
import * as receipts from "./receipts.js";
import { $, busy, el, say, sayText } from "./ui.js";

const message = () => $('[data-name="shift"] [data-message]');

function line(row) {
  if (row.style === "rule") return el("hr");
  if (row.style === "heading") return el("h3", {}, row.label);
  return el("div", { class: `shift-line ${row.style}` }, el("span", {}, row.label), el("span", { class: "num" }, row.value));
}

async function load() {
  say(message(), "");
  try {
    const summary = await api.receipt("shift", { date: $("#shift-form").date.value });
    $("#shift-summary").replaceChildren(el("h2", {}, summary.title), ...summary.lines.map(line));
  } catch (error) {
    say(message(), error.message);
  }
}

export function enter() {
  const form = $("#shift-form");
  if (!form.date.value) form.date.value = chinaToday();
  load();
}

/** After the language is switched: the summary shown again in the hub's words of that language. */
export function refresh() {
  if (!$('[data-name="shift"]').hidden) load();
}

export function bind() {
  $("#shift-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($('#shift-form button:not([type="button"])'), load);
  });
  $("#shift-print").addEventListener("click", (event) => busy(event.currentTarget, async () => {
    const result = await receipts.print(receipts.jobs.shift($("#shift-form").date.value));
    sayText(message(), result.key, result.params, result.ok ? "ok" : "error");
  }));
}
