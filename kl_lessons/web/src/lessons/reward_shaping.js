// Lesson 3: the per-token KL-shaped reward of a small batch of responses with padding, against β.
// An anywidget front-end module; esbuild bundles it with the kit into one file for MyST and JupyterLab.

import {
  OKABE_ITO, setAttrs, svg, html, fmt, linear, niceTicks, mountWidget, makeFigure, hatchPattern, makeAxis, bindSlider, bindChoice, readoutSpan, readModel,
  responsive, gridPlace,
} from "../kit.js";
import { ESTIMATORS, klTerm } from "../math.js";

// ---- pure math (parity-tested against kl_lessons.shaped_reward) ----

/** Index of each row's last valid token (mask is 0/1 or true/false, shape B × T). */
export function lastValidIndex(mask) {
  return mask.map((row, b) => {
    for (let t = row.length - 1; t >= 0; t -= 1) if (row[t]) return t;
    throw new RangeError(`mask row ${b} has no valid token; each row needs at least one`);
  });
}

/**
 * Per-token rewards with a KL penalty (Ziegler et al., 2019; TRL's PPO): every valid token gets
 * −β·kl_t, each sequence's score is added at its last valid token, padding gets exactly 0.
 * Returns { rewards, kl }, both B × T, with kl in nats and 0 on padding.
 */
export function klPenalizedRewards(scores, logprobs, refLogprobs, klCoef, mask, estimator = "k1") {
  if (!(klCoef >= 0)) throw new RangeError(`klCoef must be >= 0, got ${klCoef}`);
  if (scores.length !== logprobs.length) throw new RangeError("scores must hold one score per sequence");
  const valid = mask || logprobs.map((row) => row.map(() => 1));
  const last = lastValidIndex(valid);
  const kl = logprobs.map((row, b) => row.map((lp, t) => (valid[b][t] ? klTerm(lp, refLogprobs[b][t], estimator) : 0)));
  // "+ 0" turns −0 into 0, as the Python version does.
  const rewards = kl.map((row) => row.map((k) => -klCoef * k + 0));
  rewards.forEach((row, b) => { row[last[b]] += scores[b]; });
  return { rewards, kl };
}

// ---- the widget ----

export const KEYS = ["labels", "tokens", "scores", "logprobs", "ref_logprobs", "mask", "beta", "beta_max", "estimator"];

function draw({ model, el }, narrow) {
  const state = readModel(model, KEYS);
  const cleanups = []; // how to stop listening to the model when the view goes
  const { scores, logprobs, ref_logprobs: refLogprobs, mask, labels, tokens } = state;
  const B = scores.length, T = logprobs[0].length;
  const last = lastValidIndex(mask);

  // One fixed reward scale for every β in range and every estimator, so bars grow as β rises.
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
  // On a phone the figure is about as wide as the screen: each response gets a heading line
  // (name, score, Σ reward) above its bars, and the words turn to fit their narrow slots.
  const rowH = narrow ? 128 : 86, top = narrow ? 60 : 44, W = narrow ? 360 : 660;
  const H = top + B * rowH + (narrow ? 10 : 30);
  const { figure, desc } = makeFigure(root, W, H, "Per-token KL-shaped rewards of a batch with padding", "");
  const defs = svg(figure, "defs");
  const hatchPenalty = hatchPattern(defs, OKABE_ITO.vermillion);
  const hatchPad = hatchPattern(defs, OKABE_ITO.grey);
  const area = narrow ? { x0: 44, x1: 352 } : { x0: 120, x1: 520 };
  const slot = (area.x1 - area.x0) / T;
  svg(figure, "text", { x: narrow ? W / 2 : (area.x0 + area.x1) / 2, y: 14, "text-anchor": "middle", class: "kl-title" }).textContent =
    narrow ? "Reward per token; padding gets 0" : "Reward per token (reward units); padding gets 0";
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
      if (tokens && tokens[b] && tokens[b][t] !== undefined) {
        const word = String(tokens[b][t]);
        const at = { x: x + slot / 2, y: y1 + 12 };
        svg(figure, "text", narrow
          ? { x: at.x + 4, y: at.y - 2, "text-anchor": "end", transform: `rotate(-40 ${at.x + 4} ${at.y - 2})`, style: "font-size: 9.5px" }
          : { ...at, "text-anchor": "middle", style: "font-size: 9.5px" })
          .textContent = word.length > 9 ? `${word.slice(0, 8)}…` : word;
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
    const total = svg(figure, "text", narrow ? { x: 352, y: y0 - 10, "text-anchor": "end", "data-readout": `total_${b}` }
      : { x: 585, y: (y0 + y1) / 2 + 4, "text-anchor": "middle", "data-readout": `total_${b}` });
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
    label: "KL coefficient β", min: 0, max: state.beta_max, step: 0.005, text: (v) => fmt(v, 3),
  }, redraw, cleanups);
  bindChoice(model, state, controls, "estimator", { label: "KL estimator", options: ESTIMATORS }, redraw, cleanups);
  redraw();
  return () => cleanups.forEach((stop) => stop());
}

const render = responsive(draw);
export default { render };
