// The playground: the service's own API, driven from a page. Capabilities
// are forms built from their input JSON Schemas; the key is kept in this
// tab's session storage only. Nothing is fetched from anywhere but the
// service itself.
"use strict";

const state = { key: "", connectors: [], current: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function api(path, options = {}) {
  const headers = { authorization: "Bearer " + state.key, ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { error: { kind: "notJson", summary: text.slice(0, 500) } }; }
  return { status: response.status, body };
}

// The key: from the URL fragment `#key=...` (what `serve --dev` prints),
// which is then removed from the address bar, or from this tab's storage.
function takeKey() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("key")) {
    sessionStorage.setItem("apiKey", fragment.get("key"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  state.key = sessionStorage.getItem("apiKey") || "";
}

async function loadCatalog() {
  const catalog = document.getElementById("catalog");
  const { status, body } = await api("/v1/connectors");
  if (status !== 200) {
    catalog.replaceChildren(el("p", { class: "error-text", role: "alert", text: "The key was refused (" + status + ")." }));
    return;
  }
  state.connectors = body.connectors;
  catalog.replaceChildren();
  for (const connector of body.connectors) {
    const list = el("ul");
    for (const capability of connector.capabilities) {
      const button = el("button", { type: "button", "data-capability": connector.name + "/" + capability.id, text: capability.title });
      button.addEventListener("click", () => openCapability(connector.name, capability.id, button));
      list.append(el("li", {}, button));
    }
    const connect = el("button", { type: "button", "data-connect": connector.name, text: "Connect a tenant" });
    connect.addEventListener("click", () => openConnection(connector.name, connect));
    list.append(el("li", {}, connect));
    catalog.append(el("h2", { text: connector.title || connector.name }), list);
  }
  const flows = el("button", { type: "button", id: "open-enrollment", text: "MFA enrollment (seed 002)" });
  flows.addEventListener("click", () => openEnrollment(flows));
  const flowList = el("ul", {}, el("li", {}, flows));
  const definitions = await api("/v1/flows");
  for (const flow of (definitions.status === 200 && definitions.body.flows) || []) {
    const button = el("button", { type: "button", "data-flow": flow.flowId, text: flow.name || flow.flowId });
    button.addEventListener("click", () => openFlow(flow, button));
    flowList.append(el("li", {}, button));
  }
  catalog.append(el("h2", { text: "Flows" }), flowList);
  loadTenants();
}

// The tenants a key may list (admin keys), as suggestions.
async function loadTenants() {
  const tenants = await api("/v1/admin/tenants");
  if (tenants.status === 200) {
    const names = (tenants.body.tenants || []).map((t) => t.name || t.tenant).filter(Boolean);
    document.getElementById("tenants").replaceChildren(...names.map((n) => el("option", { value: n })));
  }
}

function select(button, section) {
  for (const b of document.querySelectorAll("nav button")) b.removeAttribute("aria-current");
  button.setAttribute("aria-current", "true");
  for (const id of ["capability", "connection", "flow", "enrollment"]) document.getElementById(id).hidden = id !== section;
}

async function openCapability(connector, id, button) {
  select(button, "capability");
  const { status, body } = await api("/v1/connectors/" + encodeURIComponent(connector) + "/capabilities/" + encodeURIComponent(id));
  if (status !== 200) return;
  state.current = { connector, id, schema: body.inputSchema };
  document.getElementById("capability-title").textContent = body.title;
  document.getElementById("capability-description").textContent = body.description || "";
  const fields = document.getElementById("fields");
  fields.replaceChildren(...objectFields(body.inputSchema, body.inputSchema, ""));
  document.getElementById("result").replaceChildren();
  const first = fields.querySelector("input, select, textarea");
  if (first) first.focus();
}

// --- Forms from JSON Schema -------------------------------------------------

function resolve(root, schema) {
  let seen = 0;
  while (schema && schema.$ref && seen++ < 16) {
    const path = schema.$ref.replace(/^#\//, "").split("/");
    let target = root;
    for (const part of path) target = target ? target[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
    schema = { ...target, ...schema, $ref: undefined };
  }
  // An optional value (`anyOf: [T, null]`) is its T.
  const variants = schema && (schema.anyOf || schema.oneOf);
  if (variants) {
    const real = variants.filter((v) => v.type !== "null");
    if (real.length === 1) return resolve(root, { ...schema, ...real[0], anyOf: undefined, oneOf: undefined });
    if (real.every((v) => "const" in v || (v.enum && v.enum.length === 1))) {
      return { ...schema, enum: real.map((v) => ("const" in v ? v.const : v.enum[0])), anyOf: undefined, oneOf: undefined };
    }
  }
  return schema || {};
}

function typeOf(schema) {
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== "null") : schema.type;
  if (schema.enum) return "enum";
  return t || (schema.properties ? "object" : "json");
}

let fieldCount = 0;

function objectFields(root, schema, pointer) {
  const required = new Set(schema.required || []);
  // Required fields first, each group in the schema's order.
  const entries = Object.entries(schema.properties || {});
  entries.sort(([a], [b]) => Number(required.has(b)) - Number(required.has(a)));
  return entries.map(([name, sub]) =>
    field(root, resolve(root, sub), pointer + "/" + name.replace(/~/g, "~0").replace(/\//g, "~1"), name, required.has(name)));
}

function field(root, schema, pointer, name, required) {
  const id = "f" + ++fieldCount;
  const kind = typeOf(schema);
  const help = schema.description ? el("p", { class: "help", id: id + "-help", text: schema.description }) : null;
  const error = el("p", { class: "error-text", id: id + "-error", hidden: true });
  const described = [help ? id + "-help" : null, id + "-error"].filter(Boolean).join(" ");
  const label = el("label", { for: id, class: required ? "required" : null, text: schema.title || name });
  if (kind === "object") {
    const set = el("fieldset", { "data-pointer": pointer, "data-kind": "object", "aria-describedby": described },
      el("legend", { class: required ? "required" : null, text: schema.title || name }), help, error);
    set.append(...objectFields(root, schema, pointer));
    return set;
  }
  if (kind === "array" && typeOf(resolve(root, schema.items || {})) === "object") {
    const items = resolve(root, schema.items);
    const set = el("fieldset", { "data-pointer": pointer, "data-kind": "array", "aria-describedby": described },
      el("legend", { class: required ? "required" : null, text: schema.title || name }), help, error);
    const rows = el("div");
    const add = el("button", { type: "button", text: "Add " + (items.title || "item") });
    add.addEventListener("click", () => {
      const index = rows.children.length;
      const row = el("fieldset", { "data-pointer": pointer + "/" + index, "data-kind": "object" },
        el("legend", { text: (items.title || name) + " " + (index + 1) }));
      row.append(...objectFields(root, items, pointer + "/" + index));
      const remove = el("button", { type: "button", text: "Remove" });
      remove.addEventListener("click", () => row.remove());
      row.append(remove);
      rows.append(row);
    });
    set.append(rows, add);
    return set;
  }
  let input;
  let examples = null;
  if (kind === "enum") {
    input = el("select", { id });
    input.append(el("option", { value: "", text: required ? "(choose)" : "(not set)" }));
    for (const v of schema.enum) input.append(el("option", { value: JSON.stringify(v), text: String(v) }));
  } else if (kind === "boolean") {
    input = el("select", { id });
    for (const [value, text] of [["", "(not set)"], ["true", "true"], ["false", "false"]]) input.append(el("option", { value, text }));
  } else if (kind === "integer" || kind === "number") {
    input = el("input", { id, type: "number", step: kind === "integer" ? "1" : "any" });
  } else if (kind === "string" && schema.secret) {
    // A secret setting is write-only: never filled in, never read back.
    input = el("input", { id, type: "password", autocomplete: "new-password", spellcheck: "false", "data-secret": "true" });
  } else if (kind === "string") {
    input = el("input", { id, type: "text", spellcheck: "false", list: schema.examples ? id + "-examples" : null });
    if (schema.examples) {
      examples = el("datalist", { id: id + "-examples" });
      for (const v of schema.examples) examples.append(el("option", { value: String(v) }));
    }
  } else {
    input = el("textarea", { id, rows: "3", placeholder: "JSON" });
  }
  input.setAttribute("data-pointer", pointer);
  input.setAttribute("data-kind", kind);
  input.setAttribute("aria-describedby", described);
  if (required) input.setAttribute("aria-required", "true");
  return el("div", { class: "field" }, label, input, examples, help, error);
}

// The input object from the form: empty optional fields are left out.
function collect(container) {
  const out = {};
  for (const child of container.children) {
    const node = child.matches("[data-pointer]") ? child : child.querySelector(":scope > [data-pointer]");
    if (!node) continue;
    const name = node.getAttribute("data-pointer").split("/").pop().replace(/~1/g, "/").replace(/~0/g, "~");
    const value = valueOf(node);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function valueOf(node) {
  const kind = node.getAttribute("data-kind");
  if (kind === "object") {
    const value = collect(node);
    return Object.keys(value).length ? value : undefined;
  }
  if (kind === "array") {
    const rows = [...node.querySelectorAll(":scope > div > fieldset")].map((row) => collect(row));
    return rows.length ? rows : undefined;
  }
  const raw = node.value;
  if (raw === "") return undefined;
  if (kind === "enum") return JSON.parse(raw);
  if (kind === "boolean") return raw === "true";
  if (kind === "integer" || kind === "number") return Number(raw);
  if (kind === "string") return raw;
  try { return JSON.parse(raw); } catch { return raw; }
}

// --- Invoking and showing the answer ----------------------------------------

async function invoke(event) {
  event.preventDefault();
  const { connector, id } = state.current;
  for (const node of document.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const node of document.querySelectorAll(".error-text")) { node.hidden = true; node.textContent = ""; }
  const input = collect(document.getElementById("fields"));
  const tenant = document.getElementById("tenant").value.trim();
  const path = "/v1/tenants/" + encodeURIComponent(tenant) + "/connectors/" + encodeURIComponent(connector) + "/capabilities/" + encodeURIComponent(id);
  const { status, body } = await api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(input) });
  const result = document.getElementById("result");
  if (status === 200) {
    result.replaceChildren(el("div", { class: "ok-box", id: "output" }, el("h3", { text: "Output (" + status + ")" }), tree(body, 0)));
    result.scrollIntoView({ block: "start" });
    return;
  }
  const error = (body && body.error) || { kind: "unknown", summary: String(status) };
  result.replaceChildren(errorBox(status, error, "error"));
  if (error.kind === "invalidInput") markField(error.pointer || "", error.message || error.summary);
  else result.scrollIntoView({ block: "start" });
}

// An error as the page shows it: kind, summary, PingOne's status, code,
// message and details, the pointer, and for a flow the node.
function errorBox(status, error, id) {
  const rows = [["kind", error.kind], ["summary", error.summary], ["status", error.status], ["code", error.code], ["message", error.message], ["pointer", error.pointer], ["node", error.node]]
    .filter(([, v]) => v !== undefined && v !== null && v !== "");
  const box = el("div", { class: "error-box", id, role: "alert" }, el("h3", { text: status === 200 ? "Failed" : "Error (" + status + ")" }));
  const list = el("dl");
  for (const [k, v] of rows) list.append(el("dt", { text: k }), el("dd", { text: String(v), "data-error-field": k }));
  box.append(list);
  if (error.details && error.details.length) box.append(el("h4", { text: "details" }), tree(error.details, 1));
  return box;
}

// Marks the field a JSON pointer names, or the closest enclosing one.
function markField(pointer, message, root = "#fields") {
  let target = null;
  for (let p = pointer; ; p = p.slice(0, p.lastIndexOf("/"))) {
    target = document.querySelector(root + ' [data-pointer="' + CSS.escape(p) + '"]');
    if (target || !p) break;
  }
  if (!target) return;
  target.setAttribute("aria-invalid", "true");
  const errorId = (target.getAttribute("aria-describedby") || "").split(" ").find((x) => x.endsWith("-error"));
  const error = errorId && document.getElementById(errorId);
  if (error) { error.textContent = message; error.hidden = false; }
  target.focus();
}

// JSON folded by level: the first level open, deeper levels closed.
function tree(value, depth) {
  const node = el("div", { class: "json" });
  node.append(branch(null, value, depth));
  return node;
}

function branch(key, value, depth) {
  const label = key === null ? null : el("span", { class: "key", text: key + ": " });
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const details = el("details", { open: depth < 1 });
    details.append(el("summary", {}, label, document.createTextNode(Array.isArray(value) ? "[" + entries.length + "]" : "{" + entries.length + "}")));
    for (const [k, v] of entries) details.append(branch(k, v, depth + 1));
    return details;
  }
  return el("div", { class: "leaf" }, label, document.createTextNode(JSON.stringify(value)));
}

// --- A tenant's connection, through the admin API ---------------------------

async function openConnection(connector, button) {
  select(button, "connection");
  const { status, body } = await api("/v1/connectors/" + encodeURIComponent(connector));
  if (status !== 200) return;
  state.connection = connector;
  document.getElementById("connection-title").textContent = "Connect a tenant to " + (body.title || body.name);
  document.getElementById("connection-fields").replaceChildren(...objectFields(body.settings, body.settings, ""));
  document.getElementById("connection-result").replaceChildren();
  document.getElementById("connection-tenant").focus();
}

async function saveConnection(event) {
  event.preventDefault();
  const fields = document.getElementById("connection-fields");
  const settings = collect(fields);
  // Write-only: the secrets leave the page with this request and nowhere else.
  for (const secret of fields.querySelectorAll("[data-secret]")) secret.value = "";
  const tenant = document.getElementById("connection-tenant").value.trim();
  const path = "/v1/admin/tenants/" + encodeURIComponent(tenant) + "/connections/" + encodeURIComponent(state.connection);
  const { status, body } = await api(path, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(settings) });
  const result = document.getElementById("connection-result");
  if (status === 200) {
    result.replaceChildren(el("div", { class: "ok-box", id: "connection-saved" }, el("h3", { text: "Saved (" + status + ")" }), tree(body, 0)));
    loadTenants();
  } else {
    const error = (body && body.error) || {};
    result.replaceChildren(el("div", { class: "error-box", role: "alert" }, el("h3", { text: "Error (" + status + ")" }), tree(error, 0)));
    if (error.field) markField("/" + error.field.split(".")[0], error.message || error.summary, "#connection-fields");
  }
}

// --- Flow definitions as graphs ---------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Layers by longest distance from a start node (one with no incoming edge)
// over the edges that go forward, so that every forward edge points right
// and a retry loop's edge back (to a node on the path that led to it) does
// not push the nodes it returns to; within a layer, the file's order.
function layout(nodes, edges) {
  const out = new Map(nodes.map((n) => [n.id, []]));
  for (const e of edges) if (out.has(e.source) && out.has(e.target)) out.get(e.source).push(e.target);
  const targets = new Set(edges.map((e) => e.target));
  const starts = nodes.filter((n) => !targets.has(n.id)).map((n) => n.id);
  const back = new Set();
  const onPath = new Set(), seen = new Set();
  const visit = (id) => {
    seen.add(id); onPath.add(id);
    for (const next of out.get(id)) {
      if (onPath.has(next)) back.add(id + "\n" + next);
      else if (!seen.has(next)) visit(next);
    }
    onPath.delete(id);
  };
  for (const id of [...starts, ...nodes.map((n) => n.id)]) if (!seen.has(id)) visit(id);
  const forward = edges.filter((e) => !back.has(e.source + "\n" + e.target));
  const depth = new Map(nodes.map((n) => [n.id, 0]));
  for (let round = 0; round < nodes.length; round++) {
    let moved = false;
    for (const e of forward) {
      const next = (depth.get(e.source) ?? 0) + 1;
      if (depth.has(e.target) && next > depth.get(e.target)) { depth.set(e.target, next); moved = true; }
    }
    if (!moved) break;
  }
  const rows = new Map();
  const place = new Map();
  for (const n of nodes) {
    const d = depth.get(n.id);
    const row = rows.get(d) || 0;
    rows.set(d, row + 1);
    place.set(n.id, { x: 20 + d * 210, y: 20 + row * 86 });
  }
  return place;
}

function openFlow(flow, button) {
  select(button, "flow");
  document.getElementById("flow-title").textContent = flow.name || flow.flowId;
  document.getElementById("flow-description").textContent = flow.description || "";
  const elements = (flow.graphData && flow.graphData.elements) || {};
  const nodes = (elements.nodes || []).map((n) => n.data);
  const edges = (elements.edges || []).map((e) => e.data);
  const place = layout(nodes, edges);
  const width = Math.max(...[...place.values()].map((p) => p.x)) + 200;
  const height = Math.max(...[...place.values()].map((p) => p.y)) + 80;
  const graph = svg("svg", { viewBox: "0 0 " + width + " " + height, width, height, role: "group", "aria-label": "The flow's nodes and edges" });
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#57606a" }));
  const defs = svg("defs");
  defs.append(marker);
  graph.append(defs);
  for (const e of edges) {
    const a = place.get(e.source), b = place.get(e.target);
    if (!a || !b) continue;
    if (b.x > a.x) {
      graph.append(svg("line", { class: "edge", "data-source": e.source, "data-target": e.target,
        x1: a.x + 170, y1: a.y + 30, x2: b.x, y2: b.y + 30, stroke: "#57606a", "marker-end": "url(#arrow)" }));
    } else {
      // An edge back (a retry loop): a dashed arc under the nodes.
      const low = Math.max(a.y, b.y) + 72;
      graph.append(svg("path", { class: "edge back", "data-source": e.source, "data-target": e.target, fill: "none",
        d: "M" + (a.x + 85) + "," + (a.y + 60) + " C" + (a.x + 85) + "," + low + " " + (b.x + 85) + "," + low + " " + (b.x + 85) + "," + (b.y + 60),
        stroke: "#57606a", "stroke-dasharray": "5 4", "marker-end": "url(#arrow)" }));
    }
  }
  for (const n of nodes) {
    const p = place.get(n.id);
    const g = svg("g", { class: "node", "data-node": n.id, "data-type": n.nodeType, tabindex: "0", role: "button",
      "aria-label": n.nodeType + ": " + (n.title || n.id), transform: "translate(" + p.x + "," + p.y + ")" });
    g.append(svg("title", {}, n.title || n.id), svg("rect", { width: "170", height: "60", rx: "6" }), svg("text", { x: "8", y: "20", class: "type" }, n.nodeType),
      svg("text", { x: "8", y: "42" }, (n.title || n.id).slice(0, 24)));
    const show = () => showNode(n);
    g.addEventListener("click", show);
    // Chromium does not scroll a focused SVG element into view by itself:
    // a node reached by Tab in the graph's own scroll box must be seen.
    g.addEventListener("focus", () => g.scrollIntoView({ block: "nearest", inline: "nearest" }));
    g.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); show(); } });
    graph.append(g);
  }
  document.getElementById("flow-graph").replaceChildren(graph);
  document.getElementById("flow-node").replaceChildren();
  prepareRun(flow);
  // As a capability's form does, the opened flow takes the focus: its
  // first node, so that a keyboard user goes on from there.
  graph.querySelector(".node")?.focus();
}

