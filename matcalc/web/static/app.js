// The matcalc page: a form over the JSON API (/api/derive, /api/verify); the state lives in the URL.
"use strict";

const EXAMPLES = [
  ["notes: a computation graph, 3(a + b c)", "3 * (a + b * c)", "a, b, c", ""],
  ["notes: (x + σ(y)) / (σ(x) + (x + y)²)", "(x + sigmoid(y)) / (sigmoid(x) + (x + y) ** 2)", "x, y", ""],
  ["notes: a linear layer and its loss", "0.5 * norm2(W @ x + b - y) ** 2", "W, b", "W=Dz,Dx; x=Dx; b=Dz; y=Dz"],
  ["quadratic form xᵀAx", "x.T @ A @ x", "x", ""],
  ["least squares ½‖Ax − b‖²", "0.5 * norm2(A @ x - b) ** 2", "x", ""],
  ["ridge regression", "norm2(X @ w - y) ** 2 + lam * norm2(w) ** 2", "w", "lam="],
  ["logistic regression", "sum(log(1 + exp(-y * (X @ w))))", "w", "X=N,n; y=N; w=n"],
  ["softmax cross-entropy", "-y.T @ log(softmax(W @ x))", "W", "W=K,n; x=n; y=K"],
  ["two-layer network", "0.5 * norm2(W2 @ tanh(W1 @ x + b1) - y) ** 2", "W1, W2", ""],
  ["log-determinant", "logdet(X)", "X", "X=n,n:spd"],
  ["trace(A X B)", "trace(A @ X @ B)", "X", "A=p,m; X=m,n; B=n,p"],
  ["inverse: aᵀ X⁻¹ b", "a.T @ inv(X) @ b", "X", "X=n,n:invertible"],
  ["Gaussian log-likelihood", "-0.5 * logdet(S) - 0.5 * (x - mu).T @ inv(S) @ (x - mu)", "S", "S=n,n:spd"],
  ["Hessian of logistic loss", "sum(log(1 + exp(-y * (X @ w))))", "w", "X=N,n; y=N; w=n", "2"],
  ["LaTeX input", "\\frac{1}{2} \\| W x - t \\|_2^2", "W", "W=m,n; x=n; t=m", "1", "latex"],
];

const $ = (id) => document.getElementById(id);
const SYNTAX_NAMES = { numpy: "numpy", matlab: "MATLAB", latex: "LaTeX", text: "matcalc's text form" };
let lastResults = [];

function parseShapes(text) {
  const shapes = {};
  for (const part of text.split(/[;\n]/)) {
    if (!part.trim()) continue;
    const eq = part.indexOf("=");
    if (eq < 0) throw new Error(`write each shape as NAME=DIMS, e.g. x=n or A=n,n:symmetric (got "${part.trim()}")`);
    shapes[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return shapes;
}

function formatShapes(shapes) {
  return Object.entries(shapes).map(([name, spec]) => `${name}=${spec}`).join("; ");
}

function wrtValue() {
  const names = $("wrt").value.split(",").map((s) => s.trim()).filter(Boolean);
  return names.length === 1 ? names[0] : names;
}

function request() {
  const body = { f: $("f").value, wrt: wrtValue(), shapes: parseShapes($("shapes").value),
    syntax: $("syntax").value, order: $("order").value === "hvp" ? "hvp" : Number($("order").value),
    symmetric_gradient: $("sym").value };
  body.layout = $("layout").value || null;
  return body;
}

// -- the URL: a permalink reproduces the page -------------------------------------------------------
const URL_FIELDS = { f: "f", wrt: "wrt", shapes: "shapes", syntax: "syntax", order: "order", layout: "layout",
  symmetric_gradient: "sym", claimed: "claimed" };

function saveState() {
  const params = new URLSearchParams();
  for (const [param, id] of Object.entries(URL_FIELDS)) {
    const value = $(id).value;
    const isDefault = (param === "syntax" && value === "auto") || (param === "order" && value === "1")
      || (param === "symmetric_gradient" && value === "sym");
    if (value && !isDefault) params.set(param, value);
  }
  history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
}

function loadState() {
  const params = new URLSearchParams(location.search);
  for (const [param, id] of Object.entries(URL_FIELDS)) {
    if (params.has(param)) $(id).value = params.get(param);
  }
  return params.has("f");
}

// -- talking to the server ------------------------------------------------------------------------
async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) });
  let data;
  try {
    data = await response.json();
  } catch (err) {
    data = { error: { type: "ServerError", message: `the server answered ${response.status}`, position: null } };
  }
  return data;
}

