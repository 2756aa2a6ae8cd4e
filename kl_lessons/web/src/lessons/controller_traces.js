// Lesson 5: two KL controllers steering a simulated policy ("plant"), against the target and the horizon.
// An anywidget front-end module; esbuild bundles it with the kit into one file for MyST and JupyterLab.

import {
  OKABE_ITO, setAttrs, svg, html, fmt, linear, niceTicks, mountWidget, makeFigure, makeAxis, bindSlider, readoutSpan, readModel,
  responsive, gridPlace,
} from "../kit.js";
import { mulberry32 } from "../math.js";

// ---- pure math (parity-tested against kl_lessons.controllers and kl_lessons.plant) ----

/** `count` seeded standard-normal draws (Box–Muller on mulberry32). */
export function normalDraws(seed, count) {
  const next = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    const u = 1 - next(); // in (0, 1], so the logarithm stays finite
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return out;
}

function logTable(betas, kls) {
  if (betas.length !== kls.length || betas.length < 2) throw new RangeError("betas and kls need the same length, at least 2");
  const order = betas.map((_, i) => i).sort((i, j) => betas[i] - betas[j]);
  return { logBetas: order.map((i) => Math.log(betas[i])), logKls: order.map((i) => Math.log(kls[i])) };
}

function interpolate(x, xs, ys) {
  // Held at the end values outside the table, like numpy.interp.
  if (x <= xs[0]) return ys[0];
  const n = xs.length;
  if (x >= xs[n - 1]) return ys[n - 1];
  let j = 0;
  while (xs[j + 1] <= x) j += 1;
  const slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]);
  return slope * (x - xs[j]) + ys[j];
}

/** Equilibrium KL (nats) under a fixed β: piecewise linear in (log β, log KL) through the table, clamped. */
export function equilibriumKl(beta, betas, kls) {
  if (!(beta > 0)) throw new RangeError(`beta must be > 0, got ${beta}`);
  const { logBetas, logKls } = logTable(betas, kls);
  return Math.exp(interpolate(Math.log(beta), logBetas, logKls));
}

/**
 * A policy under training as a noisy first-order lag toward the equilibrium KL. Each step with β
 * returns the measured KL, kl_true + noise·z/√batchSize, then moves kl_true a fraction 1/lag of
 * the way to equilibriumKl(β). `normals` supplies the z's in order (zeros when noise is 0).
 */
export class KLPlant {
  constructor({ betas, kls, lag, noise, batchSize, kl0 = 0, normals = null }) {
    const table = logTable(betas, kls);
    this.logBetas = table.logBetas;
    this.logKls = table.logKls;
    this.lag = lag;
    this.noise = noise;
    this.batchSize = batchSize;
    this.klTrue = kl0;
    this.normals = normals;
    this.t = 0;
  }

  equilibrium(beta) {
    return Math.exp(interpolate(Math.log(beta), this.logBetas, this.logKls));
  }

  step(beta) {
    const target = this.equilibrium(beta);
    const z = this.normals ? this.normals[this.t] : 0;
    this.t += 1;
    const measured = this.klTrue + (this.noise / Math.sqrt(this.batchSize)) * z;
    this.klTrue += (target - this.klTrue) / this.lag;
    return measured;
  }
}

/** Ziegler et al. (2019)'s proportional rule: β ← β·(1 + clip(KL/target − 1, ±0.2)·nSteps/horizon). */
export class AdaptiveKLController {
  constructor(initKlCoef, target, horizon) {
    this.value = initKlCoef;
    this.target = target;
    this.horizon = horizon;
  }

  update(current, nSteps = 1) {
    const error = Math.min(Math.max(current / this.target - 1, -0.2), 0.2);
    this.value *= 1 + (error * nSteps) / this.horizon;
    return this.value;
  }
}

/** The threshold ("bang-bang") rule: ×factor above factor·target, ÷factor below target/2, clamped. */
export class ThresholdKLController {
  constructor(initKlCoef = 0.1, target = 0.02, factor = 1.5, bounds = [0.01, 1.0]) {
    this.target = target;
    this.factor = factor;
    this.bounds = bounds;
    this.value = Math.min(Math.max(initKlCoef, bounds[0]), bounds[1]);
  }

  update(current) {
    if (current > this.factor * this.target) this.value *= this.factor;
    else if (current < 0.5 * this.target) this.value /= this.factor;
    this.value = Math.min(Math.max(this.value, this.bounds[0]), this.bounds[1]);
    return this.value;
  }
}

