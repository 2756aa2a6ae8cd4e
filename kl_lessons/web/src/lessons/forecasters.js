// Lesson 1: KL between two weather forecasters, in both directions, with each outcome's term.
// An anywidget front-end module; esbuild bundles it with the kit into one file for MyST and JupyterLab.

import {
  OKABE_ITO, setAttrs, svg, html, fmt, linear, niceTicks, mountWidget, makeFigure, hatchPattern, makeAxis, bindSlider, readoutSpan, readModel,
  responsive, gridPlace,
} from "../kit.js";
import { klContributions, klDivergence } from "../math.js";

export { klContributions, klDivergence };

// ---- pure math (parity-tested against kl_lessons.divergence; KL itself is math.js's) ----

/** The two-outcome forecast [P(rain), P(sun)] for a given chance of rain. */
export function forecast(pRain) {
  if (!(pRain >= 0 && pRain <= 1)) throw new RangeError(`pRain must lie in [0, 1], got ${pRain}`);
  return [pRain, 1 - pRain];
}

// ---- the widget ----

export const KEYS = ["p_rain", "q_rain", "labels", "names"];

function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = []; // how to stop listening to the model when the view goes
  const [nameA, nameB] = state.names;
  const labels = state.labels;
  const root = mountWidget(el, "kl-forecasters");
  const controls = html(root, "div", { class: "kl-controls" });

  // Two panels: the forecasts themselves, and each outcome's term in both directions. Side by side
  // in a wide column; on a phone one above the other, in a figure about as wide as the screen.
  const W = narrow ? 360 : 660, H = narrow ? 490 : 290;
  const panels = narrow
    ? [{ x0: 55, x1: 350, top: 40, bottom: 200 }, { x0: 55, x1: 350, top: 262, bottom: 422 }]
    : [{ x0: 55, x1: 295, top: 40, bottom: 240 }, { x0: 395, x1: 645, top: 40, bottom: 240 }];
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
    const centre = panel.x0 + ((k + 0.5) * (panel.x1 - panel.x0)) / labels.length;
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

  // Legend: colour and fill say whose probabilities weight the bars (one entry a row on a phone).
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
    desc.textContent = `${nameA} gives ${labels[0]} ${fmt(a[0], 2)}, ${nameB} gives ${fmt(b[0], 2)}. `
      + `KL(A‖B) is ${fmt(ab, 4)} nats and KL(B‖A) is ${fmt(ba, 4)} nats.`;
  }

  const probability = { min: 0, max: 1, step: 0.01, text: (v) => fmt(v, 2) };
  bindSlider(model, state, controls, "p_rain", { ...probability, label: `${nameA}: P(${labels[0]})` }, redraw, cleanups);
  bindSlider(model, state, controls, "q_rain", { ...probability, label: `${nameB}: P(${labels[0]})` }, redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}

const render = responsive(draw);
export default { render };
