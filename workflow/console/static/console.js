/* eventflow console: executions, their traces, stored events. No framework, no build step.
 * Every value from the API is put in the page as text (textContent), never as HTML; the only
 * markup inserted is the diagram's SVG, which the server builds with every name escaped. */
"use strict";

const POLL_MS = 2000;
const state = { config: null, timer: null, route: null, tokens: [null], page: 0, selected: null, run: null, expanded: new Set(), onlySelected: false };

// --- small helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  const url = "/api/" + path + (query.toString() ? "?" + query : "");
  const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const error = new Error((body && body.message) || response.statusText || "request failed");
    error.status = response.status;
    error.code = body && body.error;
    throw error;
  }
  return body;
}

function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

function schedule(fn, live) {
  clearTimeout(state.timer);
  state.timer = null;
  document.getElementById("live").hidden = !live;
  if (live) state.timer = setTimeout(fn, POLL_MS);
}

function fmtTime(value) {
  if (!value) return "–";
  const date = new Date(value);
  if (isNaN(date)) return String(value);
  return date.toISOString().replace("T", " ").replace("Z", "").slice(0, 23);
}

function fmtDuration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return ms + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
  const minutes = Math.floor(ms / 60000);
  return minutes + " min " + Math.round((ms % 60000) / 1000) + " s";
}

// A document from an execution may be hostile (nested thousands deep, hundreds of KiB): it is
// parsed only when shallow and small enough, and what is shown is cut short.
const MAX_SHOWN = 100000;
const MAX_NESTING = 64;

function nesting(text) {
  // Brackets outside strings, counted without recursion; stops past MAX_NESTING.
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) { if (c === "\\") i++; else if (c === '"') inString = false; }
    else if (c === '"') inString = true;
    else if (c === "[" || c === "{") { depth++; if (depth > deepest && (deepest = depth) > MAX_NESTING) return deepest; }
    else if (c === "]" || c === "}") depth--;
  }
  return deepest;
}

function parsable(text) { return text.length <= MAX_SHOWN && nesting(text) <= MAX_NESTING; }

function cut(text) {
  return text.length > MAX_SHOWN ? text.slice(0, MAX_SHOWN) + "\n… (" + (text.length - MAX_SHOWN) + " more characters not shown)" : text;
}

function pretty(text) {
  if (text === null || text === undefined) return "–";
  if (typeof text !== "string") { try { return cut(JSON.stringify(text, null, 2)); } catch (e) { return "(too deeply nested to show)"; } }
  if (!parsable(text)) return cut(text);
  try { return cut(JSON.stringify(JSON.parse(text), null, 2)); } catch (e) { return cut(text); }
}

function badge(status) {
  const value = String(status || "unknown");
  return el("span", { class: "badge badge-" + value.toLowerCase(), text: value.replace("_", " ").toLowerCase() });
}

function outcomeBadge(outcome) {
  const labels = { succeeded: "succeeded", retried: "succeeded after retries", caught: "caught error", failed: "failed", running: "in progress", cancelled: "cancelled", not_reached: "not reached" };
  return el("span", { class: "badge outcome-" + outcome, "data-outcome": outcome, text: labels[outcome] || outcome });
}

function executionLink(arn, text) {
  return el("a", { href: "#/execution/" + encodeURIComponent(arn), text: text });
}

function userLink(userId) {
  if (!userId) return "–";
  return el("a", { href: "#/events?user=" + encodeURIComponent(userId), text: userId });
}

function eventLink(eventId) {
  if (!eventId) return "–";
  return el("a", { href: "#/events?event=" + encodeURIComponent(eventId), class: "mono", text: eventId });
}

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || "") };
}

function setHash(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) if (value) query.set(key, value);
  const next = "#" + path + (query.toString() ? "?" + query : "");
  if (location.hash !== next) location.hash = next;
  else route();
}

function view(...children) {
  const main = document.getElementById("view");
  main.replaceChildren(...children.filter((child) => child !== null && child !== undefined));
  return main;
}

function card(title, ...children) {
  return el("section", { class: "card" }, title ? el("h2", { text: title }) : null, ...children);
}

// --- routing

