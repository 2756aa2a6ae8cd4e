// Lesson 7: the KL you differentiate. Pick a recipe and where the batch came from, move β and the
// policy's drift from π_old, and compare the recipe's expected update with the exact one, logit by logit.
// An anywidget front-end module; esbuild bundles it with the kit into one file for MyST and JupyterLab.

import {
  OKABE_ITO, setAttrs, svg, html, fmt, linear, niceTicks, mountWidget, makeFigure, hatchPattern, makeAxis,
  bindSlider, bindChoice, readoutSpan, readModel,
  responsive, gridPlace,
} from "../kit.js";
import { nearestIndex } from "../math.js";

// ---- pure math (parity-tested against kl_lessons.kl_gradients) ----

/** The update a trainer follows, ∇E[r] − β·g, element by element (g: the KL term's gradient). */
export function combinedUpdate(rewardGrad, klGrad, beta) {
  if (rewardGrad.length !== klGrad.length) throw new RangeError(`lengths differ: ${rewardGrad.length} and ${klGrad.length}`);
  if (!(beta > 0)) throw new RangeError(`beta must be > 0, got ${beta}`);
  return rewardGrad.map((r, i) => r - beta * klGrad[i]);
}

/** ‖a − b‖ / ‖b‖ and the cosine of a and b: how far an expected gradient a is from the exact b. */
export function biasMetrics(a, b) {
  let diff = 0, na = 0, nb = 0, dot = 0;
  a.forEach((x, i) => {
    diff += (x - b[i]) ** 2;
    na += x * x;
    nb += b[i] * b[i];
    dot += x * b[i];
  });
  if (nb === 0) throw new RangeError("the exact gradient is zero: relative error is undefined");
  return { relError: Math.sqrt(diff / nb), cosine: na === 0 ? 0 : dot / Math.sqrt(na * nb) };
}

// ---- the widget ----

export const KEYS = ["recipe", "mode", "beta", "drift", "tokens", "prefixes", "recipes", "labels", "modes", "drifts",
  "betas", "kl_to_old", "kl_to_ref", "exact", "reward_grad", "expected", "metrics"];

