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
var ESTIMATORS = ["k1", "k2", "k3"];
function klTerm(logprob, refLogprob, estimator) {
  const logR = refLogprob - logprob;
  if (estimator === "k1") return -logR;
  if (estimator === "k2") return 0.5 * logR * logR;
  if (estimator === "k3") return Math.expm1(logR) - logR;
  throw new RangeError(`estimator must be one of ${ESTIMATORS.join(", ")}, got ${estimator}`);
}

// kl_lessons/web/src/lessons/reward_shaping.js
function lastValidIndex(mask) {
  return mask.map((row, b) => {
    for (let t = row.length - 1; t >= 0; t -= 1) if (row[t]) return t;
    throw new RangeError(`mask row ${b} has no valid token; each row needs at least one`);
  });
}
function klPenalizedRewards(scores, logprobs, refLogprobs, klCoef, mask, estimator = "k1") {
  if (!(klCoef >= 0)) throw new RangeError(`klCoef must be >= 0, got ${klCoef}`);
  if (scores.length !== logprobs.length) throw new RangeError("scores must hold one score per sequence");
  const valid = mask || logprobs.map((row) => row.map(() => 1));
  const last = lastValidIndex(valid);
  const kl = logprobs.map((row, b) => row.map((lp, t) => valid[b][t] ? klTerm(lp, refLogprobs[b][t], estimator) : 0));
  const rewards = kl.map((row) => row.map((k) => -klCoef * k + 0));
  rewards.forEach((row, b) => {
    row[last[b]] += scores[b];
  });
  return { rewards, kl };
}
var KEYS = ["labels", "tokens", "scores", "logprobs", "ref_logprobs", "mask", "beta", "beta_max", "estimator"];
function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const { scores, logprobs, ref_logprobs: refLogprobs, mask, labels, tokens } = state;
  const B = scores.length, T = logprobs[0].length;
  const last = lastValidIndex(mask);
  let lo = 0, hi = 0;
  for (const estimator of ESTIMATORS) {
    for (const beta of [0, state.beta_max]) {
      const { rewards, kl } = klPenalizedRewards(scores, logprobs, refLogprobs, beta, mask, estimator);
      kl.forEach((row, b) => row.forEach((k, t) => {
        lo = Math.min(lo, -beta * k, scores[b]);
        hi = Math.max(hi, -beta * k, scores[b], rewards[b][t]);
      }));
    }
  }
  const root = mountWidget(el, "kl-reward-shaping");
  const controls = html(root, "div", { class: "kl-controls" });
  const rowH = narrow ? 128 : 86, top = narrow ? 60 : 44, W = narrow ? 360 : 660;
  const H = top + B * rowH + (narrow ? 10 : 30);
  const { figure, desc } = makeFigure(root, W, H, "Per-token KL-shaped rewards of a batch with padding", "");
  const defs = svg(figure, "defs");
  const hatchPenalty = hatchPattern(defs, OKABE_ITO.vermillion);
  const hatchPad = hatchPattern(defs, OKABE_ITO.grey);
  const area = narrow ? { x0: 44, x1: 352 } : { x0: 120, x1: 520 };
  const slot = (area.x1 - area.x0) / T;
  svg(figure, "text", { x: narrow ? W / 2 : (area.x0 + area.x1) / 2, y: 14, "text-anchor": "middle", class: "kl-title" }).textContent = narrow ? "Reward per token; padding gets 0" : "Reward per token (reward units); padding gets 0";
  if (!narrow) svg(figure, "text", { x: 585, y: 14, "text-anchor": "middle", class: "kl-title" }).textContent = "Σ reward";
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  [[OKABE_ITO.blue, OKABE_ITO.blue, "score (last valid token)"], [hatchPenalty, OKABE_ITO.vermillion, "−β·kl_t"], [hatchPad, OKABE_ITO.grey, "padding"]].forEach(([fill, stroke, text], j) => {
    const { x, y } = gridPlace(j, narrow ? { x: 8, y: 22, dx: 175, dy: 17, perRow: 2 } : { x: area.x0, y: 22, dx: 150, dy: 0, perRow: 3 });
    svg(legend, "rect", { x, y, width: 14, height: 11, fill, stroke });
    svg(legend, "text", { x: x + 19, y: y + 10 }).textContent = text;
  });
  const rows = [];
  for (let b = 0; b < B; b += 1) {
    const y0 = top + b * rowH + (narrow ? 24 : 6), y1 = top + (b + 1) * rowH - (narrow ? 48 : 18);
    const yOf = linear(lo, hi, y1, y0);
    const axis = makeAxis(figure, { orient: "left", at: area.x0 - 4, from: y1, to: y0, count: 4 });
    axis.update(niceTicks(lo, hi, 2), yOf, (t) => fmt(t, 1));
    if (narrow) {
      svg(figure, "text", { x: 8, y: y0 - 10 }).textContent = `response ${labels[b]}, score ${fmt(scores[b], 2)}`;
      svg(figure, "text", { x: 296, y: y0 - 10, "text-anchor": "end" }).textContent = "Σ reward";
    } else {
      svg(figure, "text", { x: 8, y: (y0 + y1) / 2 - 6 }).textContent = `response ${labels[b]}`;
      svg(figure, "text", { x: 8, y: (y0 + y1) / 2 + 9 }).textContent = `score ${fmt(scores[b], 2)}`;
    }
    svg(figure, "line", { x1: area.x0, x2: area.x1, y1: yOf(0), y2: yOf(0), stroke: "#444" });
    const cells = [];
    for (let t = 0; t < T; t += 1) {
      const x = area.x0 + t * slot;
      if (!mask[b][t]) {
        svg(figure, "rect", { x: x + 3, y: y0, width: slot - 6, height: y1 - y0, fill: hatchPad, stroke: OKABE_ITO.grey, "stroke-opacity": 0.6 });
        svg(figure, "text", { x: x + slot / 2, y: yOf(0) - 3, "text-anchor": "middle" }).textContent = "pad";
        cells.push(null);
        continue;
      }
      if (tokens && tokens[b] && tokens[b][t] !== void 0) {
        const word = String(tokens[b][t]);
        const at = { x: x + slot / 2, y: y1 + 12 };
        svg(figure, "text", narrow ? { x: at.x + 4, y: at.y - 2, "text-anchor": "end", transform: `rotate(-40 ${at.x + 4} ${at.y - 2})`, style: "font-size: 9.5px" } : { ...at, "text-anchor": "middle", style: "font-size: 9.5px" }).textContent = word.length > 9 ? `${word.slice(0, 8)}…` : word;
      }
      const isLast = t === last[b];
      const width = isLast ? (slot - 6) / 2 : slot - 6;
      const penalty = svg(figure, "rect", { x: x + 3, width, fill: hatchPenalty, stroke: OKABE_ITO.vermillion });
      const tip = svg(penalty, "title");
      if (isLast) {
        const s = yOf(scores[b]), z = yOf(0);
        svg(figure, "rect", { x: x + 3 + width, y: Math.min(s, z), width, height: Math.abs(s - z), fill: OKABE_ITO.blue });
      }
      cells.push({ penalty, tip });
    }
    const total = svg(figure, "text", narrow ? { x: 352, y: y0 - 10, "text-anchor": "end", "data-readout": `total_${b}` } : { x: 585, y: (y0 + y1) / 2 + 4, "text-anchor": "middle", "data-readout": `total_${b}` });
    rows.push({ yOf, cells, total });
  }
  if (!narrow) svg(figure, "text", { x: (area.x0 + area.x1) / 2, y: H - 8, "text-anchor": "middle" }).textContent = "response tokens, in order";
  const readout = html(root, "div", { class: "kl-readout", "aria-live": "polite" });
  const table = html(readout, "table");
  const head = html(table, "tr");
  ["response", "score", "Σ kl (nats)", "Σ reward = score − β·Σ kl"].forEach((t) => html(head, "th", { scope: "col" }, t));
  const tableCells = scores.map((score, b) => {
    const row = html(table, "tr");
    html(row, "th", { scope: "row" }, labels[b]);
    html(row, "td", {}, fmt(score, 2));
    return { kl: readoutSpan(html(row, "td"), `kl_sum_${b}`), total: readoutSpan(html(row, "td"), `reward_sum_${b}`) };
  });
  function redraw() {
    const { rewards, kl } = klPenalizedRewards(scores, logprobs, refLogprobs, state.beta, mask, state.estimator);
    const summary = [];
    rows.forEach(({ yOf, cells, total }, b) => {
      let klSum = 0, rewardSum = 0;
      cells.forEach((cell, t) => {
        rewardSum += rewards[b][t];
        if (!cell) return;
        klSum += kl[b][t];
        const p = yOf(-state.beta * kl[b][t] + 0), z = yOf(0);
        setAttrs(cell.penalty, { y: Math.min(p, z), height: Math.abs(p - z) });
        cell.tip.textContent = `token ${t + 1}: kl ${fmt(kl[b][t], 4)} nats, reward ${fmt(rewards[b][t], 4)}`;
      });
      total.textContent = fmt(rewardSum, 4);
      tableCells[b].kl.textContent = fmt(klSum, 4);
      tableCells[b].total.textContent = fmt(rewardSum, 4);
      summary.push(`response ${labels[b]}: ${fmt(rewardSum, 4)}`);
    });
    desc.textContent = `β = ${fmt(state.beta, 3)}, estimator ${state.estimator}. Summed rewards: ${summary.join("; ")}.`;
  }
  bindSlider(model, state, controls, "beta", {
    label: "KL coefficient β",
    min: 0,
    max: state.beta_max,
    step: 5e-3,
    text: (v) => fmt(v, 3)
  }, redraw, cleanups);
  bindChoice(model, state, controls, "estimator", { label: "KL estimator", options: ESTIMATORS }, redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}
var render = responsive(draw);
var reward_shaping_default = { render };
export {
  KEYS,
  reward_shaping_default as default,
  klPenalizedRewards,
  lastValidIndex
};