async function route() {
  schedule(null, false);
  const { parts, params } = parseHash();
  const name = parts[0] || "executions";
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === (name === "execution" ? "executions" : name));
  }
  if (!state.config) {
    try {
      state.config = await api("config");
      document.getElementById("where").textContent = state.config.endpointUrl || state.config.region || "";
    } catch (error) {
      view(card("Not available", el("p", { class: "error-text", text: error.message })));
      return;
    }
  }
  const key = location.hash;
  if (state.route !== key) { state.expanded = new Set(); }
  state.route = key;
  try {
    if (name === "execution" && parts[1]) await showExecution(parts[1], params, true);
    else if (name === "events") await showEvents(params);
    else if (name === "rejected") await showRejected(params);
    else if (name === "definition") await showDefinition(params);
    else if (name === "dashboard") await showDashboard();
    else await showExecutions(params, true);
  } catch (error) {
    view(card("Something went wrong", el("p", { class: "error-text", text: error.message })));
  }
}

// --- executions list

async function showExecutions(params, fresh) {
  const machine = params.get("machine") || state.config.stateMachineArn || "";
  const status = params.get("status") || "";
  if (fresh) { state.tokens = [null]; state.page = 0; }
  const refresh = () => showExecutions(params, false).catch((error) => toast(error.message));
  const data = await api("executions", { stateMachineArn: machine, status: status, token: state.tokens[state.page] });
  if (data.nextToken) state.tokens[state.page + 1] = data.nextToken;
  else state.tokens.length = state.page + 1;

  const machines = el("select", { id: "machine", "aria-label": "state machine", onchange: (e) => setHash("/", { machine: e.target.value, status: status }) });
  const known = state.config.stateMachines.length ? state.config.stateMachines : [{ name: machine, stateMachineArn: machine }];
  for (const m of known) machines.append(el("option", { value: m.stateMachineArn, selected: m.stateMachineArn === data.stateMachineArn, text: m.name }));
  const filters = el("div", { class: "filters", role: "group", "aria-label": "status" });
  for (const value of ["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]) {
    filters.append(el("button", {
      class: "chip" + (value === status ? " active" : ""), "data-status": value || "ALL",
      onclick: () => setHash("/", { machine: params.get("machine"), status: value }),
      text: value ? value.replace("_", " ").toLowerCase() : "all",
    }));
  }
  const pager = el("div", { class: "pager" },
    el("button", { id: "newer", disabled: state.page === 0, onclick: () => { state.page -= 1; refresh(); }, text: "‹ Newer" }),
    el("span", { class: "muted", text: "page " + (state.page + 1) }),
    el("button", { id: "older", disabled: !data.nextToken, onclick: () => { state.page += 1; refresh(); }, text: "Older ›" }),
    el("button", { onclick: refresh, text: "Refresh" }),
  );
  const rows = data.items.map((item) => el("tr", { "data-status": item.status, "data-arn": item.executionArn },
    el("td", {}, executionLink(item.executionArn, item.name)),
    el("td", {}, badge(item.status)),
    el("td", { text: item.eventType || "–" }),
    el("td", {}, userLink(item.userId)),
    el("td", { class: "mono", text: fmtTime(item.startDate) }),
    el("td", { class: "num", text: fmtDuration(item.durationMs) }),
  ));
  const table = el("table", { class: "grid", id: "executions" },
    el("thead", {}, el("tr", {}, ["Name", "Status", "Event type", "User", "Started (UTC)", "Duration"].map((h) => el("th", { text: h })))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 6, class: "muted", text: "No executions" + (status ? " with this status" : "") + "." }))),
  );
  view(el("div", { class: "toolbar" }, machines, filters, pager), card(null, table));
  const running = status === "RUNNING" || data.items.some((item) => item.status === "RUNNING");
  schedule(refresh, running);
}

// --- one execution

