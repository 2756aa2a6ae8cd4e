"""The explorers' shared math (``kl_lessons/web/src/math.js``) against kl_lessons and torch, on random inputs.

``math.js`` is the one place the lesson modules take KL, entropies, softmax, log-sum-exp, the KL
estimators and the seeded generator from; every function it exports runs here under ``node`` and
must agree with its Python counterpart to 1e-9 (infinities exactly). The seeded generator is
checked draw for draw against mulberry32 written again in Python from its definition.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import numpy as np
import pytest
import torch

from kl_lessons import cross_entropy, entropy, kl_contributions, kl_divergence, kl_estimate
from kl_lessons.web_widgets import WEB_DIR

from test_web_parity import NODE, _need_node, _number, assert_close  # noqa: F401 - the fixture skips without node

MATH = WEB_DIR / "src" / "math.js"
EXPORTED = re.findall(r"^export (?:function|const) (\w+)", MATH.read_text(), re.MULTILINE)


def run_math(body: str, payload: Any = None) -> Any:
    """Run ``body`` (a JS function body of ``m`` = math.js and ``input``, read from stdin) under node; return its JSON."""
    # math.js imports nothing and package.json says "type": "module", so node loads the source itself.
    script = (f"import * as m from {json.dumps(MATH.as_uri())};\n"
              "import { readFileSync } from 'node:fs';\n"
              "const input = JSON.parse(readFileSync(0, 'utf8'));\n"
              f"const result = (() => {{ {body} }})();\n"
              "process.stdout.write(JSON.stringify(result, (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));")
    done = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(payload), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return _number(json.loads(done.stdout))


def _distributions(seed: int, zeros: bool = True) -> list[list[float]]:
    """Random probability vectors of 1 to 40 outcomes, some with exact zeros and some very peaked."""
    rng = np.random.default_rng(seed)
    out = []
    for k in (1, 2, 3, 5, 8, 13, 40):
        for concentration in (0.05, 1.0, 20.0):
            p = rng.dirichlet(np.full(k, concentration))
            if zeros and k > 2:
                p[rng.integers(k)] = 0.0
            out.append((p / p.sum()).tolist())
    return out


def test_every_export_is_checked_here() -> None:
    # A function added to math.js without a parity check would be a second, unchecked implementation.
    checked = {"xlogy", "logSumExp", "softmax", "normalise", "expectation", "klContributions", "klDivergence",
               "entropy", "crossEntropy", "ESTIMATORS", "klTerm", "nearestIndex", "quantile", "mulberry32",
               "sampleTokens", "tokenSampler", "valueRange"}
    assert set(EXPORTED) == checked


def test_kl_entropy_and_cross_entropy_match_kl_lessons() -> None:
    ps, qs = _distributions(1), _distributions(2)
    pairs = list(zip(ps, qs)) + [(p, p) for p in ps]
    pairs += [([1.0, 0.0], [0.5, 0.5]), ([0.5, 0.5], [1.0, 0.0]), ([0.0, 1.0], [0.0, 1.0])]  # q = 0 < p: ∞
    body = """return input.map(([p, q]) => [m.klDivergence(p, q), m.klContributions(p, q), m.entropy(p),
      m.crossEntropy(p, q)]);"""
    for (p, q), (kl, terms, h, ce) in zip(pairs, run_math(body, pairs)):
        assert_close(kl, kl_divergence(p, q))
        assert_close(terms, kl_contributions(p, q))
        assert_close(h, entropy(p))
        assert_close(ce, cross_entropy(p, q))
        assert kl >= 0  # Gibbs' inequality, also for p = q where rounding could go below 0


def test_softmax_log_sum_exp_and_xlogy_match_torch() -> None:
    rng = np.random.default_rng(3)
    cases = [rng.normal(0, scale, k).tolist() for k in (1, 2, 7, 50) for scale in (0.1, 3.0, 300.0)]
    cases.append([1000.0, 999.0, -1000.0])  # exp would overflow without the shift
    out = run_math("return input.map((x) => [m.softmax(x), m.logSumExp(x)]);", cases)
    for x, (probs, lse) in zip(cases, out):
        t = torch.tensor(x, dtype=torch.float64)
        assert_close(probs, torch.softmax(t, -1))
        assert_close(lse, torch.logsumexp(t, -1), tol=1e-9 * max(1.0, abs(float(torch.logsumexp(t, -1)))))
    # JSON has no infinities, so the ruled-out entries are written in the body.
    ruled_out = run_math("return [m.softmax([0, -Infinity, 2]), m.logSumExp([-Infinity, -Infinity]), "
                                   "m.logSumExp([0, Infinity])];")
    assert_close(ruled_out[0], torch.softmax(torch.tensor([0.0, float("-inf"), 2.0], dtype=torch.float64), -1))
    assert ruled_out[1] == float("-inf") and ruled_out[2] == float("inf")
    xs, ys = rng.random(20).tolist() + [0.0, 0.0], rng.random(20).tolist() + [0.0, 0.5]
    got = run_math("return input.x.map((x, i) => m.xlogy(x, input.y[i]));", {"x": xs, "y": ys})
    assert_close(got, torch.xlogy(torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64)))


def test_normalise_and_expectation() -> None:
    rng = np.random.default_rng(4)
    weights = [rng.random(k).tolist() for k in (1, 3, 36)]
    values = [rng.normal(0, 5, len(w)).tolist() for w in weights]
    out = run_math("return input.w.map((w, i) => [m.normalise(w), m.expectation(m.normalise(w), input.v[i])]);",
                   {"w": weights, "v": values})
    for w, v, (p, e) in zip(weights, values, out):
        want = torch.tensor(w, dtype=torch.float64) / sum(w)
        assert_close(p, want)
        assert_close(e, want @ torch.tensor(v, dtype=torch.float64))


def test_kl_terms_match_kl_estimate() -> None:
    rng = np.random.default_rng(5)
    lp = (-rng.exponential(1.5, 300)).tolist()
    ref = np.minimum(np.array(lp) + rng.normal(0, 1.0, 300), 0.0).tolist()
    ref[:3] = lp[:3]  # r = 1 exactly: every estimator is 0
    out = run_math("return m.ESTIMATORS.map((e) => input.lp.map((x, i) => m.klTerm(x, input.ref[i], e)));",
                   {"lp": lp, "ref": ref})
    lp_t, ref_t = torch.tensor(lp, dtype=torch.float64), torch.tensor(ref, dtype=torch.float64)
    for name, values in zip(("k1", "k2", "k3"), out):
        assert_close(values, kl_estimate(lp_t, ref_t, name))
    with pytest.raises(AssertionError, match="estimator must be one of k1, k2, k3"):
        run_math("return m.klTerm(-1, -2, 'k4');")


def test_nearest_index_and_quantile_match_numpy() -> None:
    rng = np.random.default_rng(6)
    grid = np.sort(rng.normal(0, 1, 9)).tolist()
    xs = rng.normal(0, 1.5, 50).tolist() + grid + [(grid[2] + grid[3]) / 2]  # on the grid, and a tie
    samples = [np.sort(rng.normal(0, 1, n)).tolist() for n in (1, 2, 10, 101)]
    qs = [0.0, 0.1, 0.5, 0.9, 1.0]
    out = run_math("""return [input.xs.map((x) => m.nearestIndex(input.grid, x)),
      input.samples.map((s) => input.qs.map((q) => m.quantile(s, q)))];""",
                   {"grid": grid, "xs": xs, "samples": samples, "qs": qs})
    assert out[0] == [int(np.argmin(np.abs(np.array(grid) - x))) for x in xs]
    for s, got in zip(samples, out[1]):
        assert_close(got, np.quantile(s, qs))
    # Unsorted values: a tie goes to the smaller value, not the first index (lesson 6's sample steps).
    assert run_math("return m.nearestIndex([20, 0, 10], 15);") == 2
    assert run_math("return m.nearestIndex([20, 10, 0], 15);") == 1


def _mulberry32(seed: int, count: int) -> list[float]:
    """mulberry32 from its definition, in unsigned 32-bit arithmetic (an independent second implementation)."""
    mask = 0xFFFFFFFF
    a, out = seed & mask, []
    for _ in range(count):
        a = (a + 0x6D2B79F5) & mask
        t = ((a ^ (a >> 15)) * (a | 1)) & mask
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & mask)) & mask
        out.append(((t ^ (t >> 14)) & mask) / 2**32)
    return out


def test_generator_matches_mulberry32_draw_for_draw() -> None:
    seeds = [0, 1, 7, 2**31 - 1, 2**32 - 1]
    out = run_math("return input.map((s) => { const next = m.mulberry32(s); "
                             "return Array.from({ length: 2000 }, next); });", seeds)
    for seed, draws in zip(seeds, out):
        assert draws == _mulberry32(seed, 2000), seed  # exactly: both are exact integer arithmetic over 2^32
        assert 0 <= min(draws) and max(draws) < 1 and abs(np.mean(draws) - 0.5) < 0.03


def test_sampling_follows_the_distribution_and_the_fast_sampler_draws_the_same_tokens() -> None:
    # tokenSampler skips the search for draws in cells no boundary crosses: it must give sampleTokens' exact tokens,
    # on peaked, flat, tied and zero-probability distributions, and with cells as coarse as 1 or as fine as 65536.
    cases = _distributions(7) + [[0.5, 0.0, 0.3, 0.15, 0.05], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.25] * 4]
    body = """const next = m.mulberry32(11), u = Array.from({ length: 50000 }, next);
      const samplers = [1, 16, 4096, 65536].map((c) => m.tokenSampler(u, c));
      return input.map((p) => { const slow = m.sampleTokens(p, u);
        return { same: samplers.every((s) => s(p).every((k, i) => k === slow[i])), counts: p.map((_, k) => slow.filter((t) => t === k).length) }; });"""
    n = 50000
    for p, got in zip(cases, run_math(body, cases)):
        assert got["same"], p
        freq, probs = np.array(got["counts"]) / n, np.array(p) / sum(p)
        assert (freq[probs == 0] == 0).all(), (p, freq)  # an outcome of probability 0 is never drawn
        assert (np.abs(freq - probs) <= 5 * np.sqrt(probs * (1 - probs) / n) + 1e-12).all(), (p, freq)
    with pytest.raises(AssertionError, match="cells must be a power of 2"):
        run_math("return m.tokenSampler([0.5], 1000);")


def test_value_range_spans_the_finite_values_of_every_series() -> None:
    rng = np.random.default_rng(11)
    cases = [[rng.normal(0, 3, n).tolist() for n in (1, 5, 40)] for _ in range(5)]
    cases += [[[1.5, None, 2.5], [float("nan"), -1.0]], [[None, None]], [], [[2.0, 2.0], [2.0]]]
    payload = json.loads(json.dumps(cases).replace("NaN", "null"))  # JSON has no NaN: the pages send null
    got = run_math("return input.map((series) => m.valueRange(series));", payload)
    for series, (lo, hi) in zip(payload, got):
        values = [v for s in series for v in s if v is not None]
        if not values:
            assert (lo, hi) == (0, 1)
        elif max(values) - min(values) < 1e-12:
            assert (lo, hi) == (min(values) - 0.5, max(values) + 0.5)
        else:
            assert (lo, hi) == (min(values), max(values))

