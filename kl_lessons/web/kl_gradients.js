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
function hatchPattern(defs, colour, { kind = "diagonal", solid = false } = {}) {
  const id = uniqueId("kl-hatch");
  const turned = kind === "dots" ? {} : { patternTransform: "rotate(45)" };
  const pattern = svg(defs, "pattern", { id, width: 6, height: 6, patternUnits: "userSpaceOnUse", ...turned });
  svg(pattern, "rect", { width: 6, height: 6, fill: colour, "fill-opacity": solid ? 1 : 0.25 });
  const ink = solid ? { colour: "#000000", opacity: 0.6, width: 1.2 } : { colour, opacity: 1, width: 2.5 };
  if (kind === "dots") {
    svg(pattern, "circle", { cx: 3, cy: 3, r: 1.2, fill: ink.colour, "fill-opacity": ink.opacity });
  } else {
    const line = { stroke: ink.colour, "stroke-opacity": ink.opacity, "stroke-width": ink.width };
    svg(pattern, "line", { x1: 0, y1: 0, x2: 0, y2: 6, ...line });
    if (kind === "cross") svg(pattern, "line", { x1: 0, y1: 3, x2: 6, y2: 3, ...line });
  }
  return `url(#${id})`;
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
function nearestIndex(values, x) {
  if (!values.length) throw new RangeError("values is empty: there is no nearest value");
  let best = 0;
  for (let i = 1; i < values.length; i += 1) {
    const d = Math.abs(values[i] - x), bestD = Math.abs(values[best] - x);
    if (d < bestD || d === bestD && values[i] < values[best]) best = i;
  }
  return best;
}

// kl_lessons/web/src/lessons/kl_gradients.js
function combinedUpdate(rewardGrad, klGrad, beta) {
  if (rewardGrad.length !== klGrad.length) throw new RangeError(`lengths differ: ${rewardGrad.length} and ${klGrad.length}`);
  if (!(beta > 0)) throw new RangeError(`beta must be > 0, got ${beta}`);
  return rewardGrad.map((r, i) => r - beta * klGrad[i]);
}
function biasMetrics(a, b) {
  let diff = 0, na = 0, nb = 0, dot = 0;
  a.forEach((x, i) => {
    diff += (x - b[i]) ** 2;
    na += x * x;
    nb += b[i] * b[i];
    dot += x * b[i];
  });
  if (nb === 0) throw new RangeError("the exact gradient is zero: relative error is undefined");
  return { relError: Math.sqrt(diff / nb), cosine: na === 0 ? 0 : dot / Math.sqrt(na * nb) };
}
var KEYS = [
  "recipe",
  "mode",
  "beta",
  "drift",
  "tokens",
  "prefixes",
  "recipes",
  "labels",
  "modes",
  "drifts",
  "betas",
  "kl_to_old",
  "kl_to_ref",
  "exact",
  "reward_grad",
  "expected",
  "metrics"
];
function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const root = mountWidget(el, "kl-gradients");
  const controls = html(root, "div", { class: "kl-controls" });
  const V = state.tokens.length, P = state.prefixes.length;
  const W = narrow ? 360 : 680, x0 = narrow ? 56 : 60, x1 = narrow ? 352 : 670;
  const split = narrow ? Math.ceil(P / 2) : P;
  const bands = (narrow ? [[0, split, 74, 190], [split, P, 256, 372]] : [[0, P, 44, 232]]).map(([start, end, top, bottom]) => ({ start, end, top, bottom }));
  const last = bands[bands.length - 1];
  const H = last.bottom + 62;
  const { figure, desc } = makeFigure(root, W, H, "A recipe's expected update against the exact update", "");
  const defs = svg(figure, "defs");
  const hatch = hatchPattern(defs, OKABE_ITO.vermillion);
  svg(figure, "text", { x: (x0 + x1) / 2, y: 16, "text-anchor": "middle", class: "kl-title" }).textContent = narrow ? "∇E[r] − β·g for every logit" : "∇E[r] − β·g for every logit: the recipe's expectation (hatched) and the exact one (outline)";
  const slot = (x1 - x0) / (split * V);
  const bars = [];
  bands.forEach((band) => {
    const { top, bottom } = band;
    band.axis = makeAxis(figure, { orient: "left", at: x0, from: top, to: bottom, count: 9 });
    band.zero = svg(figure, "line", { x1: x0, x2: x0 + (band.end - band.start) * V * slot, stroke: "#444" });
    svg(figure, "text", { x: 14, y: (top + bottom) / 2, transform: `rotate(-90 14 ${(top + bottom) / 2})`, "text-anchor": "middle" }).textContent = narrow ? "reward units / unit logit" : "reward units per unit logit";
    for (let p = band.start; p < band.end; p += 1) {
      const groupX = x0 + (p - band.start) * V * slot;
      svg(figure, "text", { x: groupX + V * slot / 2, y: bottom + 30, "text-anchor": "middle" }).textContent = state.prefixes[p];
      if (p > band.start) svg(figure, "line", { x1: groupX, x2: groupX, y1: top, y2: bottom + 20, stroke: "#444", "stroke-opacity": 0.2 });
      for (let v = 0; v < V; v += 1) {
        const x = groupX + v * slot + 1;
        svg(figure, "text", { x: x + slot / 2 - 1, y: bottom + 14, "text-anchor": "middle", "font-size": 9 }).textContent = state.tokens[v];
        const expected = svg(figure, "rect", { x, width: slot - 2, fill: hatch, stroke: OKABE_ITO.vermillion, "stroke-width": 1 });
        const exact = svg(figure, "rect", { x: x + 1, width: slot - 4, fill: "none", stroke: OKABE_ITO.black, "stroke-width": 1.5, "stroke-dasharray": "3 2" });
        bars.push({ expected, exact, band });
      }
    }
  });
  svg(figure, "text", { x: (x0 + x1) / 2, y: last.bottom + 48, "text-anchor": "middle" }).textContent = "prefix (row of logits) and next token";
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  [[hatch, OKABE_ITO.vermillion, "", "recipe's expected update"], ["none", OKABE_ITO.black, "3 2", "exact update"]].forEach(([fill, stroke, dash, text], j) => {
    const { x, y } = gridPlace(j, narrow ? { x: x0 - 30, y: 28, dx: 0, dy: 16, perRow: 1 } : { x: x0 + 10, y: 24, dx: 220, dy: 0, perRow: 2 });
    svg(legend, "rect", { x, y, width: 14, height: 10, fill, stroke, "stroke-dasharray": dash });
    svg(legend, "text", { x: x + 20, y: y + 9 }).textContent = text;
  });
  const readout = html(root, "div", { class: "kl-readout", "aria-live": "polite" });
  const line = html(readout, "p");
  html(line, "b", {}, "This recipe: ");
  line.append("relative error ");
  const relSpan = readoutSpan(line, "rel_error");
  line.append(", cosine ");
  const cosSpan = readoutSpan(line, "cosine");
  line.append(". KL(π‖π_old) = ");
  const oldSpan = readoutSpan(line, "kl_to_old");
  line.append(" nats, KL(π‖π_ref) = ");
  const refSpan = readoutSpan(line, "kl_to_ref");
  line.append(" nats.");
  const table = html(html(readout, "div", { class: "kl-scroll" }), "table");
  const head = html(html(table, "thead"), "tr");
  ["recipe", "rel. error on-policy", "rel. error off-policy"].forEach((t) => html(head, "th", { scope: "col" }, t));
  const body = html(table, "tbody");
  const cells = state.recipes.map((name, k) => {
    const row = html(body, "tr");
    html(row, "th", { scope: "row" }, state.labels[k]);
    return { row, on: html(row, "td"), off: html(row, "td") };
  });
  function redraw() {
    const i = nearestIndex(state.drifts, state.drift);
    const beta = state.beta;
    const reward = state.reward_grad[i];
    const exact = combinedUpdate(reward, state.exact[i], beta);
    const expected = combinedUpdate(reward, state.expected[state.recipe][state.mode][i], beta);
    const lo = Math.min(0, ...exact, ...expected), hi = Math.max(0, ...exact, ...expected);
    const pad = 0.05 * (hi - lo || 1);
    const ticks = niceTicks(lo - pad, hi + pad, 6);
    bands.forEach((band) => {
      band.y = linear(lo - pad, hi + pad, band.bottom, band.top);
      band.axis.update(ticks, band.y, (t) => fmt(t, Math.abs(hi - lo) < 0.5 ? 2 : 1));
      setAttrs(band.zero, { y1: band.y(0), y2: band.y(0) });
    });
    bars.forEach((bar, j) => {
      const { y } = bar.band;
      setAttrs(bar.expected, { y: Math.min(y(0), y(expected[j])), height: Math.abs(y(expected[j]) - y(0)) });
      setAttrs(bar.exact, { y: Math.min(y(0), y(exact[j])), height: Math.abs(y(exact[j]) - y(0)) });
    });
    const m = biasMetrics(expected, exact);
    relSpan.textContent = fmt(m.relError, 3);
    cosSpan.textContent = fmt(m.cosine, 3);
    oldSpan.textContent = fmt(state.kl_to_old[i], 3);
    refSpan.textContent = fmt(state.kl_to_ref[i], 3);
    state.recipes.forEach((name, k) => {
      ["on", "off"].forEach((mode) => {
        const e = combinedUpdate(reward, state.expected[name][mode][i], beta);
        cells[k][mode].textContent = fmt(biasMetrics(e, exact).relError, 3);
      });
      cells[k].row.style.fontWeight = name === state.recipe ? "700" : "400";
    });
    desc.textContent = `${state.labels[state.recipes.indexOf(state.recipe)]}, ${state.mode}-policy, β = ${fmt(beta, 2)}, KL(π‖π_old) = ${fmt(state.kl_to_old[i], 3)} nats: relative error ${fmt(m.relError, 3)}, cosine ${fmt(m.cosine, 3)}.`;
  }
  bindChoice(model, state, controls, "recipe", { label: "recipe", options: state.recipes }, redraw, cleanups);
  bindChoice(model, state, controls, "mode", { label: "batch from", options: state.modes }, redraw, cleanups);
  const grid = (values, digits, unit) => ({
    min: 0,
    max: values.length - 1,
    step: 1,
    toSlider: (v) => nearestIndex(values, v),
    fromSlider: (k) => values[k],
    text: (v) => `${fmt(v, digits)}${unit}`
  });
  bindSlider(model, state, controls, "beta", { label: "β", ...grid(state.betas, 2, "") }, redraw, cleanups);
  bindSlider(model, state, controls, "drift", { label: "drift from π_old", ...grid(state.drifts, 2, " steps") }, redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}
var render = responsive(draw);
var kl_gradients_default = { render };
export {
  KEYS,
  biasMetrics,
  combinedUpdate,
  kl_gradients_default as default
};