async function showExecution(arn, params, fresh) {
  const data = await api("execution", { arn: arn });
  const execution = data.execution;
  const states = data.states;
  if (fresh) {
    state.selected = params.get("state") || defaultSelection(data);
    state.run = null;
  }
  const refresh = () => showExecution(arn, params, false).catch((error) => toast(error.message));

  const header = el("section", { class: "card exec-head" },
    el("div", { class: "exec-title" },
      el("a", { href: "#/", class: "back", text: "‹ Executions" }),
      el("h1", { class: "mono", text: execution.name }),
      badge(execution.status),
    ),
    el("dl", { class: "facts" },
      fact("Event type", execution.eventType || "–"),
      fact("User", userLink(execution.userId)),
      fact("Event id", eventLink(execution.eventId)),
      fact("Started (UTC)", fmtTime(execution.startDate)),
      fact("Stopped (UTC)", fmtTime(execution.stopDate)),
      fact("Duration", fmtDuration(execution.durationMs)),
      execution.redriveCount ? fact("Redrives", String(execution.redriveCount)) : null,
    ),
  );
  const failed = ["FAILED", "TIMED_OUT", "ABORTED"].includes(execution.status);
  const banner = failed ? el("section", { class: "error-banner", id: "execution-error", role: "alert" },
    el("div", { class: "error-label", text: "Execution " + execution.status.replace("_", " ").toLowerCase() }),
    el("div", { class: "error-name mono", text: execution.error || "(no error name)" }),
    execution.cause ? el("pre", { class: "error-cause", text: pretty(execution.cause) }) : null,
  ) : null;

  const diagram = el("div", { class: "diagram", id: "diagram" });
  diagram.innerHTML = data.svg;  // server-built SVG: every name in it is escaped
  for (const node of diagram.querySelectorAll(".ef-node[data-state]")) {
    node.addEventListener("click", () => select(node.dataset.state));
  }
  const legend = el("div", { class: "legend" });
  legend.innerHTML = data.legend;

  const panel = el("aside", { class: "card state-panel", id: "state-panel" });
  const events = el("section", { class: "card" });

  function select(name, run) {
    state.selected = name;
    state.run = run === undefined ? null : run;
    for (const node of diagram.querySelectorAll(".ef-node[data-state]")) {
      node.classList.toggle("ef-selected", node.dataset.state === name);
    }
    renderPanel();
    renderEvents();
  }

  function renderPanel() {
    const name = state.selected;
    const info = states[name];
    const runs = data.runs.filter((r) => r.name === name);
    if (!info) {
      panel.replaceChildren(el("h2", { text: "Execution" }), ioBlock("Input", execution.input), ioBlock("Output", execution.output));
      return;
    }
    const index = state.run === null || state.run >= runs.length ? runs.length - 1 : state.run;
    const run = runs[index];
    const parts = [
      el("h2", { class: "mono", id: "selected-state", text: name }),
      el("div", { class: "panel-line" }, outcomeBadge(info.outcome),
        info.retries ? el("span", { class: "badge retries", id: "selected-retries", text: "retries: " + info.retries }) : null,
        runs.length > 1 ? el("span", { class: "muted", text: runs.length + " runs" }) : null),
    ];
    if (runs.length > 1) {
      const picker = el("select", { "aria-label": "run", onchange: (e) => select(name, Number(e.target.value)) });
      runs.forEach((r, i) => picker.append(el("option", { value: i, selected: i === index, text: "run " + (i + 1) + " · " + r.outcome + " · event " + r.enteredEventId })));
      parts.push(picker);
    }
    if (info.error || info.cause) {
      parts.push(el("div", { class: "state-error " + info.outcome },
        el("div", { class: "error-name mono", id: "selected-error", text: info.error || "" }),
        info.cause ? el("pre", { class: "error-cause", text: pretty(info.cause) }) : null));
    }
    if (run) {
      if (run.failures.length > 1 || (run.failures.length && run.retries)) {
        parts.push(el("details", { class: "attempts" }, el("summary", { text: run.attempts + " attempts, " + run.failures.length + " failed" }),
          el("ol", {}, run.failures.map((f) => el("li", {}, el("span", { class: "mono", text: f.error || "?" }), " ", el("span", { class: "muted", text: f.cause || "" }))))));
      }
      parts.push(el("div", { class: "muted small", text: "entered " + fmtTime(run.enteredAt) + (run.exitedAt ? " · exited " + fmtTime(run.exitedAt) : "") }));
      parts.push(ioBlock("Input", run.input));
      parts.push(ioBlock("Output", run.exitedEventId ? run.output : null, run.exitedEventId ? null : "(the state did not exit)"));
    } else {
      parts.push(el("p", { class: "muted", text: "This state was not reached in this execution." }));
    }
    panel.replaceChildren(...parts);
  }

  function renderEvents() {
    const only = el("label", { class: "check" }, el("input", { type: "checkbox", checked: state.onlySelected, onchange: (e) => { state.onlySelected = e.target.checked; renderEvents(); } }), " only " + (state.selected || "the selected state"));
    const start = execution.startDate ? new Date(execution.startDate).getTime() : null;
    const rows = [];
    for (const event of data.events) {
      if (state.onlySelected && event.state !== state.selected) continue;
      const open = state.expanded.has(event.id);
      const failure = /Failed$|TimedOut$|Aborted$/.test(event.type);
      const elapsed = start && event.timestamp ? new Date(event.timestamp).getTime() - start : null;
      rows.push(el("tr", {
        class: "event" + (event.state && event.state === state.selected ? " mine" : "") + (failure ? " failure" : "") + (open ? " open" : ""),
        "data-event-id": event.id, "data-state": event.state || "",
        onclick: () => { if (open) state.expanded.delete(event.id); else state.expanded.add(event.id); renderEvents(); },
      },
        el("td", { class: "num", text: event.id }),
        el("td", { class: "mono", text: event.type }),
        el("td", {}, event.state ? el("button", { type: "button", class: "link", onclick: (e) => { e.stopPropagation(); select(event.state); }, text: event.state }) : "–"),
        el("td", { class: "num", text: elapsed === null ? "–" : fmtDuration(elapsed) }),
        el("td", { class: "mono small", text: fmtTime(event.timestamp) }),
      ));
      if (open) rows.push(el("tr", { class: "event-details" }, el("td", { colspan: 5 }, el("pre", { text: pretty(expandJson(event.details)) }))));
    }
    events.replaceChildren(
      el("div", { class: "section-head" }, el("h2", { text: "Event history (" + data.events.length + ")" }), only),
      el("table", { class: "grid events", id: "events" },
        el("thead", {}, el("tr", {}, ["#", "Type", "State", "Elapsed", "Timestamp (UTC)"].map((h) => el("th", { text: h })))),
        el("tbody", {}, rows)),
    );
  }

  const io = el("section", { class: "card" },
    el("h2", { text: "Execution input and output" }),
    el("div", { class: "io-pair" }, ioBlock("Input", execution.input), ioBlock("Output", execution.output)));

  view(header, banner, el("div", { class: "exec-grid" },
    el("section", { class: "card diagram-card" }, el("div", { class: "section-head" }, el("h2", { text: "Graph" }), legend), diagram),
    panel), events, io);
  select(state.selected, state.run);
  schedule(refresh, execution.status === "RUNNING");
}

