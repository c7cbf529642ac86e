// Running a flow from its graph: the run goes on in the service (POST
// .../flows/{flow}/runs); this page watches it with the long poll
// (GET .../flowRuns/{run}?after&since&waitMs), marks each node as the run
// reaches it, lists every step with its input and output, and answers the
// run's waits itself unless the emulator's end user does (serve --dev).
// It uses app.js's helpers (el, api, tree, objectFields, collect, markField).
"use strict";

const flowRun = { flow: null, id: null, tenant: "", steps: [], version: 0, watching: 0, shownWait: null };

// Called by openFlow: the run form for `flow`, from its input schema.
function prepareRun(flow) {
  flowRun.flow = flow;
  flowRun.id = null;
  flowRun.watching++; // a watch of the previous flow's run stops
  const schema = flow.inputSchema || { type: "object" };
  document.getElementById("run-fields").replaceChildren(...objectFields(schema, resolve(schema, schema), ""));
  for (const id of ["run-status", "run-wait", "run-steps"]) document.getElementById(id).replaceChildren();
  document.getElementById("run").hidden = false;
}

function runPath(suffix = "") {
  return "/v1/tenants/" + encodeURIComponent(flowRun.tenant) + "/flowRuns/" + encodeURIComponent(flowRun.id) + suffix;
}

