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
function bindChoice(model, state, parent, key, { label, options }, redraw, cleanups) {
  const name = uniqueId(`kl-${key}`);
  const group = html(parent, "fieldset", { class: "kl-control", "data-key": key });
  html(group, "legend", {}, label);
  const inputs = options.map((option) => {
    const id = uniqueId(`kl-${key}-${option}`);
    const input = html(group, "input", { type: "radio", name, id, value: option });
    input.checked = option === state[key];
    html(group, "label", { for: id }, option);
    input.addEventListener("change", () => {
      if (!input.checked) return;
      state[key] = option;
      redraw(key);
      syncToModel(model, key, option);
    });
    return input;
  });
  cleanups.push(listen(model, key, () => {
    const value = model.get(key);
    if (value === state[key]) return;
    state[key] = value;
    inputs.forEach((input) => {
      input.checked = input.value === value;
    });
    redraw(key);
  }));
  return inputs;
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
function quantile(sorted, q) {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}
function valueRange(seriesList) {
  let lo = Infinity, hi = -Infinity;
  for (const series of seriesList) {
    for (const v of series) {
      if (v === null || !Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (lo === Infinity) return [0, 1];
  if (hi - lo < 1e-12) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

// kl_lessons/web/src/lessons/trl_log.js
function keyRange(runs, key) {
  return valueRange(runs.map((run) => run.series[key]));
}
function runMedian(series) {
  const values = series.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  return values.length ? quantile(values, 0.5) : null;
}
var KEYS = ["runs", "log_keys", "n_steps", "step", "key", "beta"];
var STYLES = [
  { colour: OKABE_ITO.vermillion, dash: "none" },
  { colour: OKABE_ITO.orange, dash: "6 3" },
  { colour: OKABE_ITO.blue, dash: "2 2" },
  { colour: OKABE_ITO.green, dash: "8 3 2 3" }
];
function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const runs = state.runs, n = state.n_steps;
  const root = mountWidget(el, "kl-trl-log");
  const controls = html(root, "div", { class: "kl-controls" });
  const W = narrow ? 360 : 720, H = narrow ? 300 : 280;
  const left = narrow ? 62 : 70, right = W - 16, top = narrow ? 58 : 44, bottom = H - 44;
  const { figure, desc } = makeFigure(root, W, H, "Lesson 9: TRL's GRPO log, step by step", "");
  const title = svg(figure, "text", { x: (left + right) / 2, y: top - 12, "text-anchor": "middle", class: "kl-title" });
  const unitLabel = svg(figure, "text", { x: 16, y: (top + bottom) / 2, transform: `rotate(-90 16 ${(top + bottom) / 2})`, "text-anchor": "middle" });
  svg(figure, "text", { x: (left + right) / 2, y: H - 8, "text-anchor": "middle" }).textContent = "optimiser step";
  const x = linear(1, n, left, right);
  const yAxis = makeAxis(figure, { orient: "left", at: left, from: bottom, to: top, count: 8 });
  makeAxis(figure, { orient: "bottom", at: bottom, from: left, to: right, count: 8 }).update(niceTicks(1, n, 5), x, (t) => String(t));
  const lines = runs.map((run, r) => svg(figure, "polyline", {
    fill: "none",
    stroke: STYLES[r % STYLES.length].colour,
    "stroke-width": 2,
    "stroke-dasharray": STYLES[r % STYLES.length].dash
  }));
  const cursor = svg(figure, "line", { y1: top, y2: bottom, stroke: OKABE_ITO.black, "stroke-width": 1, "stroke-dasharray": "2 2" });
  const dots = runs.map((_, r) => svg(figure, "circle", { r: 4, fill: STYLES[r % STYLES.length].colour, stroke: OKABE_ITO.black, "stroke-width": 0.6 }));
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  runs.forEach((run, r) => {
    const { colour, dash } = STYLES[r % STYLES.length];
    const p = gridPlace(r, { x: left, y: 14, dx: 110, dy: 16, perRow: narrow ? 3 : 4 });
    svg(legend, "line", { x1: p.x, x2: p.x + 24, y1: p.y, y2: p.y, stroke: colour, "stroke-width": 2, "stroke-dasharray": dash });
    svg(legend, "text", { x: p.x + 29, y: p.y + 4 }).textContent = `β = ${run.beta}`;
  });
  const readout = html(root, "div", { class: "kl-readout", "aria-live": "polite" });
  const heading = html(readout, "p");
  const table = html(html(readout, "div", { class: "kl-scroll" }), "table");
  const cells = state.log_keys.map(({ key, unit }) => {
    const row = html(table, "tr");
    html(row, "th", { scope: "row" }, `${key} (${unit})`);
    return html(row, "td", { "data-readout": key });
  });
  const sampleList = html(readout, "div", { class: "kl-samples" });
  const unitOf = (key) => state.log_keys.find((k) => k.key === key).unit;
  const runOf = () => runs.find((run) => run.beta === state.beta) || runs[0];
  const text = (v) => v === null ? "not logged" : fmt(v, 3);
  let y = null;
  function redrawKey() {
    const [lo, hi] = keyRange(runs, state.key);
    const pad = 0.06 * (hi - lo);
    y = linear(lo - pad, hi + pad, bottom, top);
    yAxis.update(niceTicks(lo - pad, hi + pad, 5).filter((t) => t >= lo - pad && t <= hi + pad), y, (t) => String(Number(t.toPrecision(3))));
    title.textContent = state.key;
    unitLabel.textContent = unitOf(state.key);
    runs.forEach((run, r) => {
      const points = run.series[state.key].map((v, i) => v === null ? null : `${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`).filter(Boolean);
      setAttrs(lines[r], { points: points.join(" "), opacity: run.beta === state.beta ? 1 : 0.3 });
      if (run.beta === state.beta) figure.insertBefore(lines[r], cursor);
    });
    redrawStep();
  }
  function redrawStep() {
    const t = Math.round(state.step), run = runOf();
    heading.textContent = `Step ${t} of ${n}, β = ${run.beta}; median ${state.key} over the run: ${text(runMedian(run.series[state.key]))}`;
    setAttrs(cursor, { x1: x(t), x2: x(t) });
    runs.forEach((r, i) => {
      const v = r.series[state.key][t - 1];
      setAttrs(dots[i], v === null ? { visibility: "hidden" } : { visibility: "visible", cx: x(t), cy: y(v), opacity: r.beta === state.beta ? 1 : 0.3 });
    });
    state.log_keys.forEach(({ key }, c) => {
      cells[c].textContent = text(run.series[key][t - 1]);
    });
    sampleList.replaceChildren();
    html(sampleList, "p", {}, `Completions TRL sampled at step ${t}:`);
    run.completions[t - 1].forEach((s) => html(sampleList, "p", { class: "kl-sample" }, `“${s}”`));
    desc.textContent = `Step ${t}. ` + runs.map((r) => `β = ${r.beta}: ${state.key} ${text(r.series[state.key][t - 1])}`).join("; ") + ".";
  }
  const redraw = (key) => key === "step" ? redrawStep() : redrawKey();
  bindSlider(model, state, controls, "step", { label: "Step", min: 1, max: n, step: 1, text: (v) => String(v) }, redraw, cleanups);
  bindChoice(model, state, controls, "beta", { label: "β", options: runs.map((run) => run.beta) }, redraw, cleanups);
  bindChoice(model, state, controls, "key", { label: "Logged key", options: state.log_keys.map((k) => k.key) }, redraw, cleanups);
  redrawKey();
  return () => cleanups.forEach((stop) => stop());
}
var render = responsive(draw);
var trl_log_default = { render };
export {
  KEYS,
  trl_log_default as default,
  keyRange,
  runMedian
};
