// Lesson 6: replay recorded RLHF runs. A step slider moves a cursor across six metric panels,
// a marker shows where each run is, and a table gives every run's numbers and its nearest samples.
// An anywidget front-end module; esbuild bundles it with the kit into one file for MyST and JupyterLab.
// Nothing is trained here: the data are what kl_lessons.rlhf.train recorded, passed in the model.

import {
  OKABE_ITO, setAttrs, svg, html, fmt, linear, niceTicks, mountWidget, makeFigure, makeAxis, bindSlider,
  bindChoice, readModel,
  responsive, gridPlace,
} from "../kit.js";
import { nearestIndex, valueRange } from "../math.js";

// ---- pure helpers (tested under node) ----

/** y = sign(v)·log10(1 + |v|): a symmetric log scale, linear near 0, so 3 nats and 300 nats share a panel. */
export function symlog(v) {
  return Math.sign(v) * Math.log10(1 + Math.abs(v));
}

/** The recorded step closest to `step` (the earlier one on a tie), or null if nothing was recorded. */
export function nearestSampleStep(samples, step) {
  return samples.length ? samples[nearestIndex(samples.map(([s]) => s), step)][0] : null;
}

/** Smallest and largest finite value over every run's series of `key` (nulls are gaps). */
export function seriesRange(runs, key) {
  return valueRange(runs.map((run) => run.metrics[key]));
}

// ---- the widget ----

export const KEYS = ["runs", "n_steps", "step", "front"];
const ALL = "all runs";
const PANELS = [
  { key: "kl_mean", title: "KL per text (batch mean)", short: "KL per text (mean)", unit: "nats, symlog", scale: "symlog" },
  { key: "proxy", title: "proxy reward (trained on)", short: "proxy (trained on)", unit: "points" },
  { key: "gold", title: "gold score (not trained on)", short: "gold (not trained on)", unit: "score units" },
  { key: "entropy", title: "policy entropy", short: "policy entropy", unit: "nats/char" },
  { key: "distinct2", title: "distinct-2 of the batch", short: "distinct-2 of batch", unit: "share" },
  { key: "beta", title: "β, the KL coefficient", short: "β, KL coefficient", unit: "points/nat" },
];
const COLUMNS = [
  ["kl_mean", "KL mean (nats)"], ["kl_max", "KL max (nats)"], ["proxy", "proxy"], ["gold", "gold"],
  ["entropy", "entropy (nats/char)"], ["distinct2", "distinct-2"], ["ref_loglik", "log π_ref (nats/char)"], ["beta", "β"],
];
const STYLES = [
  { colour: OKABE_ITO.vermillion, dash: "none", marker: "circle" },
  { colour: OKABE_ITO.blue, dash: "6 3", marker: "square" },
  { colour: OKABE_ITO.green, dash: "8 3 2 3", marker: "diamond" },
  { colour: OKABE_ITO.orange, dash: "2 2", marker: "circle" },
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

  // Six panels, three a row; on a phone two a row, in a figure about as wide as the screen so the text keeps its size.
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
    svg(figure, "text", { x: (x0 + x1) / 2, y: top - 8, "text-anchor": "middle", class: "kl-title", ...(narrow ? { style: "font-size: 11px" } : {}) })
      .textContent = narrow ? panel.short : panel.title;
    const unitX = x0 - (narrow ? 36 : 40);
    svg(figure, "text", { x: unitX, y: (top + bottom) / 2, transform: `rotate(-90 ${unitX} ${(top + bottom) / 2})`, "text-anchor": "middle" }).textContent = panel.unit;
    const inside = (t) => t >= lo - pad && t <= hi + pad;
    // A symlog axis is labelled at 0, ±1, ±10, ±100 … in the data's own units.
    const ticks = panel.scale === "symlog"
      ? [0, 1, 10, 100, 1000, 10000].flatMap((v) => (v ? [-v, v] : [v])).map(symlog).filter(inside).sort((a, b) => a - b)
      : niceTicks(lo - pad, hi + pad, 4).filter(inside);
    const label = panel.scale === "symlog" ? (t) => String(Math.round(Math.sign(t) * (10 ** Math.abs(t) - 1))) : (t) => String(Number(t.toPrecision(3)));
    makeAxis(figure, { orient: "left", at: x0, from: bottom, to: top, count: 10 }).update(ticks, y, label);
    makeAxis(figure, { orient: "bottom", at: bottom, from: x0, to: x1, count: 6 }).update(niceTicks(0, n - 1, 3), x, (t) => String(t));
    const lines = runs.map((run, r) => {
      const { colour, dash } = STYLES[r % STYLES.length];
      // A null (NaN step) breaks the line: one polyline per unbroken stretch.
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
  // A phone is narrower than the table: it scrolls inside its box instead of widening the page.
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
  const text = (v, digits = 2) => (v === null ? "n/a" : fmt(v, digits));

  function redrawStep() {
    const t = Math.round(state.step);
    heading.textContent = `Step ${t} of ${n - 1}`;
    cursors.forEach(({ line, x }) => setAttrs(line, { x1: x(t), x2: x(t) }));
    markers.forEach(({ nodes, x, y, tf, key }) => nodes.forEach((node, r) => {
      const v = value(runs[r], key, t);
      if (v === null) { node.setAttribute("visibility", "hidden"); return; }
      node.setAttribute("visibility", "visible");
      placeMarker(node, STYLES[r % STYLES.length].marker, x(t), y(tf(v)));
    }));
    runs.forEach((run, r) => COLUMNS.forEach(([key], c) => { cells[r][c].textContent = text(value(run, key, t), key === "beta" ? 3 : 2); }));
    runs.forEach((run, r) => {
      const s = nearestSampleStep(run.samples, t);
      const texts = s === null ? [] : run.samples.find(([k]) => k === s)[1];
      sampleLines[r].textContent = s === null ? `${run.name}: no samples recorded`
        : `${run.name}, samples at step ${s}: ${texts.map((x) => `“${x.replace(/\n/g, " / ")}”`).join("  ")}`;
    });
    desc.textContent = `Step ${t}. ` + runs.map((run) => `${run.name}: KL ${text(value(run, "kl_mean", t), 1)} nats, `
      + `proxy ${text(value(run, "proxy", t))}, gold ${text(value(run, "gold", t))}`).join("; ") + ".";
  }

  function redrawFront() {
    markers.forEach(({ lines, nodes }) => runs.forEach((run, r) => {
      const opacity = state.front === ALL || state.front === run.name ? 1 : 0.2;
      lines[r].setAttribute("opacity", opacity);
      nodes[r].setAttribute("opacity", opacity);
      // The run in front is drawn last, on top of the others.
      if (state.front === run.name) lines[r].parentNode.appendChild(lines[r]);
    }));
  }

  const redraw = (key) => (key === "front" ? redrawFront() : redrawStep());
  bindSlider(model, state, controls, "step", { label: "Training step", min: 0, max: n - 1, step: 1, text: (v) => String(v) }, redraw, cleanups);
  bindChoice(model, state, controls, "front", { label: "In front", options: [ALL, ...names] }, redraw, cleanups);
  redrawFront();
  redrawStep();
  return () => cleanups.forEach((stop) => stop());
}

const render = responsive(draw);
export default { render };