function defaultSelection(data) {
  const order = data.runs;
  // the last failed run: the Task inside a Parallel that failed with it, not the Parallel
  const failed = order.filter((r) => r.outcome === "failed").pop();
  if (failed) return failed.name;
  const caught = order.find((r) => r.outcome === "caught");
  if (caught) return caught.name;
  return order.length ? order[order.length - 1].name : null;
}

function fact(label, value) {
  return el("div", {}, el("dt", { text: label }), el("dd", {}, value));
}

function ioBlock(title, text, empty) {
  return el("div", { class: "io" }, el("h3", { text: title }),
    el("pre", { class: "json", text: text === null || text === undefined ? (empty || "–") : pretty(text) }));
}

function expandJson(value, depth) {
  // Details carry JSON documents as strings (input, output, parameters): show them as JSON.
  depth = depth || 0;
  if (depth > MAX_NESTING) return "…";
  if (typeof value === "string" && /^[\[{]/.test(value.trim()) && parsable(value)) {
    try { value = JSON.parse(value); } catch (e) { return value; }
  }
  if (Array.isArray(value)) return value.map((inner) => expandJson(inner, depth + 1));
  if (value && typeof value === "object") {
    const out = {};
    for (const [key, inner] of Object.entries(value)) out[key] = expandJson(inner, depth + 1);
    return out;
  }
  return value;
}

// --- stored events

async function showEvents(params) {
  const user = params.get("user") || "";
  const eventId = params.get("event") || "";
  const type = params.get("type") || "";
  const days = params.get("days") || "7";
  const forms = el("div", { class: "forms" },
    searchForm("User timeline", "user", "user id", user, (value) => setHash("/events", { user: value })),
    searchForm("Event by id", "event", "event id", eventId, (value) => setHash("/events", { event: value })),
    searchForm("Events by type", "type", "e.g. card.imported", type, (value) => setHash("/events", { type: value, days: days })),
  );
  const parts = [forms];
  if (user) parts.push(await userTimeline(user));
  else if (eventId) parts.push(await eventDetails(eventId));
  else if (type) parts.push(await typeEvents(type, days));
  else parts.push(card(null, el("p", { class: "muted", text: "Look up a user's timeline and projection, an event by id, or a type's events of the last days." })));
  view(...parts);
}

function searchForm(title, name, placeholder, value, go) {
  const input = el("input", { name: name, id: "q-" + name, placeholder: placeholder, value: value, autocomplete: "off", spellcheck: "false" });
  return el("form", { class: "search", onsubmit: (e) => { e.preventDefault(); if (input.value.trim()) go(input.value.trim()); } },
    el("label", { for: "q-" + name, text: title }), el("div", { class: "search-row" }, input, el("button", { type: "submit", text: "Show" })));
}

function itemRows(items, columns, tbody) {
  for (const item of items) {
    const row = el("tr", { class: "item" }, columns.map(([, render]) => el("td", {}, render(item))));
    const body = el("tr", { class: "item-body", hidden: true }, el("td", { colspan: columns.length }, el("pre", { class: "json", text: pretty(item.body) })));
    row.addEventListener("click", (e) => { if (e.target.tagName !== "A") body.hidden = !body.hidden; });
    tbody.append(row, body);
  }
}

function pagedTable(id, columns, first, fetchMore) {
  const tbody = el("tbody");
  const more = el("button", { class: "more", hidden: !first.cursor, text: "Load more" });
  let cursor = first.cursor;
  itemRows(first.items, columns, tbody);
  if (!first.items.length) tbody.append(el("tr", {}, el("td", { colspan: columns.length, class: "muted", text: "Nothing found." })));
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await fetchMore(cursor);
      itemRows(page.items, columns, tbody);
      cursor = page.cursor;
      more.hidden = !cursor;
    } catch (error) { toast(error.message); }
    more.disabled = false;
  });
  return el("div", {}, el("table", { class: "grid items", id: id },
    el("thead", {}, el("tr", {}, columns.map(([h]) => el("th", { text: h })))), tbody), more,
    el("p", { class: "muted small", text: "Click a row for the stored body." }));
}

