// Lesson 2: how widely the batch means of k1, k2 and k3 scatter, against the number of sampled tokens.
// An anywidget front-end module; esbuild bundles it with the kit into one file for MyST and JupyterLab.

import {
  OKABE_ITO, setAttrs, svg, html, fmt, linear, niceTicks, mountWidget, makeFigure, makeAxis, bindSlider, readoutSpan, readModel,
  responsive, gridPlace,
} from "../kit.js";
import { ESTIMATORS, klDivergence, klTerm, mulberry32, quantile, sampleTokens, softmax, tokenSampler } from "../math.js";

// Re-exported: the parity tests call them on this lesson's bundle.
export { ESTIMATORS, klDivergence, sampleTokens };

// ---- pure math (parity-tested against kl_lessons.estimators and kl_lessons.divergence) ----

/** `count` seeded uniforms in [0, 1). */
export function uniforms(seed, count) {
  const next = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 1) out[i] = next();
  return out;
}

/** The policy π ∝ π_ref·exp(drift·direction), a softmax; drift = 0 gives π_ref. */
export function driftedPolicy(refProbs, direction, drift) {
  if (refProbs.length !== direction.length) throw new RangeError("refProbs and direction must have the same length");
  return softmax(refProbs.map((p, i) => Math.log(p) + drift * direction[i]));
}

/**
 * Single-sample estimates of KL(π‖π_ref) for tokens drawn from π, in nats (Schulman, 2020).
 * With log r = ref − logprob: k1 = −log r, k2 = ½(log r)², k3 = (r − 1) − log r.
 */
export function klEstimate(logprobs, refLogprobs, estimator) {
  if (logprobs.length !== refLogprobs.length) throw new RangeError("logprobs and refLogprobs must have the same length");
  return Float64Array.from(logprobs, (lp, i) => klTerm(lp, refLogprobs[i], estimator));
}

/** Batch sizes 1, 2, 4, …, 2^maxLog2. */
export function batchSizes(maxLog2) {
  return Array.from({ length: maxLog2 + 1 }, (_, k) => 2 ** k);
}

/**
 * Spread of batch means. `tokens` holds `trials` rows of `maxSize` draws; the batch of size n in a
 * trial is its first n draws. For every estimator and size: the mean over trials of the batch means,
 * their standard deviation (divided by trials − 1), their 10 % and 90 % quantiles, and the share < 0.
 */
export function batchMeanSpread(tokens, trials, maxSize, logPolicy, logRef, sizes) {
  // An estimate depends only on which token was drawn, so tabulate each estimator once per vocabulary entry.
  const [t1, t2, t3] = ESTIMATORS.map((name) => klEstimate(logPolicy, logRef, name));
  const means = ESTIMATORS.map(() => sizes.map(() => new Float64Array(trials)));
  for (let t = 0; t < trials; t += 1) {
    // One pass over the trial's draws keeps three running sums, read off at each batch size.
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

// ---- the widget ----

const DRIFT_STEP = 0.05;
export const KEYS = ["ref_probs", "direction", "drift", "sample_size", "max_log2_size", "trials", "seed", "drift_max"];
const STYLE = {
  k1: { colour: OKABE_ITO.blue, dash: "none", name: "k1 = −log r" },
  k2: { colour: OKABE_ITO.orange, dash: "7 4", name: "k2 = ½(log r)²" },
  k3: { colour: OKABE_ITO.green, dash: "2 3", name: "k3 = (r−1) − log r" },
};

function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = []; // how to stop listening to the model when the view goes
  const sizes = batchSizes(state.max_log2_size);
  const maxSize = sizes[sizes.length - 1];
  const draws = uniforms(state.seed, state.trials * maxSize); // common random numbers: smooth as drift moves
  const sample = tokenSampler(draws); // the draws sorted into cells once, so a drift move samples in one pass
  const logRef = state.ref_probs.map(Math.log);

  const root = mountWidget(el, "kl-estimator-spread");
  const controls = html(root, "div", { class: "kl-controls" });
  // On a phone the figure is about as wide as the screen, so its text keeps its size; the legend takes two rows.
  const W = narrow ? 360 : 660, H = narrow ? 360 : 330;
  const { figure, desc } = makeFigure(root, W, H, "Spread of batch-mean KL estimates against batch size", "");
  const plot = narrow ? { x0: 56, x1: 336, y0: 320, y1: 70 } : { x0: 60, x1: 640, y0: 290, y1: 58 };
  const xOf = linear(0, state.max_log2_size, plot.x0, plot.x1);
  svg(figure, "text", { x: narrow ? W / 2 : (plot.x0 + plot.x1) / 2, y: 16, "text-anchor": "middle", class: "kl-title" }).textContent =
    narrow ? "Batch means: 10–90 % band and mean" : "Batch means over trials: 10–90 % band and mean";
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
      line: svg(figure, "polyline", { fill: "none", stroke: colour, "stroke-width": 2.2, "stroke-dasharray": dash }),
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

  // What a drift gives (exact KL and the spread at every size) does not depend on the batch-size slider, and the
  // drift slider has a few dozen positions: each result is kept, and the positions are filled in while the page
  // is idle, so a drift move usually only redraws. A drift set from Python off the grid is computed when asked.
  const byDrift = new Map();
  function atDrift(drift) {
    if (!byDrift.has(drift)) {
      const policy = driftedPolicy(state.ref_probs, state.direction, drift);
      byDrift.set(drift, { exact: klDivergence(policy, state.ref_probs),
        spread: batchMeanSpread(sample(policy), state.trials, maxSize, policy.map(Math.log), logRef, sizes) });
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
  cleanups.push(() => { stopped = true; });

  let spread = null, exact = 0;
  function recompute() {
    ({ exact, spread } = atDrift(state.drift));
    let lo = Math.min(0, exact), hi = exact;
    for (const name of ESTIMATORS) for (const s of spread[name]) { lo = Math.min(lo, s.q10); hi = Math.max(hi, s.q90); }
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
    desc.textContent = `Exact KL ${fmt(exact, 4)} nats. With ${state.sample_size} tokens per batch the batch means have `
      + `standard deviation ${fmt(k1.sd, 4)} for k1 and ${fmt(k3.sd, 4)} for k3; ${fmt(100 * k1.negative, 1)} % of k1 batch means are negative.`;
  }

  function redraw(key) {
    if (key !== "sample_size") recompute(); // moving the batch size only moves the marker
    showSize();
  }

  bindSlider(model, state, controls, "drift", {
    label: "Policy drift from π_ref", min: 0, max: state.drift_max, step: DRIFT_STEP, text: (v) => fmt(v, 2),
  }, redraw, cleanups);
  bindSlider(model, state, controls, "sample_size", {
    label: "Tokens per batch", min: 0, max: state.max_log2_size, step: 1, text: (v) => String(v),
    toSlider: (v) => Math.round(Math.log2(v)), fromSlider: (v) => 2 ** v,
  }, redraw, cleanups);
  redraw();
  idle(() => fill(0));
  return () => cleanups.forEach((stop) => stop());
}

const render = responsive(draw);
export default { render };
