// Lesson 4: the exact optimum π_β ∝ π_ref·exp(r/β) against β, and where it sits on the reward–KL frontier.
// An anywidget front-end module; esbuild bundles it with the kit into one file for MyST and JupyterLab.

import {
  OKABE_ITO, uniqueId, setAttrs, svg, html, fmt, linear, niceTicks, mountWidget, makeFigure, hatchPattern, makeAxis, bindSlider, readoutSpan, readModel,
  responsive, gridPlace,
} from "../kit.js";
import { expectation, logSumExp, softmax } from "../math.js";

// Re-exported: the parity tests call it on this lesson's bundle.
export { expectation };

// ---- pure math (parity-tested against kl_lessons.optimum) ----

function checkPair(refProbs, rewards) {
  if (refProbs.length !== rewards.length) throw new RangeError(`refProbs has ${refProbs.length} entries but rewards has ${rewards.length}`);
}

/** The KL-regularised optimum π_β(y) = π_ref(y)·exp(r(y)/β) / Z(β), for β > 0. */
export function tiltedPolicy(refProbs, rewards, beta) {
  checkPair(refProbs, rewards);
  if (!(beta > 0)) throw new RangeError(`beta must be > 0, got ${beta}`);
  const inverse = 1 / beta;
  return softmax(refProbs.map((p, i) => Math.log(p) + rewards[i] * inverse));
}

/**
 * Expected reward E_{π_β}[r] and KL(π_β‖π_ref) in nats for each β, using KL = λ·E[r] − log Z with λ = 1/β.
 * Returns { expected, kl }, arrays as long as `betas`.
 */
export function klRewardFrontier(refProbs, rewards, betas) {
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

/** `count` values spaced evenly in log10 between 10^lo and 10^hi. */
export function logGrid(lo, hi, count) {
  return Array.from({ length: count }, (_, i) => 10 ** (lo + ((hi - lo) * i) / (count - 1)));
}

// ---- the widget ----

export const KEYS = ["labels", "marks", "mark_symbol", "ref_probs", "rewards", "gold", "beta", "log10_beta_range"];
// One colour and fill pattern per mark count, so the shouty replies stand out without colour too.
const MARK_STYLES = [
  [OKABE_ITO.blue, null], [OKABE_ITO.sky, "dots"], [OKABE_ITO.orange, "diagonal"],
  [OKABE_ITO.vermillion, "cross"], [OKABE_ITO.purple, "dots"], [OKABE_ITO.green, "diagonal"],
];

function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = []; // how to stop listening to the model when the view goes
  const { labels, marks, ref_probs: ref, rewards, gold } = state;
  const [logLo, logHi] = state.log10_beta_range;
  const K = ref.length;

  // The frontier does not depend on the slider: trace it once, from large β (near π_ref) to small β.
  const grid = logGrid(logHi, logLo, 161);
  const curve = klRewardFrontier(ref, rewards, grid);
  const goldCurve = gold ? grid.map((b) => expectation(tiltedPolicy(ref, rewards, b), gold)) : null;
  const rootKl = curve.kl.map(Math.sqrt);

  const root = mountWidget(el, "kl-frontier");
  const controls = html(root, "div", { class: "kl-controls" });
  // Two panels: side by side in a wide column; on a phone one above the other, in a figure about as
  // wide as the screen, so the text keeps its size.
  const W = narrow ? 360 : 700, H = narrow ? 564 : 340;
  const { figure, desc } = makeFigure(root, W, H, "The optimum π_β and its place on the reward–KL frontier", "");
  const defs = svg(figure, "defs");
  const front = narrow ? { x0: 55, x1: 345, top: 40, bottom: 220, title: 14 } : { x0: 55, x1: 275, top: 50, bottom: 250, title: 14 };
  const bars = narrow ? { x0: 46, x1: 352, top: 334, bottom: 490, title: 282 } : { x0: 340, x1: 690, top: 50, bottom: 250, title: 14 };
  svg(figure, "text", { x: (front.x0 + front.x1) / 2, y: front.title, "text-anchor": "middle", class: "kl-title" }).textContent = "Frontier of the exact optimum π_β";
  svg(figure, "text", { x: (bars.x0 + bars.x1) / 2, y: bars.title, "text-anchor": "middle", class: "kl-title" }).textContent = "π_β (filled) beside π_ref (hatched outline)";

  // Left: expected rewards against √KL, as Gao et al. (2022) plot them.
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
  // dE[r]/dKL = β, so on a √KL axis the slope is 2·√KL·β: a short tangent shows it.
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

  // Right: π_ref and π_β for every response, grouped where consecutive labels repeat.
  const probY = linear(0, 1, bars.bottom, bars.top);
  makeAxis(figure, { orient: "left", at: bars.x0, from: bars.bottom, to: bars.top, count: 8 }).update(niceTicks(0, 1, 5), probY, (t) => fmt(t, 1));
  svg(figure, "line", { x1: bars.x0, x2: bars.x1, y1: bars.bottom, y2: bars.bottom, stroke: "#444" });
  svg(figure, "text", { x: bars.x0 - 32, y: (bars.top + bars.bottom) / 2, transform: `rotate(-90 ${bars.x0 - 32} ${(bars.top + bars.bottom) / 2})`, "text-anchor": "middle" }).textContent = "probability";
  const groups = [];
  labels.forEach((label, k) => {
    if (!groups.length || groups[groups.length - 1].label !== label) groups.push({ label, start: k, end: k });
    else groups[groups.length - 1].end = k;
  });
  const gap = 0.8; // empty slots between groups
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
    // On a phone the labels turn further, so the first one stays inside the figure.
    const turn = narrow ? -50 : -30;
    svg(figure, "text", { x, y: bars.bottom + 12, "text-anchor": "end", transform: `rotate(${turn} ${x} ${bars.bottom + 12})`, style: "font-size: 10px" }).textContent = label;
  });
  const legend2 = svg(figure, "g", { "aria-hidden": "true" });
  [[refFill, OKABE_ITO.grey, "π_ref"], ...fills.map((f) => [f.fill, f.colour, `π_β, ${f.mark} '${state.mark_symbol}'`])].forEach(([fill, stroke, text], j) => {
    const { x, y } = gridPlace(j, narrow ? { x: bars.x0, y: bars.top - 40, dx: 100, dy: 15, perRow: 3 }
      : { x: bars.x0 + 120, y: bars.top - 6, dx: 85, dy: 15, perRow: 3 });
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
    pi.forEach((p, k) => {
      const y = probY(Math.min(p, 1));
      setAttrs(policyBars[k].bar, { y, height: bars.bottom - y });
      policyBars[k].tip.textContent = `${labels[k]}, ${marks[k]} '${state.mark_symbol}': π_β = ${fmt(p, 4)}, π_ref = ${fmt(ref[k], 4)}`;
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
    desc.textContent = `At β = ${fmt(state.beta, 4)} the optimum has KL ${fmt(k, 4)} nats and expected proxy reward ${fmt(e, 4)}`
      + (goldCurve ? ` and gold reward ${fmt(goldValue, 4)}` : "") + `; its most likely reply is ${topText.textContent}.`;
  }

  bindSlider(model, state, controls, "beta", {
    label: "KL coefficient β (log scale)", min: logLo, max: logHi, step: 0.05, text: (v) => fmt(v, 4),
    toSlider: (v) => Math.log10(v), fromSlider: (v) => 10 ** v,
  }, redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}

const render = responsive(draw);
export default { render };
