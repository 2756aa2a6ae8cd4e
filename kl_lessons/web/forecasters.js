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
function klContributions(p, q) {
  if (p.length !== q.length) throw new RangeError(`p has ${p.length} outcomes but q has ${q.length}`);
  return p.map((pi, i) => pi > 0 ? pi * Math.log(pi) - pi * Math.log(q[i]) : 0);
}
function klDivergence(p, q) {
  let total = 0;
  for (const term of klContributions(p, q)) total += term;
  return Math.max(0, total);
}

// kl_lessons/web/src/lessons/forecasters.js
function forecast(pRain) {
  if (!(pRain >= 0 && pRain <= 1)) throw new RangeError(`pRain must lie in [0, 1], got ${pRain}`);
  return [pRain, 1 - pRain];
}
var KEYS = ["p_rain", "q_rain", "labels", "names"];
function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const [nameA, nameB] = state.names;
  const labels = state.labels;
  const root = mountWidget(el, "kl-forecasters");
  const controls = html(root, "div", { class: "kl-controls" });
  const W = narrow ? 360 : 660, H = narrow ? 490 : 290;
  const panels = narrow ? [{ x0: 55, x1: 350, top: 40, bottom: 200 }, { x0: 55, x1: 350, top: 262, bottom: 422 }] : [{ x0: 55, x1: 295, top: 40, bottom: 240 }, { x0: 395, x1: 645, top: 40, bottom: 240 }];
  const [left, right] = panels;
  const { figure, desc } = makeFigure(root, W, H, `KL between ${nameA} and ${nameB}`, "");
  const defs = svg(figure, "defs");
  const hatchB = hatchPattern(defs, OKABE_ITO.orange);
  const colourA = OKABE_ITO.blue, colourB = OKABE_ITO.orange;
  const probY = linear(0, 1, left.bottom, left.top);
  const TERM_LO = -0.5, TERM_HI = 2.5;
  const termY = linear(TERM_LO, TERM_HI, right.bottom, right.top);
  [[left, "The two forecasts", "probability"], [right, "Each outcome's term p·log(p/q)", "term (nats)"]].forEach(([panel, title, unit]) => {
    svg(figure, "text", { x: (panel.x0 + panel.x1) / 2, y: panel.top - 22, "text-anchor": "middle", class: "kl-title" }).textContent = title;
    const x = panel.x0 - 41, y = (panel.top + panel.bottom) / 2;
    svg(figure, "text", { x, y, transform: `rotate(-90 ${x} ${y})`, "text-anchor": "middle" }).textContent = unit;
  });
  makeAxis(figure, { orient: "left", at: left.x0, from: left.top, to: left.bottom, count: 6 }).update(niceTicks(0, 1, 5), probY, (t) => t.toFixed(1));
  makeAxis(figure, { orient: "left", at: right.x0, from: right.top, to: right.bottom, count: 8 }).update(niceTicks(TERM_LO, TERM_HI, 6), termY, (t) => t.toFixed(1));
  svg(figure, "line", { x1: left.x0, x2: left.x1, y1: left.bottom, y2: left.bottom, stroke: "#444" });
  svg(figure, "line", { x1: right.x0, x2: right.x1, y1: termY(0), y2: termY(0), stroke: "#444" });
  const barWidth = 34;
  const makeBars = (panel, fills, strokes) => labels.map((label, k) => {
    const centre = panel.x0 + (k + 0.5) * (panel.x1 - panel.x0) / labels.length;
    svg(figure, "text", { x: centre, y: panel.bottom + 16, "text-anchor": "middle" }).textContent = label;
    return [0, 1].map((j) => {
      const x = centre + (j === 0 ? -barWidth - 2 : 2);
      const rect = svg(figure, "rect", { x, width: barWidth, fill: fills[j], stroke: strokes[j], "stroke-width": 1.5 });
      const value = svg(figure, "text", { x: x + barWidth / 2, "text-anchor": "middle" });
      return { rect, value };
    });
  });
  const forecastBars = makeBars(left, [colourA, hatchB], [colourA, colourB]);
  const termBars = makeBars(right, [colourA, hatchB], [colourA, colourB]);
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  [[colourA, colourA, `${nameA}; terms of KL(A‖B)`], [hatchB, colourB, `${nameB}; terms of KL(B‖A)`]].forEach(([fill, stroke, text], j) => {
    const { x, y } = gridPlace(j, narrow ? { x: 20, y: H - 40, dx: 0, dy: 20, perRow: 1 } : { x: 60, y: H - 22, dx: 300, dy: 0, perRow: 2 });
    svg(legend, "rect", { x, y, width: 14, height: 12, fill, stroke, "stroke-width": 1.5 });
    svg(legend, "text", { x: x + 20, y: y + 10 }).textContent = text;
  });
  const readout = html(root, "p", { class: "kl-readout", "aria-live": "polite" });
  html(readout, "b", {}, "KL(A‖B) = ");
  const klAB = readoutSpan(readout, "kl_ab");
  readout.append(" nats,  ");
  html(readout, "b", {}, "KL(B‖A) = ");
  const klBA = readoutSpan(readout, "kl_ba");
  readout.append(" nats");
  function setBar(bar, value, y, lo, hi, digits) {
    const shown = Math.min(Math.max(value, lo), hi);
    const y0 = y(0), y1 = y(shown);
    setAttrs(bar.rect, { y: Math.min(y0, y1), height: Math.abs(y1 - y0) });
    setAttrs(bar.value, { y: value >= 0 ? Math.min(y0, y1) - 4 : Math.max(y0, y1) + 12 });
    bar.value.textContent = fmt(value, digits);
  }
  function redraw() {
    const a = forecast(state.p_rain), b = forecast(state.q_rain);
    const termsAB = klContributions(a, b), termsBA = klContributions(b, a);
    labels.forEach((_, k) => {
      setBar(forecastBars[k][0], a[k], probY, 0, 1, 2);
      setBar(forecastBars[k][1], b[k], probY, 0, 1, 2);
      setBar(termBars[k][0], termsAB[k], termY, TERM_LO, TERM_HI, 3);
      setBar(termBars[k][1], termsBA[k], termY, TERM_LO, TERM_HI, 3);
    });
    const ab = klDivergence(a, b), ba = klDivergence(b, a);
    klAB.textContent = fmt(ab, 4);
    klBA.textContent = fmt(ba, 4);
    desc.textContent = `${nameA} gives ${labels[0]} ${fmt(a[0], 2)}, ${nameB} gives ${fmt(b[0], 2)}. KL(A‖B) is ${fmt(ab, 4)} nats and KL(B‖A) is ${fmt(ba, 4)} nats.`;
  }
  const probability = { min: 0, max: 1, step: 0.01, text: (v) => fmt(v, 2) };
  bindSlider(model, state, controls, "p_rain", { ...probability, label: `${nameA}: P(${labels[0]})` }, redraw, cleanups);
  bindSlider(model, state, controls, "q_rain", { ...probability, label: `${nameB}: P(${labels[0]})` }, redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}
var render = responsive(draw);
var forecasters_default = { render };
export {
  KEYS,
  forecasters_default as default,
  forecast,
  klContributions,
  klDivergence
};
