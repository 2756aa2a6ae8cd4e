// Built by esbuild from kl_lessons/web/src (npm run bundle). Do not edit: edit the source and rebuild.

// kl_lessons/web/src/kit.js
var SVG_NS = "http://www.w3.org/2000/svg";
var OKABE_ITO = {
  orange: "#E69F00",
  sky: "#56B4E9",
  green: "#009E73",
  yellow: "#F0E442",
  blue: "#0072B2",
  vermillion: "#D55E00",
  purple: "#CC79A7",
  black: "#000000",
  grey: "#999999"
};
var KIT_CSS = `
.kl-widget { font: 14px/1.4 system-ui, sans-serif; color: #222; background: #fff; color-scheme: light;
  max-width: 700px; padding: 0.5em; border-radius: 4px; }
.kl-widget .kl-controls { display: flex; flex-wrap: wrap; gap: 0.4em 1.5em; margin-bottom: 0.4em; }
.kl-widget .kl-control { display: flex; align-items: center; gap: 0.5em; }
.kl-widget .kl-control input[type=range] { width: 11em; accent-color: #0072B2; }
.kl-widget .kl-control input:focus-visible { outline: 3px solid #E69F00; outline-offset: 2px; }
.kl-widget .kl-value { font-variant-numeric: tabular-nums; min-width: 4.5em; font-weight: 600; }
.kl-widget fieldset { border: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.6em; align-items: center; }
.kl-widget legend { float: left; margin-right: 0.5em; }
.kl-widget svg { width: 100%; height: auto; display: block; }
.kl-widget svg text { font: 11px system-ui, sans-serif; fill: #222; }
.kl-widget svg .kl-title { font-size: 12.5px; font-weight: 600; }
.kl-widget .kl-readout { font-variant-numeric: tabular-nums; margin-top: 0.3em; }
.kl-widget .kl-readout b { font-weight: 600; }
.kl-widget .kl-readout p { margin: 0.2em 0; }
.kl-widget table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.kl-widget .kl-scroll { max-width: 100%; overflow-x: auto; }
.kl-widget th, .kl-widget td { padding: 0.1em 1em 0.1em 0; text-align: right; }
.kl-widget th[scope=row] { text-align: left; }
`;
var kitCounter = 0;
function uniqueId(prefix) {
  kitCounter += 1;
  return `${prefix}-${kitCounter}-${Math.random().toString(36).slice(2, 8)}`;
}
function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}
function svg(parent, tag, attrs = {}) {
  const node = setAttrs(document.createElementNS(SVG_NS, tag), attrs);
  if (parent) parent.appendChild(node);
  return node;
}
function html(parent, tag, attrs = {}, text = "") {
  const node = setAttrs(document.createElement(tag), attrs);
  if (text) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}