function showError(box, error, source) {
  box.hidden = false;
  box.textContent = "";
  const message = document.createElement("p");
  message.textContent = `${error.type}: ${error.message.split("\n")[0]}`;
  box.appendChild(message);
  if (error.position !== null && error.position !== undefined && source) {
    const pre = document.createElement("pre");
    pre.className = "caret";
    pre.textContent = `${source}\n${" ".repeat(Math.min(error.position, source.length))}^`;
    box.appendChild(pre);
  }
}

function clearError(box) {
  box.hidden = true;
  box.textContent = "";
}

function renderMath(element, latex) {
  element.textContent = "";
  if (!window.katex) {
    element.textContent = latex;
    return;
  }
  katex.render(latex, element, { displayMode: true, throwOnError: false, strict: "ignore" });
}

// -- derive ---------------------------------------------------------------------------------------
async function derive(event) {
  if (event) event.preventDefault();
  const box = $("f-error");
  let body;
  try {
    body = request();
  } catch (err) {
    showError(box, { type: "Input", message: err.message, position: null }, "");
    return;
  }
  if (!body.f.trim() || (Array.isArray(body.wrt) && !body.wrt.length)) return;
  saveState();
  $("derive").disabled = true;
  $("result-title").textContent = "Deriving…";
  try {
    const data = await post("/api/derive", body);
    if (data.error) {
      showError(box, data.error, body.f);
      $("result-section").hidden = true;
      return;
    }
    clearError(box);
    const readAs = $("syntax").value === "auto" ? [`read as ${SYNTAX_NAMES[data.syntax]}`] : [];
    $("read-as").textContent = [...readAs, ...data.notes].join(" · ");
    showVariables(data.variables, data.inferred);
    showResults(data.results || [data]);
  } catch (err) {
    showError(box, { type: "NetworkError", message: String(err), position: null }, "");
  } finally {
    $("derive").disabled = false;
  }
}

function showVariables(variables, inferred) {
  const body = $("variables").querySelector("tbody");
  body.textContent = "";
  for (const [name, spec] of Object.entries(variables)) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.textContent = name;
    const input = document.createElement("input");
    input.value = spec;
    input.setAttribute("aria-label", `dims of ${name}`);
    input.dataset.name = name;
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        updateShapesFromTable();
        derive();
      }
    });
    const edit = document.createElement("td");
    edit.appendChild(input);
    const note = document.createElement("td");
    note.className = "note";
    note.textContent = name in inferred ? "inferred" : "declared";
    row.append(cell, edit, note);
    body.appendChild(row);
  }
  $("variables-section").hidden = Object.keys(variables).length === 0;
}

function updateShapesFromTable() {
  const shapes = parseShapes($("shapes").value);
  for (const input of $("variables").querySelectorAll("input")) shapes[input.dataset.name] = input.value.trim();
  $("shapes").value = formatShapes(shapes);
}