const EVENT_COLUMNS = [
  ["Occurred (UTC)", (i) => el("span", { class: "mono", text: i.occurred_at || "–" })],
  ["Type", (i) => i.event_type || "–"],
  ["Event id", (i) => eventLink(i.event_id)],
  ["User", (i) => userLink(i.user_id)],
  ["Source", (i) => i.source || "–"],
  ["Stored (UTC)", (i) => el("span", { class: "mono", text: i.stored_at || "–" })],
  ["Follow-up", (i) => i.followup_error ? el("span", { class: "error-text", text: i.followup_error }) : "ok"],
];

async function userTimeline(user) {
  const first = await api("user", { userId: user });
  const projection = first.projection;
  const summary = projection ? el("div", { class: "projection", id: "projection" },
    el("dl", { class: "facts" },
      fact("Total events", String(Object.values(projection.counts).reduce((a, b) => a + b, 0))),
      fact("Last activity (UTC)", projection.last_activity_at || "–"),
      fact("Last event", eventLink(projection.last_event_id))),
    el("table", { class: "grid counts" }, el("thead", {}, el("tr", {}, el("th", { text: "Event type" }), el("th", { text: "Count" }))),
      el("tbody", {}, Object.entries(projection.counts).sort().map(([k, v]) => el("tr", {}, el("td", { text: k }), el("td", { class: "num", text: v })))))) :
    el("p", { class: "muted", text: "No projection for this user." });
  return el("div", {},
    card("Projection of " + user, summary),
    card("Timeline, newest first", pagedTable("timeline", EVENT_COLUMNS, first, (cursor) => api("user", { userId: user, cursor: cursor }))));
}

async function eventDetails(eventId) {
  let data;
  try { data = await api("event", { eventId: eventId }); } catch (error) {
    if (error.status === 404) return card("Event " + eventId, el("p", { class: "muted", id: "not-found", text: "No stored event with this id. It may have been rejected: see Rejected." }));
    throw error;
  }
  const item = data.item;
  const facts = el("dl", { class: "facts" });
  for (const key of ["event_id", "event_type", "user_id", "source", "schema_version", "occurred_at", "stored_at", "followup_error", "followup_failed_at"]) {
    if (item[key] !== undefined) facts.append(fact(key, key === "user_id" ? userLink(item[key]) : String(item[key])));
  }
  return card("Event " + eventId, facts, el("h3", { text: "Body" }), el("pre", { class: "json", id: "event-body", text: pretty(item.body) }));
}