function fmt(x, digits) {
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "-∞";
  if (Number.isNaN(x)) return "NaN";
  const text = x.toFixed(digits);
  return Number(text) === 0 ? 0 .toFixed(digits) : text;
}
function linear(d0, d1, r0, r1) {
  const k = (r1 - r0) / (d1 - d0);
  return (x) => r0 + (x - d0) * k;
}
function niceTicks(lo, hi, count) {
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  const ticks = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}
function listen(model, key, callback) {
  const event = `change:${key}`;
  model.on(event, callback);
  return () => {
    try {
      model.off(event, callback);
    } catch (err) {
    }
  };
}
function syncToModel(model, key, value) {
  try {
    model.set(key, value);
    model.save_changes();
  } catch (err) {
  }
}
var CONTROL_KEYS = /* @__PURE__ */ new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End"]);
function mountWidget(el, className) {
  const root = html(null, "div", { class: `kl-widget ${className}`, "data-lm-suppress-shortcuts": "true" });
  root.addEventListener("keydown", (event) => {
    if (CONTROL_KEYS.has(event.key) && event.target.closest("input, select")) event.stopPropagation();
  });
  html(root, "style", {}, KIT_CSS);
  el.appendChild(root);
  return root;
}
var NARROW_PX = 560;
function columnWidth(el) {
  return el.getBoundingClientRect().width || document.documentElement.clientWidth;
}
function responsive(draw2) {
  return ({ model, el }) => {
    let stop = null, narrow = null;
    const build = () => {
      if (stop) stop();
      el.replaceChildren();
      narrow = columnWidth(el) < NARROW_PX;
      stop = draw2({ model, el }, narrow);
    };
    build();
    const observer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => {
      if (columnWidth(el) < NARROW_PX !== narrow) build();
    });
    if (observer) observer.observe(el);
    return () => {
      if (observer) observer.disconnect();
      stop();
    };
  };
}
function gridPlace(j, { x, y, dx, dy, perRow }) {
  return { x: x + j % perRow * dx, y: y + Math.floor(j / perRow) * dy };
}
function makeFigure(parent, width, height, title, description) {
  const titleId = uniqueId("kl-title");
  const descId = uniqueId("kl-desc");
  const figure = svg(parent, "svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": `${titleId} ${descId}`
  });
  svg(figure, "title", { id: titleId }).textContent = title;
  const desc = svg(figure, "desc", { id: descId });
  desc.textContent = description;
  return { figure, desc };
}
function makeAxis(parent, { orient, at, from, to, count }) {
  const group = svg(parent, "g", { class: "kl-axis", "aria-hidden": "true" });
  const vertical = orient === "left";
  svg(group, "line", vertical ? { x1: at, x2: at, y1: from, y2: to, stroke: "#444" } : { y1: at, y2: at, x1: from, x2: to, stroke: "#444" });
  const items = [];
  for (let i = 0; i < count; i += 1) {
    const line = svg(group, "line", { stroke: "#444", visibility: "hidden" });
    const label = svg(group, "text", vertical ? { x: at - 6, "text-anchor": "end", "dominant-baseline": "middle", visibility: "hidden" } : { y: at + 14, "text-anchor": "middle", visibility: "hidden" });
    items.push({ line, label });
  }
  return {
    update(ticks, position, format) {
      items.forEach(({ line, label }, i) => {
        if (i >= ticks.length) {
          line.setAttribute("visibility", "hidden");
          label.setAttribute("visibility", "hidden");
          return;
        }
        const p = position(ticks[i]);
        setAttrs(line, vertical ? { x1: at - 4, x2: at, y1: p, y2: p, visibility: "visible" } : { x1: p, x2: p, y1: at, y2: at + 4, visibility: "visible" });
        setAttrs(label, vertical ? { y: p, visibility: "visible" } : { x: p, visibility: "visible" });
        label.textContent = format(ticks[i]);
      });
    }
  };
}
function bindSlider(model, state, parent, key, spec, redraw, cleanups) {
  const { label, min, max, step, text, toSlider = (v) => v, fromSlider = (v) => v } = spec;
  const id = uniqueId(`kl-${key}`);
  const row = html(parent, "div", { class: "kl-control" });
  html(row, "label", { for: id }, label);
  const input = html(row, "input", { type: "range", id, min, max, step, "data-key": key });
  input.value = String(toSlider(state[key]));
  const output = html(row, "output", { for: id, class: "kl-value", "data-readout": key });
  const show = () => {
    const shown = text(state[key]);
    output.textContent = shown;
    input.setAttribute("aria-valuetext", shown);
  };
  show();
  input.addEventListener("input", () => {
    state[key] = fromSlider(Number(input.value));
    show();
    redraw(key);
    syncToModel(model, key, state[key]);
  });
  cleanups.push(listen(model, key, () => {
    const value = model.get(key);
    if (value === state[key]) return;
    state[key] = value;
    input.value = String(toSlider(value));
    show();
    redraw(key);
  }));
  return input;
}
function readoutSpan(parent, key) {
  return html(parent, "span", { "data-readout": key });
}
function readModel(model, keys) {
  const state = {};
  for (const key of keys) {
    const value = model.get(key);
    if (value === void 0 || value === null) throw new Error(`the widget's model has no "${key}"`);
    state[key] = value;
  }
  return state;
}

// kl_lessons/web/src/math.js
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = a + 1831565813 >>> 0;
    let t = a;
    t = Math.imul(t ^ t >>> 15, t | 1);
    t ^= t + Math.imul(t ^ t >>> 7, t | 61);
    return ((t ^ t >>> 14) >>> 0) / 4294967296;
  };
}

