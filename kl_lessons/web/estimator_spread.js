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
function softmax(logits) {
  const peak = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - peak));
  let norm = 0;
  for (const w of weights) norm += w;
  return weights.map((w) => w / norm);
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
var ESTIMATORS = ["k1", "k2", "k3"];
function klTerm(logprob, refLogprob, estimator) {
  const logR = refLogprob - logprob;
  if (estimator === "k1") return -logR;
  if (estimator === "k2") return 0.5 * logR * logR;
  if (estimator === "k3") return Math.expm1(logR) - logR;
  throw new RangeError(`estimator must be one of ${ESTIMATORS.join(", ")}, got ${estimator}`);
}
function quantile(sorted, q) {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}
function cumulative(probs) {
  const cdf = new Float64Array(probs.length);
  let running = 0, last = 0;
  probs.forEach((p, i) => {
    cdf[i] = running += p;
    if (p > 0) last = i;
  });
  const pick = (target) => {
    let k = 0;
    while (k < last && cdf[k] <= target) k += 1;
    return k;
  };
  return { running, pick };
}
function sampleTokens(probs, u) {
  const { running, pick } = cumulative(probs);
  const tokens = new Int32Array(u.length);
  for (let i = 0; i < u.length; i += 1) tokens[i] = pick(u[i] * running);
  return tokens;
}
function tokenSampler(u, cells = 4096) {
  if (!(cells >= 1 && cells <= 65536 && Math.log2(cells) % 1 === 0)) throw new RangeError(`cells must be a power of 2 up to 65536, got ${cells}`);
  const cell = new Uint16Array(u.length);
  for (let i = 0; i < u.length; i += 1) cell[i] = Math.min(cells - 1, Math.floor(u[i] * cells));
  return (probs) => {
    const { running, pick } = cumulative(probs);
    const known = new Int32Array(cells);
    let below = pick(0);
    for (let c = 0; c < cells; c += 1) {
      const above = pick((c + 1) / cells * running);
      known[c] = below === above ? below : -1;
      below = above;
    }
    const tokens = new Int32Array(u.length);
    for (let i = 0; i < u.length; i += 1) {
      const k = known[cell[i]];
      tokens[i] = k >= 0 ? k : pick(u[i] * running);
    }
    return tokens;
  };
}
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

