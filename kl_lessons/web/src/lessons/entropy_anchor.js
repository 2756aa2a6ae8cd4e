// Lesson 8: the KL penalty is an entropy bonus plus an anchor, KL(π‖π_ref) = −H(π) + H(π, π_ref).
// Move the KL coefficient β and an entropy bonus α, and see the optimum of E[proxy] + α·H(π) − β·KL(π‖π_ref)
// on lesson 4's 36 replies beside π_ref. An anywidget front-end module; esbuild bundles it with the kit.

import {
  OKABE_ITO, setAttrs, svg, html, fmt, linear, niceTicks, mountWidget, makeFigure, hatchPattern, makeAxis,
  bindSlider, readoutSpan, readModel,
} from "../kit.js";
import { crossEntropy, entropy, expectation, klDivergence, normalise, softmax } from "../math.js";

// Re-exported: the parity tests call it on this lesson's bundle.
export { normalise };

// ---- pure math (parity-tested against kl_lessons.optimum and kl_lessons.divergence) ----

/**
 * The maximiser of E_π[r] + α·H(π) − β·KL(π‖π_ref): π ∝ π_ref^(β/(α+β))·exp(r/(α+β)).
 * With β = 0 it ignores π_ref; with α = β = 0 it splits all mass evenly over the best replies.
 */
export function regularisedPolicy(refProbs, rewards, beta, alpha) {
  if (refProbs.length !== rewards.length) throw new RangeError(`refProbs has ${refProbs.length} entries but rewards has ${rewards.length}`);
  if (!(beta >= 0) || !(alpha >= 0)) throw new RangeError(`beta and alpha must be >= 0, got ${beta} and ${alpha}`);
  // With β > 0 a reply π_ref rules out would make the KL infinite; with β = 0 every reply is eligible.
  const eligible = refProbs.map((p) => beta === 0 || p > 0);
  const top = Math.max(...rewards.filter((_, i) => eligible[i]));
  if (alpha === 0 && beta === 0) {
    const best = rewards.map((r, i) => (eligible[i] && r === top ? 1 : 0));
    const ties = best.reduce((s, b) => s + b, 0);
    return best.map((b) => b / ties);
  }
  // Shifting by the best reward keeps every exponent ≤ 0: a tiny α + β gives 0, never inf − inf.
  // The anchor's weight β/(α+β) comes from a ratio, so that α + β overflowing stays right.
  const anchor = beta >= alpha ? 1 / (1 + alpha / beta) : (beta / alpha) / (1 + beta / alpha);
  const temperature = alpha + beta;
  const logits = rewards.map((r, i) => (eligible[i]
    ? (refProbs[i] > 0 ? anchor * Math.log(refProbs[i]) : 0) + (r - top) / temperature : -Infinity));
  return softmax(logits);
}

/** Every quantity a readout can show, by the readout's key, for the policy pi. */
export function readoutValues(pi, ref, proxy, gold, marks, threshold) {
  return {
    expected_proxy: expectation(pi, proxy),
    expected_gold: expectation(pi, gold),
    entropy: entropy(pi),
    cross_entropy: crossEntropy(pi, ref),
    kl: klDivergence(pi, ref),
    shout_share: pi.reduce((s, p, i) => s + (marks[i] >= threshold ? p : 0), 0),
  };
}

// ---- the widget ----

export const KEYS = ["beta", "alpha", "beta_range", "alpha_range", "slider_step", "mark_symbol", "shout_threshold",
  "readouts", "labels", "marks", "ref_probs", "proxy", "gold"];
// One colour and fill per number of "!", so the shouty replies stand out without colour too.
const MARK_STYLES = [
  [OKABE_ITO.blue, null], [OKABE_ITO.sky, "dots"], [OKABE_ITO.orange, "diagonal"], [OKABE_ITO.vermillion, "cross"],
  [OKABE_ITO.purple, "dots"], [OKABE_ITO.green, "diagonal"],
];