async function typeEvents(type, days) {
  const first = await api("type", { eventType: type, days: days });
  return card("Events of type " + type + " in the last " + days + " days", pagedTable("by-type", EVENT_COLUMNS, first, (cursor) => api("type", { eventType: type, days: days, cursor: cursor })));
}

async function showRejected(params) {
  const days = params.get("days") || "7";
  const picker = el("select", { id: "days", "aria-label": "days", onchange: (e) => setHash("/rejected", { days: e.target.value }) });
  for (const value of ["1", "7", "30", "90", "365"]) picker.append(el("option", { value: value, selected: value === days, text: "last " + value + " day" + (value === "1" ? "" : "s") }));
  const first = await api("rejected", { days: days });
  const columns = [
    ["Rejected (UTC)", (i) => el("span", { class: "mono", text: i.rejected_at || "–" })],
    ["Reason", (i) => el("span", { class: "reason", text: i.reason || "–" })],
    ["Event id", (i) => i.event_id ? el("span", { class: "mono", text: i.event_id }) : el("span", { class: "muted", text: "(unparsable)" })],
    ["User", (i) => userLink(i.user_id)],
    ["Lane", (i) => i.lane || "–"],
  ];
  view(el("div", { class: "toolbar" }, el("h1", { text: "Rejected events" }), picker),
    card(null, pagedTable("rejected", columns, first, (cursor) => api("rejected", { days: days, cursor: cursor }))));
}

// --- the definition

async function showDefinition(params) {
  const machine = params.get("machine") || state.config.stateMachineArn || "";
  const query = "?stateMachineArn=" + encodeURIComponent(machine);
  const response = await fetch("/api/diagram.mmd" + query, { cache: "no-store" });
  const mermaid = await response.text();
  if (!response.ok) throw new Error(mermaid);
  const svg = await fetch("/api/diagram.svg" + query + "&standalone=0", { cache: "no-store" }).then((r) => r.text());
  const box = el("div", { class: "diagram full", id: "definition-diagram" });
  box.innerHTML = svg;  // server-built SVG, names escaped
  const text = el("pre", { class: "mermaid-text", id: "mermaid", text: mermaid });
  const copy = el("button", { text: "Copy", onclick: async () => { try { await navigator.clipboard.writeText(mermaid); toast("Copied."); } catch (e) { toast("Select the text and copy it."); } } });
  view(card("State machine", box, el("p", { class: "small" }, el("a", { href: "/api/diagram.svg" + query, download: "statemachine.svg", text: "Download SVG" }))),
    card("Mermaid", el("div", { class: "section-head" }, el("span", { class: "muted", text: "Paste into Markdown as a mermaid code block." }), copy), text));
}

// --- the dashboard: the CloudWatch dashboard's widgets, each figure measured on the local run

function fmtFigure(value) {
  if (value === null || value === undefined) return "–";
  return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toLocaleString("en-US", { maximumFractionDigits: 1 });
}

async function showDashboard() {
  const data = await api("dashboard");
  if (parseHash().parts[0] !== "dashboard") return;  // left the page meanwhile
  const widgets = data.widgets.map((widget) => {
    const rows = widget.figures.map((figure) => el("tr", { "data-key": figure.key, title: figure.metric + " (" + figure.statistic + ")" },
      el("td", { text: figure.label }),
      el("td", { class: "figure mono", "data-value": figure.value === null ? "" : String(figure.value), text: fmtFigure(figure.value) }),
      el("td", { class: "muted small", text: figure.note || "" })));
    return el("section", { class: "card widget", "data-title": widget.title }, el("h2", { text: widget.title }),
      el("table", { class: "grid" }, el("tbody", {}, rows)));
  });
  view(el("div", { class: "toolbar" }, el("h1", { text: "Dashboard" }),
    el("span", { class: "muted small", text: "this local run, as the CloudWatch dashboard shows the stack on AWS; read " + fmtTime(data.readAt) })),
    el("div", { class: "dashboard", id: "dashboard" }, widgets));
  schedule(() => showDashboard().catch((error) => toast(error.message)), true);
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