function showNode(node) {
  for (const g of document.querySelectorAll("#flow-graph .node")) g.classList.toggle("selected", g.getAttribute("data-node") === node.id);
  // The definition, then what the current run did there (runs.js).
  document.getElementById("flow-node").replaceChildren(el("h3", { id: "flow-node-title", text: node.nodeType + ": " + (node.title || node.id) }), tree(node, 0), ...stepsAt(node.id));
}

// --- Seed 002's enrollment step, by hand -------------------------------------

const enrollment = { execution: null };

function openEnrollment(button) {
  select(button, "enrollment");
  document.getElementById("enroll-user").focus();
}

async function startEnrollment(event) {
  event.preventDefault();
  const tenant = document.getElementById("tenant").value.trim();
  const user = { id: document.getElementById("enroll-user").value.trim() };
  const email = document.getElementById("enroll-email").value.trim();
  const phone = document.getElementById("enroll-phone").value.trim();
  if (email) user.email = email;
  if (phone) user.mobilePhone = phone;
  const path = "/v1/tenants/" + encodeURIComponent(tenant) + "/flows/mfa-enrollment/executions";
  const answer = await api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user }) });
  showExecution(answer);
}

async function act(action, body) {
  const href = enrollment.execution._links.self.href;
  const answer = await api(href, {
    method: "POST",
    headers: { "content-type": "application/vnd.pingidentity." + action + "+json" },
    body: JSON.stringify(body),
  });
  showExecution(answer);
}