function render({ model, el }) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const { labels, marks, proxy, gold, mark_symbol: bang, shout_threshold: threshold } = state;
  const ref = normalise(state.ref_probs);
  const known = Object.keys(readoutValues(ref, ref, proxy, gold, marks, threshold));
  state.readouts.forEach((r) => { if (!known.includes(r.key)) throw new Error(`no readout called "${r.key}"`); });

  const root = mountWidget(el, "kl-entropy-anchor");
  // On a phone the figure shrinks to about 70 %: larger text keeps its labels readable there.
  html(root, "style", {}, "@media (max-width: 560px) { .kl-entropy-anchor svg text { font-size: 14px; } "
    + ".kl-entropy-anchor svg .kl-title { font-size: 14.5px; } }");
  const controls = html(root, "div", { class: "kl-controls" });
  // A narrow figure: on a 390 px phone its text still reads at about 8 px, on a laptop at 14.
  const W = 540, H = 330, x0 = 68, x1 = 532, top = 62, bottom = 250;
  const { figure, desc } = makeFigure(root, W, H, `The optimum π beside π_ref for each of the ${labels.length} replies`, "");
  const defs = svg(figure, "defs");
  svg(figure, "text", { x: (x0 + x1) / 2, y: 14, "text-anchor": "middle", class: "kl-title" }).textContent =
    "π maximising E[proxy] + α·H(π) − β·KL(π‖π_ref)";

  // Replies are grouped by answer (consecutive equal labels), with a gap between groups.
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
  svg(figure, "text", { x: 13, y: (top + bottom) / 2, transform: `rotate(-90 13 ${(top + bottom) / 2})`, "text-anchor": "middle" })
    .textContent = "probability of the reply";
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
    const refBox = svg(figure, "rect", { x: x - 0.5, width: slot * 0.9 + 1, fill: "none", stroke: OKABE_ITO.black,
      "stroke-width": 1, "stroke-dasharray": "2 1.5" });
    return { bar, refBox, tip: svg(bar, "title") };
  });
  groups.forEach(({ label, start, end }) => {
    const x = (slotX(start) + slotX(end) + slot * 0.9) / 2;
    svg(figure, "text", { x: x + 3, y: bottom + 10, "text-anchor": "end", transform: `rotate(-35 ${x + 3} ${bottom + 10})` })
      .textContent = label;
  });
  svg(figure, "text", { x: (x0 + x1) / 2, y: H - 6, "text-anchor": "middle" }).textContent =
    `reply: answer, then 0 … ${markValues[markValues.length - 1]} '${bang}'`;
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  const entries = [["none", OKABE_ITO.black, "π_ref", "2 1.5"], ...styles.map((s) => [s.fill, s.colour, `π, ${s.mark} '${bang}'`, ""])];
  entries.forEach(([fill, stroke, text, dash], j) => {
    const x = x0 + 4 + (j % 3) * 115, y = 24 + Math.floor(j / 3) * 15;
    svg(legend, "rect", { x, y, width: 14, height: 10, fill, stroke, "stroke-dasharray": dash });
    svg(legend, "text", { x: x + 19, y: y + 9 }).textContent = text;
  });

  // The numbers, each defined (label, unit, digits, scale) by the state function.
  const readout = html(root, "div", { class: "kl-readout", "aria-live": "polite",
    style: "display: grid; grid-template-columns: repeat(auto-fit, minmax(18em, 1fr)); gap: 0 1.5em;" });
  const spans = state.readouts.map((r) => {
    // A long label (the KL identity) takes a whole row, so its number never wraps away from it.
    const line = html(readout, "p", r.label.length > 24 ? { style: "grid-column: 1 / -1;" } : {});
    html(line, "b", {}, `${r.label} = `);
    // The number and its unit wrap together.
    const value = html(line, "span", { style: "white-space: nowrap;" });
    const span = readoutSpan(value, r.key);
    if (r.unit) value.append(r.unit === "%" ? " %" : ` ${r.unit}`);
    return { ...r, span };
  });

  function redraw() {
    const pi = regularisedPolicy(ref, proxy, state.beta, state.alpha);
    // The axis follows the tallest bar, rounded up to a tick, so a peaked π and a flat one both fill it.
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
    spans.forEach((r) => { r.span.textContent = fmt(r.scale * values[r.key], r.digits); });
    desc.textContent = `At β = ${fmt(state.beta, 2)} and α = ${fmt(state.alpha, 2)}: `
      + spans.map((r) => `${r.label} = ${r.span.textContent}${r.unit === "%" ? " %" : (r.unit ? ` ${r.unit}` : "")}`).join("; ") + ".";
  }

  const slider = (label, [min, max]) => ({ label, min, max, step: state.slider_step, text: (v) => fmt(v, 2) });
  bindSlider(model, state, controls, "beta", slider("KL coefficient β", state.beta_range), redraw, cleanups);
  bindSlider(model, state, controls, "alpha", slider("entropy bonus α", state.alpha_range), redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}

export default { render };