/** Close the loop for `nSteps`: record β and the true KL, step the plant, update the controller. */
export function simulateControl(controller, plant, nSteps) {
  const beta = new Float64Array(nSteps), klTrue = new Float64Array(nSteps), klMeasured = new Float64Array(nSteps);
  for (let t = 0; t < nSteps; t += 1) {
    beta[t] = controller.value;
    klTrue[t] = plant.klTrue;
    klMeasured[t] = plant.step(beta[t]);
    controller.update(klMeasured[t], plant.batchSize);
  }
  return { beta, klTrue, klMeasured };
}

/** Mean of the measured KL and its root-mean-square distance from the target, over the last half of a run. */
export function settledStats(klMeasured, target) {
  const tail = klMeasured.slice(Math.floor(klMeasured.length / 2));
  const mean = tail.reduce((s, x) => s + x, 0) / tail.length;
  const rms = Math.sqrt(tail.reduce((s, x) => s + (x - target) ** 2, 0) / tail.length);
  return { mean, rms };
}

// ---- the widget ----

export const KEYS = ["plant_betas", "plant_kls", "lag", "noise", "batch_size", "kl0", "seed", "n_steps", "init_beta", "target", "horizon", "threshold_factor", "threshold_bounds",
  "target_range", "log10_horizon_range", "noise_range"];
const RUNS = {
  adaptive: { colour: OKABE_ITO.blue, dash: "none", name: "proportional (Ziegler et al.)", short: "proportional" },
  threshold: { colour: OKABE_ITO.vermillion, dash: "6 3", name: "threshold (×1.5 / ÷1.5)", short: "threshold" },
};

