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
function xlogy(x, y) {
  return x === 0 ? 0 : x * Math.log(y);
}
function softmax(logits) {
  const peak = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - peak));
  let norm = 0;
  for (const w of weights) norm += w;
  return weights.map((w) => w / norm);
}
function normalise(p) {
  let total = 0;
  for (const x of p) total += x;
  return p.map((x) => x / total);
}
function expectation(pi, values) {
  let total = 0;
  for (let i = 0; i < pi.length; i += 1) total += pi[i] * values[i];
  return total;
}
function klContributions(p, q) {
  if (p.length !== q.length) throw new RangeError(`p has ${p.length} outcomes but q has ${q.length}`);
  return p.map((pi, i) => pi > 0 ? pi * Math.log(pi) - pi * Math.log(q[i]) : 0);
}
function klDivergence(p, q) {
  let total = 0;
  for (const term of klContributions(p, q)) total += term;
  return Math.max(0, total);
}
function entropy(p) {
  let total = 0;
  for (const x of p) total -= xlogy(x, x);
  return total;
}
function crossEntropy(p, q) {
  let total = 0;
  for (let i = 0; i < p.length; i += 1) total -= xlogy(p[i], q[i]);
  return total;
}

// kl_lessons/web/src/lessons/entropy_anchor.js
function regularisedPolicy(refProbs, rewards, beta, alpha) {
  if (refProbs.length !== rewards.length) throw new RangeError(`refProbs has ${refProbs.length} entries but rewards has ${rewards.length}`);
  if (!(beta >= 0) || !(alpha >= 0)) throw new RangeError(`beta and alpha must be >= 0, got ${beta} and ${alpha}`);
  const eligible = refProbs.map((p) => beta === 0 || p > 0);
  const top = Math.max(...rewards.filter((_, i) => eligible[i]));
  if (alpha === 0 && beta === 0) {
    const best = rewards.map((r, i) => eligible[i] && r === top ? 1 : 0);
    const ties = best.reduce((s, b) => s + b, 0);
    return best.map((b) => b / ties);
  }
  const anchor = beta >= alpha ? 1 / (1 + alpha / beta) : beta / alpha / (1 + beta / alpha);
  const temperature = alpha + beta;
  const logits = rewards.map((r, i) => eligible[i] ? (refProbs[i] > 0 ? anchor * Math.log(refProbs[i]) : 0) + (r - top) / temperature : -Infinity);
  return softmax(logits);
}
function readoutValues(pi, ref, proxy, gold, marks, threshold) {
  return {
    expected_proxy: expectation(pi, proxy),
    expected_gold: expectation(pi, gold),
    entropy: entropy(pi),
    cross_entropy: crossEntropy(pi, ref),
    kl: klDivergence(pi, ref),
    shout_share: pi.reduce((s, p, i) => s + (marks[i] >= threshold ? p : 0), 0)
  };
}
var KEYS = [
  "beta",
  "alpha",
  "beta_range",
  "alpha_range",
  "slider_step",
  "mark_symbol",
  "shout_threshold",
  "readouts",
  "labels",
  "marks",
  "ref_probs",
  "proxy",
  "gold"
];
var MARK_STYLES = [
  [OKABE_ITO.blue, null],
  [OKABE_ITO.sky, "dots"],
  [OKABE_ITO.orange, "diagonal"],
  [OKABE_ITO.vermillion, "cross"],
  [OKABE_ITO.purple, "dots"],
  [OKABE_ITO.green, "diagonal"]
];
function render({ model, el }) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const { labels, marks, proxy, gold, mark_symbol: bang, shout_threshold: threshold } = state;
  const ref = normalise(state.ref_probs);
  const known = Object.keys(readoutValues(ref, ref, proxy, gold, marks, threshold));
  state.readouts.forEach((r) => {
    if (!known.includes(r.key)) throw new Error(`no readout called "${r.key}"`);
  });
  const root = mountWidget(el, "kl-entropy-anchor");
  html(root, "style", {}, "@media (max-width: 560px) { .kl-entropy-anchor svg text { font-size: 14px; } .kl-entropy-anchor svg .kl-title { font-size: 14.5px; } }");
  const controls = html(root, "div", { class: "kl-controls" });
  const W = 540, H = 330, x0 = 68, x1 = 532, top = 62, bottom = 250;
  const { figure, desc } = makeFigure(root, W, H, `The optimum π beside π_ref for each of the ${labels.length} replies`, "");
  const defs = svg(figure, "defs");
  svg(figure, "text", { x: (x0 + x1) / 2, y: 14, "text-anchor": "middle", class: "kl-title" }).textContent = "π maximising E[proxy] + α·H(π) − β·KL(π‖π_ref)";
  const groups = [];
  labels.forEach((label, k) => {
    const last = groups[groups.length - 1];
    if (last && last.label === label) last.end = k;
    else groups.push({ label, start: k, end: k });
  });
  const gap = 0.7;
  const slot = (x1 - x0 - 4) / (labels.length + gap * (groups.length - 1));
  const groupOf = labels.map((_, k) => groups.findIndex((g) => k >= g.start && k <= g.end));
  const slotX = (k) => x0 + 2 + (k + gap * groupOf[k]) * slot;
  const yAxis = makeAxis(figure, { orient: "left", at: x0, from: bottom, to: top, count: 8 });
  svg(figure, "line", { x1: x0, x2: x1, y1: bottom, y2: bottom, stroke: "#444" });
  svg(figure, "text", { x: 13, y: (top + bottom) / 2, transform: `rotate(-90 13 ${(top + bottom) / 2})`, "text-anchor": "middle" }).textContent = "probability of the reply";
  const markValues = [...new Set(marks)].sort((a, b) => a - b);
  const styles = markValues.map((m, i) => {
    const [colour, kind] = MARK_STYLES[i % MARK_STYLES.length];
    return { mark: m, colour, fill: kind ? hatchPattern(defs, colour, { kind, solid: true }) : colour };
  });
  const styleOf = (m) => styles[markValues.indexOf(m)];
  const bars = labels.map((label, k) => {
    const { colour, fill } = styleOf(marks[k]);
    const x = slotX(k);
    const bar = svg(figure, "rect", { x, width: slot * 0.9, fill, stroke: colour, "stroke-width": 0.6 });
    const refBox = svg(figure, "rect", {
      x: x - 0.5,
      width: slot * 0.9 + 1,
      fill: "none",
      stroke: OKABE_ITO.black,
      "stroke-width": 1,
      "stroke-dasharray": "2 1.5"
    });
    return { bar, refBox, tip: svg(bar, "title") };
  });
  groups.forEach(({ label, start, end }) => {
    const x = (slotX(start) + slotX(end) + slot * 0.9) / 2;
    svg(figure, "text", { x: x + 3, y: bottom + 10, "text-anchor": "end", transform: `rotate(-35 ${x + 3} ${bottom + 10})` }).textContent = label;
  });
  svg(figure, "text", { x: (x0 + x1) / 2, y: H - 6, "text-anchor": "middle" }).textContent = `reply: answer, then 0 … ${markValues[markValues.length - 1]} '${bang}'`;
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  const entries = [["none", OKABE_ITO.black, "π_ref", "2 1.5"], ...styles.map((s) => [s.fill, s.colour, `π, ${s.mark} '${bang}'`, ""])];
  entries.forEach(([fill, stroke, text, dash], j) => {
    const x = x0 + 4 + j % 3 * 115, y = 24 + Math.floor(j / 3) * 15;
    svg(legend, "rect", { x, y, width: 14, height: 10, fill, stroke, "stroke-dasharray": dash });
    svg(legend, "text", { x: x + 19, y: y + 9 }).textContent = text;
  });
  const readout = html(root, "div", {
    class: "kl-readout",
    "aria-live": "polite",
    style: "display: grid; grid-template-columns: repeat(auto-fit, minmax(18em, 1fr)); gap: 0 1.5em;"
  });
  const spans = state.readouts.map((r) => {
    const line = html(readout, "p", r.label.length > 24 ? { style: "grid-column: 1 / -1;" } : {});
    html(line, "b", {}, `${r.label} = `);
    const value = html(line, "span", { style: "white-space: nowrap;" });
    const span = readoutSpan(value, r.key);
    if (r.unit) value.append(r.unit === "%" ? " %" : ` ${r.unit}`);
    return { ...r, span };
  });
  function redraw() {
    const pi = regularisedPolicy(ref, proxy, state.beta, state.alpha);
    const peak = Math.max(...pi, ...ref);
    const step = niceTicks(0, peak, 4)[1];
    const count = Math.ceil(peak / step - 1e-9);
    const y = linear(0, count * step, bottom, top);
    yAxis.update(Array.from({ length: count + 1 }, (_, i) => i * step), y, (t) => fmt(t, step < 0.01 ? 3 : 2));
    pi.forEach((p, k) => {
      setAttrs(bars[k].bar, { y: y(p), height: bottom - y(p) });
      setAttrs(bars[k].refBox, { y: y(ref[k]), height: bottom - y(ref[k]) });
      bars[k].tip.textContent = `${labels[k]}, ${marks[k]} '${bang}': π = ${fmt(p, 4)}, π_ref = ${fmt(ref[k], 4)}`;
    });
    const values = readoutValues(pi, ref, proxy, gold, marks, threshold);
    spans.forEach((r) => {
      r.span.textContent = fmt(r.scale * values[r.key], r.digits);
    });
    desc.textContent = `At β = ${fmt(state.beta, 2)} and α = ${fmt(state.alpha, 2)}: ` + spans.map((r) => `${r.label} = ${r.span.textContent}${r.unit === "%" ? " %" : r.unit ? ` ${r.unit}` : ""}`).join("; ") + ".";
  }
  const slider = (label, [min, max]) => ({ label, min, max, step: state.slider_step, text: (v) => fmt(v, 2) });
  bindSlider(model, state, controls, "beta", slider("KL coefficient β", state.beta_range), redraw, cleanups);
  bindSlider(model, state, controls, "alpha", slider("entropy bonus α", state.alpha_range), redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}
var entropy_anchor_default = { render };
export {
  KEYS,
  entropy_anchor_default as default,
  normalise,
  readoutValues,
  regularisedPolicy
};
