// The math the lesson explorers share, written once: divergences and entropies in nats, a stable
// softmax and log-sum-exp, the single-sample KL estimators, expectations, and the seeded generator.
//
// Each function mirrors a kl_lessons function (named beside it) and tests/test_web_math.py checks
// it against that function, or torch, on random inputs to 1e-9. A lesson module imports what it
// needs from here; esbuild copies only those functions into the lesson's bundle.

/** x·log y with 0·log y = 0 (so 0·log 0 = 0), as torch.xlogy. */
export function xlogy(x, y) {
  return x === 0 ? 0 : x * Math.log(y);
}

/** log Σ exp(x), shifted by the largest entry so large logits stay finite (torch.logsumexp). */
export function logSumExp(values) {
  const peak = Math.max(...values);
  if (peak === -Infinity || peak === Infinity) return peak;
  let total = 0;
  for (const v of values) total += Math.exp(v - peak);
  return peak + Math.log(total);
}

/** exp(x) / Σ exp(x), shifted by the largest entry (torch.softmax); −∞ logits get probability 0. */
export function softmax(logits) {
  const peak = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - peak));
  let norm = 0;
  for (const w of weights) norm += w;
  return weights.map((w) => w / norm);
}

/** p divided by its sum (a state keeps 6 significant digits, so its probabilities sum to 1 ± 1e-6). */
export function normalise(p) {
  let total = 0;
  for (const x of p) total += x;
  return p.map((x) => x / total);
}

/** Σ π·values: an expectation under π. */
export function expectation(pi, values) {
  let total = 0;
  for (let i = 0; i < pi.length; i += 1) total += pi[i] * values[i];
  return total;
}

/**
 * Each outcome's term p·log p − p·log q of KL(P‖Q), in nats (kl_lessons.kl_contributions): 0 where
 * p = 0, +∞ where q = 0 < p. Written as a difference, not p·log(p/q), so that q = 0 < p gives +∞, never NaN.
 */
export function klContributions(p, q) {
  if (p.length !== q.length) throw new RangeError(`p has ${p.length} outcomes but q has ${q.length}`);
  return p.map((pi, i) => (pi > 0 ? pi * Math.log(pi) - pi * Math.log(q[i]) : 0));
}

/** KL(P‖Q) = Σ p·log(p/q), in nats (kl_lessons.kl_divergence); ≥ 0, and +∞ when Q rules out an outcome P allows. */
export function klDivergence(p, q) {
  let total = 0;
  for (const term of klContributions(p, q)) total += term;
  // Rounding can leave −1e-17 for identical inputs; Gibbs' inequality says KL ≥ 0.
  return Math.max(0, total);
}

/** Shannon entropy H(p) = −Σ p log p, in nats (kl_lessons.entropy). */
export function entropy(p) {
  let total = 0;
  for (const x of p) total -= xlogy(x, x);
  return total;
}

/** Cross-entropy H(p, q) = −Σ p log q, in nats (kl_lessons.cross_entropy; ∞ where q = 0 < p). */
export function crossEntropy(p, q) {
  let total = 0;
  for (let i = 0; i < p.length; i += 1) total -= xlogy(p[i], q[i]);
  return total;
}

export const ESTIMATORS = ["k1", "k2", "k3"];

/**
 * One single-sample estimate of KL(π‖π_ref) in nats, for a token drawn from π with log-probabilities
 * logprob under π and refLogprob under π_ref (Schulman, 2020; kl_lessons.kl_estimate). With
 * log r = refLogprob − logprob: k1 = −log r, k2 = ½(log r)², k3 = (r − 1) − log r.
 */
export function klTerm(logprob, refLogprob, estimator) {
  const logR = refLogprob - logprob;
  if (estimator === "k1") return -logR;
  if (estimator === "k2") return 0.5 * logR * logR;
  if (estimator === "k3") return Math.expm1(logR) - logR; // expm1 stays accurate for r near 1
  throw new RangeError(`estimator must be one of ${ESTIMATORS.join(", ")}, got ${estimator}`);
}

/** Index of the value closest to x; a tie goes to the smaller value, then to the first index (numpy.argmin on a sorted grid). */
export function nearestIndex(values, x) {
  if (!values.length) throw new RangeError("values is empty: there is no nearest value");
  let best = 0;
  for (let i = 1; i < values.length; i += 1) {
    const d = Math.abs(values[i] - x), bestD = Math.abs(values[best] - x);
    if (d < bestD || (d === bestD && values[i] < values[best])) best = i;
  }
  return best;
}

/** The q-quantile of an ascending array, interpolating linearly between order statistics (numpy's default). */
export function quantile(sorted, q) {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

function cumulative(probs) {
  const cdf = new Float64Array(probs.length);
  let running = 0, last = 0;
  probs.forEach((p, i) => {
    cdf[i] = running += p;
    if (p > 0) last = i;
  });
  // The first index whose cumulative probability exceeds target; never past the last possible outcome.
  const pick = (target) => {
    let k = 0;
    while (k < last && cdf[k] <= target) k += 1;
    return k;
  };
  return { running, pick };
}

/** Draw one outcome index per uniform in [0, 1) by inverting the cumulative distribution of `probs` (torch.multinomial's law). */
export function sampleTokens(probs, u) {
  const { running, pick } = cumulative(probs);
  const tokens = new Int32Array(u.length);
  for (let i = 0; i < u.length; i += 1) tokens[i] = pick(u[i] * running);
  return tokens;
}

/**
 * sampleTokens for fixed uniforms and many distributions: `tokenSampler(u)(probs)` gives exactly
 * sampleTokens(probs, u). The uniforms are sorted into `cells` equal cells once; for each
 * distribution a cell that lies inside one outcome's interval gives that outcome to all its draws
 * without a search (u·running is monotone in u, so the cell's two ends decide), and only draws in a
 * cell that a boundary crosses are searched.
 */
export function tokenSampler(u, cells = 4096) {
  if (!(cells >= 1 && cells <= 65536 && Math.log2(cells) % 1 === 0)) throw new RangeError(`cells must be a power of 2 up to 65536, got ${cells}`);
  // A power of 2, so u·cells and c/cells are exact and a draw in cell c has c/cells ≤ u < (c+1)/cells.
  const cell = new Uint16Array(u.length);
  for (let i = 0; i < u.length; i += 1) cell[i] = Math.min(cells - 1, Math.floor(u[i] * cells));
  return (probs) => {
    const { running, pick } = cumulative(probs);
    const known = new Int32Array(cells);
    let below = pick(0);
    for (let c = 0; c < cells; c += 1) {
      const above = pick(((c + 1) / cells) * running);
      known[c] = below === above ? below : -1;
      below = above;
    }
    const tokens = new Int32Array(u.length);
    for (let i = 0; i < u.length; i += 1) {
      const k = known[cell[i]];
      tokens[i] = k >= 0 ? k : pick(u[i] * running);
    }
    return tokens;
  };
}

/** A small seeded generator of uniforms in [0, 1) (mulberry32): the same seed gives the same draws everywhere. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Smallest and largest finite value over several series (nulls and non-finite values are gaps), padded by ±0.5
 * when they are all equal, [0, 1] when there is none: the value range a plot of those series needs. */
export function valueRange(seriesList) {
  let lo = Infinity, hi = -Infinity;
  for (const series of seriesList) {
    for (const v of series) {
      if (v === null || !Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (lo === Infinity) return [0, 1];
  if (hi - lo < 1e-12) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}
