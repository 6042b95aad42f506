// The kdeps-expr playground: sends the editors to /_playground/api/evaluate and draws the
// answer. Plain JavaScript, no library; every text from the server goes in as text, never
// as HTML.
"use strict";

const API = "api/";
const $ = (id) => document.getElementById(id);
const JSON_FIELDS = ["query", "headers", "body", "session", "memory", "outputs"];
let pending = null;
let sequence = 0;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function shown(value) {
  return value === undefined ? "" : JSON.stringify(value);
}

function mode() {
  return $("mode-template").checked ? "template" : "expression";
}

function modeChanged() {
  $("source-title").textContent = mode() === "template" ? "Template" : "Expression";
  evaluate();
}

// One error, drawn as the command line prints it: the message and its place, the source
// line with the bad character marked, and a caret under it.
function drawError(error) {
  const box = element("div", "error");
  box.dataset.field = error.field || "";
  const place = error.line ? ` (${error.line}:${error.column})` : "";
  const field = error.field && error.field !== "source" ? `${error.field}: ` : "";
  const message = error.message.startsWith(field) ? error.message : field + error.message;
  box.appendChild(element("div", "message", message + place));
  const pre = element("pre", "caret");
  if (error.line && error.sourceLine !== null && error.sourceLine !== undefined) {
    const line = error.sourceLine.replace(/\t/g, " ");
    const at = error.column - 1;
    const sourceLine = element("span", "source-line");
    sourceLine.appendChild(document.createTextNode(line.slice(0, at)));
    sourceLine.appendChild(element("mark", "", line.slice(at, at + 1) || " "));
    sourceLine.appendChild(document.createTextNode(line.slice(at + 1)));
    pre.appendChild(document.createTextNode(" | "));
    pre.appendChild(sourceLine);
    pre.appendChild(document.createTextNode("\n | "));
    pre.appendChild(element("span", "caret-line", ".".repeat(at) + "^"));
  }
  if (pre.childNodes.length) box.appendChild(pre);
  return box;
}

function drawChanges(table, changes) {
  const body = table.tBodies[0];
  body.replaceChildren();
  if (!changes || changes.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 3;
    cell.className = "none";
    cell.textContent = "unchanged";
    return;
  }
  const marks = { added: "+", changed: "~", removed: "-" };
  for (const change of changes) {
    const row = body.insertRow();
    row.className = change.kind;
    row.insertCell().textContent = marks[change.kind];
    row.insertCell().textContent = change.key;
    const what = {
      added: `= ${shown(change.after)}`,
      changed: `${shown(change.before)} → ${shown(change.after)}`,
      removed: `(was ${shown(change.before)})`,
    };
    row.insertCell().textContent = what[change.kind];
  }
}

function drawReading(reading) {
  const node = $("reading");
  node.replaceChildren();
  if (!reading) return;
  node.appendChild(document.createTextNode("In a resource file this string is read as "));
  node.appendChild(element("strong", "kind-" + reading.kind, reading.kind));
  node.appendChild(document.createTextNode("."));
  if (reading.warning) {
    node.appendChild(element("span", "warning", " warning: " + reading.warning));
  }
}

function draw(answer) {
  const errors = $("errors");
  errors.replaceChildren(...(answer.errors || []).map(drawError));
  errors.hidden = !answer.errors || answer.errors.length === 0;
  drawReading(answer.reading);
  document.body.classList.toggle("failed", !answer.ok);
  if (!answer.ok) {
    $("value").textContent = "";
    $("value-type").textContent = "error";
    $("text-block").hidden = true;
    drawChanges($("session-changes"), []);
    drawChanges($("memory-changes"), []);
    return;
  }
  $("value").textContent = JSON.stringify(answer.value, null, 2);
  $("value-type").textContent = answer.type;
  $("text").textContent = answer.text;
  $("text-block").hidden = mode() !== "template";
  drawChanges($("session-changes"), answer.changes.session);
  drawChanges($("memory-changes"), answer.changes.memory);
}

async function evaluate() {
  const payload = {
    mode: mode(),
    source: $("source").value,
    method: $("method").value,
    path: $("path").value,
  };
  for (const field of JSON_FIELDS) payload[field] = $(field).value;
  const mine = ++sequence;
  document.body.classList.add("busy");
  try {
    const response = await fetch(API + "evaluate", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const answer = await response.json();
    if (mine !== sequence) return; // a later try is on its way
    if (!response.ok) {
      draw({ ok: false, errors: [{ field: "request", message: answer.error }] });
    } else {
      draw(answer);
    }
  } catch (failure) {
    draw({ ok: false, errors: [{ field: "request", message: String(failure) }] });
  } finally {
    if (mine === sequence) {
      document.body.classList.remove("busy");
      document.body.dataset.evaluated = String(mine);
    }
  }
}

function soon() {
  clearTimeout(pending);
  pending = setTimeout(evaluate, 300);
}

function drawExplain(answer) {
  $("problems").replaceChildren(
    ...answer.problems.map((problem) => {
      const box = element("div", "error " + problem.severity);
      const [head, ...lines] = problem.rendered.split("\n");
      box.appendChild(element("div", "message", head));
      if (lines.length) box.appendChild(element("pre", "caret", lines.join("\n")));
      return box;
    }),
  );
  const body = $("explain").tBodies[0];
  body.replaceChildren();
  for (const value of answer.values) {
    const row = body.insertRow();
    row.className = "kind-" + value.kind;
    row.insertCell().textContent = `${value.file}:${value.line}:${value.column}`;
    row.insertCell().textContent = value.kind;
    row.insertCell().appendChild(element("code", "", value.text));
    row.insertCell().textContent = value.warning || "";
  }
  document.body.dataset.explained = String(answer.values.length);
}

async function loadWorkflow() {
  const explained = await (await fetch(API + "explain")).json();
  drawExplain(explained);
  const stamp = Date.now();
  $("graph").src = `${API}graph.svg?at=${stamp}`;
  const mermaid = await fetch(`${API}graph.mmd?at=${stamp}`);
  $("mermaid").textContent = mermaid.ok ? await mermaid.text() : "";
}

function tab(name) {
  for (const other of ["explain", "graph"]) {
    $("tab-" + other).setAttribute("aria-selected", String(other === name));
    $("panel-" + other).hidden = other !== name;
  }
}

async function start() {
  const about = await (await fetch(API + "info")).json();
  if (about.workflow) {
    const badge = $("workflow-name");
    badge.textContent = `workflow ${about.workflow.name} ${about.workflow.version}`;
    badge.hidden = false;
    $("workflow").hidden = false;
    await loadWorkflow();
  }
  for (const id of ["source", "path", ...JSON_FIELDS]) $(id).addEventListener("input", soon);
  $("method").addEventListener("change", evaluate);
  for (const id of ["mode-expression", "mode-template"]) {
    $(id).addEventListener("change", modeChanged);
  }
  $("evaluate").addEventListener("click", evaluate);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      evaluate();
    }
  });
  $("tab-explain").addEventListener("click", () => tab("explain"));
  $("tab-graph").addEventListener("click", () => tab("graph"));
  $("refresh").addEventListener("click", loadWorkflow);
  document.body.dataset.ready = "true";
  await evaluate();
}

start();
