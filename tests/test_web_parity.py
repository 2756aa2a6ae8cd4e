"""The lessons' explorers (ES modules in kl_lessons/web) are a second implementation of the library's math.

Each bundled module's exported pure functions run under ``node`` on shared fixtures and must agree
with :mod:`kl_lessons` to 1e-9. The bundles are checked for being self-contained (MyST copies
each one alone, under a hashed name), each module reads exactly its state function's keys, and
every lesson's ``{anywidget}`` block builds into an ``anywidget`` node carrying its state.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from kl_lessons import (
    AdaptiveKLController,
    ThresholdKLController,
    kl_contributions,
    kl_divergence,
    kl_estimate,
    kl_penalized_rewards,
    kl_reward_frontier,
    tilted_policy,
)
from kl_lessons.toy_responses import make_toy_responses
from kl_lessons.web_widgets import EXPLORERS, WEB_DIR

from test_explorer_state import assert_same_state, notebook_blocks
from test_web_browser import MODULES, lesson_state as default_model

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-9


def find_node() -> str | None:
    """``node`` on the PATH, else the Node.js that mystmd installs for itself, if it did."""
    found = shutil.which("node")
    if found:
        return found
    try:
        from mystmd_py.main import NODEENV_VERSION
        from mystmd_py.nodeenv import find_nodeenv_path
    except ImportError:
        return None
    candidate = Path(find_nodeenv_path(NODEENV_VERSION)) / "bin" / "node"
    return str(candidate) if candidate.exists() else None


NODE = find_node()


@pytest.fixture(autouse=True, scope="module")
def _need_node() -> None:
    if NODE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is missing and CI=true: the parity tests must run in CI")
        pytest.skip("node (Node.js >= 20) is not installed; parity tests skipped")


def run_node(tmp_path: Path, lesson: int, body: str, payload: Any = None) -> Any:
    """Run ``body`` (a JS function body of ``m`` = the module and ``input``) and return its JSON result.

    The module is copied under a new ``.mjs`` name first, as MyST copies it under a hashed
    name: a module that imported a sibling file would fail here.
    """
    module = tmp_path / f"copy-{MODULES[lesson].replace('.js', '')}-0123abcd.mjs"
    shutil.copy(WEB_DIR / MODULES[lesson], module)
    (tmp_path / "input.json").write_text(json.dumps(payload))
    runner = tmp_path / "runner.mjs"
    runner.write_text(
        f"import * as m from {json.dumps(module.as_uri())};\n"
        "import { readFileSync } from 'node:fs';\n"
        f"const input = JSON.parse(readFileSync({json.dumps(str(tmp_path / 'input.json'))}, 'utf8'));\n"
        f"const result = (() => {{ {body} }})();\n"
        # JSON has no infinity: send non-finite numbers as strings, typed arrays as lists.
        "const plain = (k, v) => (ArrayBuffer.isView(v) ? Array.from(v)\n"
        "  : (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));\n"
        "process.stdout.write(JSON.stringify(result, plain));\n"
    )
    done = subprocess.run([NODE, str(runner)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout, parse_constant=float, object_hook=_numbers)


def _numbers(obj: dict) -> dict:
    return {k: _number(v) for k, v in obj.items()}


def _number(v: Any) -> Any:
    if isinstance(v, str) and v in ("Infinity", "-Infinity", "NaN"):
        return float(v.replace("Infinity", "inf"))
    if isinstance(v, list):
        return [_number(x) for x in v]
    return v


def assert_close(js: Any, py: Any, tol: float = TOL) -> None:
    """Elementwise |js − py| ≤ tol, with infinities required to match exactly."""
    a = np.asarray(_number(js), dtype=np.float64)
    b = py.detach().double().numpy() if isinstance(py, torch.Tensor) else np.asarray(py, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.array_equal(np.isinf(a), np.isinf(b)) and np.array_equal(a[np.isinf(a)], b[np.isinf(b)])
    finite = np.isfinite(b)
    assert np.abs(a[finite] - b[finite]).max(initial=0.0) <= tol, np.abs(a[finite] - b[finite]).max()


# --------------------------------------------------------------------------- modules themselves
@pytest.mark.parametrize("lesson", sorted(MODULES))
def test_module_is_self_contained(lesson: int) -> None:
    text = (WEB_DIR / MODULES[lesson]).read_text()
    assert not re.search(r"^\s*import\b|\bimport\s*\(|\brequire\s*\(", text, re.MULTILINE), "bundles must not import"
    assert re.search(r"^export \{[^}]*\b\w+ as default\b", text, re.MULTILINE | re.DOTALL)
    source = (WEB_DIR / "src" / "lessons" / MODULES[lesson]).read_text()
    assert "export default { render };" in source and 'from "../kit.js";' in source
    assert "model.save_changes();" in text and "try {" in text  # the save is guarded (by the kit)


# The modules' copies of the shared kit are checked against kit.js in test_web_kit.py.


@pytest.mark.parametrize("lesson", sorted(MODULES))
def test_module_reads_exactly_the_state_functions_keys(tmp_path: Path, lesson: int) -> None:
    keys = run_node(tmp_path, lesson, "return m.KEYS;")
    assert sorted(keys) == sorted(default_model(lesson))
    widget = EXPLORERS[MODULES[lesson]](default_model(lesson))
    assert widget.state() == json.loads(json.dumps(default_model(lesson)))
    assert sorted(widget.state_keys_in(widget.get_state())) == sorted(keys)


# --------------------------------------------------------------------------- lesson 1
def test_lesson1_kl_and_contributions_match(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pairs = [([0.7, 0.3], [0.3, 0.7]), ([0.7, 0.3], [0.65, 0.35]), ([1.0, 0.0], [0.5, 0.5]),
             ([0.5, 0.5], [1.0, 0.0]), ([0.0, 1.0], [0.0, 1.0]), ([0.2, 0.8], [0.2, 0.8])]
    pairs += [(rng.dirichlet(np.ones(k)).tolist(), rng.dirichlet(np.ones(k)).tolist())
              for k in (2, 3, 5, 8) for _ in range(6)]
    out = run_node(tmp_path, 1, "return input.map(([p, q]) => [m.klDivergence(p, q), m.klContributions(p, q)]);", pairs)
    for (p, q), (kl, terms) in zip(pairs, out):
        assert_close(kl, kl_divergence(p, q))
        assert_close(terms, kl_contributions(p, q))


def test_lesson1_forecast_is_a_distribution(tmp_path: Path) -> None:
    out = run_node(tmp_path, 1, "return input.map((p) => m.forecast(p));", [0.0, 0.3, 0.7, 1.0])
    assert_close(out, [[0.0, 1.0], [0.3, 0.7], [0.7, 0.3], [1.0, 0.0]], tol=1e-15)


# --------------------------------------------------------------------------- lesson 2
def test_lesson2_estimators_match_kl_estimate(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    lp = (-rng.exponential(1.5, 200)).tolist()
    ref = np.minimum(np.array(lp) + rng.normal(0, 0.8, 200), 0.0).tolist()  # log-probabilities stay ≤ 0
    ref[:3] = lp[:3]  # r = 1 exactly, where k3 is 0
    body = "return m.ESTIMATORS.map((e) => m.klEstimate(input.lp, input.ref, e));"
    out = run_node(tmp_path, 2, body, {"lp": lp, "ref": ref})
    lp_t, ref_t = torch.tensor(lp, dtype=torch.float64), torch.tensor(ref, dtype=torch.float64)
    for name, values in zip(("k1", "k2", "k3"), out):
        assert_close(values, kl_estimate(lp_t, ref_t, name))


def test_lesson2_policy_and_exact_kl_match(tmp_path: Path) -> None:
    model = default_model(2)
    drifts = [0.0, 0.25, 0.5, 1.0, 2.0]
    body = """return input.drifts.map((d) => {
      const pi = m.driftedPolicy(input.ref, input.dir, d);
      return [pi, m.klDivergence(pi, input.ref)];
    });"""
    out = run_node(tmp_path, 2, body, {"ref": model["ref_probs"], "dir": model["direction"], "drifts": drifts})
    ref = torch.tensor(model["ref_probs"], dtype=torch.float64)
    for drift, (pi, kl) in zip(drifts, out):
        # π ∝ π_ref·exp(drift·direction) is the tilted policy with β = 1/drift.
        expected = ref if drift == 0 else tilted_policy(ref, model["direction"], 1 / drift)
        assert_close(pi, expected)
        assert_close(kl, kl_divergence(expected, model["ref_probs"]))


def test_lesson2_batch_mean_spread_matches_python_on_the_same_draws(tmp_path: Path) -> None:
    model = {**default_model(2), "trials": 60, "max_log2_size": 7}
    body = """
      const sizes = m.batchSizes(input.max_log2_size), maxSize = sizes[sizes.length - 1];
      const pi = m.driftedPolicy(input.ref_probs, input.direction, input.drift);
      const tokens = m.sampleTokens(pi, m.uniforms(input.seed, input.trials * maxSize));
      const logRef = input.ref_probs.map(Math.log);
      const spread = m.batchMeanSpread(tokens, input.trials, maxSize, pi.map(Math.log), logRef, sizes);
      return { tokens, sizes, pi, spread };
    """
    out = run_node(tmp_path, 2, body, model)
    pi = torch.tensor(out["pi"], dtype=torch.float64)
    tokens = torch.tensor(out["tokens"]).reshape(model["trials"], -1)
    lp, ref = pi.log()[tokens], torch.tensor(model["ref_probs"], dtype=torch.float64).log()[tokens]
    for name in ("k1", "k2", "k3"):
        running = kl_estimate(lp, ref, name).cumsum(-1)
        for k, n in enumerate(out["sizes"]):
            means = running[:, n - 1] / n
            got = out["spread"][name][k]
            assert_close(got["mean"], means.mean())
            assert_close(got["sd"], means.std())
            assert_close([got["q10"], got["q90"]], torch.quantile(means, torch.tensor([0.1, 0.9], dtype=torch.float64)))
            assert_close(got["negative"], (means < 0).double().mean())


def test_lesson2_sampler_follows_the_policy(tmp_path: Path) -> None:
    probs = [0.5, 0.0, 0.3, 0.15, 0.05]
    n = 100_000
    body = """const counts = new Array(input.p.length).fill(0);
      for (const k of m.sampleTokens(input.p, m.uniforms(7, input.n))) counts[k] += 1;
      return counts;"""
    out = run_node(tmp_path, 2, body, {"p": probs, "n": n})
    freq = np.array(out) / n
    sd = np.sqrt(np.array(probs) * (1 - np.array(probs)) / n)
    assert out[1] == 0  # a token of probability 0 is never drawn
    assert (np.abs(freq - probs) <= 5 * sd + 1e-12).all(), freq


def test_lesson2_generator_is_seeded(tmp_path: Path) -> None:
    out = run_node(tmp_path, 2, "return [m.uniforms(3, 1000), m.uniforms(3, 1000), m.uniforms(4, 1000)];")
    a, b, c = (np.array(x) for x in out)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert ((a >= 0) & (a < 1)).all() and abs(a.mean() - 0.5) < 0.05


# --------------------------------------------------------------------------- lesson 3
def _random_batch(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    b, t = 5, 7
    mask = (rng.random((b, t)) < 0.7).astype(int)
    mask[:, 0] = 1
    mask[1] = [1, 0, 1, 0, 0, 1, 0]  # holes in the middle: the last valid token is still the last 1
    lp = -rng.exponential(1.0, (b, t))
    return {"scores": rng.normal(0, 1, b).tolist(), "logprobs": lp.tolist(),
            "ref_logprobs": np.minimum(lp + rng.normal(0, 0.7, (b, t)), 0.0).tolist(), "mask": mask.tolist()}


@pytest.mark.parametrize("batch", [default_model(3), _random_batch(3)], ids=["cafe", "random"])
def test_lesson3_shaped_rewards_match(tmp_path: Path, batch: dict[str, Any]) -> None:
    cases = [(beta, est) for beta in (0.0, 0.05, 0.4, 1.3) for est in ("k1", "k2", "k3")]
    body = """const b = input.b;
      return input.cases.map(([beta, est]) =>
        m.klPenalizedRewards(b.scores, b.logprobs, b.ref_logprobs, beta, b.mask, est));"""
    out = run_node(tmp_path, 3, body, {"b": batch, "cases": cases})
    for (beta, est), got in zip(cases, out):
        rewards, kl = kl_penalized_rewards(
            batch["scores"], batch["logprobs"], batch["ref_logprobs"], beta, batch["mask"], est
        )
        assert_close(got["rewards"], rewards)
        assert_close(got["kl"], kl)


# --------------------------------------------------------------------------- lesson 4
def _frontier_fixtures() -> list[dict[str, Any]]:
    toy = make_toy_responses()
    rng = np.random.default_rng(4)
    return [
        {"ref": toy.ref_probs.tolist(), "r": toy.proxy.tolist(), "gold": toy.gold.tolist()},
        {"ref": rng.dirichlet(np.ones(12)).tolist(), "r": rng.normal(0, 2, 12).tolist(),
         "gold": rng.normal(0, 1, 12).tolist()},
    ]


@pytest.mark.parametrize("case", _frontier_fixtures(), ids=["toy", "random"])
def test_lesson4_tilted_policy_and_frontier_match(tmp_path: Path, case: dict[str, Any]) -> None:
    betas = np.logspace(-3, 1, 41).tolist()
    body = """
      const f = m.klRewardFrontier(input.ref, input.r, input.betas);
      const pis = input.betas.map((b) => m.tiltedPolicy(input.ref, input.r, b));
      return { f, pis, gold: pis.map((pi) => m.expectation(pi, input.gold)), grid: m.logGrid(-3, 1, 41) };
    """
    out = run_node(tmp_path, 4, body, {**case, "betas": betas})
    expected, kl = kl_reward_frontier(case["ref"], case["r"], betas)
    assert_close(out["f"]["expected"], expected)
    assert_close(out["f"]["kl"], kl)
    pis = torch.stack([tilted_policy(case["ref"], case["r"], b) for b in betas])
    assert_close(out["pis"], pis)
    assert_close(out["gold"], pis @ torch.tensor(case["gold"], dtype=torch.float64))
    assert_close(out["grid"], betas, tol=1e-12)


def test_lesson4_gold_matches_the_toy_sweep(tmp_path: Path) -> None:
    from kl_lessons.toy_responses import beta_sweep

    toy, betas = make_toy_responses(), [0.003, 0.03, 0.1, 0.3, 3.0]
    body = "return input.betas.map((b) => m.expectation(m.tiltedPolicy(input.ref, input.r, b), input.gold));"
    payload = {"ref": toy.ref_probs.tolist(), "r": toy.proxy.tolist(), "gold": toy.gold.tolist(), "betas": betas}
    out = run_node(tmp_path, 4, body, payload)
    assert_close(out, beta_sweep(toy, betas).gold)


# --------------------------------------------------------------------------- lesson 5
KL_SEQUENCE = [0.01, 0.02, 0.05, 0.1, 0.03, 0.02, 0.2, 0.0, 0.015, 0.04, 0.5, 0.001]


def test_lesson5_threshold_controller_matches(tmp_path: Path) -> None:
    settings = [(0.1, 0.02, 1.5, (0.01, 1.0)), (0.5, 0.05, 2.0, (0.05, 0.6)), (5.0, 0.01, 1.2, (0.02, 2.0))]
    body = """return input.settings.map(([b, t, f, bounds]) => {
      const c = new m.ThresholdKLController(b, t, f, bounds);
      return input.kls.map((k) => c.update(k, 64));
    });"""
    out = run_node(tmp_path, 5, body, {"settings": settings, "kls": KL_SEQUENCE})
    for (beta, target, factor, bounds), got in zip(settings, out):
        ctl = ThresholdKLController(beta, target, factor, bounds)
        assert_close(got, [ctl.update(k, 64) for k in KL_SEQUENCE], tol=1e-12)


def test_lesson5_adaptive_controller_matches(tmp_path: Path) -> None:
    settings = [(0.1, 0.02, 10000, 512), (0.05, 0.03, 1000, 1), (1.0, 0.1, 300, 300)]
    body = """return input.settings.map(([b, t, h, n]) => {
      const c = new m.AdaptiveKLController(b, t, h);
      return input.kls.map((k) => c.update(k, n));
    });"""
    out = run_node(tmp_path, 5, body, {"settings": settings, "kls": KL_SEQUENCE})
    for (beta, target, horizon, n), got in zip(settings, out):
        ctl = AdaptiveKLController(beta, target, horizon)
        assert_close(got, [ctl.update(k, n) for k in KL_SEQUENCE], tol=1e-12)


def test_lesson5_equilibrium_kl_matches_the_plant(tmp_path: Path) -> None:
    from kl_lessons.plant import equilibrium_kl

    model = default_model(5)
    betas, kls = model["plant_betas"], model["plant_kls"]
    probes = np.logspace(-4, 1.5, 57).tolist() + betas  # outside the table, inside it, and at its knots
    shuffled = np.random.default_rng(5).permutation(len(betas))  # the table may come in any order
    out = run_node(tmp_path, 5, "return input.probes.map((b) => m.equilibriumKl(b, input.betas, input.kls));",
                   {"probes": probes, "betas": [betas[i] for i in shuffled], "kls": [kls[i] for i in shuffled]})
    assert_close(out, [equilibrium_kl(b, betas, kls) for b in probes])


@pytest.mark.parametrize("controller", ["adaptive", "threshold"])
def test_lesson5_noise_free_closed_loop_matches_simulate_control(tmp_path: Path, controller: str) -> None:
    from kl_lessons.plant import KLPlant, simulate_control

    model = {**default_model(5), "noise": 0.0, "horizon": 2000.0}
    body = """
      const p = new m.KLPlant({ betas: input.plant_betas, kls: input.plant_kls, lag: input.lag, noise: 0,
                                batchSize: input.batch_size, kl0: input.kl0 });
      const c = input.which === "adaptive" ? new m.AdaptiveKLController(input.init_beta, input.target, input.horizon)
        : new m.ThresholdKLController(input.init_beta, input.target, input.threshold_factor, input.threshold_bounds);
      return m.simulateControl(c, p, input.n_steps);
    """
    out = run_node(tmp_path, 5, body, {**model, "which": controller})
    plant = KLPlant(model["plant_betas"], model["plant_kls"], lag=model["lag"], noise=0.0,
                    batch_size=model["batch_size"], seed=model["seed"], kl0=model["kl0"])
    if controller == "adaptive":
        ctl = AdaptiveKLController(model["init_beta"], model["target"], model["horizon"])
    else:
        bounds = tuple(model["threshold_bounds"])
        ctl = ThresholdKLController(model["init_beta"], model["target"], model["threshold_factor"], bounds)
    ref = simulate_control(ctl, plant, model["n_steps"])
    assert_close(out["beta"], ref["beta"])
    assert_close(out["klTrue"], ref["kl_true"])
    assert_close(out["klMeasured"], ref["kl_measured"])


def test_lesson5_noise_has_the_stated_spread(tmp_path: Path) -> None:
    # With noise, readings scatter around the true KL with sd = noise/√batch_size.
    body = """
      const z = m.normalDraws(11, 20000);
      const p = new m.KLPlant({ betas: [0.1, 1], kls: [2, 2], lag: 1, noise: 4, batchSize: 16, kl0: 2, normals: z });
      return Array.from({ length: 20000 }, () => p.step(0.5) - 2);
    """
    dev = np.array(run_node(tmp_path, 5, body))
    assert abs(dev.mean()) < 5 * 1.0 / math.sqrt(dev.size)
    assert abs(dev.std() - 1.0) < 0.03


# --------------------------------------------------------------------------- lesson 6
def test_lesson6_helpers(tmp_path: Path) -> None:
    values = [-300.0, -1.0, 0.0, 0.5, 3.0, 305.2]
    samples = [[0, ["a"]], [20, ["b"]], [149, ["c"]]]
    body = """return { sym: input.values.map(m.symlog), near: input.steps.map((s) => m.nearestSampleStep(input.samples, s)),
      none: m.nearestSampleStep([], 3), range: m.seriesRange([{ metrics: { x: [null, 2, -1] } }, { metrics: { x: [5, null] } }], "x") };"""
    out = run_node(tmp_path, 6, body, {"values": values, "samples": samples, "steps": [0, 9, 10, 11, 84, 85, 149]})
    assert_close(out["sym"], np.sign(values) * np.log10(1 + np.abs(values)))
    # The earlier step on a tie (10 is as far from 0 as from 20).
    assert out["near"] == [0, 0, 0, 20, 20, 149, 149] and out["none"] is None
    assert out["range"] == [-1, 5]


# --------------------------------------------------------------------------- lesson 7
def test_lesson7_update_and_bias_metrics_match(tmp_path: Path) -> None:
    from kl_lessons.kl_gradients import bias_metrics

    gen = torch.Generator().manual_seed(7)
    cases = [(torch.randn(39, generator=gen, dtype=torch.float64), torch.randn(39, generator=gen, dtype=torch.float64),
              beta) for beta in (0.04, 0.3, 2.0)]
    payload = [{"r": r.tolist(), "g": g.tolist(), "beta": b} for r, g, b in cases]
    body = """return input.map((c) => { const u = m.combinedUpdate(c.r, c.g, c.beta);
      const e = m.combinedUpdate(c.r, c.g.map((x) => 0.9 * x), c.beta); return { u, metrics: m.biasMetrics(e, u) }; });"""
    out = run_node(tmp_path, 7, body, payload)
    for (r, g, beta), got in zip(cases, out):
        exact = r - beta * g
        assert_close(got["u"], exact)
        want = bias_metrics(r - beta * 0.9 * g, exact)
        assert_close([got["metrics"]["relError"], got["metrics"]["cosine"]], [want["rel_error"], want["cosine"]])


# --------------------------------------------------------------------------- lesson 8
def _regularised_cases() -> list[dict[str, Any]]:
    toy = make_toy_responses()
    rng = np.random.default_rng(8)
    toy_case = {"ref": toy.ref_probs.tolist(), "r": toy.proxy.tolist(), "gold": toy.gold.tolist(),
                "marks": toy.exclamations.tolist()}
    coefficients = [(0.3, 0.0), (0.0, 0.3), (0.3, 0.3), (0.0, 0.0), (2.0, 0.01), (0.01, 2.0), (1e-3, 0.0), (0.0, 1e-3)]
    cases = [{**toy_case, "beta": b, "alpha": a} for b, a in coefficients]
    for k in (3, 7, 12):
        ref = rng.dirichlet(np.ones(k))
        ref[0] = 0.0  # a reply π_ref rules out: π keeps it at 0 while β > 0, and can use it at β = 0
        for b, a in coefficients:
            cases.append({"ref": (ref / ref.sum()).tolist(), "r": rng.normal(0, 2, k).round(1).tolist(),  # ties
                          "gold": rng.normal(0, 1, k).tolist(), "marks": rng.integers(0, 7, k).tolist(), "beta": b,
                          "alpha": a})
    return cases


def test_lesson8_policy_and_readouts_match(tmp_path: Path) -> None:
    from kl_lessons import cross_entropy, entropy, regularised_policy

    cases = _regularised_cases()
    body = """return input.map((c) => { const pi = m.regularisedPolicy(c.ref, c.r, c.beta, c.alpha);
      return { pi, values: m.readoutValues(pi, c.ref, c.r, c.gold, c.marks, 3) }; });"""
    out = run_node(tmp_path, 8, body, cases)
    for case, got in zip(cases, out):
        pi = regularised_policy(case["ref"], case["r"], case["beta"], case["alpha"])
        assert_close(got["pi"], pi)
        v = got["values"]
        assert_close([v["entropy"], v["cross_entropy"], v["kl"]],
                     [entropy(pi), cross_entropy(pi, case["ref"]), kl_divergence(pi, case["ref"])])
        assert_close([v["expected_proxy"], v["expected_gold"]],
                     [pi @ torch.tensor(case["r"], dtype=torch.float64), pi @ torch.tensor(case["gold"], dtype=torch.float64)])
        assert_close(v["shout_share"], pi[torch.tensor(case["marks"]) >= 3].sum())


def test_lesson8_normalises_the_rounded_reference(tmp_path: Path) -> None:
    model = default_model(8)
    out = run_node(tmp_path, 8, "return m.normalise(input);", model["ref_probs"])
    assert_close(sum(out), 1.0, tol=1e-15)
    assert_close(out, make_toy_responses().ref_probs, tol=1e-6)  # only the state's 6 significant digits differ


# --------------------------------------------------------------------------- the {anywidget} blocks
@pytest.mark.slow  # builds a site
def test_blocks_build_into_anywidget_nodes(tmp_path: Path) -> None:
    # A project of its own: one probe page holding exactly the lessons' figure cells, the book theme.
    theme = ROOT.parent / "shared" / "book-theme"
    if theme.is_dir():  # the prebuilt theme beside the repository: nothing to download
        target = tmp_path / "_build" / "templates" / "site" / "myst" / "book-theme"
        target.parent.mkdir(parents=True)
        subprocess.run(["cp", "-r", "--no-preserve=mode", str(theme), str(target)], check=True)
    shutil.copytree(WEB_DIR, tmp_path / "kl_lessons" / "web", ignore=shutil.ignore_patterns("src"))
    (tmp_path / "notebooks").mkdir()
    blocks = [block for lesson in sorted(MODULES) for block in notebook_blocks(lesson)]  # every registered lesson
    assert [module for module, _, _ in blocks] == [MODULES[lesson] for lesson in sorted(MODULES)]
    (tmp_path / "notebooks" / "probe.md").write_text("# Explorer probe\n\n" + "\n\n".join(c for _, _, c in blocks) + "\n")
    (tmp_path / "myst.yml").write_text(
        "version: 1\nproject:\n  title: Explorer probe\n  toc:\n    - file: notebooks/probe.md\n"
        "site:\n  template: book-theme\n"
    )
    myst = shutil.which("myst") or str(Path(sys.executable).parent / "myst")
    done = subprocess.run([myst, "build", "--site", "--strict"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "NO_COLOR": "1"})
    output = done.stdout + done.stderr
    assert done.returncode == 0 and not re.search(r"⚠️|⛔", output), output
    nodes = []
    for content in sorted((tmp_path / "_build" / "site" / "content").glob("*.json")):
        nodes += _find(json.loads(content.read_text()), "anywidget")
    assert len(nodes) == len(blocks)
    for node, (module, state, _) in zip(nodes, blocks):
        assert_same_state(node["model"], state)  # parsed numbers, compared with a tolerance
        copied = tmp_path / "_build" / "site" / "public" / node["esm"].lstrip("/")
        assert copied.read_text() == (WEB_DIR / module).read_text()


def _find(tree: Any, kind: str) -> list[dict]:
    if isinstance(tree, dict):
        found = [tree] if tree.get("type") == kind else []
        return found + [n for v in tree.values() for n in _find(v, kind)]
    if isinstance(tree, list):
        return [n for v in tree for n in _find(v, kind)]
    return []


# --------------------------------------------------------------------------- lesson 9
def test_lesson9_key_range(tmp_path: Path) -> None:
    """The panel's range: min and max of the logged values over every β, steps a β did not log skipped."""
    runs = [{"series": {"kl": [None, 1.5, 3.25]}}, {"series": {"kl": [2.0, None, 0.125]}}]
    body = """return { range: m.keyRange(input, "kl"), none: m.keyRange([{ series: { kl: [null, null] } }], "kl"),
      flat: m.keyRange([{ series: { kl: [2, 2] } }], "kl") };"""
    out = run_node(tmp_path, 9, body, runs)
    logged = [v for run in runs for v in run["series"]["kl"] if v is not None]
    assert out["range"] == [min(logged), max(logged)] and out["none"] == [0, 1] and out["flat"] == [1.5, 2.5]