// The newest OTP the development emulator sent for `device` (serve --dev).
async function otpFromOutbox(device) {
  const { status, body } = await api("/v1/dev/outbox");
  if (status !== 200) return null;
  const sent = (body.messages || []).filter((m) => m.device_id === device).pop();
  return sent ? sent.otp : null;
}

function showExecution({ status, body }) {
  const box = document.getElementById("execution");
  if (status >= 400) {
    // The execution stays as it was; PingOne's error is shown with it.
    const error = el("div", { class: "error-box", role: "alert", id: "execution-error" }, el("h3", { text: "Error (" + status + ")" }));
    error.append(tree(body, 1));
    box.querySelector("#execution-error")?.remove();
    box.prepend(error);
    return;
  }
  enrollment.execution = body;
  const done = body.status === "COMPLETED";
  const heading = el("h3", { id: "enrollment-status", text: done ? "COMPLETED: " + body.result.type : body.status });
  const actions = el("div", { class: "actions" });
  for (const action of Object.keys(body._links || {}).filter((k) => k !== "self")) actions.append(actionForm(action, body));
  box.replaceChildren(heading, actions, el("h4", { text: "Execution" }), tree(body, 0));
  const first = actions.querySelector("select, input, button");
  if (first) first.focus();
}

function actionForm(action, execution) {
  const form = el("form", { class: "action", "data-action": action, novalidate: true });
  const submit = el("button", { type: "submit", text: action });
  let body = () => ({});
  if (action === "device.create") {
    const type = el("select", { id: "create-type" });
    for (const t of execution.allowedtypes || []) type.append(el("option", { value: t, text: t }));
    const nickname = el("input", { id: "create-nickname", type: "text" });
    form.append(el("div", { class: "field" }, el("label", { for: "create-type", text: "Device type" }), type),
      el("div", { class: "field" }, el("label", { for: "create-nickname", text: "Nickname" }), nickname));
    body = () => (nickname.value ? { type: type.value, nickname: nickname.value } : { type: type.value });
  } else if (action === "device.activate") {
    const otp = el("input", { id: "activate-otp", type: "text", inputmode: "numeric", autocomplete: "one-time-code" });
    const read = el("button", { type: "button", id: "read-otp", text: "Read the OTP from the emulator's outbox" });
    read.addEventListener("click", async () => {
      const code = await otpFromOutbox(execution.device && execution.device.id);
      otp.value = code || "";
      if (!code) otp.setAttribute("placeholder", "nothing in the outbox (serve --dev only)");
      otp.focus();
    });
    form.append(el("div", { class: "field" }, el("label", { for: "activate-otp", text: "One-time passcode" }), otp, read));
    body = () => ({ otp: otp.value.trim() });
  }
  form.append(submit);
  form.addEventListener("submit", (event) => { event.preventDefault(); act(action, body()); });
  return form;
}

document.addEventListener("DOMContentLoaded", () => {
  takeKey();
  document.getElementById("api-key").value = state.key ? "••••••••" : "";
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = document.getElementById("api-key").value;
    if (value && !/^•+$/.test(value)) { state.key = value; sessionStorage.setItem("apiKey", value); }
    loadCatalog();
  });
  document.getElementById("input-form").addEventListener("submit", invoke);
  document.getElementById("enrollment-form").addEventListener("submit", startEnrollment);
  document.getElementById("connection-form").addEventListener("submit", saveConnection);
  if (state.key) loadCatalog();
});
