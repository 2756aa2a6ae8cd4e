// Lesson 9: scrub TRL's own logs of the lesson's GRPOTrainer runs. Pick a logged key and a β: the panel draws
// that key over the steps for every β (the chosen one in front), a cursor follows the step slider, and the
// readout gives every key at that step for the chosen β, with the completions TRL sampled there.
// An anywidget front-end module; esbuild bundles it with the kit into one file for MyST and JupyterLab.
// Nothing is trained here: the data are what kl_lessons.trl_run.run_grpo kept, passed in the model.

import {
  OKABE_ITO, setAttrs, svg, html, fmt, linear, niceTicks, mountWidget, makeFigure, makeAxis, bindSlider,
  bindChoice, readModel, responsive, gridPlace,
} from "../kit.js";
import { quantile, valueRange } from "../math.js";

// ---- pure helpers (tested under node) ----

/** Smallest and largest logged value of `key` over every run (null steps skipped); [0, 1] when none. */
export function keyRange(runs, key) {
  return valueRange(runs.map((run) => run.series[key]));
}

/** The median of a run's logged values of one key (null steps skipped), or null when it logged none. */
export function runMedian(series) {
  const values = series.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  return values.length ? quantile(values, 0.5) : null;
}

// ---- the widget ----

export const KEYS = ["runs", "log_keys", "n_steps", "step", "key", "beta"];
const STYLES = [
  { colour: OKABE_ITO.vermillion, dash: "none" },
  { colour: OKABE_ITO.orange, dash: "6 3" },
  { colour: OKABE_ITO.blue, dash: "2 2" },
  { colour: OKABE_ITO.green, dash: "8 3 2 3" },
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
    fill: "none", stroke: STYLES[r % STYLES.length].colour, "stroke-width": 2, "stroke-dasharray": STYLES[r % STYLES.length].dash,
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
  const text = (v) => (v === null ? "not logged" : fmt(v, 3));
  let y = null;

  function redrawKey() {
    const [lo, hi] = keyRange(runs, state.key);
    const pad = 0.06 * (hi - lo);
    y = linear(lo - pad, hi + pad, bottom, top);
    yAxis.update(niceTicks(lo - pad, hi + pad, 5).filter((t) => t >= lo - pad && t <= hi + pad), y, (t) => String(Number(t.toPrecision(3))));
    title.textContent = state.key;
    unitLabel.textContent = unitOf(state.key);
    runs.forEach((run, r) => {
      const points = run.series[state.key].map((v, i) => (v === null ? null : `${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
      setAttrs(lines[r], { points: points.join(" "), opacity: run.beta === state.beta ? 1 : 0.3 });
      // The chosen β is drawn last, on top of the others.
      if (run.beta === state.beta) figure.insertBefore(lines[r], cursor);
    });
    redrawStep();
  }

  function redrawStep() {
    const t = Math.round(state.step), run = runOf();
    // The run's median beside the step's value: is this step ordinary for the run, or where it turned?
    heading.textContent = `Step ${t} of ${n}, β = ${run.beta}; median ${state.key} over the run: ${text(runMedian(run.series[state.key]))}`;
    setAttrs(cursor, { x1: x(t), x2: x(t) });
    runs.forEach((r, i) => {
      const v = r.series[state.key][t - 1];
      setAttrs(dots[i], v === null ? { visibility: "hidden" } : { visibility: "visible", cx: x(t), cy: y(v), opacity: r.beta === state.beta ? 1 : 0.3 });
    });
    state.log_keys.forEach(({ key }, c) => { cells[c].textContent = text(run.series[key][t - 1]); });
    sampleList.replaceChildren();
    html(sampleList, "p", {}, `Completions TRL sampled at step ${t}:`);
    run.completions[t - 1].forEach((s) => html(sampleList, "p", { class: "kl-sample" }, `“${s}”`));
    desc.textContent = `Step ${t}. ` + runs.map((r) => `β = ${r.beta}: ${state.key} ${text(r.series[state.key][t - 1])}`).join("; ") + ".";
  }

  const redraw = (key) => (key === "step" ? redrawStep() : redrawKey());
  bindSlider(model, state, controls, "step", { label: "Step", min: 1, max: n, step: 1, text: (v) => String(v) }, redraw, cleanups);
  bindChoice(model, state, controls, "beta", { label: "β", options: runs.map((run) => run.beta) }, redraw, cleanups);
  bindChoice(model, state, controls, "key", { label: "Logged key", options: state.log_keys.map((k) => k.key) }, redraw, cleanups);
  redrawKey();
  return () => cleanups.forEach((stop) => stop());
}

const render = responsive(draw);
export default { render };