function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = []; // how to stop listening to the model when the view goes
  const n = state.n_steps;
  // Both controllers see the same noise, fixed once, so moving a slider changes only the control.
  const normals = normalDraws(state.seed, n);

  const root = mountWidget(el, "kl-controller-traces");
  const controls = html(root, "div", { class: "kl-controls" });
  // On a phone the figure is about as wide as the screen, so its text keeps its size; one legend entry a row.
  const W = narrow ? 360 : 680, H = narrow ? 430 : 400;
  const { figure, desc } = makeFigure(root, W, H, "Two KL controllers steering a simulated policy", "");
  const x0 = narrow ? 56 : 60, x1 = narrow ? 348 : 665;
  const klPanel = narrow ? { y0: 220, y1: 78 } : { y0: 190, y1: 42 }, betaPanel = narrow ? { y0: 380, y1: 255 } : { y0: 350, y1: 225 };
  const xOf = linear(0, n - 1, x0, x1);
  svg(figure, "text", { x: (x0 + x1) / 2, y: 14, "text-anchor": "middle", class: "kl-title" }).textContent = narrow
    ? "Measured KL, and the β each controller sets" : "Measured KL per step, and the β each controller sets";
  makeAxis(figure, { orient: "bottom", at: betaPanel.y0, from: x0, to: x1, count: 10 }).update(niceTicks(0, n - 1, 8), xOf, (t) => String(t));
  svg(figure, "line", { x1: x0, x2: x1, y1: klPanel.y0, y2: klPanel.y0, stroke: "#444" });
  svg(figure, "text", { x: (x0 + x1) / 2, y: H - 12, "text-anchor": "middle" }).textContent = "training step";
  [[klPanel, "KL (nats)"], [betaPanel, "β (log scale)"]].forEach(([panel, text]) => {
    const y = (panel.y0 + panel.y1) / 2;
    svg(figure, "text", { x: 14, y, transform: `rotate(-90 14 ${y})`, "text-anchor": "middle" }).textContent = text;
  });
  const klAxis = makeAxis(figure, { orient: "left", at: x0, from: klPanel.y0, to: klPanel.y1, count: 10 });
  const betaAxis = makeAxis(figure, { orient: "left", at: x0, from: betaPanel.y0, to: betaPanel.y1, count: 8 });
  const targetLine = svg(figure, "line", { x1: x0, x2: x1, stroke: OKABE_ITO.black, "stroke-width": 1.5, "stroke-dasharray": "2 3" });
  const lines = {};
  for (const [name, { colour, dash }] of Object.entries(RUNS)) {
    lines[name] = {
      kl: svg(figure, "polyline", { fill: "none", stroke: colour, "stroke-width": 1.6, "stroke-dasharray": dash }),
      beta: svg(figure, "polyline", { fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": dash }),
    };
  }
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  [...Object.values(RUNS).map((r) => [r.colour, r.dash, r.name]), [OKABE_ITO.black, "2 3", "target KL"]].forEach(([colour, dash, text], j) => {
    const { x, y } = gridPlace(j, { x: x0 + 10, y: 28, dx: 200, dy: 16, perRow: narrow ? 1 : 3 });
    svg(legend, "line", { x1: x, x2: x + 24, y1: y, y2: y, stroke: colour, "stroke-width": 2, "stroke-dasharray": dash });
    svg(legend, "text", { x: x + 29, y: y + 4 }).textContent = text;
  });

  const readout = html(root, "div", { class: "kl-readout", "aria-live": "polite" });
  const table = html(readout, "table");
  const head = html(table, "tr");
  ["controller", "final β", "mean KL, 2nd half (nats)", "RMS from target (nats)"].forEach((t) => html(head, "th", { scope: "col" }, t));
  const cells = {};
  for (const [name, { short: label }] of Object.entries(RUNS)) {
    const row = html(table, "tr");
    html(row, "th", { scope: "row" }, label);
    cells[name] = ["beta", "kl", "rms"].map((stat) => readoutSpan(html(row, "td"), `${name}_${stat}`));
  }

  function run(controller) {
    const plant = new KLPlant({
      betas: state.plant_betas, kls: state.plant_kls, lag: state.lag, noise: state.noise,
      batchSize: state.batch_size, kl0: state.kl0, normals,
    });
    return simulateControl(controller, plant, n);
  }

  // A polyline's points for one value per step. The x's never change, so their text is made once; a y is
  // rounded to a tenth of a unit (finer than a pixel) with arithmetic, which is several times faster than toFixed.
  const xText = Array.from({ length: n }, (_, t) => `${xOf(t).toFixed(1)},`);
  function points(values, y) {
    let text = "";
    for (let t = 0; t < n; t += 1) text += `${xText[t]}${Math.round(y(values[t]) * 10) / 10} `;
    return text;
  }

  function redraw() {
    const traces = {
      adaptive: run(new AdaptiveKLController(state.init_beta, state.target, state.horizon)),
      threshold: run(new ThresholdKLController(state.init_beta, state.target, state.threshold_factor, state.threshold_bounds)),
    };
    let klHi = state.target, bLo = Infinity, bHi = -Infinity, klLo = 0;
    for (const tr of Object.values(traces)) {
      for (let t = 0; t < n; t += 1) {
        klHi = Math.max(klHi, tr.klMeasured[t]);
        klLo = Math.min(klLo, tr.klMeasured[t]);
        bLo = Math.min(bLo, tr.beta[t]);
        bHi = Math.max(bHi, tr.beta[t]);
      }
    }
    const klY = linear(klLo, klHi * 1.05, klPanel.y0, klPanel.y1);
    klAxis.update(niceTicks(klLo, klHi * 1.05, 5), klY, (t) => fmt(t, 1));
    // β axis: whole decades around the traces.
    const dLo = Math.floor(Math.log10(bLo) + 1e-9), dHi = Math.max(Math.ceil(Math.log10(bHi) - 1e-9), dLo + 1);
    const betaY = linear(dLo, dHi, betaPanel.y0, betaPanel.y1);
    const decades = Array.from({ length: dHi - dLo + 1 }, (_, i) => dLo + i);
    betaAxis.update(decades, betaY, (d) => (d >= 0 ? String(10 ** d) : (10 ** d).toFixed(-d)));
    setAttrs(targetLine, { y1: klY(state.target), y2: klY(state.target) });
    const summary = [];
    for (const [name, tr] of Object.entries(traces)) {
      lines[name].kl.setAttribute("points", points(tr.klMeasured, klY));
      lines[name].beta.setAttribute("points", points(tr.beta, (v) => betaY(Math.log10(v))));
      const { mean, rms } = settledStats(tr.klMeasured, state.target);
      const finalBeta = tr.beta[n - 1];
      cells[name][0].textContent = fmt(finalBeta, 4);
      cells[name][1].textContent = fmt(mean, 4);
      cells[name][2].textContent = fmt(rms, 4);
      summary.push(`${RUNS[name].name}: final β ${fmt(finalBeta, 4)}, mean KL ${fmt(mean, 4)} nats over the second half`);
    }
    desc.textContent = `Target ${fmt(state.target, 2)} nats, horizon ${Math.round(state.horizon)}, noise ${fmt(state.noise, 1)} nats. ${summary.join("; ")}.`;
  }

  const [tLo, tHi] = state.target_range, [hLo, hHi] = state.log10_horizon_range, [nLo, nHi] = state.noise_range;
  bindSlider(model, state, controls, "target", {
    label: "Target KL (nats)", min: tLo, max: tHi, step: 0.05, text: (v) => fmt(v, 2),
  }, redraw, cleanups);
  bindSlider(model, state, controls, "horizon", {
    label: "Horizon (samples, log scale)", min: hLo, max: hHi, step: 0.05, text: (v) => String(Math.round(v)),
    toSlider: (v) => Math.log10(v), fromSlider: (v) => 10 ** v,
  }, redraw, cleanups);
  bindSlider(model, state, controls, "noise", {
    label: "Noise of one reading (nats)", min: nLo, max: nHi, step: 0.1, text: (v) => fmt(v, 1),
  }, redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}

const render = responsive(draw);
export default { render };