def test_lesson9_run_median_is_numpys(tmp_path: Path) -> None:
    series = [[None, 1.5, 3.25, 0.5], [2.0, None, 0.125], [None, None], [4.0]]
    out = run_node(tmp_path, 9, "return input.map((s) => m.runMedian(s));", series)
    want = [float(np.median([v for v in s if v is not None])) if any(v is not None for v in s) else None for s in series]
    assert out == want


# --------------------------------------------------------------------------- lesson 10
def _log_reader_inputs() -> dict[str, Any]:
    from kl_lessons.explorer_state import log_reader_state

    state = log_reader_state()
    return {"key_table": state["key_table"], "thresholds": state["thresholds"], "limits": state["limits"]}


def _read_in_node(tmp_path: Path, logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each log read and checked by the bundle (``readAndCheck``), as plain JSON."""
    body = """return input.logs.map((log) => {
      const r = m.readAndCheck(log.text, input.key_table, input.thresholds, { trainer: log.trainer, name: log.name });
      return r.error ? { error: r.error } : { trainer: r.trainer, fmt: r.fmt, steps: r.steps, lines: r.lines,
        meanings: Object.keys(r.meanings), sources: r.sources, metrics: r.metrics, kl_per: r.kl_per, notes: r.notes,
        flags: r.flags };
    });"""
    return run_node(tmp_path, 10, body, {**_log_reader_inputs(), "logs": logs})


# Python's and the browser's JSON parsers word their errors differently: a note quotes either's in brackets.
_JSON_ERROR = re.compile(r"\((?:JSON: |Expecting |Unterminated |Extra data|Invalid )[^()]*(?:\([^()]*\)[^()]*)*\)")


def _same_notes(js: list[str], py: list[str]) -> None:
    assert [_JSON_ERROR.sub("(…)", n) for n in js] == [_JSON_ERROR.sub("(…)", n) for n in py]


def _assert_same_reading(js: dict[str, Any], text: str, trainer: str | None, name: str) -> None:
    from kl_lessons.run_logs import check_run, parse_log_text

    try:
        run = parse_log_text(text, trainer, name=name)
    except ValueError as err:
        assert js == {"error": str(err)}
        return
    assert "error" not in js, js
    assert (js["trainer"], js["fmt"], js["kl_per"]) == (run.trainer, run.fmt, run.kl_per)
    assert js["meanings"] == list(run.meanings) and js["sources"] == run.sources
    assert js["lines"] == run.lines.tolist()
    assert_close(js["steps"], run.steps)
    assert np.array_equal(np.isnan(np.asarray(_number(js["steps"]), dtype=float)), np.isnan(run.steps))
    assert sorted(js["metrics"]) == sorted(run.metrics)
    for key, values in run.metrics.items():
        got = np.asarray(_number(js["metrics"][key]), dtype=np.float64)
        assert np.array_equal(np.isnan(got), np.isnan(values)), key
        assert_close(got, values)
    _same_notes(js["notes"], run.notes)
    want = [{"check": w.check, "step": w.step, "message": w.message} for w in check_run(run)]
    assert js["flags"] == want


def _casebook_logs() -> list[dict[str, Any]]:
    from kl_lessons import casebook

    logs = [{"text": casebook.trace_text(c.name), "trainer": c.trainer, "name": c.file} for c in casebook.CASES]
    # Detected rather than given, the trainer too must match.
    logs += [{"text": casebook.trace_text(c.name), "trainer": None, "name": c.file} for c in casebook.CASES]
    return logs


def test_lesson10_casebook_traces_read_and_flag_as_in_python(tmp_path: Path) -> None:
    logs = _casebook_logs() + [{"text": (ROOT / "tests" / "data" / "trl_grpo_log_history.json").read_text(),
                                "trainer": None, "name": "trainer_state.json"}]
    for js, log in zip(_read_in_node(tmp_path, logs), logs):
        _assert_same_reading(js, log["text"], log["trainer"], log["name"])


def _rows_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def _crafted_logs() -> dict[str, str]:
    """Edge cases of every format, each read by both parsers."""
    from kl_lessons import casebook

    healthy = casebook.trace_text("healthy")
    rng = np.random.default_rng(10)
    t = np.arange(200)
    ramp = 1 - np.exp(-t / 20)
    trl_rows = [{"step": int(s) + 1, "kl": float(0.01 * ramp[s] + 0.001 * rng.random()), "reward": float(ramp[s]),
                 "entropy": float(2.0 - 1.8 * ramp[s]), "completions/mean_length": float(20 + rng.integers(0, 10)),
                 "frac_reward_zero_std": float(min(1.0, s / 100)), "grad_norm": 1.0} for s in t]
    sawtooth = [{"step": int(s), "kl_mean": float((s % 25) * 0.2 + 0.01), "kl_max": float((s % 25) * 0.5 + 0.05),
                 "reward_mean": float(s), "entropy": 1.0, "beta": 0.1} for s in t]
    climbing = [{"step": int(s), "kl_mean": float(0.05 * s + 0.1 * rng.random()), "reward_mean": 1.0,
                 "entropy": 1.0} for s in t]
    spiky = [{"step": int(s), "kl_mean": float(1 + 0.01 * rng.random()), "kl_max": float(2 + (40 if s == 150 else 0)),
              "reward_mean": 0.0, "entropy": 1.0} for s in t]
    negative = [{"step": int(s), "kl_mean": float(-0.1 - 0.01 * rng.random()), "reward_mean": 0.0} for s in t]
    high_start = [{"step": int(s), "kl_mean": float(5 - 0.001 * s), "reward_mean": 0.0} for s in t]
    nan_null = _rows_jsonl(trl_rows[:30]).replace('"kl": ', '"kl": NaN, "old_kl": ', 1)
    nan_null = nan_null.replace('"reward": 0.0', '"reward": null', 1).replace('"entropy": 2.0', '"entropy": "high"', 1)
    verl = "".join(json.dumps({"step": int(s), "data": {"actor/kl_loss": 0.001 * s, "response_length/mean": 30.0,
                                                        "critic/score/mean": 0.1 * s, "actor/entropy": 1.5,
                                                        "actor/ppo_kl": 0.0001, "timing_s/gen": 2.0}}) + "\n"
                   for s in range(1, 41))
    header = "train/global_step,train/kl,train/reward,train/response_length,train/entropy_loss,train/ppo_kl,mystery"
    csv_rows = [header] + [f"{s},{0.002 * s},{0.05 * s},{40 + s % 3},{1.2 - 0.01 * s},0.0003,{s}" for s in range(1, 51)]
    csv_text = "\n".join(csv_rows[:20] + ["7,oops,np.float64(0.5),,1.0,0.0003,1", "1,2"] + csv_rows[20:]) + "\n"
    verl_console = "".join(
        f"(TaskRunner pid=7) step:{s} - actor/kl_loss:{0.001 * s!r} - actor/entropy:np.float64({1.5 - 0.01 * s!r}) - "
        f"response_length/mean:{30 + s % 4} - critic/score/mean:{0.1 * s!r} - timing_s/gen:2.0\n"
        + ("INFO some other line\n" if s % 7 == 0 else "") for s in range(1, 61))
    verl_console = verl_console.replace("timing_s/gen:2.0\n", "timing_s/gen:2.0 - weird:a:b - lonely\n", 1)
    orl_statuses = [{"kl": 0.002 * s, "reward": 0.05 * s, "response_length": 40.0 + s % 3, "entropy_loss": 1.1,
                     "ppo_kl": 0.0003, "policy_loss": -0.1} for s in range(1, 61)]
    orl_console = "".join(f"[INFO] ✨ Global step {s + 1}: {row!r}\n" for s, row in enumerate(orl_statuses))
    orl_odd = orl_console.replace("'ppo_kl': 0.0003", "'ppo_kl': nan", 3).replace("'policy_loss': -0.1}", "'policy_loss': tensor(-0.1)}", 2)
    orl_odd = orl_odd.replace("'entropy_loss': 1.1,", "'entropy_loss': 1.,", 1).replace("'reward': 0.1,", "'reward': -inf,", 1)
    orl_odd += "[INFO] Global step 61: {'kl': 0.5, broken}\n"
    return {
        "verl console with other lines and bad pairs": verl_console,
        "OpenRLHF console": orl_console,
        "OpenRLHF console with nan, inf, tensor() and a broken dict": orl_odd,
        "plain words": "hello there\nno metrics here\n",
        "truncated trainer_state.json": healthy[: len(healthy) // 2],
        "trainer_state.json cut inside a string": healthy[: healthy.index('"entropy"', len(healthy) // 3) + 4],
        "trainer_state.json with junk in log_history": healthy.replace('"log_history": [', '"log_history": [1, "x", ', 1),
        "TRL jsonl, per-token KL × mean length": _rows_jsonl(trl_rows),
        "TRL jsonl with NaN, null, a word and an unknown key": nan_null,
        "jsonl with a bad line and a cut-off last line": _rows_jsonl(trl_rows[:20]) + "{not json}\n"
                                                        + _rows_jsonl(trl_rows[20:40]) + '{"step": 41, "kl"',
        "course jsonl, saw-teeth and a late climb": _rows_jsonl(sawtooth),
        "course jsonl, climbing": _rows_jsonl(climbing),
        "course jsonl, a spike": _rows_jsonl(spiky),
        "course jsonl, negative": _rows_jsonl(negative),
        "course jsonl, starts high": _rows_jsonl(high_start),
        "starts high, first row at step 10 (logging_steps=10)": _rows_jsonl([{**row, "step": 10 * (row["step"] + 1)}
                                                                            for row in high_start]),
        "course jsonl, steps going back": _rows_jsonl(climbing[:50] + climbing[10:60]),
        "verl file logger": verl,
        "OpenRLHF CSV with train/ prefixes": csv_text,
        "CSV with quoted cells and CRLF": 'step,kl_mean,"reward_mean"\r\n1,0.5,"1.5"\r\n2,0.25,"2"\r\n\r\n3,0.125,3\r\n',
        "eval and summary rows": _rows_jsonl(trl_rows[:5] + [{"eval_loss": 1.0, "step": 5},
                                                            {"train_runtime": 3.0, "train_loss": 0.1, "step": 5}]),
        "only eval rows": _rows_jsonl([{"eval_loss": 1.0, "step": 5}]),
        "no known key": _rows_jsonl([{"alpha": 1, "beta_2": 2}] * 3),
        "empty": "   \n\n",
        "not a dict": "[1, 2]\n{\"kl_mean\": 1}\n",
    }


def test_lesson10_crafted_logs_read_and_flag_as_in_python(tmp_path: Path) -> None:
    crafted = _crafted_logs()
    logs = [{"text": text, "trainer": None, "name": name} for name, text in crafted.items()]
    for js, log in zip(_read_in_node(tmp_path, logs), logs):
        try:
            _assert_same_reading(js, log["text"], log["trainer"], log["name"])
        except AssertionError as err:
            raise AssertionError(f"{log['name']}: {err}") from err


def test_lesson10_every_check_fires_on_some_crafted_log(tmp_path: Path) -> None:
    # The crafted logs exercise every check health_report runs, so their parity above covers each message.
    from kl_lessons import monitor
    from kl_lessons.run_logs import check_run, parse_log_text

    fired = set()
    for text in _crafted_logs().values():
        try:
            fired |= {w.check for w in check_run(parse_log_text(text))}
        except ValueError:
            continue
    assert fired == set(monitor.__all__) - {"HealthWarning", "health_report"}


@pytest.mark.parametrize("x", [0.0, -0.0, 0.5, 0.125, 0.925, 92.5, 1e-5, 123456789.0, 9.9996, 0.00049999, 2.5, 1 / 3,
                               -7.25e-12, 1e16, math.nan, math.inf, -math.inf])
def test_lesson10_python_number_formats(tmp_path: Path, x: float) -> None:
    """The messages' numbers: Python's .3g, .2g, :g, .1f, .0f and .0% (half to even on the exact double)."""
    body = "const x = Number(input[0]); return [m.pyG(x, 3), m.pyG(x, 2), m.pyG(x), m.pyF(x, 1), m.pyF(x, 0), m.pyPct(x, 0)];"
    out = run_node(tmp_path, 10, body, [x if math.isfinite(x) else str(x).replace("inf", "Infinity").replace("nan", "NaN")])
    assert out == [f"{x:.3g}", f"{x:.2g}", f"{x:g}", f"{x:.1f}", f"{x:.0f}", f"{x:.0%}"]


def test_lesson10_bad_input_gives_a_message_never_a_throw(tmp_path: Path) -> None:
    junk = bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8)).decode("latin-1")
    cases = {
        "empty": "",
        "truncated JSON": '{"log_history": [{"kl": 0.1, "st',
        "no known key": '{"foo": 1}\n{"foo": 2}\n',
        "a million lines": "x\n" * 1_000_000,
        "more lines than the page reads": "{}\n" * 5_000_001,
        "binary junk": junk,
        "a console log": "step:1 - actor/kl_loss:0.1 - actor/entropy:1.0\n",
        "not text": None,
    }
    body = """const out = {};
      for (const [name, text] of Object.entries(input.cases)) {
        const r = m.readAndCheck(text, input.key_table, input.thresholds, { name, limits: input.limits });
        out[name] = r.error || "";
      }
      return out;"""
    out = run_node(tmp_path, 10, body, {**_log_reader_inputs(), "cases": cases})
    assert all(v for k, v in out.items() if k != "a console log"), out
    assert "empty" in out["empty"] and "binary" in out["binary junk"]
    assert "over 5,000,000 lines" in out["more lines than the page reads"]
    assert out["a console log"] == "", "a verl console line is read"
    assert "log_history entry 0 is cut off" in out["truncated JSON"] or "no metric rows" in out["truncated JSON"]



def test_lesson10_a_noisy_long_log_is_checked_in_linear_time(tmp_path: Path) -> None:
    """100,000 noisy steps (thousands of drops for kl_resets): read and checked as in Python."""
    kl = np.random.default_rng(3).random(100_000)
    text = _rows_jsonl([{"step": i + 1, "kl_mean": float(v), "reward_mean": 0.0} for i, v in enumerate(kl)])
    (js,) = _read_in_node(tmp_path, [{"text": text, "trainer": None, "name": "noisy.jsonl"}])
    _assert_same_reading(js, text, None, "noisy.jsonl")