async function startRun(event) {
  event.preventDefault();
  const flow = flowRun.flow;
  for (const node of document.querySelectorAll("#run-fields [aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const node of document.querySelectorAll("#run-fields .error-text")) { node.hidden = true; node.textContent = ""; }
  const tenant = document.getElementById("tenant").value.trim();
  const body = { input: collect(document.getElementById("run-fields")), answeredBy: document.getElementById("run-answered-by").value };
  const path = "/v1/tenants/" + encodeURIComponent(tenant) + "/flows/" + encodeURIComponent(flow.flowId) + "/runs";
  const { status, body: answer } = await api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (status !== 201) {
    const error = (answer && answer.error) || { kind: "unknown", summary: String(status) };
    document.getElementById("run-status").replaceChildren(errorBox(status, error, "run-error"));
    if (error.kind === "flowInput") markField(error.pointer || "", error.summary, "#run-fields");
    return;
  }
  Object.assign(flowRun, { id: answer.id, tenant, steps: [], version: 0, shownWait: null });
  for (const g of document.querySelectorAll("#flow-graph .node")) g.classList.remove("reached", "current", "failed");
  document.getElementById("run-steps").replaceChildren();
  document.getElementById("run-wait").replaceChildren();
  showRun(answer);
  watchRun(++flowRun.watching);
}

// The long poll: each answer brings the steps after those already shown,
// once something changed (or after five seconds of nothing).
async function watchRun(token) {
  while (token === flowRun.watching) {
    const query = "?after=" + flowRun.steps.length + "&since=" + flowRun.version + "&waitMs=5000";
    const { status, body } = await api(runPath(query));
    if (token !== flowRun.watching) return;
    if (status !== 200) {
      document.getElementById("run-status").replaceChildren(errorBox(status, (body && body.error) || { kind: "unknown", summary: String(status) }, "run-error"));
      return;
    }
    showRun(body);
    if (finished(body)) return;
  }
}

function finished(run) {
  return run.status !== "RUNNING" && run.status !== "WAITING";
}

async function cancelRun() {
  const { status, body } = await api(runPath(), { method: "DELETE" });
  if (status === 200) showRun({ ...body, steps: [] });
}

function graphNode(id) {
  return document.querySelector('#flow-graph .node[data-node="' + CSS.escape(id) + '"]');
}

function showRun(run) {
  flowRun.version = run.version;
  const top = flowRun.flow.flowId;
  const list = document.getElementById("run-steps");
  for (const step of run.steps || []) {
    const index = flowRun.steps.push(step) - 1;
    // The graph shows the flow that was run; its sub-flows' steps are in
    // the list, indented, and their SUBFLOW node is marked when it ends.
    if (step.flowId === top && step.depth === 0) graphNode(step.nodeId)?.classList.add("reached");
    const label = step.nodeType + ": " + step.title + (step.error ? " (refused: " + (step.error.kind || "error") + ")" : "") + (step.next ? " → " + step.next : "");
    const button = el("button", { type: "button", class: "step", "data-step": String(index), "data-node": step.nodeId, text: label });
    button.style.marginLeft = step.depth + "rem";
    button.addEventListener("click", () => showStep(step));
    list.append(el("li", {}, button));
  }
  for (const g of document.querySelectorAll("#flow-graph .node.current")) g.classList.remove("current");
  const last = flowRun.steps[flowRun.steps.length - 1];
  const at = run.wait ? run.wait.nodeId : run.status === "RUNNING" ? (last ? last.next : null) : null;
  if (at && (!run.wait || run.wait.flowId === top)) graphNode(at)?.classList.add("current");
  if (run.status === "FAILED" && run.error && run.error.node) graphNode(run.error.node)?.classList.add("failed");
  const heading = el("h4", { id: "run-state", text: run.status + (run.wait ? " at " + run.wait.nodeId : "") + " · " + flowRun.steps.length + " steps" });
  const parts = [heading];
  if (!finished(run)) {
    const stop = el("button", { type: "button", id: "run-cancel", text: "Stop the run" });
    stop.addEventListener("click", cancelRun);
    parts.push(stop);
  }
  if (run.status === "COMPLETED") parts.push(el("div", { class: "ok-box", id: "run-result" }, el("h3", { text: "Result" }), tree(run.result, 0)));
  if (run.status === "FAILED") parts.push(errorBox(200, run.error || {}, "run-error"));
  document.getElementById("run-status").replaceChildren(...parts);
  showWait(run);
}

// A step's input and output, beside the node's definition.
function showStep(step) {
  const node = (flowRun.flow.graphData.elements.nodes || []).map((n) => n.data).find((n) => n.id === step.nodeId);
  if (node && step.flowId === flowRun.flow.flowId) showNode(node);
  else document.getElementById("flow-node").replaceChildren(el("h3", { id: "flow-node-title", text: step.nodeType + ": " + step.title }));
  document.getElementById("flow-node").append(stepDetails(step));
}

function stepDetails(step) {
  const box = el("div", { class: "step-details" }, el("h4", { text: "Step " + (flowRun.steps.indexOf(step) + 1) + (step.capability ? " · " + step.capability : "") }));
  for (const part of ["input", "output", "error"]) {
    if (step[part] !== undefined) box.append(el("h5", { text: part }), el("div", { "data-part": part }, tree(step[part], 1)));
  }
  return box;
}

// The steps the current run took at node `id` (for a click on the graph).
function stepsAt(id) {
  const at = flowRun.steps.filter((s) => s.nodeId === id && s.flowId === (flowRun.flow && flowRun.flow.flowId));
  return at.map(stepDetails);
}

// The wait the run is at, as a form (the watcher answers) or a note (the
// end user does).
function showWait(run) {
  const box = document.getElementById("run-wait");
  const wait = run.wait;
  if (!wait) { box.replaceChildren(); flowRun.shownWait = null; return; }
  const key = run.id + "/" + run.stepCount + "/" + wait.nodeId;
  if (flowRun.shownWait === key) return;
  flowRun.shownWait = key;
  if (run.answeredBy === "endUser") {
    box.replaceChildren(el("p", { class: "help", id: "wait-by-end-user", text: "Waiting for the emulator's end user: " + wait.prompt }));
    return;
  }
  const form = el("form", { id: "wait-form", class: "action", novalidate: true, "aria-labelledby": "wait-title" });
  form.append(el("h4", { id: "wait-title", text: wait.waitFor + " · " + wait.prompt }));
  if (Object.keys(wait.context || {}).length) form.append(el("p", { class: "help", text: "What the node gives the end user:" }), tree(wait.context, 1));
  let value;
  if (wait.waitFor === "choice" && Array.isArray(wait.choices)) {
    const choice = el("select", { id: "wait-answer" });
    for (const c of wait.choices) choice.append(el("option", { value: JSON.stringify(c), text: typeof c === "string" ? c : JSON.stringify(c) }));
    form.append(el("div", { class: "field" }, el("label", { for: "wait-answer", text: "The choice" }), choice));
    value = () => JSON.parse(choice.value);
  } else if (wait.waitFor === "otp" || wait.waitFor === "input") {
    const input = el("input", { id: "wait-answer", type: "text", spellcheck: "false", autocomplete: wait.waitFor === "otp" ? "one-time-code" : "off" });
    const field = el("div", { class: "field" }, el("label", { for: "wait-answer", text: wait.waitFor === "otp" ? "One-time passcode" : (wait.context && wait.context.field) || "The answer" }), input);
    if (wait.waitFor === "otp" && wait.context && wait.context.to) {
      const read = el("button", { type: "button", id: "wait-read-otp", text: "Read the OTP from the emulator's outbox" });
      read.addEventListener("click", async () => {
        const { status, body } = await api("/v1/dev/outbox");
        const sent = status === 200 ? (body.messages || []).filter((m) => m.to === wait.context.to).pop() : null;
        input.value = sent ? sent.otp : "";
        if (!sent) input.setAttribute("placeholder", "nothing in the outbox (serve --dev only)");
        input.focus();
      });
      field.append(read);
    }
    form.append(field);
    value = () => input.value.trim();
  } else {
    const area = el("textarea", { id: "wait-answer", rows: "4", spellcheck: "false", "aria-describedby": "wait-help" });
    form.append(el("div", { class: "field" }, el("label", { for: "wait-answer", text: "The answer (JSON)" }), area,
      el("p", { class: "help", id: "wait-help", text: "A WebAuthn credential or an approval, as JSON." })));
    value = () => { try { return JSON.parse(area.value); } catch { return area.value; } };
  }
  form.append(el("button", { type: "submit", id: "wait-submit", text: "Answer" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { status, body } = await api(runPath("/answer"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ nodeId: wait.nodeId, answer: value() }) });
    if (status !== 200) { form.append(errorBox(status, (body && body.error) || {}, "wait-error")); return; }
    box.replaceChildren(el("p", { class: "help", text: "Answered; the run goes on." }));
  });
  box.replaceChildren(form);
  form.querySelector("#wait-answer").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("run-form").addEventListener("submit", startRun);
});