// kl_lessons/web/src/lessons/estimator_spread.js
function uniforms(seed, count) {
  const next = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 1) out[i] = next();
  return out;
}
function driftedPolicy(refProbs, direction, drift) {
  if (refProbs.length !== direction.length) throw new RangeError("refProbs and direction must have the same length");
  return softmax(refProbs.map((p, i) => Math.log(p) + drift * direction[i]));
}
function klEstimate(logprobs, refLogprobs, estimator) {
  if (logprobs.length !== refLogprobs.length) throw new RangeError("logprobs and refLogprobs must have the same length");
  return Float64Array.from(logprobs, (lp, i) => klTerm(lp, refLogprobs[i], estimator));
}
function batchSizes(maxLog2) {
  return Array.from({ length: maxLog2 + 1 }, (_, k) => 2 ** k);
}
function batchMeanSpread(tokens, trials, maxSize, logPolicy, logRef, sizes) {
  const [t1, t2, t3] = ESTIMATORS.map((name) => klEstimate(logPolicy, logRef, name));
  const means = ESTIMATORS.map(() => sizes.map(() => new Float64Array(trials)));
  for (let t = 0; t < trials; t += 1) {
    let s1 = 0, s2 = 0, s3 = 0, next = 0;
    for (let i = 0, at = t * maxSize; i < maxSize && next < sizes.length; i += 1, at += 1) {
      const k = tokens[at];
      s1 += t1[k];
      s2 += t2[k];
      s3 += t3[k];
      if (i + 1 === sizes[next]) {
        means[0][next][t] = s1 / sizes[next];
        means[1][next][t] = s2 / sizes[next];
        means[2][next][t] = s3 / sizes[next];
        next += 1;
      }
    }
  }
  const result = {};
  ESTIMATORS.forEach((name, e) => {
    result[name] = means[e].map((batch) => {
      const sorted = Float64Array.from(batch).sort();
      const mean = batch.reduce((acc, x) => acc + x, 0) / trials;
      const sd = Math.sqrt(batch.reduce((acc, x) => acc + (x - mean) ** 2, 0) / (trials - 1));
      const negative = batch.reduce((acc, x) => acc + (x < 0 ? 1 : 0), 0) / trials;
      return { mean, sd, q10: quantile(sorted, 0.1), q90: quantile(sorted, 0.9), negative };
    });
  });
  return result;
}
var DRIFT_STEP = 0.05;
var KEYS = ["ref_probs", "direction", "drift", "sample_size", "max_log2_size", "trials", "seed", "drift_max"];
var STYLE = {
  k1: { colour: OKABE_ITO.blue, dash: "none", name: "k1 = −log r" },
  k2: { colour: OKABE_ITO.orange, dash: "7 4", name: "k2 = ½(log r)²" },
  k3: { colour: OKABE_ITO.green, dash: "2 3", name: "k3 = (r−1) − log r" }
};
function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const sizes = batchSizes(state.max_log2_size);
  const maxSize = sizes[sizes.length - 1];
  const draws = uniforms(state.seed, state.trials * maxSize);
  const sample = tokenSampler(draws);
  const logRef = state.ref_probs.map(Math.log);
  const root = mountWidget(el, "kl-estimator-spread");
  const controls = html(root, "div", { class: "kl-controls" });
  const W = narrow ? 360 : 660, H = narrow ? 360 : 330;
  const { figure, desc } = makeFigure(root, W, H, "Spread of batch-mean KL estimates against batch size", "");
  const plot = narrow ? { x0: 56, x1: 336, y0: 320, y1: 70 } : { x0: 60, x1: 640, y0: 290, y1: 58 };
  const xOf = linear(0, state.max_log2_size, plot.x0, plot.x1);
  svg(figure, "text", { x: narrow ? W / 2 : (plot.x0 + plot.x1) / 2, y: 16, "text-anchor": "middle", class: "kl-title" }).textContent = narrow ? "Batch means: 10–90 % band and mean" : "Batch means over trials: 10–90 % band and mean";
  svg(figure, "text", { x: (plot.x0 + plot.x1) / 2, y: H - 6, "text-anchor": "middle" }).textContent = "tokens per batch (log scale)";
  const midY = (plot.y0 + plot.y1) / 2;
  svg(figure, "text", { x: 14, y: midY, transform: `rotate(-90 14 ${midY})`, "text-anchor": "middle" }).textContent = "batch-mean estimate (nats)";
  const xAxis = makeAxis(figure, { orient: "bottom", at: plot.y0, from: plot.x0, to: plot.x1, count: 12 });
  xAxis.update(sizes.map((_, k) => k).filter((k) => k % 2 === 0), xOf, (k) => String(2 ** k));
  const yAxis = makeAxis(figure, { orient: "left", at: plot.x0, from: plot.y0, to: plot.y1, count: 12 });
  const zero = svg(figure, "line", { x1: plot.x0, x2: plot.x1, stroke: OKABE_ITO.grey, "stroke-width": 1 });
  const series = {};
  for (const name of ESTIMATORS) {
    const { colour, dash } = STYLE[name];
    series[name] = {
      band: svg(figure, "polygon", { fill: colour, "fill-opacity": 0.16, stroke: colour, "stroke-opacity": 0.6, "stroke-dasharray": dash }),
      line: svg(figure, "polyline", { fill: "none", stroke: colour, "stroke-width": 2.2, "stroke-dasharray": dash })
    };
  }
  const truth = svg(figure, "line", { x1: plot.x0, x2: plot.x1, stroke: OKABE_ITO.black, "stroke-width": 1.5, "stroke-dasharray": "5 3" });
  const marker = svg(figure, "line", { y1: plot.y0, y2: plot.y1, stroke: OKABE_ITO.vermillion, "stroke-width": 1.5 });
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  [...ESTIMATORS.map((n) => [STYLE[n].colour, STYLE[n].dash, STYLE[n].name]), [OKABE_ITO.black, "5 3", "exact KL"]].forEach(([colour, dash, text], j) => {
    const { x, y } = gridPlace(j, { x: narrow ? 14 : plot.x0 + 10, y: 34, dx: narrow ? 175 : 140, dy: 17, perRow: narrow ? 2 : 4 });
    svg(legend, "line", { x1: x, x2: x + 22, y1: y, y2: y, stroke: colour, "stroke-width": 2.2, "stroke-dasharray": dash });
    svg(legend, "text", { x: x + 27, y: y + 4 }).textContent = text;
  });
  const readout = html(root, "div", { class: "kl-readout", "aria-live": "polite" });
  const headline = html(readout, "p");
  headline.append("Exact KL(π‖π_ref) = ");
  const truthText = readoutSpan(headline, "kl_exact");
  headline.append(" nats. Batches of ");
  const sizeText = readoutSpan(headline, "batch_size");
  headline.append(" tokens, over ");
  headline.append(String(state.trials));
  headline.append(" trials:");
  const table = html(readout, "table");
  const head = html(table, "tr");
  ["estimator", "mean", "std. dev.", "batches < 0"].forEach((t) => html(head, "th", { scope: "col" }, t));
  const cells = {};
  for (const name of ESTIMATORS) {
    const row = html(table, "tr");
    html(row, "th", { scope: "row" }, name);
    cells[name] = ["mean", "sd", "negative"].map((stat) => readoutSpan(html(row, "td"), `${name}_${stat}`));
  }
  const byDrift = /* @__PURE__ */ new Map();
  function atDrift(drift) {
    if (!byDrift.has(drift)) {
      const policy = driftedPolicy(state.ref_probs, state.direction, drift);
      byDrift.set(drift, {
        exact: klDivergence(policy, state.ref_probs),
        spread: batchMeanSpread(sample(policy), state.trials, maxSize, policy.map(Math.log), logRef, sizes)
      });
    }
    return byDrift.get(drift);
  }
  let stopped = false;
  const idle = typeof requestIdleCallback === "function" ? requestIdleCallback : (f) => setTimeout(f, 50);
  const gridSteps = Math.round(state.drift_max / DRIFT_STEP);
  const fill = (k) => {
    if (stopped || k > gridSteps) return;
    atDrift(Number((k * DRIFT_STEP).toFixed(10)));
    idle(() => fill(k + 1));
  };
  cleanups.push(() => {
    stopped = true;
  });
  let spread = null, exact = 0;
  function recompute() {
    ({ exact, spread } = atDrift(state.drift));
    let lo = Math.min(0, exact), hi = exact;
    for (const name of ESTIMATORS) for (const s of spread[name]) {
      lo = Math.min(lo, s.q10);
      hi = Math.max(hi, s.q90);
    }
    const pad = 0.05 * (hi - lo || 1);
    const yOf = linear(lo - pad, hi + pad, plot.y0, plot.y1);
    yAxis.update(niceTicks(lo - pad, hi + pad, 6), yOf, (t) => fmt(t, Math.max(0, -Math.floor(Math.log10(hi - lo || 1)) + 1)));
    setAttrs(zero, { y1: yOf(0), y2: yOf(0) });
    setAttrs(truth, { y1: yOf(exact), y2: yOf(exact) });
    for (const name of ESTIMATORS) {
      const s = spread[name];
      const upper = s.map((v, k) => `${xOf(k)},${yOf(v.q90)}`);
      const lower = s.map((v, k) => `${xOf(k)},${yOf(v.q10)}`).reverse();
      series[name].band.setAttribute("points", upper.concat(lower).join(" "));
      series[name].line.setAttribute("points", s.map((v, k) => `${xOf(k)},${yOf(v.mean)}`).join(" "));
    }
    truthText.textContent = fmt(exact, 4);
  }
  function showSize() {
    const k = Math.round(Math.log2(state.sample_size));
    setAttrs(marker, { x1: xOf(k), x2: xOf(k) });
    sizeText.textContent = String(state.sample_size);
    for (const name of ESTIMATORS) {
      const s = spread[name][k];
      cells[name][0].textContent = fmt(s.mean, 4);
      cells[name][1].textContent = fmt(s.sd, 4);
      cells[name][2].textContent = `${fmt(100 * s.negative, 1)} %`;
    }
    const k1 = spread.k1[k], k3 = spread.k3[k];
    desc.textContent = `Exact KL ${fmt(exact, 4)} nats. With ${state.sample_size} tokens per batch the batch means have standard deviation ${fmt(k1.sd, 4)} for k1 and ${fmt(k3.sd, 4)} for k3; ${fmt(100 * k1.negative, 1)} % of k1 batch means are negative.`;
  }
  function redraw(key) {
    if (key !== "sample_size") recompute();
    showSize();
  }
  bindSlider(model, state, controls, "drift", {
    label: "Policy drift from π_ref",
    min: 0,
    max: state.drift_max,
    step: DRIFT_STEP,
    text: (v) => fmt(v, 2)
  }, redraw, cleanups);
  bindSlider(model, state, controls, "sample_size", {
    label: "Tokens per batch",
    min: 0,
    max: state.max_log2_size,
    step: 1,
    text: (v) => String(v),
    toSlider: (v) => Math.round(Math.log2(v)),
    fromSlider: (v) => 2 ** v
  }, redraw, cleanups);
  redraw();
  idle(() => fill(0));
  return () => cleanups.forEach((stop) => stop());
}
var render = responsive(draw);
var estimator_spread_default = { render };
export {
  ESTIMATORS,
  KEYS,
  batchMeanSpread,
  batchSizes,
  estimator_spread_default as default,
  driftedPolicy,
  klDivergence,
  klEstimate,
  sampleTokens,
  uniforms
};
