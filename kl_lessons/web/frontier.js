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
function logSumExp(values) {
  const peak = Math.max(...values);
  if (peak === -Infinity || peak === Infinity) return peak;
  let total = 0;
  for (const v of values) total += Math.exp(v - peak);
  return peak + Math.log(total);
}
function softmax(logits) {
  const peak = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - peak));
  let norm = 0;
  for (const w of weights) norm += w;
  return weights.map((w) => w / norm);
}
function expectation(pi, values) {
  let total = 0;
  for (let i = 0; i < pi.length; i += 1) total += pi[i] * values[i];
  return total;
}

// kl_lessons/web/src/lessons/frontier.js
function checkPair(refProbs, rewards) {
  if (refProbs.length !== rewards.length) throw new RangeError(`refProbs has ${refProbs.length} entries but rewards has ${rewards.length}`);
}
function tiltedPolicy(refProbs, rewards, beta) {
  checkPair(refProbs, rewards);
  if (!(beta > 0)) throw new RangeError(`beta must be > 0, got ${beta}`);
  const inverse = 1 / beta;
  return softmax(refProbs.map((p, i) => Math.log(p) + rewards[i] * inverse));
}
function klRewardFrontier(refProbs, rewards, betas) {
  checkPair(refProbs, rewards);
  const logRef = refProbs.map(Math.log);
  const expected = [], kl = [];
  for (const beta of betas) {
    if (!(beta > 0)) throw new RangeError(`betas must all be > 0, got ${beta}`);
    const lambda = 1 / beta;
    const logits = logRef.map((l, i) => l + lambda * rewards[i]);
    const e = expectation(softmax(logits), rewards);
    expected.push(e);
    kl.push(Math.max(0, lambda * e - logSumExp(logits)));
  }
  return { expected, kl };
}
function logGrid(lo, hi, count) {
  return Array.from({ length: count }, (_, i) => 10 ** (lo + (hi - lo) * i / (count - 1)));
}
var KEYS = ["labels", "marks", "mark_symbol", "ref_probs", "rewards", "gold", "beta", "log10_beta_range"];
var MARK_STYLES = [
  [OKABE_ITO.blue, null],
  [OKABE_ITO.sky, "dots"],
  [OKABE_ITO.orange, "diagonal"],
  [OKABE_ITO.vermillion, "cross"],
  [OKABE_ITO.purple, "dots"],
  [OKABE_ITO.green, "diagonal"]
];
function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const { labels, marks, ref_probs: ref, rewards, gold } = state;
  const [logLo, logHi] = state.log10_beta_range;
  const K = ref.length;
  const grid = logGrid(logHi, logLo, 161);
  const curve = klRewardFrontier(ref, rewards, grid);
  const goldCurve = gold ? grid.map((b) => expectation(tiltedPolicy(ref, rewards, b), gold)) : null;
  const rootKl = curve.kl.map(Math.sqrt);
  const root = mountWidget(el, "kl-frontier");
  const controls = html(root, "div", { class: "kl-controls" });
  const W = narrow ? 360 : 700, H = narrow ? 564 : 340;
  const { figure, desc } = makeFigure(root, W, H, "The optimum π_β and its place on the reward–KL frontier", "");
  const defs = svg(figure, "defs");
  const front = narrow ? { x0: 55, x1: 345, top: 40, bottom: 220, title: 14 } : { x0: 55, x1: 275, top: 50, bottom: 250, title: 14 };
  const bars = narrow ? { x0: 46, x1: 352, top: 334, bottom: 490, title: 282 } : { x0: 340, x1: 690, top: 50, bottom: 250, title: 14 };
  svg(figure, "text", { x: (front.x0 + front.x1) / 2, y: front.title, "text-anchor": "middle", class: "kl-title" }).textContent = "Frontier of the exact optimum π_β";
  svg(figure, "text", { x: (bars.x0 + bars.x1) / 2, y: bars.title, "text-anchor": "middle", class: "kl-title" }).textContent = "π_β (filled) beside π_ref (hatched outline)";
  const xMax = Math.max(...rootKl) * 1.05 || 1;
  const all = curve.expected.concat(goldCurve || []);
  const eLo = Math.min(...all), eHi = Math.max(...all);
  const ePad = 0.06 * (eHi - eLo || 1);
  const xOf = linear(0, xMax, front.x0, front.x1);
  const yOf = linear(eLo - ePad, eHi + ePad, front.bottom, front.top);
  makeAxis(figure, { orient: "left", at: front.x0, from: front.bottom, to: front.top, count: 10 }).update(niceTicks(eLo - ePad, eHi + ePad, 5), yOf, (t) => fmt(t, 1));
  makeAxis(figure, { orient: "front.bottom", at: front.bottom, from: front.x0, to: front.x1, count: 10 }).update(niceTicks(0, xMax, 5), xOf, (t) => fmt(t, 1));
  svg(figure, "text", { x: (front.x0 + front.x1) / 2, y: front.bottom + 32, "text-anchor": "middle" }).textContent = "√KL(π_β‖π_ref) (√nats)";
  svg(figure, "text", { x: 14, y: (front.top + front.bottom) / 2, transform: `rotate(-90 14 ${(front.top + front.bottom) / 2})`, "text-anchor": "middle" }).textContent = "expected reward (reward units)";
  const path = (ys) => rootKl.map((x, i) => `${xOf(x)},${yOf(ys[i])}`).join(" ");
  svg(figure, "polyline", { points: path(curve.expected), fill: "none", stroke: OKABE_ITO.orange, "stroke-width": 2.2 });
  if (goldCurve) svg(figure, "polyline", { points: path(goldCurve), fill: "none", stroke: OKABE_ITO.blue, "stroke-width": 2.2, "stroke-dasharray": "7 4" });
  const clipId = uniqueId("kl-clip");
  svg(svg(defs, "clipPath", { id: clipId }), "rect", { x: front.x0, y: front.top, width: front.x1 - front.x0, height: front.bottom - front.top });
  const tangent = svg(figure, "line", { stroke: OKABE_ITO.black, "stroke-width": 1.2, "stroke-dasharray": "2 2", "clip-path": `url(#${clipId})` });
  const proxyDot = svg(figure, "circle", { r: 6, fill: OKABE_ITO.orange, stroke: OKABE_ITO.black, "stroke-width": 1.2 });
  const goldDot = goldCurve ? svg(figure, "rect", { width: 11, height: 11, fill: OKABE_ITO.blue, stroke: OKABE_ITO.black, "stroke-width": 1.2 }) : null;
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  const entries = [[OKABE_ITO.orange, "none", "proxy reward (optimised)"]];
  if (goldCurve) entries.push([OKABE_ITO.blue, "7 4", "gold reward (true quality)"]);
  entries.push([OKABE_ITO.black, "2 2", "tangent: dE/dKL = β"]);
  entries.forEach(([colour, dash, text], j) => {
    const y = front.top + 6 + j * 14;
    svg(legend, "line", { x1: front.x0 + 8, x2: front.x0 + 28, y1: y, y2: y, stroke: colour, "stroke-width": 2, "stroke-dasharray": dash });
    svg(legend, "text", { x: front.x0 + 32, y: y + 4, style: "font-size: 10px" }).textContent = text;
  });
  const probY = linear(0, 1, bars.bottom, bars.top);
  makeAxis(figure, { orient: "left", at: bars.x0, from: bars.bottom, to: bars.top, count: 8 }).update(niceTicks(0, 1, 5), probY, (t) => fmt(t, 1));
  svg(figure, "line", { x1: bars.x0, x2: bars.x1, y1: bars.bottom, y2: bars.bottom, stroke: "#444" });
  svg(figure, "text", { x: bars.x0 - 32, y: (bars.top + bars.bottom) / 2, transform: `rotate(-90 ${bars.x0 - 32} ${(bars.top + bars.bottom) / 2})`, "text-anchor": "middle" }).textContent = "probability";
  const groups = [];
  labels.forEach((label, k) => {
    if (!groups.length || groups[groups.length - 1].label !== label) groups.push({ label, start: k, end: k });
    else groups[groups.length - 1].end = k;
  });
  const gap = 0.8;
  const slots = K + gap * (groups.length - 1);
  const slot = (bars.x1 - bars.x0 - 6) / slots;
  const slotX = (k) => bars.x0 + 3 + (k + gap * groups.findIndex((g) => k >= g.start && k <= g.end)) * slot;
  const markValues = [...new Set(marks)].sort((a, b) => a - b);
  const fills = markValues.map((m, i) => {
    const [colour, kind] = MARK_STYLES[i % MARK_STYLES.length];
    return { mark: m, colour, fill: kind ? hatchPattern(defs, colour, { kind, solid: true }) : colour };
  });
  const styleOf = (m) => fills[markValues.indexOf(m)];
  const refFill = hatchPattern(defs, OKABE_ITO.grey, { kind: "diagonal" });
  const policyBars = ref.map((p, k) => {
    const x = slotX(k);
    svg(figure, "rect", { x, y: probY(p), width: slot * 0.5, height: bars.bottom - probY(p), fill: refFill, stroke: OKABE_ITO.grey, "stroke-width": 0.8 });
    const { colour, fill } = styleOf(marks[k]);
    const bar = svg(figure, "rect", { x: x + slot * 0.5, width: slot * 0.5, fill, stroke: colour, "stroke-width": 0.8 });
    return { bar, tip: svg(bar, "title") };
  });
  groups.forEach(({ label, start, end }) => {
    const x = (slotX(start) + slotX(end) + slot) / 2;
    const turn = narrow ? -50 : -30;
    svg(figure, "text", { x, y: bars.bottom + 12, "text-anchor": "end", transform: `rotate(${turn} ${x} ${bars.bottom + 12})`, style: "font-size: 10px" }).textContent = label;
  });
  const legend2 = svg(figure, "g", { "aria-hidden": "true" });
  [[refFill, OKABE_ITO.grey, "π_ref"], ...fills.map((f) => [f.fill, f.colour, `π_β, ${f.mark} '${state.mark_symbol}'`])].forEach(([fill, stroke, text], j) => {
    const { x, y } = gridPlace(j, narrow ? { x: bars.x0, y: bars.top - 40, dx: 100, dy: 15, perRow: 3 } : { x: bars.x0 + 120, y: bars.top - 6, dx: 85, dy: 15, perRow: 3 });
    svg(legend2, "rect", { x, y, width: 12, height: 10, fill, stroke });
    svg(legend2, "text", { x: x + 16, y: y + 9, style: "font-size: 10px" }).textContent = text;
  });
  const readout = html(root, "p", { class: "kl-readout", "aria-live": "polite" });
  readout.append("KL(π_β‖π_ref) = ");
  const klText = readoutSpan(readout, "kl");
  readout.append(" nats,  E[proxy] = ");
  const proxyText = readoutSpan(readout, "expected_reward");
  let goldText = null;
  if (goldCurve) {
    readout.append(",  E[gold] = ");
    goldText = readoutSpan(readout, "expected_gold");
  }
  readout.append(".  Most likely reply: ");
  const topText = readoutSpan(readout, "top_reply");
  readout.append(", with probability ");
  const topProb = readoutSpan(readout, "top_prob");
  function redraw() {
    const pi = tiltedPolicy(ref, rewards, state.beta);
    pi.forEach((p, k2) => {
      const y = probY(Math.min(p, 1));
      setAttrs(policyBars[k2].bar, { y, height: bars.bottom - y });
      policyBars[k2].tip.textContent = `${labels[k2]}, ${marks[k2]} '${state.mark_symbol}': π_β = ${fmt(p, 4)}, π_ref = ${fmt(ref[k2], 4)}`;
    });
    const { expected: [e], kl: [k] } = klRewardFrontier(ref, rewards, [state.beta]);
    const x = Math.sqrt(k);
    setAttrs(proxyDot, { cx: xOf(x), cy: yOf(e) });
    const slope = 2 * x * state.beta, run = 0.15 * xMax;
    setAttrs(tangent, { x1: xOf(x - run), y1: yOf(e - slope * run), x2: xOf(x + run), y2: yOf(e + slope * run) });
    klText.textContent = fmt(k, 4);
    proxyText.textContent = fmt(e, 4);
    let goldValue = null;
    if (goldCurve) {
      goldValue = expectation(pi, gold);
      setAttrs(goldDot, { x: xOf(x) - 5.5, y: yOf(goldValue) - 5.5 });
      goldText.textContent = fmt(goldValue, 4);
    }
    const best = pi.indexOf(Math.max(...pi));
    topText.textContent = `${labels[best]} (${marks[best]} '${state.mark_symbol}')`;
    topProb.textContent = fmt(pi[best], 4);
    desc.textContent = `At β = ${fmt(state.beta, 4)} the optimum has KL ${fmt(k, 4)} nats and expected proxy reward ${fmt(e, 4)}` + (goldCurve ? ` and gold reward ${fmt(goldValue, 4)}` : "") + `; its most likely reply is ${topText.textContent}.`;
  }
  bindSlider(model, state, controls, "beta", {
    label: "KL coefficient β (log scale)",
    min: logLo,
    max: logHi,
    step: 0.05,
    text: (v) => fmt(v, 4),
    toSlider: (v) => Math.log10(v),
    fromSlider: (v) => 10 ** v
  }, redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}
var render = responsive(draw);
var frontier_default = { render };
export {
  KEYS,
  frontier_default as default,
  expectation,
  klRewardFrontier,
  logGrid,
  tiltedPolicy
};