// kl_lessons/web/src/lessons/controller_traces.js
function normalDraws(seed, count) {
  const next = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    const u = 1 - next();
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return out;
}
function logTable(betas, kls) {
  if (betas.length !== kls.length || betas.length < 2) throw new RangeError("betas and kls need the same length, at least 2");
  const order = betas.map((_, i) => i).sort((i, j) => betas[i] - betas[j]);
  return { logBetas: order.map((i) => Math.log(betas[i])), logKls: order.map((i) => Math.log(kls[i])) };
}
function interpolate(x, xs, ys) {
  if (x <= xs[0]) return ys[0];
  const n = xs.length;
  if (x >= xs[n - 1]) return ys[n - 1];
  let j = 0;
  while (xs[j + 1] <= x) j += 1;
  const slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]);
  return slope * (x - xs[j]) + ys[j];
}
function equilibriumKl(beta, betas, kls) {
  if (!(beta > 0)) throw new RangeError(`beta must be > 0, got ${beta}`);
  const { logBetas, logKls } = logTable(betas, kls);
  return Math.exp(interpolate(Math.log(beta), logBetas, logKls));
}
var KLPlant = class {
  constructor({ betas, kls, lag, noise, batchSize, kl0 = 0, normals = null }) {
    const table = logTable(betas, kls);
    this.logBetas = table.logBetas;
    this.logKls = table.logKls;
    this.lag = lag;
    this.noise = noise;
    this.batchSize = batchSize;
    this.klTrue = kl0;
    this.normals = normals;
    this.t = 0;
  }
  equilibrium(beta) {
    return Math.exp(interpolate(Math.log(beta), this.logBetas, this.logKls));
  }
  step(beta) {
    const target = this.equilibrium(beta);
    const z = this.normals ? this.normals[this.t] : 0;
    this.t += 1;
    const measured = this.klTrue + this.noise / Math.sqrt(this.batchSize) * z;
    this.klTrue += (target - this.klTrue) / this.lag;
    return measured;
  }
};
var AdaptiveKLController = class {
  constructor(initKlCoef, target, horizon) {
    this.value = initKlCoef;
    this.target = target;
    this.horizon = horizon;
  }
  update(current, nSteps = 1) {
    const error = Math.min(Math.max(current / this.target - 1, -0.2), 0.2);
    this.value *= 1 + error * nSteps / this.horizon;
    return this.value;
  }
};
var ThresholdKLController = class {
  constructor(initKlCoef = 0.1, target = 0.02, factor = 1.5, bounds = [0.01, 1]) {
    this.target = target;
    this.factor = factor;
    this.bounds = bounds;
    this.value = Math.min(Math.max(initKlCoef, bounds[0]), bounds[1]);
  }
  update(current) {
    if (current > this.factor * this.target) this.value *= this.factor;
    else if (current < 0.5 * this.target) this.value /= this.factor;
    this.value = Math.min(Math.max(this.value, this.bounds[0]), this.bounds[1]);
    return this.value;
  }
};
function simulateControl(controller, plant, nSteps) {
  const beta = new Float64Array(nSteps), klTrue = new Float64Array(nSteps), klMeasured = new Float64Array(nSteps);
  for (let t = 0; t < nSteps; t += 1) {
    beta[t] = controller.value;
    klTrue[t] = plant.klTrue;
    klMeasured[t] = plant.step(beta[t]);
    controller.update(klMeasured[t], plant.batchSize);
  }
  return { beta, klTrue, klMeasured };
}
function settledStats(klMeasured, target) {
  const tail = klMeasured.slice(Math.floor(klMeasured.length / 2));
  const mean = tail.reduce((s, x) => s + x, 0) / tail.length;
  const rms = Math.sqrt(tail.reduce((s, x) => s + (x - target) ** 2, 0) / tail.length);
  return { mean, rms };
}
var KEYS = [
  "plant_betas",
  "plant_kls",
  "lag",
  "noise",
  "batch_size",
  "kl0",
  "seed",
  "n_steps",
  "init_beta",
  "target",
  "horizon",
  "threshold_factor",
  "threshold_bounds",
  "target_range",
  "log10_horizon_range",
  "noise_range"
];
var RUNS = {
  adaptive: { colour: OKABE_ITO.blue, dash: "none", name: "proportional (Ziegler et al.)", short: "proportional" },
  threshold: { colour: OKABE_ITO.vermillion, dash: "6 3", name: "threshold (×1.5 / ÷1.5)", short: "threshold" }
};
function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const n = state.n_steps;
  const normals = normalDraws(state.seed, n);
  const root = mountWidget(el, "kl-controller-traces");
  const controls = html(root, "div", { class: "kl-controls" });
  const W = narrow ? 360 : 680, H = narrow ? 430 : 400;
  const { figure, desc } = makeFigure(root, W, H, "Two KL controllers steering a simulated policy", "");
  const x0 = narrow ? 56 : 60, x1 = narrow ? 348 : 665;
  const klPanel = narrow ? { y0: 220, y1: 78 } : { y0: 190, y1: 42 }, betaPanel = narrow ? { y0: 380, y1: 255 } : { y0: 350, y1: 225 };
  const xOf = linear(0, n - 1, x0, x1);
  svg(figure, "text", { x: (x0 + x1) / 2, y: 14, "text-anchor": "middle", class: "kl-title" }).textContent = narrow ? "Measured KL, and the β each controller sets" : "Measured KL per step, and the β each controller sets";
  makeAxis(figure, { orient: "bottom", at: betaPanel.y0, from: x0, to: x1, count: 10 }).update(niceTicks(0, n - 1, 8), xOf, (t) => String(t));
  svg(figure, "line", { x1: x0, x2: x1, y1: klPanel.y0, y2: klPanel.y0, stroke: "#444" });
  svg(figure, "text", { x: (x0 + x1) / 2, y: H - 12, "text-anchor": "middle" }).textContent = "training step";
  [[klPanel, "KL (nats)"], [betaPanel, "β (log scale)"]].forEach(([panel, text]) => {
    const y = (panel.y0 + panel.y1) / 2;
    svg(figure, "text", { x: 14, y, transform: `rotate(-90 14 ${y})`, "text-anchor": "middle" }).textContent = text;
  });
  const klAxis = makeAxis(figure, { orient: "left", at: x0, from: klPanel.y0, to: klPanel.y1, count: 10 });
  const betaAxis = makeAxis(figure, { orient: "left", at: x0, from: betaPanel.y0, to: betaPanel.y1, count: 8 });
  const targetLine = svg(figure, "line", { x1: x0, x2: x1, stroke: OKABE_ITO.black, "stroke-width": 1.5, "stroke-dasharray": "2 3" });
  const lines = {};
  for (const [name, { colour, dash }] of Object.entries(RUNS)) {
    lines[name] = {
      kl: svg(figure, "polyline", { fill: "none", stroke: colour, "stroke-width": 1.6, "stroke-dasharray": dash }),
      beta: svg(figure, "polyline", { fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": dash })
    };
  }
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  [...Object.values(RUNS).map((r) => [r.colour, r.dash, r.name]), [OKABE_ITO.black, "2 3", "target KL"]].forEach(([colour, dash, text], j) => {
    const { x, y } = gridPlace(j, { x: x0 + 10, y: 28, dx: 200, dy: 16, perRow: narrow ? 1 : 3 });
    svg(legend, "line", { x1: x, x2: x + 24, y1: y, y2: y, stroke: colour, "stroke-width": 2, "stroke-dasharray": dash });
    svg(legend, "text", { x: x + 29, y: y + 4 }).textContent = text;
  });
  const readout = html(root, "div", { class: "kl-readout", "aria-live": "polite" });
  const table = html(readout, "table");
  const head = html(table, "tr");
  ["controller", "final β", "mean KL, 2nd half (nats)", "RMS from target (nats)"].forEach((t) => html(head, "th", { scope: "col" }, t));
  const cells = {};
  for (const [name, { short: label }] of Object.entries(RUNS)) {
    const row = html(table, "tr");
    html(row, "th", { scope: "row" }, label);
    cells[name] = ["beta", "kl", "rms"].map((stat) => readoutSpan(html(row, "td"), `${name}_${stat}`));
  }
  function run(controller) {
    const plant = new KLPlant({
      betas: state.plant_betas,
      kls: state.plant_kls,
      lag: state.lag,
      noise: state.noise,
      batchSize: state.batch_size,
      kl0: state.kl0,
      normals
    });
    return simulateControl(controller, plant, n);
  }
  const xText = Array.from({ length: n }, (_, t) => `${xOf(t).toFixed(1)},`);
  function points(values, y) {
    let text = "";
    for (let t = 0; t < n; t += 1) text += `${xText[t]}${Math.round(y(values[t]) * 10) / 10} `;
    return text;
  }
  function redraw() {
    const traces = {
      adaptive: run(new AdaptiveKLController(state.init_beta, state.target, state.horizon)),
      threshold: run(new ThresholdKLController(state.init_beta, state.target, state.threshold_factor, state.threshold_bounds))
    };
    let klHi = state.target, bLo = Infinity, bHi = -Infinity, klLo = 0;
    for (const tr of Object.values(traces)) {
      for (let t = 0; t < n; t += 1) {
        klHi = Math.max(klHi, tr.klMeasured[t]);
        klLo = Math.min(klLo, tr.klMeasured[t]);
        bLo = Math.min(bLo, tr.beta[t]);
        bHi = Math.max(bHi, tr.beta[t]);
      }
    }
    const klY = linear(klLo, klHi * 1.05, klPanel.y0, klPanel.y1);
    klAxis.update(niceTicks(klLo, klHi * 1.05, 5), klY, (t) => fmt(t, 1));
    const dLo = Math.floor(Math.log10(bLo) + 1e-9), dHi = Math.max(Math.ceil(Math.log10(bHi) - 1e-9), dLo + 1);
    const betaY = linear(dLo, dHi, betaPanel.y0, betaPanel.y1);
    const decades = Array.from({ length: dHi - dLo + 1 }, (_, i) => dLo + i);
    betaAxis.update(decades, betaY, (d) => d >= 0 ? String(10 ** d) : (10 ** d).toFixed(-d));
    setAttrs(targetLine, { y1: klY(state.target), y2: klY(state.target) });
    const summary = [];
    for (const [name, tr] of Object.entries(traces)) {
      lines[name].kl.setAttribute("points", points(tr.klMeasured, klY));
      lines[name].beta.setAttribute("points", points(tr.beta, (v) => betaY(Math.log10(v))));
      const { mean, rms } = settledStats(tr.klMeasured, state.target);
      const finalBeta = tr.beta[n - 1];
      cells[name][0].textContent = fmt(finalBeta, 4);
      cells[name][1].textContent = fmt(mean, 4);
      cells[name][2].textContent = fmt(rms, 4);
      summary.push(`${RUNS[name].name}: final β ${fmt(finalBeta, 4)}, mean KL ${fmt(mean, 4)} nats over the second half`);
    }
    desc.textContent = `Target ${fmt(state.target, 2)} nats, horizon ${Math.round(state.horizon)}, noise ${fmt(state.noise, 1)} nats. ${summary.join("; ")}.`;
  }
  const [tLo, tHi] = state.target_range, [hLo, hHi] = state.log10_horizon_range, [nLo, nHi] = state.noise_range;
  bindSlider(model, state, controls, "target", {
    label: "Target KL (nats)",
    min: tLo,
    max: tHi,
    step: 0.05,
    text: (v) => fmt(v, 2)
  }, redraw, cleanups);
  bindSlider(model, state, controls, "horizon", {
    label: "Horizon (samples, log scale)",
    min: hLo,
    max: hHi,
    step: 0.05,
    text: (v) => String(Math.round(v)),
    toSlider: (v) => Math.log10(v),
    fromSlider: (v) => 10 ** v
  }, redraw, cleanups);
  bindSlider(model, state, controls, "noise", {
    label: "Noise of one reading (nats)",
    min: nLo,
    max: nHi,
    step: 0.1,
    text: (v) => fmt(v, 1)
  }, redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}
var render = responsive(draw);
var controller_traces_default = { render };
export {
  AdaptiveKLController,
  KEYS,
  KLPlant,
  ThresholdKLController,
  controller_traces_default as default,
  equilibriumKl,
  normalDraws,
  settledStats,
  simulateControl
};