function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = [];
  const root = mountWidget(el, "kl-gradients");
  const controls = html(root, "div", { class: "kl-controls" });
  const V = state.tokens.length, P = state.prefixes.length;

  // The prefixes' logits in one band; on a phone in two bands, one above the other, in a figure about
  // as wide as the screen, so the token labels keep their size.
  const W = narrow ? 360 : 680, x0 = narrow ? 56 : 60, x1 = narrow ? 352 : 670;
  const split = narrow ? Math.ceil(P / 2) : P;
  const bands = (narrow ? [[0, split, 74, 190], [split, P, 256, 372]] : [[0, P, 44, 232]])
    .map(([start, end, top, bottom]) => ({ start, end, top, bottom }));
  const last = bands[bands.length - 1];
  const H = last.bottom + 62;
  const { figure, desc } = makeFigure(root, W, H, "A recipe's expected update against the exact update", "");
  const defs = svg(figure, "defs");
  const hatch = hatchPattern(defs, OKABE_ITO.vermillion);
  svg(figure, "text", { x: (x0 + x1) / 2, y: 16, "text-anchor": "middle", class: "kl-title" }).textContent = narrow
    ? "∇E[r] − β·g for every logit" : "∇E[r] − β·g for every logit: the recipe's expectation (hatched) and the exact one (outline)";
  const slot = (x1 - x0) / (split * V);
  const bars = [];
  bands.forEach((band) => {
    const { top, bottom } = band;
    band.axis = makeAxis(figure, { orient: "left", at: x0, from: top, to: bottom, count: 9 });
    band.zero = svg(figure, "line", { x1: x0, x2: x0 + (band.end - band.start) * V * slot, stroke: "#444" });
    svg(figure, "text", { x: 14, y: (top + bottom) / 2, transform: `rotate(-90 14 ${(top + bottom) / 2})`, "text-anchor": "middle" })
      .textContent = narrow ? "reward units / unit logit" : "reward units per unit logit";
    for (let p = band.start; p < band.end; p += 1) {
      const groupX = x0 + (p - band.start) * V * slot;
      svg(figure, "text", { x: groupX + (V * slot) / 2, y: bottom + 30, "text-anchor": "middle" }).textContent = state.prefixes[p];
      if (p > band.start) svg(figure, "line", { x1: groupX, x2: groupX, y1: top, y2: bottom + 20, stroke: "#444", "stroke-opacity": 0.2 });
      for (let v = 0; v < V; v += 1) {
        const x = groupX + v * slot + 1;
        svg(figure, "text", { x: x + slot / 2 - 1, y: bottom + 14, "text-anchor": "middle", "font-size": 9 }).textContent = state.tokens[v];
        const expected = svg(figure, "rect", { x, width: slot - 2, fill: hatch, stroke: OKABE_ITO.vermillion, "stroke-width": 1 });
        const exact = svg(figure, "rect", { x: x + 1, width: slot - 4, fill: "none", stroke: OKABE_ITO.black, "stroke-width": 1.5, "stroke-dasharray": "3 2" });
        bars.push({ expected, exact, band });
      }
    }
  });
  svg(figure, "text", { x: (x0 + x1) / 2, y: last.bottom + 48, "text-anchor": "middle" }).textContent = "prefix (row of logits) and next token";
  const legend = svg(figure, "g", { "aria-hidden": "true" });
  [[hatch, OKABE_ITO.vermillion, "", "recipe's expected update"], ["none", OKABE_ITO.black, "3 2", "exact update"]].forEach(([fill, stroke, dash, text], j) => {
    const { x, y } = gridPlace(j, narrow ? { x: x0 - 30, y: 28, dx: 0, dy: 16, perRow: 1 } : { x: x0 + 10, y: 24, dx: 220, dy: 0, perRow: 2 });
    svg(legend, "rect", { x, y, width: 14, height: 10, fill, stroke, "stroke-dasharray": dash });
    svg(legend, "text", { x: x + 20, y: y + 9 }).textContent = text;
  });

  const readout = html(root, "div", { class: "kl-readout", "aria-live": "polite" });
  const line = html(readout, "p");
  html(line, "b", {}, "This recipe: ");
  line.append("relative error ");
  const relSpan = readoutSpan(line, "rel_error");
  line.append(", cosine ");
  const cosSpan = readoutSpan(line, "cosine");
  line.append(". KL(π‖π_old) = ");
  const oldSpan = readoutSpan(line, "kl_to_old");
  line.append(" nats, KL(π‖π_ref) = ");
  const refSpan = readoutSpan(line, "kl_to_ref");
  line.append(" nats.");
  // A phone is narrower than the table: it scrolls inside its box instead of widening the page.
  const table = html(html(readout, "div", { class: "kl-scroll" }), "table");
  const head = html(html(table, "thead"), "tr");
  ["recipe", "rel. error on-policy", "rel. error off-policy"].forEach((t) => html(head, "th", { scope: "col" }, t));
  const body = html(table, "tbody");
  const cells = state.recipes.map((name, k) => {
    const row = html(body, "tr");
    html(row, "th", { scope: "row" }, state.labels[k]);
    return { row, on: html(row, "td"), off: html(row, "td") };
  });

  function redraw() {
    const i = nearestIndex(state.drifts, state.drift);
    const beta = state.beta;
    const reward = state.reward_grad[i];
    const exact = combinedUpdate(reward, state.exact[i], beta);
    const expected = combinedUpdate(reward, state.expected[state.recipe][state.mode][i], beta);
    const lo = Math.min(0, ...exact, ...expected), hi = Math.max(0, ...exact, ...expected);
    const pad = 0.05 * (hi - lo || 1);
    const ticks = niceTicks(lo - pad, hi + pad, 6);
    bands.forEach((band) => {
      band.y = linear(lo - pad, hi + pad, band.bottom, band.top);
      band.axis.update(ticks, band.y, (t) => fmt(t, Math.abs(hi - lo) < 0.5 ? 2 : 1));
      setAttrs(band.zero, { y1: band.y(0), y2: band.y(0) });
    });
    bars.forEach((bar, j) => {
      const { y } = bar.band;
      setAttrs(bar.expected, { y: Math.min(y(0), y(expected[j])), height: Math.abs(y(expected[j]) - y(0)) });
      setAttrs(bar.exact, { y: Math.min(y(0), y(exact[j])), height: Math.abs(y(exact[j]) - y(0)) });
    });
    const m = biasMetrics(expected, exact);
    relSpan.textContent = fmt(m.relError, 3);
    cosSpan.textContent = fmt(m.cosine, 3);
    oldSpan.textContent = fmt(state.kl_to_old[i], 3);
    refSpan.textContent = fmt(state.kl_to_ref[i], 3);
    state.recipes.forEach((name, k) => {
      ["on", "off"].forEach((mode) => {
        const e = combinedUpdate(reward, state.expected[name][mode][i], beta);
        cells[k][mode].textContent = fmt(biasMetrics(e, exact).relError, 3);
      });
      cells[k].row.style.fontWeight = name === state.recipe ? "700" : "400";
    });
    desc.textContent = `${state.labels[state.recipes.indexOf(state.recipe)]}, ${state.mode}-policy, β = ${fmt(beta, 2)}, `
      + `KL(π‖π_old) = ${fmt(state.kl_to_old[i], 3)} nats: relative error ${fmt(m.relError, 3)}, cosine ${fmt(m.cosine, 3)}.`;
  }

  bindChoice(model, state, controls, "recipe", { label: "recipe", options: state.recipes }, redraw, cleanups);
  bindChoice(model, state, controls, "mode", { label: "batch from", options: state.modes }, redraw, cleanups);
  const grid = (values, digits, unit) => ({
    min: 0, max: values.length - 1, step: 1,
    toSlider: (v) => nearestIndex(values, v), fromSlider: (k) => values[k], text: (v) => `${fmt(v, digits)}${unit}`,
  });
  bindSlider(model, state, controls, "beta", { label: "β", ...grid(state.betas, 2, "") }, redraw, cleanups);
  bindSlider(model, state, controls, "drift", { label: "drift from π_old", ...grid(state.drifts, 2, " steps") }, redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}

const render = responsive(draw);
export default { render };
