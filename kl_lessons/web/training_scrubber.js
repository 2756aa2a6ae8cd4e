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
function nearestIndex(values, x) {
  if (!values.length) throw new RangeError("values is empty: there is no nearest value");
  let best = 0;
  for (let i = 1; i < values.length; i += 1) {
    const d = Math.abs(values[i] - x), bestD = Math.abs(values[best] - x);
    if (d < bestD || d === bestD && values[i] < values[best]) best = i;
  }
  return best;
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

// kl_lessons/web/src/lessons/training_scrubber.js
function symlog(v) {
  return Math.sign(v) * Math.log10(1 + Math.abs(v));
}
function nearestSampleStep(samples, step) {
  return samples.length ? samples[nearestIndex(samples.map(([s]) => s), step)][0] : null;
}
function seriesRange(runs, key) {
  return valueRange(runs.map((run) => run.metrics[key]));
}
var KEYS = ["runs", "n_steps", "step", "front"];
var ALL = "all runs";
var PANELS = [
  { key: "kl_mean", title: "KL per text (batch mean)", short: "KL per text (mean)", unit: "nats, symlog", scale: "symlog" },
  { key: "proxy", title: "proxy reward (trained on)", short: "proxy (trained on)", unit: "points" },
  { key: "gold", title: "gold score (not trained on)", short: "gold (not trained on)", unit: "score units" },
  { key: "entropy", title: "policy entropy", short: "policy entropy", unit: "nats/char" },
  { key: "distinct2", title: "distinct-2 of the batch", short: "distinct-2 of batch", unit: "share" },
  { key: "beta", title: "β, the KL coefficient", short: "β, KL coefficient", unit: "points/nat" }
];
var COLUMNS = [
  ["kl_mean", "KL mean (nats)"],
  ["kl_max", "KL max (nats)"],
  ["proxy", "proxy"],
  ["gold", "gold"],
  ["entropy", "entropy (nats/char)"],
  ["distinct2", "distinct-2"],
  ["ref_loglik", "log π_ref (nats/char)"],
  ["beta", "β"]
];
var STYLES = [
  { colour: OKABE_ITO.vermillion, dash: "none", marker: "circle" },
  { colour: OKABE_ITO.blue, dash: "6 3", marker: "square" },
  { colour: OKABE_ITO.green, dash: "8 3 2 3", marker: "diamond" },
  { colour: OKABE_ITO.orange, dash: "2 2", marker: "circle" }
];
function markerShape(parent, kind, colour) {
  if (kind === "square") return svg(parent, "rect", { width: 7, height: 7, fill: colour, stroke: OKABE_ITO.black, "stroke-width": 0.6 });
  if (kind === "diamond") return svg(parent, "rect", { width: 7, height: 7, fill: colour, stroke: OKABE_ITO.black, "stroke-width": 0.6, class: "kl-diamond" });
  return svg(parent, "circle", { r: 4, fill: colour, stroke: OKABE_ITO.black, "stroke-width": 0.6 });
}
function placeMarker(node, kind, x, y) {
  if (kind === "circle") setAttrs(node, { cx: x, cy: y });
  else if (kind === "diamond") setAttrs(node, { x: x - 3.5, y: y - 3.5, transform: `rotate(45 ${x} ${y})` });
  else setAttrs(node, { x: x - 3.5, y: y - 3.5 });
}
function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const runs = state.runs, n = state.n_steps;
  const names = runs.map((r) => r.name);
  const root = mountWidget(el, "kl-training-scrubber");
  const controls = html(root, "div", { class: "kl-controls" });
  const W = narrow ? 360 : 720, H = narrow ? 574 : 430;
  const { figure, desc } = makeFigure(root, W, H, `Lesson 6: ${names.join(", ")}, replayed step by step`, "");
  const cols = narrow ? 2 : 3, panelW = narrow ? 110 : 175, panelH = narrow ? 110 : 120, gapX = narrow ? 70 : 62, left = 52;
  const tops = narrow ? [70, 246, 422] : [52, 245];
  const xOf = (p) => linear(0, n - 1, left + p * (panelW + gapX), left + p * (panelW + gapX) + panelW);
  const cursors = [], markers = [];
  PANELS.forEach((panel, i) => {
    const col = i % cols, top = tops[Math.floor(i / cols)], bottom = top + panelH;
    const x = xOf(col), x0 = x(0), x1 = x(n - 1);
    const tf = panel.scale === "symlog" ? symlog : (v) => v;
    const [lo, hi] = seriesRange(runs, panel.key).map(tf);
    const pad = 0.05 * (hi - lo);
    const y = linear(lo - pad, hi + pad, bottom, top);
    svg(figure, "text", { x: (x0 + x1) / 2, y: top - 8, "text-anchor": "middle", class: "kl-title", ...narrow ? { style: "font-size: 11px" } : {} }).textContent = narrow ? panel.short : panel.title;
    const unitX = x0 - (narrow ? 36 : 40);
    svg(figure, "text", { x: unitX, y: (top + bottom) / 2, transform: `rotate(-90 ${unitX} ${(top + bottom) / 2})`, "text-anchor": "middle" }).textContent = panel.unit;
    const inside = (t) => t >= lo - pad && t <= hi + pad;
    const ticks = panel.scale === "symlog" ? [0, 1, 10, 100, 1e3, 1e4].flatMap((v) => v ? [-v, v] : [v]).map(symlog).filter(inside).sort((a, b) => a - b) : niceTicks(lo - pad, hi + pad, 4).filter(inside);
    const label = panel.scale === "symlog" ? (t) => String(Math.round(Math.sign(t) * (10 ** Math.abs(t) - 1))) : (t) => String(Number(t.toPrecision(3)));
    makeAxis(figure, { orient: "left", at: x0, from: bottom, to: top, count: 10 }).update(ticks, y, label);
    makeAxis(figure, { orient: "bottom", at: bottom, from: x0, to: x1, count: 6 }).update(niceTicks(0, n - 1, 3), x, (t) => String(t));
    const lines = runs.map((run, r) => {
      const { colour, dash } = STYLES[r % STYLES.length];
      const group = svg(figure, "g", { "data-run": run.name });
      let points = [];
      const flush = () => {
        if (points.length) svg(group, "polyline", { points: points.join(" "), fill: "none", stroke: colour, "stroke-width": 1.5, "stroke-dasharray": dash });
        points = [];
      };
      run.metrics[panel.key].forEach((v, t) => {
        if (v === null) flush();
        else points.push(`${x(t).toFixed(1)},${y(tf(v)).toFixed(1)}`);
      });
      flush();
      return group;
    });
    cursors.push({ line: svg(figure, "line", { y1: top, y2: bottom, stroke: OKABE_ITO.black, "stroke-width": 1, "stroke-dasharray": "2 2" }), x });
    markers.push({ lines, x, y, tf, key: panel.key, nodes: runs.map((_, r) => markerShape(figure, STYLES[r % STYLES.length].marker, STYLES[r % STYLES.length].colour)) });
  });
  svg(figure, "text", { x: W / 2, y: H - 8, "text-anchor": "middle" }).textContent = "training step";
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  names.forEach((name, r) => {
    const { colour, dash } = STYLES[r % STYLES.length];
    const { x, y } = gridPlace(r, { x: narrow ? 14 : left, y: 16, dx: 170, dy: 16, perRow: narrow ? 2 : 4 });
    svg(legend, "line", { x1: x, x2: x + 26, y1: y, y2: y, stroke: colour, "stroke-width": 2, "stroke-dasharray": dash });
    svg(legend, "text", { x: x + 31, y: y + 4 }).textContent = name;
  });
  const readout = html(root, "div", { class: "kl-readout", "aria-live": "polite" });
  const heading = html(readout, "p");
  const table = html(html(readout, "div", { class: "kl-scroll" }), "table");
  const head = html(table, "tr");
  html(head, "th", { scope: "col" }, "run");
  COLUMNS.forEach(([, title]) => html(head, "th", { scope: "col" }, title));
  const cells = runs.map((run) => {
    const row = html(table, "tr");
    html(row, "th", { scope: "row" }, run.name);
    return COLUMNS.map(([key]) => html(row, "td", { "data-readout": `${run.name}:${key}` }));
  });
  const sampleList = html(readout, "div", { class: "kl-samples" });
  const sampleLines = runs.map(() => html(sampleList, "p"));
  const value = (run, key, t) => run.metrics[key][t];
  const text = (v, digits = 2) => v === null ? "n/a" : fmt(v, digits);
  function redrawStep() {
    const t = Math.round(state.step);
    heading.textContent = `Step ${t} of ${n - 1}`;
    cursors.forEach(({ line, x }) => setAttrs(line, { x1: x(t), x2: x(t) }));
    markers.forEach(({ nodes, x, y, tf, key }) => nodes.forEach((node, r) => {
      const v = value(runs[r], key, t);
      if (v === null) {
        node.setAttribute("visibility", "hidden");
        return;
      }
      node.setAttribute("visibility", "visible");
      placeMarker(node, STYLES[r % STYLES.length].marker, x(t), y(tf(v)));
    }));
    runs.forEach((run, r) => COLUMNS.forEach(([key], c) => {
      cells[r][c].textContent = text(value(run, key, t), key === "beta" ? 3 : 2);
    }));
    runs.forEach((run, r) => {
      const s = nearestSampleStep(run.samples, t);
      const texts = s === null ? [] : run.samples.find(([k]) => k === s)[1];
      sampleLines[r].textContent = s === null ? `${run.name}: no samples recorded` : `${run.name}, samples at step ${s}: ${texts.map((x) => `“${x.replace(/\n/g, " / ")}”`).join("  ")}`;
    });
    desc.textContent = `Step ${t}. ` + runs.map((run) => `${run.name}: KL ${text(value(run, "kl_mean", t), 1)} nats, proxy ${text(value(run, "proxy", t))}, gold ${text(value(run, "gold", t))}`).join("; ") + ".";
  }
  function redrawFront() {
    markers.forEach(({ lines, nodes }) => runs.forEach((run, r) => {
      const opacity = state.front === ALL || state.front === run.name ? 1 : 0.2;
      lines[r].setAttribute("opacity", opacity);
      nodes[r].setAttribute("opacity", opacity);
      if (state.front === run.name) lines[r].parentNode.appendChild(lines[r]);
    }));
  }
  const redraw = (key) => key === "front" ? redrawFront() : redrawStep();
  bindSlider(model, state, controls, "step", { label: "Training step", min: 0, max: n - 1, step: 1, text: (v) => String(v) }, redraw, cleanups);
  bindChoice(model, state, controls, "front", { label: "In front", options: [ALL, ...names] }, redraw, cleanups);
  redrawFront();
  redrawStep();
  return () => cleanups.forEach((stop) => stop());
}
var render = responsive(draw);
var training_scrubber_default = { render };
export {
  KEYS,
  training_scrubber_default as default,
  nearestSampleStep,
  seriesRange,
  symlog
};