function showResults(results) {
  lastResults = results;
  const container = $("results");
  container.textContent = "";
  for (const result of results) {
    const node = $("result-template").content.cloneNode(true);
    const article = node.querySelector("article");
    const field = (name) => article.querySelector(`[data-field="${name}"]`);
    article.querySelector(".result-title").textContent = `${result.kind} w.r.t. ${result.wrt} (${result.shape})`;
    renderMath(field("math"), result.latex);
    field("check").textContent = result.check.message;
    field("check").className = `check ${result.check.status}`;
    field("text").textContent = result.text;
    field("latex").textContent = result.latex;
    renderMath(field("steps-math"), result.steps.latex);
    field("steps-text").textContent = result.steps.text;
    showCode(article, result, "numpy");
    for (const tab of article.querySelectorAll("[data-backend]")) {
      tab.addEventListener("click", () => showCode(article, result, tab.dataset.backend));
    }
    for (const button of article.querySelectorAll(".copy")) {
      button.addEventListener("click", () => copy(button.dataset.copy === "latex" ? result.latex
        : result.code[article.dataset.backend], button));
    }
    container.appendChild(node);
  }
  $("result-title").textContent = results.length > 1 ? "Results" : "Result";
  $("result-section").hidden = false;
}

function showCode(article, result, backend) {
  article.dataset.backend = backend;
  article.querySelector('[data-field="code"]').textContent = result.code[backend];
  for (const tab of article.querySelectorAll("[data-backend]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.backend === backend));
  }
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (err) {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const label = button.textContent;
  button.textContent = "copied";
  setTimeout(() => { button.textContent = label; }, 1200);
}

// -- verify ---------------------------------------------------------------------------------------
async function verify(event) {
  if (event) event.preventDefault();
  const box = $("claimed-error");
  let body;
  try {
    body = { ...request(), claimed: $("claimed").value };
  } catch (err) {
    showError(box, { type: "Input", message: err.message, position: null }, "");
    return;
  }
  if (!body.claimed.trim() || !body.f.trim()) return;
  if (Array.isArray(body.wrt)) {
    showError(box, { type: "Input", message: "check one variable at a time", position: null }, "");
    return;
  }
  saveState();
  const data = await post("/api/verify", body);
  if (data.error) {
    showError(box, data.error, data.error.message.includes("claim") ? body.claimed : body.f);
    $("verdict").hidden = true;
    return;
  }
  clearError(box);
  $("verdict-head").textContent = data.head[0].toUpperCase() + data.head.slice(1);
  $("verdict-head").className = data.correct ? "right" : "wrong";
  $("verdict-message").textContent = [data.message, ...data.details].join(" ");
  $("verdict-claim").parentElement.hidden = !data.claim;
  if (data.claim) renderMath($("verdict-claim"), data.claim.latex);
  renderMath($("verdict-answer"), data.answer.latex);
  $("verdict-counterexample").hidden = !data.counterexample;
  $("verdict-counterexample").textContent = data.counterexample || "";
  $("verdict").hidden = false;
}

// -- start ----------------------------------------------------------------------------------------
function fillExamples() {
  const select = $("examples");
  EXAMPLES.forEach(([label], index) => {
    const option = document.createElement("option");
    option.value = String(index);
    option.textContent = label;
    select.appendChild(option);
  });
  select.addEventListener("change", () => {
    if (select.value === "") return;
    const [, f, wrt, shapes, order, syntax] = EXAMPLES[Number(select.value)];
    $("f").value = f;
    fitLines();
    $("wrt").value = wrt;
    $("shapes").value = shapes;
    $("order").value = order || "1";
    $("syntax").value = syntax || "auto";
    select.value = "";
    derive();
  });
}

function fitLines() {   // the function box grows with a staged program's lines
  $("f").rows = Math.min(12, Math.max(1, $("f").value.split("\n").length));
}

document.addEventListener("DOMContentLoaded", () => {
  fillExamples();
  $("f").addEventListener("keydown", (e) => {   // Enter derives; Shift+Enter is a new line
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("derive-form").requestSubmit();
    }
  });
  $("f").addEventListener("input", fitLines);
  $("derive-form").addEventListener("submit", derive);
  $("verify-form").addEventListener("submit", verify);
  if (loadState()) {
    fitLines();
    derive().then(() => { if ($("claimed").value) verify(); });
  }
});
